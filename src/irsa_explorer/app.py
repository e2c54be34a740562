"""The explorer App: bindings, message routing and the workers that call the data layer.

Everything slow runs in a thread worker that only calls the data layer and posts a message;
the handlers below apply results to the `ExplorerState` on the UI thread and tell the visible
screen to redraw. Worker failures are handled in one place (`_worker_state_changed`) and shown
in the pane that asked. Links anywhere post `Navigate`; `go()` is the one place that turns a
location into a view change and records it in the `History`.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import sys
import threading

from typing import Any, Callable

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Input
from textual.worker import Worker, WorkerState, get_current_worker

from irsa_explorer.commands import ExplorerCommands
from irsa_explorer.model import (
    DEFAULT_TOKEN_PATH,
    IRSA_TOKEN_PATH,
    POD_IDENTITY_TOKEN_PATH,
    IdentityChain,
    Inventory,
    ObjectRef,
    Pod,
    Role,
    Unavailable,
)
from irsa_explorer.navigation import VIEWS, History, Location, Navigate
from irsa_explorer.sources.connect import Sources, switch_context
from irsa_explorer.screens.findings import FindingsScreen
from irsa_explorer.screens.main import PodsScreen
from irsa_explorer.screens.modals import ConfirmScreen, DocumentScreen, HelpScreen, PickerScreen
from irsa_explorer.screens.nodes import NodesScreen
from irsa_explorer.screens.roles import RolesScreen
from irsa_explorer.screens.service_accounts import ServiceAccountsScreen
from irsa_explorer.state import Clock, ExplorerState, LiveRun, TokenView, system_clock
from irsa_explorer.widgets.breadcrumbs import Breadcrumbs
from irsa_explorer.widgets.chain_strip import ChainStrip
from irsa_explorer.widgets.panes.live_identity import LiveIdentityPane
from irsa_explorer.widgets.pods_table import PodsTable
from irsa_explorer.widgets.prompt_bar import PromptBar
from irsa_explorer.widgets.panes.role import PolicyLink, RolePane
from irsa_explorer.widgets.panes.token import TokenPane


# --- messages from workers ----------------------------------------------------------------------


class Connected(Message):
    def __init__(self, sources: Sources) -> None:
        super().__init__()
        self.sources = sources


class InventoryStaged(Message):
    """A (partial) inventory and, once final, the chains resolved from it (None: not yet)."""

    def __init__(
        self, stage: str, inventory: Inventory, chains: dict[str, IdentityChain] | None, final: bool,
        generation: int = 0,
    ) -> None:
        super().__init__()
        self.stage, self.inventory, self.chains, self.final = stage, inventory, chains, final
        self.generation = generation


class PodsPaged(Message):
    """Pods from one list page, ahead of the rest of the inventory (rows before verdicts)."""

    def __init__(self, generation: int, pods: list[Pod]) -> None:
        super().__init__()
        self.generation, self.pods = generation, pods


class PodEvent(Message):
    def __init__(self, kind: str, pod: Pod) -> None:
        super().__init__()
        self.kind, self.pod = kind, pod


class LiveChecked(Message):
    def __init__(self, pod_uid: str, result: Any) -> None:
        super().__init__()
        self.pod_uid, self.result = pod_uid, result


class TokenRead(Message):
    def __init__(self, pod_uid: str, view: TokenView) -> None:
        super().__init__()
        self.pod_uid, self.view = pod_uid, view


class RoleDetails(Message):
    def __init__(self, arn: str, policies: Any, assumers: Any) -> None:
        super().__init__()
        self.arn, self.policies, self.assumers = arn, policies, assumers


class PolicyDocument(Message):
    """A managed policy's document (dict), or Unavailable when it could not be read."""

    def __init__(self, arn: str, document: Any) -> None:
        super().__init__()
        self.arn, self.document = arn, document


def token_container(pod: Pod, path: str) -> str | None:
    """The first non-init container that mounts the token's directory (else the first one)."""
    folder = path.rsplit("/", 1)[0]
    regular = [c for c in pod.containers if not c.init]
    for container in regular:
        if any(mount == folder or folder.startswith(mount.rstrip("/") + "/") for _, mount in container.volume_mounts):
            return container.name
    return regular[0].name if regular else None


