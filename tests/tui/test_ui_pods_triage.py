"""Triage at a glance in the pods view (issue 11): the verdict column never cut, columns chosen
by width; per-verdict counts that filter; k9s-style sorting (worst verdict first by default);
`]`/`[` through broken pods; esc clears a filter before it goes back; `/!text` and
`/-l selector`; an empty cluster and a filter matching nothing say so.

Two halves: the table on plain model objects (ten thousand pods, every width), and the
explorer on real labs over the wire (Pilot), waiting on conditions, never on durations."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from kubernetes import client, config
from textual.content import Content

from irsa_explorer.model import IdentityChain, Inventory, Mechanism, Pod, Verdict
from irsa_explorer.pods_query import parse
from irsa_explorer.screens.main import PodsScreen
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.format import VERDICT_STYLE
from irsa_explorer.widgets.pods_table import COLUMNS, PodsTable, fit_middle, phase_kind
from ui_pilot_helpers import filter_to, make_app, pod_uid, settle, wait_until
from ui_pilot_helpers import TableApp, drawn

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
WORST_FIRST = [Verdict.BROKEN, Verdict.UNKNOWN, Verdict.WARNING, Verdict.OK]
VERDICT_WORDS = {VERDICT_STYLE[v][0] for v in Verdict}
SCENARIOS = Path(__import__("irsa_explorer.lab", fromlist=["x"]).__file__).parent / "scenarios"


# -- the table on model objects ---------------------------------------------------------------


def long_pods(count: int) -> tuple[dict[str, Pod], dict[str, IdentityChain]]:
    """Pods with names as long as real ones (deployment-hash-suffix), random verdicts (seeded),
    some failed and restarting."""
    rng = random.Random(11)
    pods, chains = {}, {}
    for i in range(count):
        uid = f"uid-{i:05d}"
        ns = f"team-{i % 37:02d}-payments"
        status, phase = rng.choice([("Running", "Running")] * 8 + [("Error", "Failed"), ("CrashLoopBackOff", "Running")])
        pods[uid] = Pod(uid, ns, f"payments-settlement-worker-{i:05d}-7d9f8b6c5d-{i % 97:05d}", f"settlement-sa-{i % 50}",
                        f"ip-10-0-{i % 20}-1.us-east-2.compute.internal", phase, status, NOW - timedelta(minutes=i),
                        restarts=rng.choice([0, 0, 0, 3, 12]))
        if i % 500 != 7:  # a few still being worked out
            chains[uid] = IdentityChain(pod=pods[uid].ref, mechanism=Mechanism.IRSA, intended_role_arn=None,
                                        effective_identity=None, verdict=rng.choice(WORST_FIRST))
    return pods, chains


def state_with(count: int) -> ExplorerState:
    state = ExplorerState(clock=lambda: NOW)
    pods, chains = long_pods(count)
    state.inventory = Inventory(context="test", namespace=None, pods=pods)
    state.chains = chains
    return state


def verdict_rank(state: ExplorerState, uid: str) -> int:
    chain = state.chains.get(uid)
    return WORST_FIRST.index(chain.verdict) if chain else len(WORST_FIRST)


def assert_verdicts_whole(table: PodsTable, lines: list[str]) -> None:
    """Every drawn row carries its pod's verdict word whole, and no cell spills past the edge."""
    width = table.scrollable_content_region.width
    top = int(table.scroll_y)
    for y, line in enumerate(lines[1:]):
        row = top + y
        if row >= table.row_count:
            break
        assert len(line) == width
        word = table.row_cells(table._order[row])["verdict"]
        assert f" {word} " in f"{line} ", (word, line)


@pytest.mark.parametrize("size, pane_width", [((120, 24), 67), ((80, 24), 78), ((60, 24), 40), ((200, 24), 200)])
async def test_the_verdict_is_never_cut_and_columns_are_chosen_by_width(size, pane_width):
    state = state_with(2_000)
    app = TableApp(state)
    async with app.run_test(size=size) as pilot:
        table = app.query_one(PodsTable)
        table.styles.width = pane_width  # the pods pane's width at that terminal size
        table.sync(state)
        await pilot.pause()
        width = table.scrollable_content_region.width
        lines = drawn(table)
        assert_verdicts_whole(table, lines)
        shown = table.shown_columns()
        assert {"pod", "verdict"} <= set(shown)
        assert table.virtual_size.width <= width  # nothing to scroll sideways: no scrollbar row
        if width >= 60:  # the pods pane at 120 columns: phase, restarts and age whole
            assert {"namespace", "phase", "restarts", "age"} <= set(shown)
            header = lines[0]
            for label in ("Phase", "Age"):
                assert label in header
            assert any("CrashLoo" in line for line in lines[1:])
        if width >= 150:  # room for everything: nothing cut at all
            assert shown == [column.key for column in COLUMNS]
            assert any("CrashLoopBackOff" in line for line in lines[1:])
            assert "…" not in "".join(lines[1:]).replace("… ", "")
        # names too long for their column are cut in the middle: start and end both there
        pod = state.pods[table.selected_uid]
        layout = dict(table.layout(width))
        pod_width = layout[[c.key for c in COLUMNS].index("pod")]
        if pod_width < len(pod.name):
            assert fit_middle(pod.name, pod_width) in lines[1]
            assert fit_middle(pod.name, pod_width).rstrip().endswith(pod.name.rsplit("-", 1)[1])


