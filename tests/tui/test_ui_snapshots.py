"""SVG snapshots of the explorer at 80×24 and 160×48, on a lab of their own.

Volatile things are pinned: the clock is fixed relative to the pods' creation (ages read "5h";
what was read at load time, a little later, "4h ago"), the watch is off, AWS facts are not read
again, and nothing random (instance ids, token bytes, times of live runs) is on screen.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.sources.connect import Sources
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource

# A path, not the name: `lab_for` then starts a lab no other suite shares or adds pods to.
SCENARIO = str(Path(__import__("irsa_explorer.lab", fromlist=["x"]).__file__).parent / "scenarios" / "walkthrough.yaml")


@pytest.fixture(scope="module")
def snapshot_lab(lab_for):
    return lab_for(SCENARIO)


def pinned_app(lab) -> IrsaExplorerApp:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    aws = AwsSource.from_env(dict(lab.aws_env))
    newest = max(pod.created for pod in kube.list_pods(None).items if pod.created)
    later = newest + timedelta(hours=5)
    return IrsaExplorerApp(
        Sources(kube, aws, None, kube.default_cluster_name(), kube.close),
        clock=lambda: later,
        watch=False,
        stale_after=None,
    )


async def loaded(pilot) -> None:
    app = pilot.app
    for _ in range(3):
        busy = [w for w in app.workers if not w.is_finished]
        if busy:
            await app.workers.wait_for_complete(busy)
        await pilot.pause()
    assert app.state.chains, "the chains did not load"


async def on_irsa_pod_trust_policy(pilot) -> None:
    await loaded(pilot)
    await pilot.press("slash", *"eks-iam-test3", "enter", "4")
    await loaded(pilot)


def test_snapshot_pods_view_80x24(snap_compare, snapshot_lab):
    assert snap_compare(pinned_app(snapshot_lab), terminal_size=(80, 24), run_before=loaded)


def test_snapshot_pods_view_160x48(snap_compare, snapshot_lab):
    assert snap_compare(pinned_app(snapshot_lab), terminal_size=(160, 48), run_before=loaded)


def test_snapshot_trust_policy_160x48(snap_compare, snapshot_lab):
    assert snap_compare(pinned_app(snapshot_lab), terminal_size=(160, 48), run_before=on_irsa_pod_trust_policy)


def test_snapshot_trust_policy_80x24(snap_compare, snapshot_lab):
    assert snap_compare(pinned_app(snapshot_lab), terminal_size=(80, 24), run_before=on_irsa_pod_trust_policy)
