"""What the Pilot tests share: an explorer on a lab as `irsa-explorer` starts it, and waiting
until it has settled. Not a test module (no `test_` prefix); imported by the tests beside it."""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.worker import WorkerFailed

from irsa_explorer import app as app_module
from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.sources.connect import Sources
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource

SIZE = (160, 48)


def drawn(table) -> list[str]:
    """What a pods table draws on its visible lines (the header first)."""
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


class TableApp(App):
    """The pods table alone, on a store the test fills."""

    def __init__(self, state) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        from irsa_explorer.widgets.pods_table import PodsTable

        yield PodsTable(id="pods")


class RecordingExplorer(IrsaExplorerApp):
    """The explorer, keeping the text of every notification it shows (toasts vanish)."""

    # Textual reads a relative CSS_PATH next to the subclass's module: point at the app's own
    CSS_PATH = str(Path(app_module.__file__).parent / IrsaExplorerApp.CSS_PATH)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notified: list[str] = []

    def notify(self, message, **kwargs) -> None:
        self.notified.append(str(message))
        super().notify(message, **kwargs)


def make_app(lab, watch: bool = False, app_class: type[IrsaExplorerApp] = IrsaExplorerApp, **options) -> IrsaExplorerApp:
    """The explorer on the lab's kubeconfig (its current context) and AWS environment; `options`
    go to the App (clock, stale_after, …)."""
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    aws = AwsSource.from_env(dict(lab.aws_env))
    return app_class(Sources(kube, aws, None, kube.default_cluster_name(), kube.close), watch=watch, **options)


async def settle(pilot, timeout: float = 30) -> None:
    """Wait until every finite worker is done and the messages they posted are handled."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [w for w in app.workers if w.group != "watch" and not w.is_finished]
        if busy:
            try:
                await app.workers.wait_for_complete(busy)
            except WorkerFailed:
                pass  # the app shows a worker's failure itself (_worker_state_changed)
        await pilot.pause()
        if not [w for w in app.workers if w.group != "watch" and not w.is_finished]:
            return
    raise AssertionError("workers did not finish")


async def filter_to(pilot, name: str) -> None:
    await pilot.press("slash", *name, "enter")
    await settle(pilot)


async def press_confirming(pilot, *keys: str) -> None:
    """Press `keys` as a user who says yes when the explorer asks before an exec or a write
    (commands.ask_before: the ConfirmScreen); a key that does not ask is just pressed."""
    from irsa_explorer.screens.modals import ConfirmScreen

    for key in keys:
        await pilot.press(key)
        if isinstance(pilot.app.screen, ConfirmScreen):
            await pilot.press("y")


def lab_kube_counters(lab) -> dict[str, int]:
    """The lab API server's request counts by kind ("exec pod", "create token", …), over the
    wire as any client reads them (GET /_lab/stats), with the lab kubeconfig's credentials."""
    import requests
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)
    try:
        cfg = api.configuration
        headers = {"Authorization": cfg.api_key.get("BearerToken") or cfg.api_key.get("authorization", "")}
        return requests.get(lab.kube_url + "/_lab/stats", headers=headers, verify=cfg.ssl_ca_cert, timeout=10).json()["counters"]
    finally:
        api.close()


def pod_uid(app, name: str) -> str:
    return next(uid for uid, pod in app.state.pods.items() if pod.name == name)


async def wait_until(pilot, condition, what: str, hang_guard: float = 60) -> None:
    """Let workers finish and their messages land until `condition()` holds. The guard only
    stops a hang; it is no timing target (the suite must pass with the CPU busy)."""
    deadline = time.monotonic() + hang_guard
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await settle(pilot)
        if not condition():
            await pilot.pause(0.05)