def test_names_are_cut_in_the_middle_keeping_the_replica_suffix():
    assert fit_middle("eks-iam-production-test1", 15) == "eks-iam-…-test1"
    assert fit_middle("accounts-indexer-5nnr62m5zj-cc6zp", 23) == "accounts-indexer…-cc6zp"
    assert fit_middle("short", 10) == "short     "
    assert fit_middle("analytics-sync-8wn8m2k4-nljz2", 23) == "analytics-sync-…-nljz2 "  # not "…sync-8…"
    for width in range(1, 30):
        assert len(fit_middle("accounts-indexer-5nnr62m5zj-cc6zp", width)) == width


def test_a_failed_pod_reads_as_failed():
    def pod(phase: str, status: str) -> Pod:
        return Pod("u", "ns", "p", "sa", None, phase, status, NOW)

    assert phase_kind(pod("Failed", "Error")) == "failed"
    assert phase_kind(pod("Running", "CrashLoopBackOff")) == "failed"
    assert phase_kind(pod("Pending", "Init:ErrImagePull")) == "failed"
    assert phase_kind(pod("Pending", "Init:0/1")) == "waiting"
    assert phase_kind(pod("Pending", "ContainerCreating")) == "waiting"
    assert phase_kind(pod("Succeeded", "Completed")) == "done"
    assert phase_kind(pod("Running", "Running")) == "running"


async def test_ten_thousand_pods_sort_worst_first_count_and_walk_the_broken_ones():
    state = state_with(10_000)
    app = TableApp(state)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(PodsTable)
        table.focus()
        table.sync(state)
        # worst verdict first, then namespace and name; pods still worked out last
        keys = [(verdict_rank(state, uid), state.pods[uid].namespace, state.pods[uid].name) for uid in table._order]
        assert keys == sorted(keys)
        assert table.row_cells(table._order[0])["verdict"] == "✗ broken"
        counts = table.verdict_counts()
        expected = Counter(chain.verdict for chain in state.chains.values())
        assert all(counts[v] == expected[v] for v in Verdict) and counts[None] == 10_000 - len(state.chains)
        # the header marks the column sorted on
        await pilot.pause()
        assert "Verdict↓" in drawn(table)[0]

        # ] / [: the next and previous broken pod, wrapping round
        broken = [row for row, uid in enumerate(table._order) if (c := state.chains.get(uid)) and c.verdict is Verdict.BROKEN]
        table.move_cursor(row=broken[-1] + 1)
        assert table.next_with(Verdict.BROKEN) == broken[0]  # wrapped
        assert table.next_with(Verdict.BROKEN, -1) == broken[-1]
        table.move_cursor(row=broken[3])
        assert table.next_with(Verdict.BROKEN) == broken[4]

        # again on the same column: the other way round; another column: its own first order
        table.sort_by("verdict")
        keys = [(verdict_rank(state, uid), state.pods[uid].namespace, state.pods[uid].name) for uid in table._order]
        assert keys == sorted(keys, reverse=True)
        table.sort_by("age")
        created = [state.pods[uid].created for uid in table._order]
        assert created == sorted(created, reverse=True)  # youngest first
        table.sort_by("restarts")
        restarts = [state.pods[uid].restarts for uid in table._order]
        assert restarts == sorted(restarts, reverse=True)
        table.sort_by("phase")
        assert [phase_kind(state.pods[uid]) for uid in table._order[:10]] == ["failed"] * 10

        # a watch event: a pod's verdict changes and a new pod arrives; rows move, no full sync
        table.sort_by("verdict")  # another column before: worst first again
        assert not table.sort_reversed
        ok_uid = next(uid for uid in reversed(table._order) if (c := state.chains.get(uid)) and c.verdict is Verdict.OK)
        pod = state.pods[ok_uid]
        state.chains[ok_uid] = IdentityChain(pod=pod.ref, mechanism=Mechanism.IRSA, intended_role_arn=None,
                                             effective_identity=None, verdict=Verdict.BROKEN)
        new = Pod("uid-new", "aaa", "a-new-pod", "sa", None, "Running", "Running", NOW)
        state.inventory = state.inventory.with_pod(new)
        state.chains["uid-new"] = IdentityChain(pod=new.ref, mechanism=Mechanism.IRSA, intended_role_arn=None,
                                                effective_identity=None, verdict=Verdict.BROKEN)
        table.pods_changed(state, [new], set(), {ok_uid, "uid-new"})
        assert table._order[0] == "uid-new"  # namespace "aaa": the first broken pod
        keys = [(verdict_rank(state, uid), state.pods[uid].namespace, state.pods[uid].name) for uid in table._order]
        assert keys == sorted(keys) and table.row_count == 10_001

        # a verdict filter keeps only that verdict
        table.verdict_filter = Verdict.WARNING
        table.sync(state)
        assert table.row_count == Counter(c.verdict for c in state.chains.values())[Verdict.WARNING]
        assert {table.row_cells(uid)["verdict"] for uid in table._order} == {"! warning"}


