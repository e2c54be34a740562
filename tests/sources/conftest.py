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


@pytest.fixture(scope="module")
def kube(lab):
    """The walkthrough lab's KubeSource, one per module (a module may define its own)."""
    from irsa_explorer.sources.kube import KubeSource

    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    yield source
    source.close()


@pytest.fixture(scope="module")
def aws(lab):
    """The walkthrough lab's AwsSource, as its aws.env configures one."""
    from irsa_explorer.sources.aws import AwsSource

    return AwsSource.from_env(lab.aws_env)


@pytest.fixture
def silent_server():
    from silent_server import SilentServer  # tests/silent_server.py

    server = SilentServer()
    yield server
    server.close()


def kubeconfig_for(lab, tmp_path: Path, server: str | None = None, user: dict | None = None, name: str = "kubeconfig") -> Path:
    """The lab's kubeconfig with another server URL and/or another user entry."""
    config = yaml.safe_load(lab.kubeconfig.read_text())
    if server:
        config["clusters"][0]["cluster"]["server"] = server
    if user is not None:
        config["users"][0]["user"] = user
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def make_kubeconfig(lab, tmp_path):
    """`make_kubeconfig(server=…, user=…)`: a variant of the walkthrough lab's kubeconfig."""
    counter = iter(range(1000))
    return lambda **kwargs: kubeconfig_for(lab, tmp_path, name=f"kubeconfig-{next(counter)}", **kwargs)
