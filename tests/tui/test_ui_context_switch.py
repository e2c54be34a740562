"""Context switching (`c`) driven with Pilot against the `restricted-user` lab, as a person would:
open the picker, choose another kubeconfig context, read what the explorer now shows, switch back.

The lab's kubeconfig has the admin's context (current) and two restricted users whose 403s come
from the API server itself: dev@… reads only namespace default (cluster-wide lists, namespaces,
nodes and exec are forbidden), auditor@… may also list namespaces and read team-b. The AWS side
stays the lab admin's on a switch, so every "unknown" here is a Kubernetes permission.
Waits are on workers and messages, never on sleeps.
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import OptionList

from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.model import Mechanism, Unavailable, Verdict
from irsa_explorer.screens.modals import PickerScreen
from irsa_explorer.widgets.chain_strip import ChainStrip
from irsa_explorer.widgets.panes.live_identity import LiveIdentityPane
from ui_pilot_helpers import SIZE, filter_to, pod_uid, press_confirming, settle
from ui_pilot_helpers import RecordingExplorer
from ui_pilot_helpers import make_app as make_explorer

SUFFIX = "eks-oidc-demo.us-east-2.eksctl.io"
ADMIN, DEV, AUDITOR = f"lab@{SUFFIX}", f"dev@{SUFFIX}", f"auditor@{SUFFIX}"


@pytest.fixture(scope="module")
def restricted(lab_for):
    return lab_for("restricted-user")


@pytest.fixture(scope="module")
def admin_pods(restricted) -> dict[str, set[str]]:
    """Pod names per namespace as the admin sees them: what each user's view is measured against."""
    admin = KubeSource(kubeconfig=str(restricted.kubeconfig))
    try:
        listing = admin.list_pods(None)
    finally:
        admin.close()
    view: dict[str, set[str]] = {}
    for pod in listing.items:
        view.setdefault(pod.namespace, set()).add(pod.name)
    # the scenario must leave something out of dev's view, or the test proves nothing
    assert view.get("default") and view.get("team-b")
    return view


def make_app(lab, watch: bool = False) -> RecordingExplorer:
    """The explorer as `irsa-explorer` starts it: the kubeconfig's current context (the admin)."""
    return make_explorer(lab, watch, RecordingExplorer)


async def switch_to(pilot, context: str) -> None:
    """Press `c`, move the picker's highlight to `context` with the arrow keys, press enter."""
    app = pilot.app
    await pilot.press("c")
    await pilot.pause()
    picker = app.screen
    assert isinstance(picker, PickerScreen)
    options = picker.query_one(OptionList)
    names = [value for value, _ in picker.choices]
    assert names == app.sources.kube.contexts()
    assert {ADMIN, DEV, AUDITOR} <= set(names)
    # the picker opens on the context in use
    assert options.highlighted == names.index(app.context_name)
    steps = names.index(context) - names.index(app.context_name)
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps))
    assert options.get_option_at_index(options.highlighted).id == context
    await pilot.press("enter")
    await settle(pilot)
    assert not isinstance(app.screen, PickerScreen)


def text_of(widget) -> str:
    """All the text a widget and its children show."""
    return "\n".join(str(node.render()) for node in [widget, *widget.query("Static")])


def crumbs(app) -> str:
    return str(app.screen.query_one("#crumbs").render())


def pods_table(app):
    return app.screen.query_one("#pods")


def shown_pods(app) -> dict[str, set[str]]:
    """Pod names per namespace in the pods table's rows (what is on screen, not just in state)."""
    table = pods_table(app)
    view: dict[str, set[str]] = {}
    for index in range(table.row_count):
        namespace, name = (str(cell) for cell in table.get_row_at(index)[:2])
        view.setdefault(namespace, set()).add(name)
    assert table.row_count == len(app.state.pods)
    return view


def verdict_cell(app, name: str) -> str:
    return pods_table(app).row_cells(pod_uid(app, name))["verdict"]