def test_filters_read_as_k9s_reads_them():
    labels = {"app": "web", "tier": "front", "team": "a"}
    assert parse("web").matches("payments web", labels)
    assert not parse("!web").matches("payments web", labels) and parse("!web").matches("payments", labels)
    assert parse("-l app=web").matches("", labels) and not parse("-l app=db").matches("", labels)
    assert parse("-l app=web,tier!=back").matches("", labels)
    assert not parse("-l app=web,team").matches("", {"app": "web"})
    assert parse("-l !legacy").matches("", labels)
    assert parse("-l tier in (front, back)").matches("", labels)
    assert not parse("-l tier notin (front)").matches("", labels)
    bad = parse("-l =web")
    assert bad.error and not bad.active and bad.matches("", {})  # said, and filters nothing
    assert parse("-l").error and not parse("").active and not parse("!").active


# -- the explorer on real labs ------------------------------------------------------------------


def table_of(app) -> PodsTable:
    return app.screen.query_one("#pods", PodsTable)


def title(app) -> str:
    return Content.from_markup(table_of(app).border_title).plain


async def test_counts_filter_sort_walk_and_escape_on_the_walkthrough(lab):
    # the shared walkthrough lab: other tests may have added pods of their own, so no fixed count
    app = make_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.state.inventory is not None and not app.state.stage
                         and len(app.state.chains) == len(app.state.pods) >= 3, "every verdict")
        everyone = len(app.state.pods)
        screen, table = app.screen, table_of(app)
        assert isinstance(screen, PodsScreen)
        # the counts above the table are the engine's verdicts
        counts = Counter(chain.verdict for chain in app.state.chains.values())
        for verdict in (Verdict.BROKEN, Verdict.WARNING, Verdict.OK):
            assert f"{VERDICT_STYLE[verdict][0].split()[0]} {counts[verdict]}" in title(app)
        assert ("? " in title(app)) == bool(counts[Verdict.UNKNOWN])
        # worst first: the rows' verdicts in order, the cursor on the worst
        ranks = [WORST_FIRST.index(app.state.chains[uid].verdict) for uid in table._order]
        assert ranks == sorted(ranks) and table.cursor_row == 0
        # no verdict cut at 120 columns; phase, restarts and age on screen
        lines = drawn(table)
        assert_verdicts_whole(table, lines)
        assert all(label in lines[0] for label in ("Phase", "Age", "Verdict"))
        test1 = app.state.pods[pod_uid(app, "eks-iam-test1")]
        assert any("eks-iam-test1" in line and test1.status in line for line in lines)

        # shift+n: by name; again: the other way round
        await pilot.press("N")
        names = [app.state.pods[uid].name for uid in table._order]
        assert names == sorted(names) and "Pod↓" in drawn(table)[0]
        await pilot.press("N")
        assert [app.state.pods[uid].name for uid in table._order] == sorted(names, reverse=True)
        # a click on a column's header sorts on it
        header = drawn(table)[0]
        region = table.content_region
        await pilot.click(offset=(region.x + header.index("Age"), region.y))
        assert table.sort_column == "age" and "Age↓" in drawn(table)[0]
        await pilot.press("V")  # worst first again
        assert ranks == [WORST_FIRST.index(app.state.chains[uid].verdict) for uid in table._order]

        # ]: the next broken pod, wrapping; [ the previous
        broken = [uid for uid in table._order if app.state.chains[uid].verdict is Verdict.BROKEN]
        assert broken
        await pilot.press("end", "right_square_bracket")
        assert table.selected_uid == broken[0]
        await pilot.press("left_square_bracket")
        assert table.selected_uid == broken[-1]
        await pilot.pause()
        assert screen.selected_pod.uid == broken[-1]  # the chain and panes follow

        # v: only broken pods; the title marks it, the subtitle says so; esc clears it
        await pilot.press("v")
        assert table.verdict_filter is Verdict.BROKEN and table.row_count == len(broken)
        assert "broken only" in str(table.border_subtitle)
        await pilot.press("escape")
        assert table.verdict_filter is None and table.row_count == everyone
        # a click on a count filters to it; on it again, every pod
        await click_count(pilot, "✓")
        assert table.verdict_filter is Verdict.OK and table.row_count == counts[Verdict.OK]
        await click_count(pilot, "✓")
        assert table.verdict_filter is None and table.row_count == everyone

        # esc after /x⏎ clears the filter, and only then goes back
        await pilot.press("2")  # the token pane: a step of history to go back from
        await settle(pilot)
        assert app.history.can_back and app.history.current.pane == "token"
        await filter_to(pilot, "eks-iam-test3")
        assert table.row_count == 1 and screen.needle == "eks-iam-test3"
        await pilot.press("escape")
        assert screen.needle == "" and table.row_count == everyone
        assert app.history.current.pane == "token" and not app.history.can_forward  # not back yet
        await pilot.press("escape")
        assert app.history.can_forward and app.history.current.pane is None  # no filter: back

        # a filter matching nothing says so; /! the others; a bad selector says why
        await filter_to(pilot, "no-such-pod")
        assert table.row_count == 0 and "No pod matches /no-such-pod" in "\n".join(drawn(table))
        await filter_to(pilot, "!eks-iam-test3")
        assert table.row_count == everyone - 1 and table.row_index(pod_uid(app, "eks-iam-test3")) is None
        # what is typed is shown as typed, never read as markup (`[/]` once crashed the app)
        await filter_to(pilot, "[/][@click=app.quit]x")
        assert app.is_running and "[/][@click=app.quit]x" in Content.from_markup(table.border_subtitle).plain
        assert "No pod matches /[/][@click=app.quit]x" in "\n".join(drawn(table))
        await filter_to(pilot, "-l =x")
        assert table.row_count == everyone and "cannot read the label selector" in str(table.border_subtitle)
        await pilot.press("escape")
        assert screen.needle == ""


