"""The explorer App: its bindings, the workers that call the data layer, and message routing.

Slow calls run in thread workers (workers.py) that call the data layer and post the answer
(messages.py); the handlers below apply it to the `ExplorerState` on the UI thread and redraw
the visible screen. A worker is named for what it fetches (`role:ARN`, `token:UID:WHICH`,
`live:UID`, `policy:ARN`; its group is the first part), so its failure, handled in one place
(`_worker_state_changed`), is shown in the pane that asked. Links post `Navigate`; `go` is the
one place a location becomes a view change and a step in the `History`.

Never silently stale: once loaded, pods, service accounts and nodes are watched (`watch:*`
workers; a change re-resolves the chains it affects, `ExplorerState.kube_changed`), and once a
second the ages on screen tick and the AWS facts of what is shown or what events brought are
read again when older than `stale_after` (`facts` worker, `ExplorerState.facts_due`).
"""

from __future__ import annotations

import sys
import threading
from datetime import timedelta
from functools import partial
from typing import Callable

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Input
from textual.worker import Worker, WorkerState, get_current_worker

from irsa_explorer import workers
from irsa_explorer.commands import Consent, ExplorerCommands, copy, focus_chain, pick_context, pick_namespace, who_am_i, zoom
from irsa_explorer.freshness import STALE_AFTER
from irsa_explorer.messages import (
    AwsChecked, ChainsResolved, Connected, FactsReread, InventoryStaged, KubeChanged, LiveChecked, PodsPaged,
    PolicyDocumentRead, RoleDetails, TokenRead, WatchSaid,
)
from irsa_explorer.model import Unavailable
from irsa_explorer.navigation import History, Location, Navigate, location_for
from irsa_explorer.sources.connect import Sources, switch_context
from irsa_explorer.screens.findings import FindingsScreen
from irsa_explorer.screens.main import PodsScreen
from irsa_explorer.screens.modals import DocumentScreen, HelpScreen, key_help
from irsa_explorer.screens.nodes import NodesScreen
from irsa_explorer.screens.roles import RolesScreen
from irsa_explorer.screens.service_accounts import ServiceAccountsScreen
from irsa_explorer.screens.view import ViewScreen
from irsa_explorer.state import Clock, ExplorerState, system_clock
from irsa_explorer.widgets.prompt_bar import PromptBar
from irsa_explorer.widgets.toasts import PlainToasts


