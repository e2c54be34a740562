"""The pods view: pods table, the selected pod's identity chain and its five panes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.content import Content
from textual.widgets import Footer, Tab, Tabs

from irsa_explorer.model import IdentityChain, Mechanism, Pod, Verdict
from irsa_explorer.navigation import PANE_TITLES, PANES, Location
from irsa_explorer.screens.focus_order import next_stop
from irsa_explorer.screens.view import ViewScreen
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.state import ExplorerState, KubeUpdate
from irsa_explorer.widgets.breadcrumbs import Breadcrumbs
from irsa_explorer.widgets.chain_strip import ChainStrip
from irsa_explorer.widgets.format import VERDICT_STYLE
from irsa_explorer.widgets.verdict_colours import verdict_colour
from irsa_explorer.widgets.panes.cloudtrail import CloudTrailPane
from irsa_explorer.widgets.panes.live_identity import LiveIdentityPane
from irsa_explorer.widgets.pods_table import PodsTable
from irsa_explorer.widgets.prompt_bar import PromptBar
from irsa_explorer.widgets.panes.role import RolePane
from irsa_explorer.widgets.panes.service_account import ServiceAccountPane
from irsa_explorer.widgets.panes.token import TokenPane
from irsa_explorer.widgets.panes.trust_policy import TrustPolicyPane


class PodsScreen(ViewScreen):
    """The pods view. The app calls `refresh_data` and `show_location`; what its panes ask for
    is fetched through the app (ViewScreen)."""

    VIEW = "pods"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-medium"), (160, "-wide")]
    BINDINGS = [
        Binding("1", "pane('service-account')", "SA", show=False, id="pods.pane1", tooltip="Service account pane"),
        Binding("2", "pane('token')", "Token", show=False, id="pods.pane2", tooltip="Token pane"),
        Binding("3", "pane('role')", "Role", show=False, id="pods.pane3", tooltip="IAM role pane"),
        Binding("4", "pane('trust-policy')", "Trust", show=False, id="pods.pane4", tooltip="Trust policy pane"),
        Binding("5", "pane('live-identity')", "Live", show=False, id="pods.pane5", tooltip="Live identity pane"),
        Binding("6", "pane('cloudtrail')", "Trail", show=False, id="pods.pane6", tooltip="CloudTrail events pane"),
        Binding("tab", "focus_step(1)", "Next pane", show=False, id="pods.focus_next", tooltip="Next pane in the chain's order"),
        Binding("shift+tab", "focus_step(-1)", "Previous pane", show=False, id="pods.focus_previous", tooltip="Previous pane in the chain's order"),
        # before the app's escape (back): an active filter is cleared first
        Binding("escape", "clear_filter", "Clear filter", id="pods.clear_filter", tooltip="Clear the filter (else: back)"),
        Binding("right_square_bracket", "next_broken(1)", "Next ✗", id="pods.next_broken", tooltip="Next broken pod (wraps)"),
        Binding("left_square_bracket", "next_broken(-1)", "Prev ✗", show=False, id="pods.previous_broken", tooltip="Previous broken pod (wraps)"),
        Binding("l", "logs", "Logs", id="pods.logs", tooltip="Its logs, AWS errors linked to findings"),
        Binding("v", "cycle_verdict", "Verdicts", id="pods.verdict_filter",
                tooltip="Only broken, unknown, warning, ok pods in turn, then all"),
        # k9s-style: shift+letter sorts on a column, again the other way round
        Binding("V,shift+v", "sort('verdict')", "Sort verdict", show=False, id="pods.sort_verdict", tooltip="Sort by verdict, worst first"),
        Binding("P,shift+p", "sort('namespace')", "Sort namespace", show=False, id="pods.sort_namespace", tooltip="Sort by namespace"),
        Binding("N,shift+n", "sort('pod')", "Sort name", show=False, id="pods.sort_name", tooltip="Sort by pod name"),
        Binding("S,shift+s", "sort('phase')", "Sort phase", show=False, id="pods.sort_phase", tooltip="Sort by phase (status), failed first"),
        Binding("T,shift+t", "sort('restarts')", "Sort restarts", show=False, id="pods.sort_restarts", tooltip="Sort by restarts, most first"),
        Binding("A,shift+a", "sort('age')", "Sort age", show=False, id="pods.sort_age", tooltip="Sort by age, youngest first"),
        Binding("M,shift+m", "sort('mechanism')", "Sort mechanism", show=False, id="pods.sort_mechanism", tooltip="Sort by mechanism"),
        Binding("U,shift+u", "sort('sa')", "Sort service account", show=False, id="pods.sort_sa", tooltip="Sort by service account"),
        Binding("O,shift+o", "sort('node')", "Sort node", show=False, id="pods.sort_node", tooltip="Sort by node"),
    ]
    VERDICT_CYCLE = (None, Verdict.BROKEN, Verdict.UNKNOWN, Verdict.WARNING, Verdict.OK)

    def __init__(self, state: ExplorerState) -> None:
        super().__init__(state, id="pods-screen")
        self.needle = ""
        self.pane = "service-account"
        self._shown_uid: str | None = None
        self._strip_shown: tuple | None = None  # what the chain strip shows (it lays out anew each time)

    def compose(self) -> ComposeResult:
        yield Breadcrumbs(id="crumbs")
        with Container(id="body"):
            with Vertical(id="left"):
                table = PodsTable(id="pods")
                table.border_title = "Pods"
                yield table
                chain = ChainStrip(id="chain")
                chain.border_title = "Identity chain"
                yield chain
            with Vertical(id="right"):
                yield Tabs(*(Tab(PANE_TITLES[p], id=f"tab-{p}") for p in PANES), id="pane-tabs")
                with Container(id="panes"):
                    yield ServiceAccountPane(id="service-account", classes="pane")
                    yield TokenPane(id="token", classes="pane")
                    yield RolePane(id="role", classes="pane")
                    yield TrustPolicyPane(id="trust-policy", classes="pane")
                    yield LiveIdentityPane(id="live-identity", classes="pane")
                    yield CloudTrailPane(id="cloudtrail", classes="pane")
        yield PromptBar(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self._mark_active()
        self.refresh_data()
        self.query_one(PodsTable).focus()
        # the title's counts are coloured for the theme (verdict_colours): drawn again for a new one
        self.app.theme_changed_signal.subscribe(self, lambda _: self._show_table_titles())

    # -- what the app calls -------------------------------------------------------------------

    @property
    def table(self) -> PodsTable:
        return self.query_one(PodsTable)

    @property
    def selected_pod(self) -> Pod | None:
        uid = self.table.selected_uid
        return self.state.pods.get(uid) if uid else None

    def refresh_data(self) -> None:
        """Sync the table by diff and redraw the selected pod's chain and panes."""
        if not self.live:
            return
        sources = self.explorer.sources
        self.table.show_namespace(sources is None or sources.namespace is None)  # -n NS: one namespace
        self.table.sync(self.state, self.needle)
        self._show_table_titles()
        # a spinner until the first rows arrive; afterwards progress shows under the table
        self._set_table_loading(not self.state.pods and bool(self.state.stage) and not self.state.error)
        self.show_pod(self.selected_pod, force=True)

    def pods_added(self, pods: list[Pod]) -> None:
        """A page of pods arrived while loading: add their rows, leave the rest alone."""
        if not self.live:
            return
        self.table.add_pods(self.state, pods)
        self._show_table_titles(counts=bool(self.state.chains))
        self._set_table_loading(False)
        if self._shown_uid is None:
            self.show_pod(self.selected_pod)

    def pods_changed(self, update: KubeUpdate) -> None:
        """Watch events or AWS facts read again: rows added and removed (no pass over every
        pod), the rows on screen redrawn, the selected pod's chain and panes from the state."""
        if not self.live:
            return
        moved = update.resolved | update.later  # pods whose verdict or phase changed
        self.table.pods_changed(self.state, update.added, update.removed, moved)
        self._show_table_titles()
        self.show_pod(self.selected_pod, force=True)

    def shown_facts(self) -> FactsWanted:
        """The selected pod's AWS facts: its roles, the OIDC providers, the associations."""
        return self.state.shown_facts(self.selected_pod)

    def tick(self) -> None:
        super().tick()
        self._date_chain(self.selected_pod)

    def _date_chain(self, pod: Pod | None) -> None:
        """Under the chain: how old the facts it was worked out from are."""
        subtitle = ""
        if pod is not None and self.state.inventory is not None:
            aws = self.state.age_words(self.state.shown_facts(pod))
            subtitle = f"AWS {aws} · Kubernetes {self.state.kube_words('pods')}" if aws else ""
        strip = self.query_one(ChainStrip)
        if strip.border_subtitle != subtitle:
            strip.border_subtitle = subtitle

    def _set_table_loading(self, loading: bool) -> None:
        """The spinner over the table until its first rows. Its keys (enter: open) are not
        offered while it spins: the footer is told when they are back."""
        if self.table.loading != loading:
            self.table.loading = loading
            self.refresh_bindings()

    def stage_changed(self, verdicts: bool = False) -> None:
        """The loader moved on with the same pods: new progress words, the selected pod's
        panes from the fuller inventory and, with `verdicts`, the rows' verdicts drawn."""
        if not self.live:
            return
        if verdicts and self.table.verdict_filter is not None:
            self.table.sync(self.state, self.needle)  # which pods have the verdict shown
        elif verdicts:
            self.table.resort()  # the rows draw their verdicts from the state; sorted on them
        self._show_table_titles(counts=verdicts)
        self.show_pod(self.selected_pod, force=True)

    def show_location(self, location: Location) -> None:
        """Select the location's pod (clearing a filter that hides it) and open its pane."""
        if location.ref is not None and location.ref.kind == "Pod":
            pod = self.state.pod_by_ref(location.ref.namespace, location.ref.name)
            if pod is not None and not self.table.select_uid(pod.uid):
                self.table.verdict_filter = None
                self.set_filter("")
                self.table.select_uid(pod.uid)
        chain_focused = self.focused is self.query_one(ChainStrip)
        if location.pane:
            self.pane = location.pane
            self._mark_active()
            if not chain_focused:  # following the chain link by link keeps the chain focused
                self.query_one(f"#{location.pane}").focus()
        elif not chain_focused:
            self.table.focus()
        self.show_pod(self.selected_pod, force=True)

    def set_filter(self, needle: str) -> None:
        self.needle = needle
        self.table.sync(self.state, needle)
        self._show_table_titles()
        self.show_pod(self.selected_pod)
        self.refresh_bindings()  # esc: clear the filter, or back

    def set_verdict_filter(self, verdict: Verdict | None) -> None:
        """Only the pods with `verdict` (None: every pod), with the text filter if any."""
        self.table.verdict_filter = verdict
        self.set_filter(self.needle)

    def copy_target(self) -> str | None:
        """On a pods row, its intended role; else the chain's first fix."""
        chain = self.state.chains.get(self.table.selected_uid or "")
        if self.focused is self.table and chain is not None and chain.intended_role_arn:
            return chain.intended_role_arn
        return self.query_one(ChainStrip).copy_text

    def location(self) -> Location:
        pod = self.selected_pod
        current = self.app.history.current
        # the cursor moved to another pod: same step, new pod; the open pane stays recorded
        pane = current.pane if current.view == "pods" else None
        return Location("pods", pod.ref if pod else None, pane)

    # -- drawing --------------------------------------------------------------------------------

    def _show_table_titles(self, counts: bool = True) -> None:
        """Above the table, the pods per verdict (each a filter: click); below, how many are
        shown, the filter and the loading stage. `counts`: count the verdicts again (a pass
        over the pods: not for each page while loading, when there are none yet)."""
        table = self.table
        if counts:
            title = self._table_title()
            if table.border_title != title:
                table.border_title = title
        table.border_subtitle = Content(self._table_subtitle())  # not markup: it holds what was typed
        table.empty_message = self._empty_message()

    def _table_title(self) -> str:
        counts = self.table.verdict_counts()
        if not any(counts.get(verdict) for verdict in Verdict):
            return "Pods"
        parts = []
        for verdict in self.VERDICT_CYCLE[1:]:
            count = counts.get(verdict, 0)
            if verdict is Verdict.UNKNOWN and not count and self.table.verdict_filter is not verdict:
                continue
            word, style = VERDICT_STYLE[verdict]
            style = verdict_colour(self.app.theme_variables, verdict, style)
            if self.table.verdict_filter is verdict:
                style = f"reverse {style}"
            parts.append(f"[@click=screen.verdict_filter('{verdict.value}')][{style}]{word.split()[0]} {count:,}[/][/]")  # markup: own words only
        if counts.get(None):
            parts.append(f"[$text-muted]… {counts[None]:,}[/]")  # markup: own words only
        return "Pods " + " · ".join(parts)

    def _table_subtitle(self) -> str:
        table = self.table
        shown, total = table.row_count, len(self.state.pods)
        text = f"{shown:,}/{total:,}" if table.filtering else f"{total:,}"
        if table.verdict_filter is not None:
            text += f" · {table.verdict_filter.value} only"
        if self.needle:
            text += f" · /{self.needle}"
        if table.query.error:
            text += f" · {table.query.error}"
        if self.state.stage:
            text += f" · {self.state.stage}"
        return text

    def _empty_message(self) -> str:
        """What the table says with no rows: why, and what to do next."""
        table, state = self.table, self.state
        if table.row_count:
            return ""
        if state.error and not state.pods:  # the list failed (forbidden, unreachable): why, and what next
            return f"{state.error}\nn: another namespace · c: another context · r: try again"
        if state.pods:
            what = f"{table.verdict_filter.value} pod" if table.verdict_filter is not None else "pod"
            matching = f" matches /{self.needle}" if self.needle and table.query.active else ""
            return f"No {what}{matching}.\nesc clears the filter."
        if state.stage or state.inventory is None:
            return ""  # still loading: the spinner says so
        app = self.explorer
        namespace = app.sources.namespace if app.sources else None
        scope = f"namespace {namespace}" if namespace else "any namespace"
        return (f"No pods in {scope} of {app.context_name}.\n"
                "Pods show here as they start (kubectl run, kubectl apply).\n"
                "n: a namespace · c: another context · r: load again")

    def show_pod(self, pod: Pod | None, force: bool = False) -> None:
        uid = pod.uid if pod else None
        if uid == self._shown_uid and not force:
            return
        if uid != self._shown_uid:
            self._shown_uid = uid
            self.app.note_location(self.location())
        state = self.state
        chain = state.chains.get(uid) if uid else None
        message = "No pods." if not state.pods else "Working out the chain…"
        if pod is None and state.pods:
            message = "No pod selected: the filter matches none (esc clears it)."
        if state.error:
            message = state.error
        runs = state.live_runs.get(uid, []) if uid else []
        strip = (chain, message if pod is None or chain is None else None, runs[-1] if runs else None,
                 uid in state.live_running)
        if strip != self._strip_shown:
            self._strip_shown = strip
            self.query_one(ChainStrip).show(*strip)
        self._date_chain(pod)
        if pod is None:
            self.query_one(ServiceAccountPane).show(state, None, "No pod selected.")
            self.query_one(TokenPane).show(state, None)
            self.query_one(RolePane).show(state, None)
            self.query_one(TrustPolicyPane).show(None, None)
            self.query_one(LiveIdentityPane).show(state, None)
            self.query_one(CloudTrailPane).show(state, "No pod selected.")
            return
        sa = state.service_account(pod)
        missing = None
        if sa is None:
            missing = f"Service account {pod.namespace}/{pod.service_account} not found (or not readable)."
        self.query_one(ServiceAccountPane).show(state, sa, missing)
        token_pane = self.query_one(TokenPane)
        token_pane.loading_which = state.token_loading.get(pod.uid)
        token_pane.show(state, pod)
        self._show_role_and_trust(chain)
        self.query_one(LiveIdentityPane).show(state, pod, running=pod.uid in state.live_running)
        self._show_cloudtrail(pod, chain)

    def _show_cloudtrail(self, pod: Pod, chain: IdentityChain | None) -> None:
        """Its events, looked up only while the pane is the one shown (LookupEvents is slow and
        rate-limited: not for every pod the cursor passes)."""
        from irsa_explorer.sources.cloudtrail import pod_subject

        pane, inventory = self.query_one(CloudTrailPane), self.state.inventory
        node = inventory.nodes.get(pod.node_name) if inventory is not None and pod.node_name else None
        subject = pod_subject(pod, chain, node)
        if self.pane == "cloudtrail" or getattr(subject, "key", None) in pane.trails:
            pane.show(self.state, subject)
        else:  # at 160 columns every pane shows: asked for when opened (6), not as the cursor moves
            pane.show(self.state, "6: look this pod's events up in CloudTrail (LookupEvents).")

    def _show_role_and_trust(self, chain: IdentityChain | None) -> None:
        """The role and trust panes from the chain's results: the intended role (or, for a pod
        on its node's role, that role) and the trust decision the engine made for this pod."""
        state = self.state
        if chain is None:
            self.query_one(RolePane).show(state, None, "Working out the chain…")
            self.query_one(TrustPolicyPane).show(None, None, "Working out the chain…")
            return
        effective = chain.effective
        arn = chain.intended_role_arn
        if arn is None and chain.mechanism is Mechanism.NODE_ROLE and effective is not None:
            arn = effective.arn  # its node's instance role: reachable, with its policies
        if arn is None:
            why_none = "This pod has no intended role: its service account has no eks.amazonaws.com/role-arn annotation and no Pod Identity association."
            if effective is not None and chain.mechanism is not Mechanism.NODE_ROLE:
                why_none = f"This pod assumes no role: it uses {effective.label} — {effective.source}."
            elif effective is not None:
                why_none += f" It would get its node's instance role: {effective.why}"
        else:
            why_none = "No role."
        self.query_one(RolePane).show(state, arn, why_none, effective)
        trust = chain.trust
        trust_arn = trust.role_arn if trust is not None else arn
        link = chain.link("trust-policy")
        if trust is not None:
            why = ""
        elif trust_arn is None:
            why = why_none
        elif state.role(trust_arn) is None:
            why = "loading the role…"
        else:
            why = f"{link.label}: {link.detail}" if link is not None else "not evaluated for this pod"
        self.query_one(TrustPolicyPane).show(state.role(trust_arn), trust, why)

    def _pane_has_focus(self) -> bool:
        focused = self.focused
        panes = self.query_one("#panes")
        while focused is not None:
            if focused is panes:
                return True
            focused = focused.parent
        return False

    def _mark_active(self) -> None:
        for pane in self.query(".pane"):
            pane.set_class(pane.id == self.pane, "-active")
        tabs = self.query_one(Tabs)
        if tabs.active != f"tab-{self.pane}":
            tabs.active = f"tab-{self.pane}"

    # -- events -------------------------------------------------------------------------------

    @on(PodsTable.RowHighlighted, "#pods")
    def _row_highlighted(self, event: PodsTable.RowHighlighted) -> None:
        # The cursor's new row is drawn first, the panes follow: rebuilding them takes longer
        # than a key repeat, and a held key should move the cursor, not wait for each pod.
        self.call_after_refresh(self._follow_cursor)

    def _follow_cursor(self) -> None:
        self.show_pod(self.selected_pod)
        self.app.note_location(self.location())

    @on(PodsTable.RowSelected, "#pods")
    def _row_selected(self, event: PodsTable.RowSelected) -> None:
        # synchronous focus: the keys typed next (→, enter) are meant for the chain
        self.set_focus(self.query_one(ChainStrip))

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        pane = event.tab.id.removeprefix("tab-") if event.tab and event.tab.id else None
        if pane and pane != self.pane:
            self.action_pane(pane)

    @on(PromptBar.FilterChanged)
    def _filter_changed(self, event: PromptBar.FilterChanged) -> None:
        self.set_filter(event.text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":  # no filter: escape goes on to the app's back
            return bool(self.needle) or self.table.verdict_filter is not None
        return super().check_action(action, parameters)

    def action_clear_filter(self) -> None:
        self.table.verdict_filter = None
        self.set_filter("")

    def action_verdict_filter(self, verdict: str) -> None:
        """A click on a count: only those pods; on the count filtered on already, every pod."""
        chosen = Verdict(verdict)
        self.set_verdict_filter(None if self.table.verdict_filter is chosen else chosen)

    def action_cycle_verdict(self) -> None:
        """The next verdict that some pod has, then every pod."""
        counts, cycle = self.table.verdict_counts(), self.VERDICT_CYCLE
        at = cycle.index(self.table.verdict_filter)
        following = cycle[at + 1:] + cycle[:at + 1]
        self.set_verdict_filter(next(v for v in following if v is None or counts.get(v)))

    def action_logs(self) -> None:
        from irsa_explorer.screens.logs import open_logs

        open_logs(self.explorer, self.selected_pod)

    def action_sort(self, column: str) -> None:
        self.table.sort_by(column)

    def action_next_broken(self, step: int) -> None:
        table = self.table
        row = table.next_with(Verdict.BROKEN, step)
        if row is None:
            hidden = table.filtering and any(c.verdict is Verdict.BROKEN for c in self.state.chains.values())
            self.notify("No broken pod" + (" among those shown: esc clears the filter." if hidden else "."), timeout=3)
            return
        table.move_cursor(row=row)

    def action_focus_step(self, step: int) -> None:
        """tab / shift+tab: pod, chain, then the panes as the chain reads (focus_order.py)."""
        stop, widget = next_stop(self, step, fallback=self.pane)
        if self.maximized is not None and self.maximized is not widget:
            self.minimize()
        if stop in PANES and stop != self.pane:
            self.pane = stop
            self._mark_active()  # shows it where only one pane shows
        widget.focus()

    def action_pane(self, pane: str) -> None:
        """1–5: that pane shown and focused, so its own keys (the token pane's t/p/d) work at
        once — also from the chain, which at 80 columns would hide it while focused."""
        pod = self.selected_pod
        target = self.query_one(f"#{pane}")
        if self.maximized is not None and self.maximized is not target:
            self.minimize()
        if self.focused is self.query_one(ChainStrip):
            self.set_focus(None)  # else `show_location` keeps it there (following the chain link by link)
        if pod is not None:
            self.app.go(Location("pods", pod.ref, pane))  # shows the pane and focuses it
        else:
            self.pane = pane
            self._mark_active()
            target.focus()