async def click_count(pilot, mark: str) -> None:
    """Click the count with `mark` in the pods table's border title, where it is on screen."""
    table = table_of(pilot.app)
    region = table.region
    x = region.x + 3 + Content.from_markup(table.border_title).plain.index(mark)  # "╭─ " then the title
    await pilot.click(offset=(x, region.y))
    await pilot.pause()


async def test_no_verdict_cut_at_80_columns(lab):
    app = make_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: len(app.state.chains) == len(app.state.pods), "every verdict")
        table = table_of(app)
        await pilot.pause()
        lines = drawn(table)
        assert_verdicts_whole(table, lines)
        assert {"pod", "verdict", "phase", "age"} <= set(table.shown_columns())


async def test_an_empty_cluster_says_there_are_no_pods(lab_for):
    # a lab of its own (a path, not the name): the replay test builds the walkthrough on "fresh-cluster"
    app = make_app(lab_for(str(SCENARIOS / "fresh-cluster.yaml")))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: not app.state.stage and app.state.inventory is not None, "the load")
        table = table_of(app)
        assert not table.loading  # no spinner
        text = "\n".join(drawn(table))
        assert "No pods in any namespace of" in text and "kubectl run" in text


async def test_a_labelled_pod_made_while_watching_sorts_in_and_filters_by_label(lab_for):
    lab = lab_for(str(SCENARIOS / "walkthrough.yaml"))  # a lab of its own: this test adds a pod
    api = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)
    core = client.CoreV1Api(api)
    name = f"triage-{uuid.uuid4().hex[:6]}"
    app = make_app(lab, watch=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.state.watching and len(app.state.chains) == len(app.state.pods), "watching")
        core.create_namespaced_pod("default", {
            "metadata": {"name": name, "labels": {"tier": "web", "team": "triage"}},
            "spec": {"containers": [{"name": "app", "image": "amazon/aws-cli:latest", "command": ["sleep", "3600"]}]},
        })
        table = table_of(app)
        await wait_until(pilot, lambda: any(p.name == name for p in app.state.pods.values())
                         and pod_uid(app, name) in app.state.chains
                         and table.row_index(pod_uid(app, name)) is not None, "the new pod's row and verdict")
        # sorted in where its verdict puts it, the counts follow
        ranks = [WORST_FIRST.index(app.state.chains[uid].verdict) if uid in app.state.chains else 4 for uid in table._order]
        assert ranks == sorted(ranks)
        counts = Counter(chain.verdict for chain in app.state.chains.values())
        assert f"{VERDICT_STYLE[Verdict.WARNING][0].split()[0]} {counts[Verdict.WARNING]}" in title(app)
        # -l: by label, as kubectl reads a selector
        await filter_to(pilot, "-l tier=web,team")
        assert [app.state.pods[uid].name for uid in table._order] == [name]
        await filter_to(pilot, "-l tier!=web")
        assert table.row_count == len(app.state.pods) - 1
        await pilot.press("escape")
        assert table.row_count == len(app.state.pods)
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
        await wait_until(pilot, lambda: all(p.name != name for p in app.state.pods.values()), "the pod gone")
        assert table.row_count == len(app.state.pods)


