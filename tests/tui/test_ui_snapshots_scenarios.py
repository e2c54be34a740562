"""SVG snapshots of every built-in scenario at 80×24 and 160×48, and of a 2,000-pod lab at
160×48: any layout regression on any of them shows as a diff.

Each scenario gets a lab of its own, started with `lab serve --seed` (the same EC2 instance ids,
access key ids and Pod Identity association ids on every run: lab/determinism.py) and stopped
after its test; one test takes both sizes from one lab, so a scenario costs one lab start. The
clock is pinned five hours after the newest pod, the watch is off, AWS facts are never read
again, and the screenshot waits until the explorer has settled — every pod's verdict in, no
worker busy, no spinner — on those conditions, never on a sleep.

Files: `__snapshots__/test_ui_snapshots_scenarios/test_snapshot_scenario[NAME].svg` is 80×24,
`….1.svg` (the test's second screenshot) 160×48. A new built-in scenario has none yet: its test
fails until `pytest tests/tui/test_ui_snapshots_scenarios.py -k NAME --snapshot-update` writes
them (look at them before committing).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ui_pilot_helpers import make_app, wait_until

from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.lab.launcher import LabProcess, start_lab
from irsa_explorer.sources.kube import KubeSource

SCENARIOS = sorted(
    path.stem
    for path in (Path(__import__("irsa_explorer.lab", fromlist=["x"]).__file__).parent / "scenarios").glob("*.yaml")
    if not path.stem.startswith("_")  # partials other scenarios include
)
SEED = ["--seed", "11"]
SCALE = "pods=2000,namespaces=40,serviceaccounts=400,roles=100,nodes=20"


@pytest.fixture
def seeded_lab(request, tmp_path) -> Iterator[LabProcess]:
    scenario, extra = request.param
    # the plain `lab serve`, not lab_for.fresh's lab host: a lab forked by the host gives other
    # ids for the same --seed in pod-identity and static-key-owners (12-05)
    with start_lab(scenario, tmp_path / "lab", [*SEED, *extra], timeout=180) as lab:
        yield lab


def pinned_app(lab: LabProcess) -> IrsaExplorerApp:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        created = [pod.created for pod in kube.list_pods(None).items if pod.created]
    finally:
        kube.close()
    later = max(created) + timedelta(hours=5) if created else None
    clock = {"clock": lambda: later} if later else {}
    return make_app(lab, stale_after=None, **clock)


LOADING = re.compile(r"\bloading\b", re.IGNORECASE)  # a pane's "loading the role…"


def drawn_text(app: IrsaExplorerApp) -> str:
    strips = app.screen._compositor.render_full_update(simplify=True).strips
    return "\n".join("".join(segment.text for segment in strip[0]) for strip in strips)


def settled(app: IrsaExplorerApp) -> bool:
    """Loaded (or failed to), every pod's verdict in, no worker busy, nothing spinning, no pane
    still saying it is loading."""
    state = app.state
    if state.error is None and (state.stage or any(uid not in state.chains for uid in state.pods)):
        return False
    if any(w.group != "watch" and not w.is_finished for w in app.workers):
        return False
    if any(widget.loading for widget in app.screen.query("*")):
        return False
    return not LOADING.search(drawn_text(app))


async def until_settled(pilot) -> None:
    # twice, a frame apart: panes follow the cursor after a refresh and may ask for more then
    for _ in range(2):
        await wait_until(pilot, lambda: settled(pilot.app), "the explorer settled", hang_guard=180)
        await pilot.pause()


@pytest.mark.parametrize("seeded_lab", [(name, []) for name in SCENARIOS], ids=SCENARIOS, indirect=True)
def test_snapshot_scenario(snap_compare, seeded_lab):
    """The pods view of the scenario, first pod selected: at 80×24, then at 160×48."""
    small = snap_compare(pinned_app(seeded_lab), terminal_size=(80, 24), run_before=until_settled)
    large = snap_compare(pinned_app(seeded_lab), terminal_size=(160, 48), run_before=until_settled)
    assert small and large


@pytest.mark.parametrize("seeded_lab", [("walkthrough", ["--scale", SCALE])], ids=["pods2000"], indirect=True)
def test_snapshot_scale_160x48(snap_compare, seeded_lab):
    """The walkthrough with 2,000 generated pods: the counts, the sorted table, the panes."""
    assert snap_compare(pinned_app(seeded_lab), terminal_size=(160, 48), run_before=until_settled)
