"""Experiments on a service account, opt-in: `W` what would it get with no pod (TokenRequest →
STS or EKS Auth → GetCallerIdentity), `X` a probe pod running as it (created, asked `aws sts
get-caller-identity`, deleted). Both write to the cluster, so both ask first, every time
(commands.ask_before; --readonly refuses), and show in `ExperimentScreen` each step as it
happens, then the engine's prediction beside what AWS answered.

The engine decides: the prediction is `analysis.prediction.predict_service_account` (made
here, before the question, so the question names the role and audience it will ask for), the
probe's chain `analysis.identity.resolve_chain`, and whether AWS agrees `compare_answer` /
`agreement_of`. This screen only draws their results, literally (Content, never markup: names,
ARNs and error texts come from the cluster and the account).

Probe pods left behind (the explorer stopped mid-probe) are offered for deletion once a
context's first load is in (`offer_cleanup`): the delete is a write, so it asks — a probe pod
may also be another user's explorer probing right now.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from irsa_explorer.commands import Ask, ask_before
from irsa_explorer.widgets import live
from irsa_explorer.model import Cluster, LinkStatus, Mechanism, ServiceAccount

if TYPE_CHECKING:
    from irsa_explorer.analysis.prediction import Agreement, SaPrediction
    from irsa_explorer.app import IrsaExplorerApp
    from irsa_explorer.model import IdentityChain, Pod

TOKEN_SECONDS = 600
MARKS = {True: ("✓ ", "$text-success"), False: ("✗ ", "$text-error"), None: ("… ", "$text-muted")}
VERDICT_STYLES = {"matches": "bold $text-success", "mismatch": "bold $text-error", "unknown": "bold $text-warning"}
STATUS_STYLES = {LinkStatus.OK: "$text-success", LinkStatus.BROKEN: "$text-error", LinkStatus.UNKNOWN: "$text-warning"}


def _line(*parts: str | tuple[str, str]) -> Content:
    """Parts as they are (a tuple: text and a style): never read as markup."""
    return Content.assemble(*parts)


# --- W: what would this service account get ------------------------------------------------------


def what_would_it_get(app: IrsaExplorerApp, sa: ServiceAccount | None) -> None:
    """`W`: the engine's prediction for `sa`, then (asked first) AWS's answer beside it."""
    from irsa_explorer.analysis.prediction import predict_service_account, token_audience

    inventory, sources = app.state.inventory, app.sources
    if sa is None or inventory is None or sources is None:
        app.notify("Select a service account first (and wait for the load).", severity="warning")
        return
    prediction = predict_service_account(inventory, sa.namespace, sa.name)
    if prediction.mechanism is Mechanism.NONE:
        app.notify(f"{sa.namespace}/{sa.name} names no role (no eks.amazonaws.com/role-arn annotation, no Pod Identity "
                   f"association): there is nothing to ask AWS for. A pod running as it gets what its SDK finds "
                   f"(X runs a probe pod and asks it).", title="Nothing to ask", severity="warning", timeout=10, markup=False)
        return
    audience = token_audience(prediction)
    pod_identity = prediction.mechanism is Mechanism.POD_IDENTITY
    exchange = ("EKS Auth AssumeRoleForPodIdentity (signed with your credentials: needs eks-auth:AssumeRoleForPodIdentity)"
                if pod_identity else "STS AssumeRoleWithWebIdentity (unsigned, as a pod's SDK calls it)")
    ask = Ask("token-request", "Ask AWS what this service account gets?", (
        f"W mints a token for {sa.namespace}/{sa.name} with TokenRequest and presents it to AWS, as the "
        f"{'Pod Identity agent' if pod_identity else 'SDK in a pod'} would:\n\n"
        f"  1. TokenRequest      audience {audience}, valid {TOKEN_SECONDS // 60} minutes\n"
        f"  2. {exchange}\n"
        f"  3. STS GetCallerIdentity with the credentials it returns\n\n"
        f"for the role {prediction.role_arn}\n\n"
        f"This writes to the cluster (create serviceaccounts/token, an audit log entry) and the calls are in "
        f"CloudTrail; nothing else changes. The token stays in memory and is never shown. Asked each time."),
        "Not asked: W creates a token with TokenRequest (a write), and this session is --readonly.")
    cluster = inventory.cluster.name if isinstance(inventory.cluster, Cluster) else sources.cluster_name

    def run() -> None:
        app.push_screen(ExperimentScreen("what-would-it-get", sa, prediction=prediction, cluster_name=cluster))

    ask_before(app, ask, run)


# --- X: a probe pod -----------------------------------------------------------------------------


def probe_image(app: Any) -> str:
    """The image probes run: the config file's `probe_image` or --probe-image, else the default."""
    from irsa_explorer.sources.probe import DEFAULT_PROBE_IMAGE

    return getattr(app, "probe_image", None) or DEFAULT_PROBE_IMAGE


