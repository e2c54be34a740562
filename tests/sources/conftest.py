"""Fixtures of the data-source tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml


@pytest.fixture
def plain_kubeconfig(lab, tmp_path: Path) -> Path:
    """The walkthrough lab's kubeconfig with a context and cluster named so that nothing in them
    says which EKS cluster it is (as a hand-written kubeconfig might)."""
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["contexts"][0]["name"] = "plain"
    config["contexts"][0]["context"]["cluster"] = config["clusters"][0]["name"] = "plain-cluster"
    config["current-context"] = "plain"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    return kubeconfig