def snapshot(inventory: Inventory) -> Inventory:
    """A copy whose containers the loader thread will not mutate while the UI reads them."""
    copied = {}
    for f in dataclasses.fields(inventory):
        value = getattr(inventory, f.name)
        copied[f.name] = value.copy() if isinstance(value, (dict, list)) else value
    return Inventory(**copied)


class IrsaExplorerApp(App):
    """The TUI. Give it `Sources`, or `connect` to build them in a worker (the lab starts there)."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "irsa-explorer"
    COMMANDS = App.COMMANDS | {ExplorerCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave the explorer"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key"),
        # priority: handled as the key arrives, so type-ahead after `/` or `:` lands in the prompt
        Binding("slash", "filter", "Filter", id="app.filter", tooltip="Filter the table", priority=True),
        Binding("colon", "command_mode", "Command", id="app.command", tooltip=":pods :sa :roles :nodes :findings", priority=True),
        Binding("w", "who_am_i", "Who am I", id="app.whoami", tooltip="Run sts get-caller-identity in the selected pod"),
        Binding("escape,backspace,alt+left", "back", "Back", id="app.back", tooltip="Back to where you were"),
        Binding("f,alt+right", "forward", "Forward", id="app.forward", tooltip="Forward again"),
        Binding("r", "refresh", "Refresh", id="app.refresh", tooltip="Load everything again"),
        Binding("n", "namespace", "Namespace", id="app.namespace", tooltip="One namespace or all"),
        Binding("c", "context", "Context", id="app.context", tooltip="Another kubeconfig context"),
        Binding("y", "copy", "Copy", id="app.copy", tooltip="Copy the focused ARN or fix"),
    ]

    def __init__(
        self,
        sources: Sources | None = None,
        *,
        connect: Callable[[], Sources] | None = None,
        clock: Clock = system_clock,
        watch: bool = True,
        context_switcher: Callable[[Sources, str], Sources] | None = None,
        connect_label: str = "connecting…",
    ) -> None:
        super().__init__()
        if sources is None and connect is None:
            raise ValueError("give the explorer sources or a way to connect")
        self.sources = sources
        self._connect = connect
        self._connect_label = connect_label
        self._context_switcher = context_switcher or switch_context
        self.state = ExplorerState(clock=clock)
        self.history = History(Location("pods"))
        self._watch_enabled = watch
        self._watch_stop = threading.Event()
        self.screens_by_view: dict[str, Any] = {}
        # Each load is a generation; pages and stages of an older one are dropped.
        self._generation = 0
        self._shown_generation = 0
        self._paged: list[Pod] = []  # pods paged in, not yet given to the table

    # -- start and stop -------------------------------------------------------------------------

    def on_mount(self) -> None:
        # The loader and the analysis are pure-Python threads: a thread waiting for the GIL gets
        # it only after the switch interval, and the event loop waits for it each time it polls
        # for input. 1 ms instead of Python's 5 ms shortens every such wait; restored on exit.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, 0.001))
        self.screens_by_view = {
            "pods": PodsScreen(self.state),
            "sa": ServiceAccountsScreen(self.state),
            "roles": RolesScreen(self.state),
            "nodes": NodesScreen(self.state),
            "findings": FindingsScreen(self.state),
        }
        for view, screen in self.screens_by_view.items():
            self.install_screen(screen, name=view)
        self.push_screen("pods")
        if self.sources is not None:
            self.start_loading()
        else:
            self.state.stage = self._connect_label
            self.connect_sources()
        self.call_after_refresh(self.refresh_views)

    def on_unmount(self) -> None:
        sys.setswitchinterval(getattr(self, "_switch_interval", sys.getswitchinterval()))
        self._watch_stop.set()
        if self.sources is not None:
            self.sources.close()

    @property
    def context_name(self) -> str:
        return getattr(self.sources.kube, "context", "?") if self.sources else "…"

    # -- workers: they call the data layer and post messages, nothing else -------------------------
    # Each names its `description`: without one Textual writes the repr of every argument, and
    # the repr of a 10,000-pod inventory is a third of a second on the event loop.

    @work(thread=True, exclusive=True, exit_on_error=False, group="connect", description="connect")
    def connect_sources(self) -> None:
        self.post_message(Connected(self._connect()))

    @on(Connected)
    def _connected(self, message: Connected) -> None:
        self.sources = message.sources
        self.start_loading()

    def start_loading(self) -> None:
        self._watch_stop.set()
        self._watch_stop = threading.Event()
        self._generation += 1
        self.state.stage = "loading pods…"
        self.state.error = None
        self.refresh_views()
        self.load_inventory(self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inventory", name="inventory", description="load the inventory")
    def load_inventory(self, generation: int) -> None:
        """Pods page by page, then the Kubernetes stage, then everything with the chains. A pod
        is resolved only once the AWS answers are in (earlier verdicts could be overturned by
        them); from then on each page is resolved as it arrives (`load_and_resolve`)."""
        from irsa_explorer.sources.inventory import load_and_resolve, without_cycle_collection
        from irsa_explorer.sources.loader import LoadCancelled, load_in_process

        worker = get_current_worker()
        sources = self.sources

        def on_pods(pods: list[Pod]) -> None:
            if not worker.is_cancelled:
                self.post_message(PodsPaged(generation, pods))

        def on_stage(*args: Any) -> None:
            inventory = next((a for a in args if isinstance(a, Inventory)), None)
            stage = next((str(a) for a in args if isinstance(a, str)), "loading…")
            if inventory is None or worker.is_cancelled or stage == "aws":
                return  # the final inventory is posted below with its chains
            label = "checking AWS, working out verdicts…" if stage == "kubernetes" else f"{stage}…"
            self.post_message(InventoryStaged(label, snapshot(inventory), None, False, generation))

        # No issuer discovery up front when EKS names the issuer: only the token pane needs the
        # JWKS, and it asks KubeSource.issuer() (cached) when a token is opened.
        # In a process of its own (sources.loader): its Python work would otherwise share the
        # interpreter lock with this event loop, and key presses wait for it.
        load: Callable[..., Any] = load_and_resolve
        if hasattr(sources.kube, "handover") and hasattr(sources.aws, "handover"):
            load = functools.partial(load_in_process, cancelled=lambda: worker.is_cancelled)
        with without_cycle_collection():
            # each page of pods is handed on as it arrives (`on_pods`) and resolved as soon as
            # the AWS answers are in, so the verdicts follow the last page closely
            try:
                inventory, chains = load(
                    sources.kube, sources.aws, sources.namespace, sources.cluster_name,
                    on_stage=on_stage, discover_issuer=False, on_pods=on_pods,
                )
            except LoadCancelled:
                return
            # What was just built lives as long as the view: out of the collector's sight, or the
            # first collection once it is back on walks it all (a second holding the GIL, and
            # key presses with it). Reference counting still frees it after a reload.
            gc.freeze()
        if not worker.is_cancelled:
            self.post_message(InventoryStaged("", inventory, chains, True, generation))

    @work(thread=True, exclusive=True, exit_on_error=False, group="watch", name="watch", description="watch pods")
    def watch_pods(self, stop: threading.Event) -> None:
        sources = self.sources
        for kind, pod in sources.kube.watch_pods(sources.namespace, "", stop):
            if stop.is_set():
                return
            self.post_message(PodEvent(kind, pod))

    @work(thread=True, exit_on_error=False, group="live", description="sts get-caller-identity in a pod")
    def run_who_am_i(self, pod: Pod) -> None:
        from irsa_explorer.sources.livecheck import who_am_i

        chain = self.state.chains.get(pod.uid)
        intended = chain.intended_role_arn if chain else None
        self.post_message(LiveChecked(pod.uid, who_am_i(self.sources.kube, pod, intended_role_arn=intended)))

    @work(thread=True, exit_on_error=False, group="token", description="read a token")
    def read_token(self, pod: Pod, which: str, audience: str) -> None:
        from irsa_explorer.analysis.tokens import decode_token, verify_signature

        kube = self.sources.kube
        now = self.state.now()
        if which == "fresh":
            raw = kube.create_token(pod.namespace, pod.service_account, audience, 600)
            view = TokenView(f"fresh TokenRequest (aud {audience}, 10 min)", None, raw, at=now)
        else:
            path, source = {
                "irsa": (IRSA_TOKEN_PATH, "projected IRSA token"),
                "pod-identity": (POD_IDENTITY_TOKEN_PATH, "EKS Pod Identity token"),
            }.get(which, (DEFAULT_TOKEN_PATH, "default service-account token"))
            container = token_container(pod, path)
            result = kube.exec(pod.namespace, pod.name, container, ["cat", path])
            if result.exit_code != 0 or not result.stdout.strip():
                why = result.stderr.strip() or f"cat exited with {result.exit_code}"
                self.post_message(TokenRead(pod.uid, TokenView(source, path, None, error=why, at=now)))
                return
            view = TokenView(source, path, result.stdout.strip(), at=now)
        view.decoded = decode_token(view.raw)
        jwks = self.state.jwks()
        if jwks is None and hasattr(kube, "issuer"):
            issuer = kube.issuer()  # discovery + JWKS, fetched once per source
            jwks = getattr(issuer, "jwks", None)
        if jwks is not None:
            view.signature = verify_signature(view.raw, jwks)
        self.post_message(TokenRead(pod.uid, view))

    @work(thread=True, exit_on_error=False, group="role", description="role policies and who can assume it")
    def load_role_details(self, arn: str, inventory: Inventory) -> None:
        try:
            from irsa_explorer.analysis.reverse import who_can_assume
        except ImportError:  # the reverse map is optional: say so in the pane
            def who_can_assume(role: Role, inventory: Inventory) -> Any:
                return Unavailable("the reverse map (analysis.reverse) is not installed")

        role = inventory.roles.get(arn)
        policies: Any = None
        if isinstance(role, Role):
            try:
                policies = self.sources.aws.role_policies(arn)
            except Exception as error:  # shown in the pane, never raised into the UI
                policies = Unavailable(f"{type(error).__name__}: {error}")
            try:
                assumers: Any = who_can_assume(role, inventory)
            except Exception as error:
                assumers = Unavailable(f"cannot work out who can assume it: {error}")
        else:
            policies = assumers = role or Unavailable("role not loaded")
        self.post_message(RoleDetails(arn, policies, assumers))

    @work(thread=True, exit_on_error=False, group="policy", description="a managed policy document")
    def load_policy_document(self, arn: str) -> None:
        self.post_message(PolicyDocument(arn, self.sources.aws.policy_document(arn)))

    @on(Worker.StateChanged)
    def _worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures land; each is shown where it was asked for."""
        worker = event.worker
        if event.state != WorkerState.ERROR:
            if worker.name == "inventory" and event.state == WorkerState.SUCCESS and self._watch_enabled:
                self.watch_pods(self._watch_stop)
            return
        error = worker.error
        text = f"{type(error).__name__}: {error}" if error else "failed"
        group = worker.group
        if group in ("connect", "inventory"):
            self.state.stage = ""
            self.state.error = f"Could not load the cluster: {text}"
            self.notify(self.state.error, severity="error", timeout=10)
        elif group == "watch":
            self.notify(f"Watching pods stopped: {text}. Press r to reload.", severity="warning")
        elif group == "live":
            uid = getattr(worker, "_irsa_key", None)
            if uid:
                self.state.live_running.discard(uid)
                self.state.live_runs.setdefault(uid, []).append(LiveRun(uid, self.state.now(), None, error=text))
        elif group == "token":
            uid, which = getattr(worker, "_irsa_key", (None, None))
            if uid:
                self.state.token_loading.pop(uid, None)
                self.state.tokens[uid] = TokenView(which or "token", None, None, error=text, at=self.state.now())
        elif group == "policy":
            arn = getattr(worker, "_irsa_key", None)
            if arn:
                self.post_message(PolicyDocument(arn, Unavailable(text)))
        elif group == "role":
            arn = getattr(worker, "_irsa_key", None)
            if arn:
                self.state.role_policies[arn] = Unavailable(text)
                self.state.assumers[arn] = Unavailable(text)
        self.refresh_views()

    # -- applying results ---------------------------------------------------------------------------

    @on(PodsPaged)
    def _pods_paged(self, message: PodsPaged) -> None:
        if message.generation != self._generation:
            return
        inventory = self.state.inventory
        if self._shown_generation != message.generation:
            if inventory is not None:
                return  # a reload: the previous inventory stays until the new one is staged
            namespace = self.sources.namespace if self.sources else None
            inventory = Inventory(context=self.context_name, namespace=namespace)
            self.state.inventory = inventory
            self._shown_generation = message.generation
        for pod in message.pods:
            inventory.pods[pod.uid] = pod
        self.state.pods_changed()
        # Pages can arrive back to back: the ones already queued join this one, and the table
        # takes them in one go (each addition costs a layout pass over the screen).
        self._paged.extend(message.pods)
        if len(self._paged) == len(message.pods):
            self.call_later(self._show_paged, message.generation)

    def _show_paged(self, generation: int) -> None:
        pods, self._paged = self._paged, []
        if generation != self._generation or not pods:
            return
        screen = self.screens_by_view.get(self.history.current.view)
        if isinstance(screen, PodsScreen):
            screen.pods_added(pods)  # rows for these pages only: no full re-sync
        else:
            self.refresh_views()

    @on(InventoryStaged)
    def _inventory_staged(self, message: InventoryStaged) -> None:
        if message.generation and message.generation != self._generation:
            return
        shown_generation, self._shown_generation = self._shown_generation, message.generation
        before = self.state.inventory
        self.state.inventory = message.inventory
        if message.chains is not None:
            self.state.chains = message.chains
        self.state.stage = message.stage
        if message.final:
            # role details depend on the whole inventory: recompute what was asked for
            for arn in list(self.state.assumers):
                self.state.assumers.pop(arn, None)
            if message.inventory.notes:
                # what limited this view (forbidden lists, unreadable nodes): never silently
                self.notify("\n".join(message.inventory.notes), title="Limited view", severity="warning", timeout=15)
        screen = self.screens_by_view.get(self.history.current.view)
        # The rows paged in already (this load's pages, the same pods): no table pass on the
        # event loop. The verdicts arriving are a redraw, as the table draws them from the
        # state, unless a filter may match on them.
        same_rows = (
            before is not None
            and shown_generation == message.generation
            and before.pods.keys() == message.inventory.pods.keys()
        )
        if (
            same_rows
            and isinstance(screen, PodsScreen)
            and screen.is_mounted
            and (message.chains is None or not screen.needle)
        ):
            screen.stage_changed()
            if message.chains is not None:
                screen.table.refresh()
            self._update_crumbs()
        else:
            self.refresh_views()

    @on(PodEvent)
    def _pod_event(self, message: PodEvent) -> None:
        inventory = self.state.inventory
        if inventory is None:
            return
        pod = message.pod
        self.state.pods_changed()
        if message.kind == "DELETED":
            inventory.pods.pop(pod.uid, None)
            self.state.chains.pop(pod.uid, None)
        else:
            if inventory.pods.get(pod.uid) == pod:
                return
            inventory.pods[pod.uid] = pod
            try:
                from irsa_explorer.analysis.identity import resolve_chain

                self.state.chains[pod.uid] = resolve_chain(pod, inventory)
            except Exception:  # analysis trouble leaves the verdict as "…", never a wrong one
                self.state.chains.pop(pod.uid, None)
        self.refresh_views()

    @on(LiveChecked)
    def _live_checked(self, message: LiveChecked) -> None:
        self.state.live_running.discard(message.pod_uid)
        self.state.live_runs.setdefault(message.pod_uid, []).append(
            LiveRun(message.pod_uid, self.state.now(), message.result)
        )
        self.refresh_views()

    @on(TokenRead)
    def _token_read(self, message: TokenRead) -> None:
        self.state.token_loading.pop(message.pod_uid, None)
        self.state.tokens[message.pod_uid] = message.view
        self.refresh_views()

    @on(RoleDetails)
    def _role_details(self, message: RoleDetails) -> None:
        self.state.role_policies[message.arn] = message.policies
        self.state.assumers[message.arn] = message.assumers
        self.refresh_views()

    def refresh_views(self) -> None:
        """Redraw the visible screen from the state (others redraw when shown)."""
        if not self.is_running:
            return
        with self.batch_update():
            screen = self.screens_by_view.get(self.history.current.view)
            try:
                if screen is not None and screen.is_mounted:
                    screen.refresh_data()
                self._update_crumbs()
            except NoMatches:  # a result arrived while the screen is being torn down
                pass

    def _update_crumbs(self) -> None:
        screen = self.screens_by_view.get(self.history.current.view)
        if screen is None or not screen.is_mounted:
            return
        namespace = self.sources.namespace if self.sources else None
        notes = self.state.inventory.notes if self.state.inventory else []
        limited = f"limited: {notes[0]}" + (f" (+{len(notes) - 1} more)" if len(notes) > 1 else "") if notes else ""
        stage = self.state.error or self.state.stage or limited
        screen.query_one(Breadcrumbs).show(self.history, self.context_name, namespace, stage)

    # -- requests from panes ------------------------------------------------------------------------

    @on(RolePane.Wanted)
    def _role_wanted(self, message: RolePane.Wanted) -> None:
        inventory = self.state.inventory
        if inventory is None or message.arn in self.state.assumers:
            return
        self.state.assumers[message.arn] = None  # in flight; None shows "loading"
        worker = self.load_role_details(message.arn, snapshot(inventory))
        worker._irsa_key = message.arn

    @on(TokenPane.Requested)
    def _token_requested(self, message: TokenPane.Requested) -> None:
        pod = self.state.pods.get(message.pod_uid)
        if pod is None or self.sources is None:
            return
        audience = self.state.audience(self.state.service_account(pod))

        def start(confirmed: bool | None = True) -> None:
            if not confirmed:
                return
            self.state.token_loading[pod.uid] = message.which
            worker = self.read_token(pod, message.which, audience)
            worker._irsa_key = (pod.uid, message.which)
            self.refresh_views()

        if message.which == "fresh":
            self.push_screen(
                ConfirmScreen(
                    f"Create a token for {pod.namespace}/{pod.service_account} with TokenRequest "
                    f"(audience {audience}, valid 10 minutes)?\nThis writes to the cluster "
                    f"(an audit log entry) but changes nothing else."
                ),
                start,
            )
        else:
            start()

    @on(LiveIdentityPane.Requested)
    def _live_requested(self, message: LiveIdentityPane.Requested) -> None:
        pod = self.state.pods.get(message.pod_uid)
        if pod is not None:
            self._start_who_am_i(pod)

    def _start_who_am_i(self, pod: Pod) -> None:
        if self.sources is None or pod.uid in self.state.live_running:
            return
        self.state.live_running.add(pod.uid)
        worker = self.run_who_am_i(pod)
        worker._irsa_key = pod.uid
        self.refresh_views()

    @on(PolicyLink.Open)
    def _open_policy(self, message: PolicyLink.Open) -> None:
        arn = message.policy_arn
        if arn is None:
            self.push_screen(DocumentScreen(message.title, message.document))
            return
        known = self.state.policy_documents.get(arn)
        self.push_screen(DocumentScreen(message.title, known, policy_arn=arn))
        if known is None and self.sources is not None:
            worker = self.load_policy_document(arn)
            worker._irsa_key = arn

    @on(PolicyDocument)
    def _policy_document(self, message: PolicyDocument) -> None:
        if not isinstance(message.document, Unavailable):  # a failure may be retried by opening again
            self.state.policy_documents[message.arn] = message.document
        for screen in self.screen_stack:
            if isinstance(screen, DocumentScreen) and screen.policy_arn == message.arn:
                screen.set_document(message.document)

    # -- navigation ---------------------------------------------------------------------------------

    @on(Navigate)
    def _navigate(self, message: Navigate) -> None:
        message.stop()
        location = self.location_for(message.ref, message.pane)
        if location is not None:
            self.go(location)

    def location_for(self, ref: ObjectRef, pane: str | None = None) -> Location | None:
        """Which view shows this object. Objects of the selected pod open its panes."""
        kind = ref.kind
        current = self.history.current
        pod_ref = current.ref if current.view == "pods" and current.ref and current.ref.kind == "Pod" else None
        pod = self.state.pod_by_ref(pod_ref.namespace, pod_ref.name) if pod_ref else None
        chain = self.state.chains.get(pod.uid) if pod else None
        if kind == "Pod":
            return Location("pods", ref, pane)
        if kind == "View":
            return Location(ref.name)
        if kind == "ServiceAccount":
            if pod and pane is None and (pod.namespace, pod.service_account) == (ref.namespace, ref.name) and current.pane != "service-account":
                return Location("pods", pod_ref, "service-account")
            return Location("sa", ref)
        if kind == "Role":
            intended = chain.intended_role_arn if chain else None
            if pod and intended == ref.name and current.pane not in ("role",):
                return Location("pods", pod_ref, "role")
            return Location("roles", ref)
        if kind == "TrustPolicy":
            return Location("roles", ObjectRef("Role", ref.name))
        if kind == "Node":
            return Location("nodes", ref)
        if kind == "Finding":
            return Location("findings", ref)
        if kind == "Namespace":
            return Location("pods")
        return None

    def go(self, location: Location) -> None:
        """Show a location and record it: the one place a view changes."""
        self.history.visit(location)
        self._apply(location)

    def _apply(self, location: Location) -> None:
        screen = self.screens_by_view[location.view]
        while len(self.screen_stack) > 1 and self.screen.is_modal:
            self.pop_screen()
        if self.screen is not screen:
            self.switch_screen(location.view)
            self.call_after_refresh(self._show_on, screen, location)
        else:
            self._show_on(screen, location)

    def _show_on(self, screen: Any, location: Location) -> None:
        screen.refresh_data()
        screen.show_location(location)
        self._update_crumbs()

    def note_location(self, location: Location) -> None:
        """A screen's cursor moved: refine the current step (no new history entry)."""
        if location.view == self.history.current.view:
            self.history.replace(location)
            self._update_crumbs()

    def action_back(self) -> None:
        location = self.history.back()
        if location is not None:
            self._apply(location)

    def action_forward(self) -> None:
        location = self.history.forward()
        if location is not None:
            self._apply(location)

    # -- keys ------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # inside a text input `/` and `:` are characters, not commands
        if action in ("filter", "command_mode") and isinstance(self.focused, Input):
            return False
        return True

    def _prompt(self) -> PromptBar | None:
        try:
            return self.screen.query_one(PromptBar)
        except Exception:
            return None

    def action_filter(self) -> None:
        prompt = self._prompt()
        if prompt is not None:
            # opened empty (typing replaces the filter): a prefilled value races with type-ahead
            prompt.open("filter")

    def action_command_mode(self) -> None:
        prompt = self._prompt()
        if prompt is not None:
            prompt.open("command")

    @on(PromptBar.Entered)
    def _prompt_submitted(self, message: PromptBar.Entered) -> None:
        if message.mode == "filter":
            self.screen.set_filter(message.text)
            self.screen.table.focus()
            return
        self.run_command(message.text)

    def run_command(self, text: str) -> None:
        """`:pods`, `:sa`, `:roles`, `:nodes`, `:findings`, `:help`, `:q`."""
        word = text.lstrip(":").strip().lower()
        aliases = {"po": "pods", "pod": "pods", "serviceaccounts": "sa", "serviceaccount": "sa", "role": "roles", "node": "nodes", "finding": "findings", "no": "nodes"}
        word = aliases.get(word, word)
        if word in VIEWS:
            self.go(Location(word))
        elif word in ("help", "h", "?"):
            self.action_help()
        elif word in ("q", "quit"):
            self.exit()
        elif word:
            self.notify(f"Unknown command :{word} — try :pods :sa :roles :nodes :findings", severity="warning")

    def action_who_am_i(self) -> None:
        screen = self.screens_by_view["pods"]
        pod = screen.selected_pod if screen.is_mounted else None
        if pod is None:
            self.notify("Select a pod first.", severity="warning")
            return
        self._start_who_am_i(pod)
        if self.history.current.view != "pods" or self.history.current.pane != "live-identity":
            self.go(Location("pods", pod.ref, "live-identity"))

    def action_refresh(self) -> None:
        if self.sources is not None:
            self.state.role_policies.clear()
            self.state.assumers.clear()
            self.start_loading()

    def action_namespace(self) -> None:
        if self.sources is None:
            return
        names = set()
        inventory = self.state.inventory
        if inventory:
            names |= {pod.namespace for pod in inventory.pods.values()}
            names |= {ns for ns, _ in inventory.service_accounts}
        choices = [("*", "all namespaces")] + [(n, n) for n in sorted(names)]
        current = self.sources.namespace or "*"

        def picked(choice: str | None) -> None:
            if choice is None or choice == current:
                return
            self.sources.namespace = None if choice == "*" else choice
            self.go(Location("pods"))
            self.action_refresh()

        self.push_screen(PickerScreen("Namespace", choices, current), picked)

    def action_context(self) -> None:
        if self.sources is None:
            return
        try:
            contexts = list(self.sources.kube.contexts())
        except Exception as error:
            self.notify(f"Cannot list contexts: {error}", severity="error")
            return

        def picked(choice: str | None) -> None:
            if not choice or choice == self.context_name:
                return
            try:
                self.sources = self._context_switcher(self.sources, choice)
            except Exception as error:
                self.notify(f"Cannot use context {choice}: {error}", severity="error")
                return
            # nothing read through the previous context may stay on screen under the new one,
            # not even while (or because) the new load fails
            self.state.inventory = None
            self.state.chains = {}
            self.state.live_runs.clear()
            self.state.tokens.clear()
            # nor may Back lead to objects of the other cluster: the new context starts a history
            self.history = History(Location("pods"))
            self._apply(self.history.current)
            self.action_refresh()

        self.push_screen(PickerScreen("Context", [(c, c) for c in contexts], self.context_name), picked)

    def action_copy(self) -> None:
        text = self.copy_target()
        if text:
            self.copy_to_clipboard(text)
            self.notify(f"Copied: {text if len(text) < 80 else text[:77] + '…'}")
        else:
            self.notify("Nothing to copy here: focus an ARN or a fix.", severity="warning")

    def copy_target(self) -> str | None:
        """The focused link's text; on a pods row, its intended role; else the chain's first fix."""
        focused = self.focused
        text = getattr(focused, "copy_text", None)
        if text:
            return text
        if isinstance(focused, PodsTable):
            uid = focused.selected_uid
            chain = self.state.chains.get(uid) if uid else None
            if chain and chain.intended_role_arn:
                return chain.intended_role_arn
        if isinstance(self.screen, PodsScreen):
            return self.screen.query_one(ChainStrip).copy_text
        return None

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every key, read from the bindings themselves so help cannot drift from them."""
        from irsa_explorer.widgets.link import Link

        def keys(bindings: list[Binding]) -> list[tuple[str, str]]:
            out = []
            for binding in bindings:
                shown = ", ".join(self.get_key_display(Binding(k.strip(), "")) for k in binding.key.split(","))
                out.append((shown, binding.tooltip or binding.description))
            return out

        return [
            ("Everywhere", keys(self.BINDINGS) + [("ctrl+p", "command palette: views, pods, roles, themes"), ("tab, shift+tab", "move between table, chain and panes")]),
            ("Pods view", keys(PodsTable.BINDINGS) + keys(PodsScreen.BINDINGS)),
            ("Identity chain", keys(ChainStrip.BINDINGS)),
            ("Token pane", keys(TokenPane.BINDINGS)),
            ("Live identity pane", keys(LiveIdentityPane.BINDINGS)),
            ("Links", keys(Link.BINDINGS) + [("click", "open the link")]),
            ("Prompt", keys(PromptBar.BINDINGS) + [("enter", "apply the filter / run the command")]),
            ("Commands (:)", [(":" + v, f"the {v} view") for v in VIEWS] + [(":help", "this help"), (":q", "quit")]),
        ]


# --- entry points (cli.py calls these) ----------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """`irsa-explorer` on a real cluster. Returns the exit code."""
    from irsa_explorer.sources.connect import Target, from_options
    from irsa_explorer.sources.kube import ClusterError

    target = Target(
        args.context, args.kubeconfig, args.profile, args.region, args.namespace, args.cluster,
        request_timeout=getattr(args, "request_timeout", 10.0),
    )
    try:
        # Reads the kubeconfig only (a bad one is one line here, before the screen is taken);
        # the exec plugin, AWS credentials and every request run later, in the workers.
        sources = from_options(target)
    except ClusterError as error:
        print(f"irsa-explorer: {error}", file=sys.stderr)
        return 2
    app = IrsaExplorerApp(sources)
    app.run()
    return app.return_code or 0


def run_lab(args: argparse.Namespace) -> int:
    """`irsa-explorer lab`: the explorer on the embedded simulated EKS, stopped on exit.

    The lab starts in a worker so the screen is up at once and shows progress.
    """
    from irsa_explorer.sources.connect import lab_in_background

    extra: list[str] = []
    for option in ("scale", "latency", "throttle"):
        value = getattr(args, option, None)
        if value:
            extra += [f"--{option}", value]
    connect, stop = lab_in_background(args.scenario, extra)
    try:
        IrsaExplorerApp(connect=connect, connect_label=f"starting the lab ({args.scenario})…").run()
    finally:
        stop()
    return 0