def probe(app: IrsaExplorerApp, sa: ServiceAccount | None) -> None:
    """`X`: after a question that shows the manifest, a probe pod as `sa`, asked who it is, deleted."""
    from irsa_explorer.sources.probe import manifest_yaml, probe_manifest

    if sa is None or app.sources is None:
        app.notify("Select a service account first.", severity="warning")
        return
    manifest = probe_manifest(sa.namespace, sa.name, probe_image(app))
    name = manifest["metadata"]["name"]
    ask = Ask("probe-pod", "Create a probe pod?", (
        f"X creates this pod, asks it aws sts get-caller-identity, deletes it (create pods, pods/exec, "
        f"delete pods), each step said as it happens. Asked each time.\n"
        f"{manifest_yaml(manifest).rstrip()}"),
        f"Not created: a probe pod ({sa.namespace}/{name}) is a write, and this session is --readonly.")

    def run() -> None:
        app.push_screen(ExperimentScreen("probe", sa, manifest=manifest))

    ask_before(app, ask, run)


# --- the screen ---------------------------------------------------------------------------------


class ExperimentScreen(ModalScreen[None]):
    """One experiment's steps as they happen, then AWS's answer beside the engine's prediction."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="experiment.close",
                        tooltip="Close (a probe still running goes on, and deletes its pod)")]
    DEFAULT_CSS = """
    ExperimentScreen { align: center middle; }
    ExperimentScreen #experiment-body { width: 110; max-width: 96%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1; }
    """

    @dataclass
    class Said(Message):
        """A step happened (posted from the worker's thread)."""

        ok: bool | None
        words: str

    @dataclass
    class Finished(Message):
        result: Any  # SaCheck or ProbeResult
        agreement: Agreement | None

    def __init__(self, kind: str, sa: ServiceAccount, *, prediction: SaPrediction | None = None,
                 cluster_name: str | None = None, manifest: dict | None = None) -> None:
        super().__init__(classes="experiment")
        self.kind, self.sa, self.prediction = kind, sa, prediction
        self.cluster_name, self.manifest = cluster_name, manifest
        self.steps: list[Content] = []
        self.result: Any = None
        self.agreement: Agreement | None = None
        self.failure: str | None = None

    @property
    def title_text(self) -> str:
        what = "Probe pod as" if self.kind == "probe" else "What would this get:"
        return f"{what} {self.sa.namespace}/{self.sa.name} (esc closes)"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="experiment-body") as body:
            body.border_title = Content(self.title_text)
            yield Static(self._content(), id="experiment-text")

    def on_mount(self) -> None:
        app: Any = self.app
        sources = app.sources
        if self.kind == "probe":
            inventory = app.state.inventory
            work = lambda: self._probe(app, sources, inventory)  # noqa: E731
        else:
            work = lambda: self._check(sources)  # noqa: E731
        self.run_worker(work, name=f"{self.kind}:{self.sa.namespace}/{self.sa.name}", group=self.kind,
                        description=self.title_text, thread=True, exit_on_error=False)

    # -- in the worker's thread: only messages out --

    def _say(self, ok: bool | None, words: str) -> None:
        self.post_message(self.Said(ok, words))

    def _check(self, sources: Any) -> None:
        from irsa_explorer.sources.livecheck import what_would_sa_get

        self._say(None, "asking (TokenRequest)…")
        check = what_would_sa_get(
            sources.kube, sources.aws, self.sa.namespace, self.sa.name, expiration_seconds=TOKEN_SECONDS,
            prediction=self.prediction, cluster_name=self.cluster_name,
            on_step=lambda step: self._say(step.ok, f"{step.name}: {step.detail}"))
        self.post_message(self.Finished(check, check.agreement))

    def _probe(self, app: Any, sources: Any, inventory: Any) -> None:
        from irsa_explorer.analysis.identity import resolve_chain
        from irsa_explorer.analysis.prediction import agreement_of
        from irsa_explorer.sources.probe import run_probe

        assert self.manifest is not None
        meta = self.manifest["metadata"]
        self._say(None, f"creating pod {meta['namespace']}/{meta['name']}…")

        def resolve(pod: Pod) -> IdentityChain | None:
            return resolve_chain(pod, inventory) if inventory is not None else None

        def said(step: Any) -> None:
            self._say(step.ok, step.words)
            if step.name == "create" and step.ok:
                self._say(None, "waiting until it runs (watching; gives up after 2 minutes)…")
            elif step.name == "running" and step.ok:
                self._say(None, "asking it: aws sts get-caller-identity…")
            elif step.name == "who-am-i" or (step.name == "running" and not step.ok):
                self._say(None, f"deleting pod {meta['namespace']}/{meta['name']}…")

        result = run_probe(sources.kube, self.manifest, on_step=said, resolve=resolve)
        live, chain = result.live, result.chain
        agreement = agreement_of(live.agrees_with_engine, chain.effective if chain else None) if live else None
        self.post_message(self.Finished(result, agreement))
        if self not in app.screen_stack:  # closed before the end: say how it ended anyway
            words = "; ".join(step.words for step in result.steps[-1:])
            app.call_from_thread(app.notify, f"Probe {meta['namespace']}/{meta['name']}: {words}",
                                 severity="information" if result.deleted else "error", markup=False)

    # -- on the UI thread --

    @on(Said)
    def _said(self, message: Said) -> None:
        if self.steps and self.steps[-1].plain.endswith("…") and message.ok is not None:
            self.steps.pop()  # "asking…" is replaced by what happened
        mark, style = MARKS[message.ok]
        self.steps.append(_line((mark, style), message.words))
        self._redraw()

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        if self.steps and self.steps[-1].plain.endswith("…"):
            self.steps.pop()
        self.result, self.agreement = message.result, message.agreement
        self._redraw()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        event.stop()
        if event.state == WorkerState.ERROR:
            from irsa_explorer.workers import failure_words

            self.failure = failure_words(event.worker.error)
            self._redraw()

    def _redraw(self) -> None:
        if live(self):
            self.query_one("#experiment-text", Static).update(self._content())

    def _content(self) -> Content:
        """The prediction in brief, the steps as they happen, AWS's answer and whether it is the
        prediction; then why the engine predicts it (its links), to read once it is all in."""
        lines: list[Content] = []
        if self.prediction is not None:
            lines += prediction_lines(self.prediction)
        lines.append(_line(("Steps, as they happen", "bold $text-secondary")))
        lines += self.steps or [_line(("starting…", "$text-muted"))]
        if self.failure:
            lines.append(_line(("✗ ", "$text-error"), f"stopped: {self.failure}"))
        if self.result is not None:
            lines.append(Content(""))
            lines += (probe_lines(self.result) if self.kind == "probe" else answer_lines(self.result))
            if self.agreement is not None:
                lines.append(_line(("Prediction vs AWS: ", "bold"), (self.agreement.verdict, VERDICT_STYLES[self.agreement.verdict]),
                                   f" — {self.agreement.words}"))
            if self.prediction is not None:
                lines += [Content("")] + link_lines("Why the engine predicts it", self.prediction.links)
            elif getattr(self.result, "chain", None) is not None:
                lines += [Content("")] + link_lines("The probe pod's chain (the engine)", self.result.chain.links)
        return Content("\n").join(lines)