def test_restarts_are_the_containers_restart_counts_summed():
    from irsa_explorer.sources.kube_convert import pod_from_dict

    raw = {"metadata": {"uid": "u", "namespace": "ns", "name": "p"},
           "spec": {"containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "i"}]},
           "status": {"phase": "Running", "containerStatuses": [
               {"name": "a", "restartCount": 3, "state": {"running": {}}},
               {"name": "b", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    pod = pod_from_dict(raw)
    assert pod.restarts == 7 and pod.status == "CrashLoopBackOff" and phase_kind(pod) == "failed"
    assert pod_from_dict({"metadata": {"name": "q"}, "spec": {}, "status": {}}).restarts == 0


async def test_pods_that_cannot_be_listed_say_why_in_the_table(lab_for):
    from irsa_explorer.app import IrsaExplorerApp
    from irsa_explorer.sources.aws import AwsSource
    from irsa_explorer.sources.connect import Sources
    from irsa_explorer.sources.kube import KubeSource

    lab = lab_for("restricted-user")
    kube = KubeSource("dev@eks-oidc-demo.us-east-2.eksctl.io", str(lab.kubeconfig))  # dev may not read team-b
    app = IrsaExplorerApp(Sources(kube, AwsSource.from_env(dict(lab.aws_env)), "team-b", kube.default_cluster_name(), kube.close),
                          watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: bool(app.state.error), "the failed load")
        table = table_of(app)
        assert not table.loading and table.row_count == 0
        text = " ".join(drawn(table))
        assert "forbidden" in text and "team-b" in text and "c: another context" in text


def test_a_status_from_the_cluster_reaches_the_screen_as_printable_text():
    from irsa_explorer.widgets.pods_table import literal

    assert literal("CrashLoopBackOff") == "CrashLoopBackOff"
    assert literal("Evil\x1b[2J\nreason") == "Evil\\x1b[2J\\nreason"  # format.shown: visible, never sent
    assert len(literal("x" * 10_000)) == 80


async def test_names_that_no_real_api_server_would_accept_are_drawn_visibly():
    """A real API server checks names; a proxy or a fake in between does not: a name, namespace,
    service account or node holding escape sequences is drawn as `\\x1b`, never sent."""
    state = ExplorerState(clock=lambda: NOW)
    evil = "a\x1b[2Jb\x07"
    pod = Pod("uid-evil", f"ns{evil}", f"pod{evil}", f"sa{evil}", f"node{evil}", "Running", "Running", NOW)
    state.inventory = Inventory(context="test", namespace=None, pods={pod.uid: pod})
    state.chains = {}
    app = TableApp(state)
    async with app.run_test(size=(200, 10)) as pilot:
        table = app.query_one(PodsTable)
        table.sync(state)
        await pilot.pause()
        cells = table.row_cells("uid-evil")
        for key in ("namespace", "pod", "sa", "node"):
            assert "\x1b" not in cells[key] and "\x07" not in cells[key] and "\\x1b[2J" in cells[key], (key, cells[key])
        line = "".join(drawn(table)[1:])
        assert "\x1b" not in line and "poda\\x1b[2Jb\\x07" in line
