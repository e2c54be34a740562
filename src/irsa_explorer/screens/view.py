"""What every view's screen shares: the store it draws from, and the answers to its panes'
requests — frogmouth's way: a pane posts up, its screen acts.

What a pane asks for is fetched by one of the app's named workers (`IrsaExplorerApp.fetch`);
the answer comes back to the app as a message, goes into the state, and is drawn on the next
redraw. Answered here, at the pane's own screen, a request arrives whoever showed the pane:
Textual stops a bubbling message at its sender, and a pane shown from its screen's handler (the
cursor moved) makes the screen the sender — a request meant for the app stopped there.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual import on
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from irsa_explorer import workers
from irsa_explorer.commands import ask_before, run_command, show_commands, token_ask
from irsa_explorer.freshness import NOTHING
from irsa_explorer.model import Pod, Unavailable
from irsa_explorer.screens import probe
from irsa_explorer.screens.modals import DocumentScreen
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets import live
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.widgets.breadcrumbs import Breadcrumbs
from irsa_explorer.widgets.panes.cloudtrail import CloudTrailPane
from irsa_explorer.widgets.panes.detail import DetailPane
from irsa_explorer.widgets.panes.role import PolicyLink, RolePane
from irsa_explorer.widgets.panes.service_account import ServiceAccountPane
from irsa_explorer.widgets.panes.token import TokenPane
from irsa_explorer.widgets.prompt_bar import PromptBar

if TYPE_CHECKING:
    from irsa_explorer.app import IrsaExplorerApp


class ViewScreen(Screen):
    """A view: pods, service accounts, roles, nodes or findings."""

    VIEW = ""  # its name in `navigation.VIEWS`
    BINDINGS = [
        Binding("ctrl+a", "commands", "Commands", show=False, id="view.commands", tooltip="The : commands and their aliases"),
        # --readonly: w still says why it runs nothing, but the footer no longer offers it (this
        # hidden binding comes before the app's, and is skipped when w may run: check_action)
        Binding("w", "readonly_who_am_i", "Who am I", show=False, id="view.whoami_readonly"),
        Binding("e", "export", "Export", show=False, id="view.export",
                tooltip="The selected pod's or role's triage to a Markdown file and an SVG, redacted"),
        Binding("E,shift+e", "export(True)", "Export, no account IDs", show=False, id="view.export_no_accounts",
                tooltip="As e, with the AWS account IDs replaced too"),
    ]

    def __init__(self, state: ExplorerState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state

    @property
    def explorer(self) -> IrsaExplorerApp:
        return cast("IrsaExplorerApp", self.app)

    @property
    def live(self) -> bool:
        """Mounted, and the app not closing (`widgets.live`)."""
        return live(self)

    def show_crumbs(self) -> None:
        """Where the user is (the history's last steps), in which context and namespace, and
        how the view stands (loading, failed, limited)."""
        if self.live:
            app = self.explorer
            namespace = app.sources.namespace if app.sources else None
            self.query_one(Breadcrumbs).show(app.history, app.context_name, self.state.scope(namespace), self.state.status)

    def tick(self) -> None:
        """Once a second (the app's timer): the ages on screen, as of now."""
        for pane in self.query(DetailPane):
            pane.tick()
        probe.offer_cleanup(self.explorer)  # probe pods left behind: once a context's load is in

    def shown_facts(self) -> FactsWanted:
        """The AWS facts of what is selected here, kept fresh while it is shown."""
        return NOTHING

    @on(RolePane.Wanted)
    def _role_wanted(self, message: RolePane.Wanted) -> None:
        message.stop()
        app, arn = self.explorer, message.arn
        role, inventory = self.state.role_to_fetch(arn), self.state.inventory
        if role is not None and inventory is not None and app.sources is not None:
            # exclusive: the role on screen goes first; one the cursor left is asked again when shown
            app.fetch(f"role:{arn}", "role policies and who can assume it", exclusive=True,
                      work=partial(workers.role_details, app.post_message, app.sources, arn, role, inventory))

    @on(CloudTrailPane.Wanted)
    def _cloudtrail_wanted(self, message: CloudTrailPane.Wanted) -> None:
        message.stop()  # the answer goes to the pane that asked (it keeps its subjects' events)
        app, pane, subject = self.explorer, message.pane, message.subject
        if pane is None:
            return
        if app.sources is None:
            pane.post_message(workers.CloudTrailRead(subject.key, Unavailable("not connected to AWS yet")))
            return
        app.fetch(f"cloudtrail:{subject.key}", "CloudTrail events (LookupEvents)", partial(
            workers.cloudtrail_events, pane.post_message, app.sources, subject, message.cursor, pane.page_size))

    @on(PolicyLink.Open)
    def _open_policy(self, message: PolicyLink.Open) -> None:
        message.stop()
        app, arn = self.explorer, message.policy_arn
        known = self.state.policy_documents.get(arn) if arn else message.document  # inline: it came with the link
        app.push_screen(DocumentScreen(message.title, known, policy_arn=arn))
        if arn is not None and known is None and app.sources is not None:
            app.fetch(f"policy:{arn}", "a managed policy document",
                      partial(workers.policy_document, app.post_message, app.sources, arn))

    @on(TokenPane.Requested)
    def _token_requested(self, message: TokenPane.Requested) -> None:
        message.stop()
        app, which, pod = self.explorer, message.which, self.state.pods.get(message.pod_uid)
        if pod is None or app.sources is None:
            return
        # a fresh token for the audience the pod's own token has (the engine read it from the
        # pod spec), else the one its service account names
        chain, sources = self.state.chains.get(pod.uid), app.sources
        expected = chain.token if chain is not None else None
        audience = expected.audiences[0] if expected and expected.audiences else self.state.audience(self.state.service_account(pod))

        def start(confirmed: bool | None = True) -> None:
            if confirmed:
                self.state.token_loading[pod.uid] = which
                app.fetch(f"token:{pod.uid}:{which}", "read a token", partial(
                    workers.read_token, app.post_message, sources, pod, which, audience, self.state.jwks(), self.state.now()))
                app.refresh_views()

        # an exec (`cat` of the file) or a TokenRequest (a write): only once the user said yes
        ask_before(app, token_ask(pod, which, audience), start)

    @on(ServiceAccountPane.Experiment)
    def _experiment(self, message: ServiceAccountPane.Experiment) -> None:
        message.stop()  # W / X on the pane: screens/probe.py asks, then runs it
        (probe.probe if message.kind == "probe" else probe.what_would_it_get)(self.explorer, message.sa)

    @on(PromptBar.Entered)
    def _prompt_entered(self, message: PromptBar.Entered) -> None:
        message.stop()
        if message.mode == "command":
            run_command(self.explorer, message.text)
        else:
            self.set_filter(message.text)
            self.table.focus()

    def action_commands(self) -> None:
        show_commands(self.explorer)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "readonly_who_am_i":
            return self.explorer.consent.readonly
        return super().check_action(action, parameters)

    async def action_export(self, accounts: bool = False) -> None:
        from irsa_explorer.screens.export import export_selected

        await export_selected(self, accounts)

    def action_readonly_who_am_i(self) -> None:
        self.explorer.action_who_am_i()  # refused with a message (commands.ask_before)

    @property
    def table(self) -> Widget:
        """The view's table (the pods, or the list)."""
        raise NotImplementedError

    def set_filter(self, needle: str) -> None:
        raise NotImplementedError

    def copy_target(self) -> str | None:
        """What `y` copies when no link is focused."""
        return None

    def check_identity(self, pod: Pod) -> None:
        """`w`: `sts get-caller-identity` in the pod (one at a time per pod)."""
        app = self.explorer
        if app.sources is not None and self.state.live_check_started(pod.uid):
            chain = self.state.chains.get(pod.uid)
            app.fetch(f"live:{pod.uid}", "sts get-caller-identity in a pod", partial(
                workers.who_am_i, app.post_message, app.sources, pod, chain))
            app.refresh_views()