def prediction_lines(prediction: SaPrediction) -> list[Content]:
    """The engine's prediction in brief: mechanism, role, audience, what it expects AWS to answer."""
    return [
        _line(("The engine predicts", "bold $text-secondary")),
        _line("  mechanism  ", str(prediction.mechanism)),
        _line("  role       ", prediction.role_arn or "none"),
        _line("  audience   ", prediction.audience or "-"),
        _line("  answer     ", (prediction.words, STATUS_STYLES.get(prediction.status, ""))),
        Content(""),
    ]


def link_lines(title: str, links: tuple) -> list[Content]:
    """Each link of a chain: its status and what it is; why, where it is not ok."""
    lines = [_line((title, "bold $text-secondary"))]
    for link in links:
        why = f" — {link.detail}" if link.status is not LinkStatus.OK and link.detail else ""
        lines.append(_line(f"  {link.step:<17}", (f"{link.status!s:<8}", STATUS_STYLES.get(link.status, "")),
                           link.label, why))
    return lines


def answer_lines(check: Any) -> list[Content]:
    """What AWS answered: the identity, or the exact error of the step that failed."""
    lines = [_line(("AWS answered", "bold $text-secondary"))]
    if check.arn:
        lines.append(_line("  ", (check.arn, "$text-success")))
    elif (failed := check.failed) is not None:
        lines.append(_line("  ", (failed.detail, "$text-error"), f"  ({failed.name})"))
    return lines