class IrsaExplorerApp(PlainToasts, App):
    """The TUI. Give it `Sources`, or `connect` to build them in a worker (the lab starts there)."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "irsa-explorer"
    COMMANDS = App.COMMANDS | {ExplorerCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave the explorer"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key"),
        # priority: handled as the key arrives, so type-ahead after `/` or `:` lands in the prompt
        Binding("slash", "prompt('filter')", "Filter", id="app.filter", tooltip="Filter the table", priority=True),
        Binding("colon", "prompt('command')", "Command", id="app.command", tooltip=":pods :sa :roles :nodes :findings", priority=True),
        Binding("i", "chain", "Chain", id="app.chain", tooltip="Focus the identity chain (↑↓ PgUp PgDn scroll it)"),
        Binding("z", "zoom", "Zoom", id="app.zoom", tooltip="Maximise the focused pane (z or esc restores it)"),
        Binding("w", "who_am_i", "Who am I", id="app.whoami", tooltip="Run sts get-caller-identity in the pod (asks once)"),
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
        context_switcher: Callable[[Sources, str], Sources] = switch_context,
        connect_label: str = "connecting…",
        stale_after: timedelta | None = STALE_AFTER,
        readonly: bool = False,
    ) -> None:
        """`watch`: watch the cluster once loaded; `stale_after`: read the AWS facts shown again
        once they are this old (None: never, e.g. for snapshots); `clock`: what "now" is;
        `readonly`: no exec into pods, no TokenRequest (commands.ask_before)."""
        super().__init__()
        self.consent = Consent(readonly)
        if sources is None and connect is None:
            raise ValueError("give the explorer sources or a way to connect")
        self.sources, self._connect, self._connect_label = sources, connect, connect_label
        self._context_switcher = context_switcher
        self.state = ExplorerState(clock=clock, stale_after=stale_after)
        self.history = History(Location("pods"))
        self._watch_enabled, self._watch_stop = watch, threading.Event()
        self.screens_by_view: dict[str, ViewScreen] = {}
        self._switch_interval = sys.getswitchinterval()

    # -- start and stop -------------------------------------------------------------------------

    def on_mount(self) -> None:
        # Threads here (the loader's reader, "who can assume it") hold the GIL up to the switch
        # interval while the event loop waits to poll for input: 1 ms, not 5; restored on exit.
        sys.setswitchinterval(min(self._switch_interval, 0.001))
        views = (PodsScreen, ServiceAccountsScreen, RolesScreen, NodesScreen, FindingsScreen)
        self.screens_by_view = {view.VIEW: view(self.state) for view in views}
        for view, screen in self.screens_by_view.items():
            self.install_screen(screen, name=view)
        self.push_screen("pods")
        if self.sources is not None:
            self.start_loading()
        else:
            self.state.stage = self._connect_label
            self.connect_sources()
        self.call_after_refresh(self.refresh_views)
        self.set_interval(1.0, self._tick, name="ages")

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)
        self._watch_stop.set()
        if self.sources is not None:
            self.sources.close()

    @property
    def context_name(self) -> str:
        return self.sources.kube.context if self.sources else "…"

    # -- workers ------------------------------------------------------------------------------------
    # Each names its `description`: without one Textual writes the repr of every argument, and
    # the repr of a 10,000-pod inventory is a third of a second on the event loop.

    @work(thread=True, exclusive=True, exit_on_error=False, group="connect", name="connect", description="connect")
    def connect_sources(self) -> None:
        assert self._connect is not None
        self.post_message(Connected(self._connect()))

    def start_loading(self) -> None:
        self._watch_stop.set()
        self._watch_stop = threading.Event()
        generation = self.state.load_started()
        self.refresh_views()
        self.load_inventory(generation)
        if self.state.aws_problem is None and self.sources is not None:  # said once, before any pane asks
            self.fetch("aws", "check AWS", partial(workers.aws_problem, self.post_message, self.sources))

    @work(thread=True, exclusive=True, exit_on_error=False, group="inventory", name="inventory", description="load the inventory")
    def load_inventory(self, generation: int) -> None:
        worker, sources = get_current_worker(), self.sources
        assert sources is not None
        workers.load_inventory(self.post_message, generation, sources, lambda: worker.is_cancelled)

    def start_watches(self) -> None:
        """Watch what the load listed, from where it listed it (nodes only when they could be listed)."""
        inventory, sources, generation = self.state.inventory, self.sources, self.state.generation
        if not self._watch_enabled or inventory is None or sources is None:
            return
        for resource in ("pods", "serviceaccounts", "nodes") if inventory.nodes else ("pods", "serviceaccounts"):
            self.fetch(f"watch:{resource}", f"watch {resource}", partial(
                workers.watch, self.post_message, sources, resource, generation, inventory, self._watch_stop))
        self.state.watches_started()

    def check_facts(self) -> None:
        """Read again the AWS facts that are due (`ExplorerState.facts_due`), in one worker."""
        screen = self.screens_by_view.get(self.history.current.view)
        shown = screen.shown_facts() if screen is not None and screen.live else None
        due = self.state.facts_due(shown) if shown is not None else None
        if due and self.sources is not None:
            self.fetch("facts", "read AWS facts again", partial(
                workers.read_facts, self.post_message, self.sources, self.state.generation, self.state.inventory,
                due, self.state.now()))

    def _tick(self) -> None:
        """Once a second: the ages on screen, and the AWS facts that have grown stale."""
        if not self.is_running or not self.screen_stack:  # on the way out
            return
        screen = self.screens_by_view.get(self.history.current.view)
        try:
            if screen is not None and screen.live and self.screen is screen:
                screen.tick()
                self._update_crumbs()
        except NoMatches:  # the screen's widgets are being removed: the app is exiting
            return
        self.check_facts()

    def fetch(self, name: str, description: str, work: Callable[[], None], exclusive: bool = False) -> None:
        """A thread worker named `kind:key` for what it fetches, in group `kind` (screens/view.py)."""
        self.run_worker(work, name=name, group=name.split(":", 1)[0], description=description,
                        thread=True, exclusive=exclusive, exit_on_error=False)

    @on(Worker.StateChanged)
    def _worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures land, each shown where it was asked for (by name)."""
        kind, _, key = event.worker.name.partition(":")
        if event.state == WorkerState.SUCCESS and kind == "inventory":
            self.start_watches()
        elif event.state == WorkerState.CANCELLED and kind == "role":
            self.state.role_fetch_dropped(key)
        if event.state != WorkerState.ERROR:
            return
        text = workers.failure_words(event.worker.error)
        if kind in ("connect", "inventory"):
            self.state.stage, self.state.error = "", f"Could not load the cluster: {text}"
            self.notify(self.state.error, severity="error", timeout=10)
        elif kind in ("watch", "facts", "chains", "aws"):  # keeping the view fresh failed
            self.notify(self.state.freshness_failed(kind, key, text), severity="warning")
        elif kind == "policy":
            self._policy_document_read(PolicyDocumentRead(key, Unavailable(text)))
        else:  # live, token, role: the pane that asked shows why
            self.state.fetch_failed(kind, key, text)
        self.refresh_views()

    # -- results ------------------------------------------------------------------------------------

    @on(Connected)
    def _connected(self, message: Connected) -> None:
        self.sources = message.sources
        self.start_loading()

    @on(PodsPaged)
    def _pods_paged(self, message: PodsPaged) -> None:
        namespace = self.sources.namespace if self.sources else None
        if self.state.add_pods(message.generation, message.pods, self.context_name, namespace):
            screen = self.screens_by_view[self.history.current.view]
            if isinstance(screen, PodsScreen):
                screen.pods_added(message.pods)  # rows for these pages only: no full re-sync
            else:
                self.refresh_views()

    @on(InventoryStaged)
    def _inventory_staged(self, message: InventoryStaged) -> None:
        same_rows = self.state.stage_reached(message.generation, message.inventory, message.stage, message.chains)
        if same_rows is None:
            return
        if message.final and message.inventory.notes:  # what limited this view: never silently
            self.notify("\n".join(message.inventory.notes), title="Limited view", severity="warning", timeout=15)
        # The rows paged in already (this load's, the same pods): no table pass on the event
        # loop. The verdicts arriving are a redraw, unless a filter may match on them.
        screen = self.screens_by_view[self.history.current.view]
        if same_rows and isinstance(screen, PodsScreen) and screen.live and not (message.final and screen.needle):
            screen.stage_changed(verdicts=message.final)
            self._update_crumbs()
        else:
            self.refresh_views()

    @on(LiveChecked)
    @on(TokenRead)
    @on(RoleDetails)
    def _answer(self, message: LiveChecked | TokenRead | RoleDetails) -> None:
        if self.state.apply(message):
            self.refresh_views()

    @on(KubeChanged)
    @on(FactsReread)
    @on(ChainsResolved)
    def _changed(self, message: KubeChanged | FactsReread | ChainsResolved) -> None:
        """Watch events, facts read again, chains from a worker: into the state, and what
        changed on screen; chains too many to work out here go to a worker."""
        if (update := self.state.update(message)) is None:
            return
        if update.later:
            self.fetch("chains", "work the chains out again", partial(
                workers.resolve_chains, self.post_message, self.state.generation, self.state.inventory, update.later))
        screen = self.screens_by_view[self.history.current.view]
        if isinstance(screen, PodsScreen) and screen.live:
            screen.pods_changed(update)  # rows added and removed, a redraw: no pass over every pod
            self._update_crumbs()
        else:
            self.refresh_views()
        self.check_facts()

    @on(WatchSaid)
    def _watch_said(self, message: WatchSaid) -> None:
        if self.state.watch_said(message.generation, message.status):
            self._tick()  # the status line and the ages on screen, now

    @on(AwsChecked)
    def _aws_checked(self, message: AwsChecked) -> None:
        if message.problem is not None and self.state.aws_problem is None:
            self.state.aws_problem = message.problem.reason
            self.notify(f"AWS cannot be asked: {message.problem.reason}", severity="warning", timeout=15)
            self._update_crumbs()

    @on(PolicyDocumentRead)
    def _policy_document_read(self, message: PolicyDocumentRead) -> None:
        if not isinstance(message.document, Unavailable):  # a failure may be retried by opening again
            self.state.policy_documents[message.arn] = message.document
        for screen in self.screen_stack:
            if isinstance(screen, DocumentScreen) and screen.policy_arn == message.arn:
                screen.set_document(message.document)

    def refresh_views(self) -> None:
        """Redraw the visible screen from the state (others redraw when shown)."""
        screen = self.screens_by_view.get(self.history.current.view)
        if screen is not None and screen.live:
            with self.batch_update():
                screen.refresh_data()
                self._update_crumbs()

    def _update_crumbs(self) -> None:
        self.screens_by_view[self.history.current.view].show_crumbs()

    # -- navigation ---------------------------------------------------------------------------------

    @on(Navigate)
    def _navigate(self, message: Navigate) -> None:
        message.stop()
        location = location_for(message.ref, message.pane, self.history.current, self.state)
        if location is not None:
            self.go(location)

    def go(self, location: Location) -> None:
        """Show a location and record it: the one place a view changes."""
        self.history.visit(location)
        self._show(location)

    def _show(self, location: Location) -> None:
        screen = self.screens_by_view[location.view]
        while len(self.screen_stack) > 1 and self.screen.is_modal:
            self.pop_screen()
        if self.screen is screen:
            self._show_on(screen, location)
        else:  # once the switch is drawn: the screen's widgets are mounted then
            self.switch_screen(location.view)
            self.call_after_refresh(self._show_on, screen, location)

    def _show_on(self, screen: ViewScreen, location: Location) -> None:
        screen.refresh_data()
        screen.show_location(location)
        self._update_crumbs()

    def note_location(self, location: Location) -> None:
        """A screen's cursor moved: refine the current step (no new history entry)."""
        if location.view == self.history.current.view:
            self.history.replace(location)
            self._update_crumbs()

    def action_back(self) -> None:
        if (location := self.history.back()) is not None:
            self._show(location)

    def action_forward(self) -> None:
        if (location := self.history.forward()) is not None:
            self._show(location)

    # -- keys ------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "prompt" and isinstance(self.focused, Input))  # in an input `/` and `:` are text

    def action_prompt(self, mode: str) -> None:
        # opened empty (typing replaces the filter): a prefilled value races with type-ahead
        for prompt in self.screen.query(PromptBar):
            prompt.open(mode)

    def action_who_am_i(self) -> None:
        who_am_i(self)

    def action_chain(self) -> None:
        focus_chain(self)

    def action_zoom(self) -> None:
        zoom(self)

    def action_refresh(self) -> None:
        if self.sources is not None:
            self.state.forget_roles()
            self.start_loading()

    def action_namespace(self) -> None:
        pick_namespace(self)

    def action_context(self, name: str | None = None) -> None:
        pick_context(self, self._context_switcher, name)  # `:ctx NAME`: that one, no picker

    def use_sources(self, sources: Sources) -> None:
        """Another context's sources: nothing of the previous context may stay, not even while
        (or because) the new load fails; nor may Back lead to it: the new context starts a history."""
        self.sources = sources
        self.state.forget_cluster()
        self.history = History(Location("pods"))
        self._show(self.history.current)
        self.action_refresh()

    def action_copy(self) -> None:
        copy(self)

    def copy_target(self) -> str | None:
        """The focused link's text, else what the view offers (pods: the row's role, a fix)."""
        if text := getattr(self.focused, "copy_text", None):  # links, the chain strip
            return text
        return self.screen.copy_target() if isinstance(self.screen, ViewScreen) else None

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(key_help(self)))
