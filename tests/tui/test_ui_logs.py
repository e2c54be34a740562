"""`l` on a pod, driven with Pilot against the walkthrough lab: eks-iam-test1 (ended, Error) shows
its `aws s3 ls` AccessDenied highlighted and linked to the finding that explains it; enter opens
that finding; esc goes back. Log lines are drawn literally. Waits are on workers, never sleeps."""

from __future__ import annotations

from textual.content import Content

from irsa_explorer.screens.findings import FindingsScreen
from irsa_explorer.screens.logs import LogLines, LogsScreen, visible
from ui_pilot_helpers import SIZE, RecordingExplorer, filter_to, settle, wait_until
from ui_pilot_helpers import make_app as make_explorer

DENIED = "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied"


def _prompt(lines: LogLines, index: int) -> Content:
    prompt = lines.get_option_at_index(index).prompt
    assert isinstance(prompt, Content)
    return prompt


async def test_l_on_the_failed_pod_shows_access_denied_highlighted_and_linked(lab):
    app = make_explorer(lab, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test1")
        assert app.screen.selected_pod.name == "eks-iam-test1"
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LogsScreen), "the logs screen")
        await settle(pilot)
        screen = app.screen
        lines = screen.query_one(LogLines)
        assert lines.option_count == 2
        assert _prompt(lines, 0).plain == ""  # the aws CLI's blank line before its error
        error = _prompt(lines, 1)
        first, link = error.plain.split("\n")
        assert first == DENIED
        # the code is highlighted (reverse), the whole line in the error colour
        start = DENIED.index("AccessDenied")
        assert any(s.start == start and s.end == start + len("AccessDenied") and "reverse" in str(s.style)
                   for s in error.spans)
        assert "POD_FAILED_ON_NODE_ROLE" in link and "enter opens it" in link
        assert lines.highlighted == 1  # the cursor on the error: where the eye should go
        note = str(screen.query_one("#logs-note").render())
        assert "1 AWS error line" in note and "explained by POD_FAILED_ON_NODE_ROLE, NODE_ROLE_FALLBACK" in note
        assert "2 lines" in note
        # `/` filters the lines, esc clears the filter before it closes
        await pilot.press("slash", *"zzz", "enter")
        await wait_until(pilot, lambda: screen.needle == "zzz", "the filter")
        assert lines.option_count == 0
        assert "0 of 2 lines match" in str(screen.query_one("#logs-note").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: lines.option_count == 2, "the filter cleared")
        assert isinstance(app.screen, LogsScreen)
        # enter on the error opens the finding that explains it
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, FindingsScreen), "the findings view")
        await settle(pilot)
        assert app.history.current.view == "findings"
        assert app.history.current.ref.name == "POD_FAILED_ON_NODE_ROLE"
        assert "eks-iam-test1" in app.history.current.ref.namespace


async def test_esc_goes_back_and_a_running_pod_follows(lab):
    app = make_explorer(lab, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test2")
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LogsScreen), "the logs screen")
        screen = app.screen
        # a sleeping container writes nothing: the stream stays open, the screen says it follows
        await wait_until(pilot, lambda: "following" in str(screen.query_one("#logs-note").render()), "following")
        follows = list(screen._follows)
        assert follows and not follows[0].closed
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, LogsScreen), "back to the pods")
        assert follows[0].closed  # closing the screen cut the stream
        await wait_until(pilot, lambda: all(w.is_finished for w in app.workers if w.group == "logs"),
                         "the follow's worker to end")


async def test_w_on_the_ended_pod_points_at_l(lab):
    app = make_explorer(lab, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test1")
        await pilot.press("w")
        await settle(pilot)
        assert "l shows its logs" in app.notified[-1]


def test_a_hostile_line_is_drawn_literally_and_a_token_keeps_its_signature_hidden() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"
    hostile = f"\x1b[31mred\x1b[0m\ttab\x07bell\u202eevil [b]markup[/b] {token} AccessDenied"
    drawn = visible(hostile)
    assert "\x1b" not in drawn and "\x07" not in drawn and "\u202e" not in drawn  # a tab stays a tab
    assert "\\x1b[31mred" in drawn and "[b]markup[/b]" in drawn
    assert "c2lnbmF0dXJl" not in drawn and "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0." in drawn
    assert Content(drawn).plain == drawn  # literal: no markup is read from a log line
    # the engine's span falls on the code in the line as drawn
    from irsa_explorer.analysis.log_errors import explain_line

    said = explain_line(drawn, None)
    assert said is not None and drawn[said.start:said.end] == "AccessDenied"


async def test_a_restarted_container_has_its_previous_instance_too(lab):
    import uuid

    from kubernetes import client, config
    from textual.widgets import Tabs

    from irsa_explorer.sources.kube import KubeSource

    name = f"logs-restarts-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False))
    core.create_namespaced_pod("default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"restartPolicy": "Always",
                 "containers": [{"name": "cli", "image": "amazon/aws-cli:latest", "args": ["s3", "ls"]}]}})
    try:
        kube = KubeSource(kubeconfig=str(lab.kubeconfig))
        import threading

        stop, restarted = threading.Event(), threading.Event()
        guard = threading.Timer(120, stop.set)  # a hang guard, not a timing bound
        guard.start()
        for _, pod in kube.watch_pods("default", "", stop):  # until the kubelet has restarted it once
            if pod.name == name and pod.restarts:
                restarted.set()
                stop.set()
        guard.cancel()
        kube.close()
        assert restarted.is_set(), f"{name} never restarted"
        app = make_explorer(lab, app_class=RecordingExplorer)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await filter_to(pilot, name)
            await pilot.press("l")
            await wait_until(pilot, lambda: isinstance(app.screen, LogsScreen), "the logs screen")
            await settle(pilot)
            screen = app.screen
            tabs = screen.query_one(Tabs)
            assert [str(tab.label) for tab in tabs.query("Tab")] == ["cli", "cli (previous)"]
            await pilot.press("c")
            await wait_until(pilot, lambda: screen.current.previous, "the previous instance")
            lines = screen.query_one(LogLines)
            assert lines.option_count == 2 and DENIED in _prompt(lines, 1).plain
    finally:
        core.delete_namespaced_pod(name, "default")