def probe_lines(result: Any) -> list[Content]:
    """What the probe pod's SDK got, beside its chain as the engine resolved it."""
    lines = [_line(("Inside the pod", "bold $text-secondary"))]
    live = result.live
    if live is None:
        lines.append(_line(("  not asked: the pod did not run", "$text-warning")))
    elif live.ok:
        lines.append(_line("  ", (live.arn or "", "$text-success")))
    else:
        code = f"{live.error_code}: " if live.error_code else ""
        lines.append(_line("  ", (f"{code}{live.error_message}", "$text-error")))
        if live.hint:
            lines.append(_line(("  means: ", "$text-muted"), live.hint))
    if not result.deleted and result.created:
        lines.append(_line(("  the pod may still be there: ", "$text-error"),
                           f"kubectl delete pod -n {result.namespace} {result.name}"))
    return lines


# --- probe pods left behind ----------------------------------------------------------------------

_checked: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def offer_cleanup(app: IrsaExplorerApp) -> None:
    """Once per context, when its first load is in: probe pods the inventory holds (left by an
    explorer stopped mid-probe) are named, and deleting them is asked (with --readonly: the
    command that does it)."""
    state, sources = app.state, app.sources
    if sources is None or state.inventory is None or state.stage or state.error:
        return
    contexts = _checked.setdefault(app, set())
    if app.context_name in contexts:
        return
    contexts.add(app.context_name)
    # imported here, once a load is in: not at the first tick, while pages arrive (the sources'
    # probe module and the live check it imports cost the event loop ~50 ms, the first key press's wait)
    from irsa_explorer.sources.probe import is_probe

    leftovers = sorted((p for p in state.inventory.pods.values() if is_probe(p)), key=lambda p: (p.namespace, p.name))
    if not leftovers:
        return
    now = datetime.now(timezone.utc)
    listed = "\n".join(f"  {p.namespace}/{p.name}  {p.status or p.phase}, {_age(p, now)} old" for p in leftovers)
    commands = "\n".join(f"  kubectl delete pod -n {p.namespace} {p.name}" for p in leftovers)
    ask = Ask("probe-pod", "Delete probe pods left behind?", (
        f"These probe pods (label irsa-explorer/probe=true) are still in the cluster: an explorer stopped "
        f"before it could delete them — or one probing right now, if it is young:\n\n{listed}\n\n"
        f"Delete them (delete pods)? The same with kubectl:\n{commands}"),
        f"Probe pods left behind (not deleted: --readonly):\n{listed}\nDelete them with:\n{commands}")

    def run() -> None:
        app.run_worker(lambda: _delete(app, sources, leftovers), name="probe-cleanup", group="probe-cleanup",
                       description="delete probe pods left behind", thread=True, exit_on_error=False)

    ask_before(app, ask, run)


def _delete(app: Any, sources: Any, pods: list[Pod]) -> None:
    from irsa_explorer.sources.probe import delete_probe

    for pod in pods:
        deleted, words = delete_probe(sources.kube, pod.namespace, pod.name)
        app.call_from_thread(app.notify, words, severity="information" if deleted else "error", markup=False)


def _age(pod: Pod, now: datetime) -> str:
    if pod.created is None:
        return "?"
    seconds = max(int((now - pod.created).total_seconds()), 0)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds < 3600 else f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def selected_service_account(app: Any) -> ServiceAccount | None:
    """The service account of the view shown: the selected row of the service accounts view,
    the selected pod's in the pods view."""
    screen = app.screens_by_view.get(app.history.current.view)
    if screen is None or not screen.live:
        return None
    if hasattr(screen, "selected_account"):
        return screen.selected_account()
    pod = getattr(screen, "selected_pod", None)
    return app.state.service_account(pod) if pod is not None else None
