"""Live identity pane: `w` runs `aws sts get-caller-identity` in the pod; every run is kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult

from irsa_explorer.model import ObjectRef, Pod
from irsa_explorer.state import ExplorerState, LiveRun
from irsa_explorer.widgets.format import line, literal, relative, stamp
from irsa_explorer.widgets.panes.detail import DetailPane, arn_link, note, row, ticking

if TYPE_CHECKING:  # livecheck pulls in kubernetes and boto3: not before the first screen is drawn
    from irsa_explorer.sources.livecheck import LiveResult


def assumed_role_arn(arn: str | None) -> str | None:
    """arn:aws:sts::A:assumed-role/NAME/SESSION → arn:aws:iam::A:role/NAME (paths are not in STS ARNs)."""
    if not arn or ":assumed-role/" not in arn:
        return None
    head, tail = arn.split(":assumed-role/", 1)
    partition_account = head.replace(":sts:", ":iam:")
    return f"{partition_account}:role/{tail.split('/', 1)[0]}"


class LiveIdentityPane(DetailPane):
    TITLE = "Live identity"
    PANE_ID = "live-identity"
    # `w` is the app's key: it runs the check in the selected pod, which is this pane's.

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state: ExplorerState | None = None
        self.pod: Pod | None = None
        self.running = False

    def show(self, state: ExplorerState, pod: Pod | None, running: bool = False) -> None:
        self.state, self.pod, self.running = state, pod, running
        uid = pod.uid if pod else None
        runs = state.live_runs.get(uid, [])
        # the chain itself, not its id: an id may be reused once its object is freed
        self.rebuild((pod, running, len(runs), state.chains.get(uid)))

    def compose(self) -> ComposeResult:
        state, pod = self.state, self.pod
        if state is None or pod is None:
            yield note("No pod selected.")
            return
        runs = state.live_runs.get(pod.uid, [])
        chain = state.chains.get(pod.uid)
        intended = chain.intended_role_arn if chain else None
        if self.running:
            yield note(f"running sts get-caller-identity in {pod.namespace}/{pod.name}…")
        if not runs and not self.running:
            yield note("Press w to run `aws sts get-caller-identity` inside this pod.")
        now = state.now()
        for number, run in reversed(list(enumerate(runs, 1))):
            yield from self._run(number, run, intended, now)

    def _run(self, number: int, run: LiveRun, intended: str | None, now) -> ComposeResult:
        result: LiveResult | None = run.result
        yield ticking(lambda at: f"Run {number} · {stamp(run.at)} ({relative(run.at, at)})", now, classes="heading")
        if result is None:
            yield row("error", literal(run.error or "no answer", "$error"))
            return
        where = f" in container {result.container}" if result.container else ""
        yield row("command", literal(f"{result.command or 'aws'} sts get-caller-identity{where}", "$text-muted"))
        arn = result.arn
        if arn:
            yield arn_link(arn, _role_ref(arn), prefix="[b]arn[/b] ")
            yield row("account", result.account or "")
            yield row("user id", result.user_id or "")
        if not result.ok:
            message = result.error_message or run.error or "failed"
            label = f"{result.error_code}: " if result.error_code else ""
            yield row("error", line((label + message, "$error"), " ", (f"(exit {result.exit_code})", "$text-muted")))
            if result.hint:
                yield row("means", result.hint)
        intended = result.intended_role_arn or intended
        match = result.matches_intended
        if match is None and arn:
            from irsa_explorer.sources.livecheck import same_role

            match = same_role(arn, intended)
        if intended is None:
            yield row("intended", literal("no role intended (no IRSA / Pod Identity set up)", "$text-muted"))
        elif match:
            yield row("intended", literal(f"✓ matches the intended role {intended}", "$success"))
        elif match is False:
            yield row("intended", literal(f"✗ not the intended role {intended}", "$error"))
        else:
            yield row("intended", literal(f"? cannot tell: no identity came back (intended {intended})", "$warning"))


def _role_ref(caller_arn: str) -> ObjectRef | None:
    role = assumed_role_arn(caller_arn)
    return ObjectRef("Role", role) if role else None