async def test_switch_to_a_restricted_context_and_back(restricted, admin_pods):
    app = make_app(restricted)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert ADMIN in crumbs(app)
        assert shown_pods(app) == admin_pods
        assert not app.state.inventory.notes  # the admin's view is not limited
        # as the admin the node role is known: the fallback pod has a real verdict
        assert app.state.chains[pod_uid(app, "eks-iam-test2")].verdict == Verdict.WARNING

        await switch_to(pilot, DEV)
        assert app.context_name == DEV
        shown = crumbs(app)
        assert DEV in shown and ADMIN not in shown
        assert not app.history.can_back  # Back cannot lead to the admin's objects
        assert app.state.inventory.context == DEV
        # only what dev may read: namespace default, nothing of team-b
        assert shown_pods(app) == {"default": admin_pods["default"]}
        notes = " ".join(app.state.inventory.notes)
        assert "listing pods in all namespaces is forbidden" in notes
        assert "context's namespace 'default'" in notes
        # nodes are forbidden, so every node-role verdict is unknown with the reason — never green;
        # but eks-iam-test1 ended in Error on its node's role, whichever that is: broken
        for uid, chain in app.state.chains.items():
            if chain.mechanism == Mechanism.NODE_ROLE:
                failed = app.state.pods[uid].name == "eks-iam-test1"
                assert chain.verdict == (Verdict.BROKEN if failed else Verdict.UNKNOWN), app.state.pods[uid].name
                assert chain.effective_identity is None
        test2 = app.state.pods[pod_uid(app, "eks-iam-test2")]
        role = app.state.inventory.node_roles[test2.node_name]
        assert isinstance(role, Unavailable) and role.permission == "list nodes"
        cell = verdict_cell(app, "eks-iam-test2")
        assert "unknown" in cell and "ok" not in cell and "warning" not in cell
        await filter_to(pilot, "eks-iam-test2")
        strip = str(app.screen.query_one(ChainStrip).content())
        assert "unknown" in strip and "listing nodes is forbidden" in strip and "list nodes" in strip
        # a pod whose identity needs nothing forbidden still gets its real verdict
        assert app.state.chains[pod_uid(app, "eks-iam-test3")].verdict == Verdict.OK

        # exec is forbidden for dev: the live check says so, it does not guess
        await filter_to(pilot, "eks-iam-test3")
        await press_confirming(pilot, "w")
        await settle(pilot)
        run = app.state.live_runs[pod_uid(app, "eks-iam-test3")][-1]
        assert run.result is None and 'User "dev" cannot create resource "pods/exec"' in run.error
        live = text_of(app.screen.query_one(LiveIdentityPane))
        assert "forbidden" in live and "dev" in live
        assert "? live identity" in str(app.screen.query_one(ChainStrip).content())
        await filter_to(pilot, "")

        await switch_to(pilot, AUDITOR)
        assert AUDITOR in crumbs(app) and DEV not in crumbs(app)
        assert shown_pods(app) == {"default": admin_pods["default"], "team-b": admin_pods["team-b"]}
        batch = app.state.chains[pod_uid(app, "batch")]
        assert batch.verdict == Verdict.UNKNOWN  # nodes are forbidden to the auditor too
        assert "unknown" in verdict_cell(app, "batch")

        # and back: the admin's full view and known node roles again, dev's live run forgotten
        await switch_to(pilot, ADMIN)
        assert app.context_name == ADMIN and ADMIN in crumbs(app) and AUDITOR not in crumbs(app)
        assert shown_pods(app) == admin_pods
        assert not app.state.inventory.notes
        assert app.state.chains[pod_uid(app, "eks-iam-test2")].verdict == Verdict.WARNING
        assert isinstance(app.state.inventory.node_roles[test2.node_name], str)
        assert "warning" in verdict_cell(app, "eks-iam-test2")
        assert not app.state.live_runs


async def test_picking_the_context_in_use_or_escape_reloads_nothing(restricted):
    app = make_app(restricted)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        loaded = app.state.inventory
        sources = app.sources
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("enter")  # the highlight starts on the context in use
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert app.sources is sources and app.state.inventory is loaded
        assert app.context_name == ADMIN


# --- gaps found by switching to restricted users, fixed since ---


async def test_watch_keeps_running_for_a_namespace_user(restricted):
    app = make_app(restricted, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await switch_to(pilot, DEV)
        # the forbidden watch fails within milliseconds; a working one is still running after 2 s
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not any("Watching pods stopped" in n for n in app.notified):
            await pilot.pause(0.1)
        assert not [n for n in app.notified if "Watching pods stopped" in n]
        assert [w for w in app.workers if w.group == "watch" and not w.is_finished]


async def test_a_limited_view_says_so(restricted):
    app = make_app(restricted)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await switch_to(pilot, DEV)
        assert app.state.inventory.notes  # the loader knows the view is limited …
        shown = [crumbs(app), *app.notified]
        # … and the user must be told, on screen
        assert any("forbidden" in text for text in shown), shown


async def test_nodes_view_says_nodes_are_forbidden(restricted):
    app = make_app(restricted)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await switch_to(pilot, DEV)
        node = app.state.pods[pod_uid(app, "eks-iam-test2")].node_name
        await pilot.press("colon", *"nodes", "enter")
        await settle(pilot)
        table = app.screen.query_one("#list")
        # keyed by node name: the Node column may cut a long name to fit
        rows = {table.coordinate_to_cell_key((i, 0)).row_key.value: [str(c) for c in table.get_row_at(i)]
                for i in range(table.row_count)}
        assert node in rows and "unknown" in rows[node]  # the node a pod runs on, its role unknown
        table.move_cursor(row=list(rows).index(node))
        await settle(pilot)
        assert "forbidden" in text_of(app.screen.query_one("#detail"))


async def test_a_failed_load_after_a_switch_shows_nothing_of_the_previous_context(restricted):
    app = make_app(restricted)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        names = [value for value, _ in app.screen.choices]
        await pilot.press(*["down"] * (names.index("team-b") - names.index("*")), "enter")
        await settle(pilot)
        assert shown_pods(app) == {"team-b": {"batch"}}
        await switch_to(pilot, DEV)
        # the 403 is said where the user looks …
        assert 'User "dev" cannot list resource "pods"' in crumbs(app)
        # … and no pod or verdict read as the admin is passed off as dev's
        assert pods_table(app).row_count == 0
        assert app.state.inventory is None or app.state.inventory.context == DEV
