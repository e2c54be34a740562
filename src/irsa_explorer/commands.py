"""What the user can ask for by name: the `:` commands and the command palette (ctrl+p); and
what the explorer asks before it runs anything inside a pod or writes to the cluster.

Reading the cluster and the account is all it does unasked. A few keys do more: `w` execs
`aws sts get-caller-identity` in the selected pod, t/p/d in the token pane exec `cat` of a token
file, T creates a token with TokenRequest (a write); on a service account W mints one and asks AWS
what it gets, X runs a probe pod (writes: screens/probe.py). `ask_before` is the one gate: with
--readonly it refuses each with a message and runs nothing; otherwise an exec asks once per
session and kind (the question names the command, the pod and the container), a write every time.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from irsa_explorer.analysis.arns import role_name_of
from irsa_explorer.model import ObjectRef
from irsa_explorer.navigation import VIEW_TITLES, VIEWS, Location
from irsa_explorer.screens.modals import ConfirmScreen, HelpScreen, PickerScreen

if TYPE_CHECKING:
    from irsa_explorer.app import IrsaExplorerApp
    from irsa_explorer.model import Pod
    from irsa_explorer.sources.connect import Sources

# The `:` commands: each with what else people type for it (k9s's and kubectl's short names)
# and what it does, in the words `ctrl+a` lists them with.
COMMAND_TABLE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("pods", ("po", "pod"), "the pods view"),
    ("sa", ("serviceaccounts", "serviceaccount"), "the service accounts view"),
    ("roles", ("ro", "role"), "the IAM roles view"),
    ("nodes", ("no", "node"), "the nodes view"),
    ("findings", ("fi", "finding"), "the findings view"),
    ("ns", ("namespace", "namespaces"), ":ns NAME: one namespace; alone or all: every one"),
    ("ctx", ("context", "contexts"), ":ctx NAME: that kubeconfig context; alone: the list"),
    ("learn", ("lesson", "lessons", "challenge", "challenges"), ":learn NAME: that lesson on a fresh lab; alone: the list"),
    ("scenario", ("scenarios", "sc"), ":scenario NAME: the lab switched to it; alone: the list (lab only)"),
    ("concepts", ("concept",), "IRSA, Pod Identity, tokens, trust policies, in a few lines each"),
    ("aliases", ("alias", "a"), "this list of commands (ctrl+a)"),
    ("help", ("h", "?"), "every key"),
    ("quit", ("q", "q!"), "leave the explorer"),
)
COMMANDS = tuple(command for command, _, _ in COMMAND_TABLE)
ALIASES = {alias: command for command, aliases, _ in COMMAND_TABLE for alias in aliases}
ALL_NAMESPACES = ("all", "*", "-a", "--all-namespaces")


def command_list() -> list[tuple[str, str]]:
    """Each command with its aliases, and what it does: for `ctrl+a` and the help."""
    return [(f":{command}", f"{what} · also {' '.join(f':{alias}' for alias in aliases)}") for command, aliases, what in COMMAND_TABLE]


def parse_command(text: str) -> tuple[str, str]:
    """What a `:` line asks for: one of COMMANDS (else the word as typed, "" for nothing) and
    the rest of the line (a namespace or a context name, as typed)."""
    word, _, argument = text.lstrip(":").strip().partition(" ")
    word = word.lower()
    return ALIASES.get(word, word), argument.strip()


def run_command(app: IrsaExplorerApp, text: str) -> None:
    """`:pods` … `:findings`, `:ns [NAME]`, `:ctx [NAME]`, `:aliases`, `:help`, `:q`; anything
    else is said so, with the commands there are."""
    command, argument = parse_command(text)
    if command in VIEWS:
        app.go(Location(command))
    elif command == "ns":
        use_namespace(app, None if argument.lower() in ("", *ALL_NAMESPACES) else argument)
    elif command == "ctx":
        app.action_context(argument or None)
    elif command in ("learn", "scenario", "concepts"):
        from irsa_explorer.screens import concepts, learn_picker, scenario_switch  # the lab's and lessons' code: on use

        {"learn": learn_picker.pick_lesson, "scenario": scenario_switch.pick_scenario,
         "concepts": concepts.open_concepts}[command](app, argument or None)
    elif command == "aliases":
        show_commands(app)
    elif command == "help":
        app.action_help()
    elif command == "quit":
        app.exit()
    elif command:
        known = " ".join(f":{name}" for name in COMMANDS)
        app.notify(f"No command :{command}. The commands: {known} (ctrl+a lists them with their aliases).",
                   severity="warning", markup=False)


def show_commands(app: IrsaExplorerApp) -> None:
    """`ctrl+a`: the `:` commands and their aliases, as k9s lists its aliases."""
    if not isinstance(app.screen, HelpScreen):
        app.push_screen(HelpScreen([("Commands (type : then one of them)", command_list())], title="Commands (esc closes)"))


def use_namespace(app: IrsaExplorerApp, namespace: str | None) -> None:
    """One namespace (None: all of them), then everything loaded again for it."""
    if (sources := app.sources) is None or namespace == sources.namespace:
        return
    sources.namespace = namespace
    app.go(Location("pods"))
    app.action_refresh()


def pick_namespace(app: IrsaExplorerApp) -> None:
    """`n`: one namespace or all, then everything loaded again for it."""
    if (sources := app.sources) is None:
        return
    current = sources.namespace or "*"

    def picked(choice: str | None) -> None:
        if choice is not None:
            use_namespace(app, None if choice == "*" else choice)

    choices = [("*", "all namespaces")] + [(name, name) for name in app.state.namespaces()]
    app.push_screen(PickerScreen("Namespace", choices, current), picked)


def pick_context(app: IrsaExplorerApp, switch: Callable[[Sources, str], Sources], name: str | None = None) -> None:
    """`c`: another context of the kubeconfig; its sources made by `switch`. `:ctx NAME`: that
    one at once (a name the kubeconfig does not have is said so, with the ones it has)."""
    if (sources := app.sources) is None:
        return
    try:
        contexts = sources.kube.contexts()
    except Exception as error:  # an unreadable kubeconfig: say so, keep the view
        app.notify(f"Cannot list contexts: {error}", severity="error")
        return

    def picked(choice: str | None) -> None:
        if not choice or choice == app.context_name:
            return
        try:
            chosen = switch(sources, choice)
        except Exception as error:
            app.notify(f"Cannot use context {choice}: {error}", severity="error")
            return
        app.use_sources(chosen)

    if name is not None:
        if name in contexts:
            picked(name)
        else:
            app.notify(f"No context {name} in the kubeconfig. Its contexts: {', '.join(contexts)}", severity="warning", markup=False)
        return
    app.push_screen(PickerScreen("Context", [(c, c) for c in contexts], app.context_name), picked)


@dataclass
class Consent:
    """This session's answers: `readonly` refuses every exec and write; `granted` holds the
    kinds of exec the user said yes to ("who-am-i", "read-token"), asked no more until exit."""

    readonly: bool = False
    granted: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Ask:
    """An exec into a pod or a write to the cluster, in the words the user is asked with."""

    kind: str  # "who-am-i" or "read-token" (an exec: asked once per session), "token-request", "probe-pod" (writes)
    title: str  # the question
    what: str  # what runs (or is created) and where, said exactly
    refused: str  # what --readonly says instead

    @property
    def writes(self) -> bool:
        return self.kind in ("token-request", "probe-pod")


def who_am_i_ask(pod: Pod) -> Ask:
    """`w`: what runs, in which pod and container."""
    from irsa_explorer.sources.livecheck import AWS_CLI_ARGV, exec_command, who_am_i_container  # the clients: on use

    container = who_am_i_container(pod) or "(none: the pod has no containers)"
    command = " ".join(AWS_CLI_ARGV)
    return Ask("who-am-i", "Run a command inside the pod?", (
        f"w runs this inside the pod, as kubectl exec does:\n\n"
        f"  pod        {pod.namespace}/{pod.name}\n  container  {container}\n  command    {command}\n"
        f"             (or python3 and boto3, if the image has no aws CLI)\n\n"
        f"  {exec_command(pod, who_am_i_container(pod), AWS_CLI_ARGV)}\n\n"
        f"It only reads: the pod asks STS with its own credentials. The exec (create "
        f"pods/exec) is in the API server's audit log.\n"
        f"Yes is remembered for this session: later w runs without asking."),
        f"Not run: w execs {command} inside {pod.namespace}/{pod.name}, and this session is --readonly.")


def token_ask(pod: Pod, which: str, audience: str) -> Ask:
    """t/p/d: `cat` of a token file in the container that mounts it; T: a TokenRequest."""
    from irsa_explorer.sources.livecheck import FRESH_TOKEN_SECONDS, TOKEN_FILES, exec_command, token_container

    if which == "fresh":
        from irsa_explorer.widgets.format import shown  # an annotation's text: one line, as it is

        return Ask("token-request", "Create a token with TokenRequest?", (
            f"T creates a token for {pod.namespace}/{pod.service_account} with TokenRequest "
            f"(audience {shown(audience)}, valid {FRESH_TOKEN_SECONDS // 60} minutes).\n"
            f"This writes to the cluster (create serviceaccounts/token, an audit log entry) but changes "
            f"nothing else. Asked each time."),
            "Not created: a TokenRequest writes to the cluster, and this session is --readonly.")
    path, what = TOKEN_FILES.get(which, TOKEN_FILES["default"])
    container = token_container(pod, path)
    return Ask("read-token", "Read a token inside the pod?", (
        f"This reads the {what} inside the pod, as kubectl exec does:\n\n"
        f"  pod        {pod.namespace}/{pod.name}\n  container  {container}\n  command    cat {path}\n\n"
        f"  {exec_command(pod, container, ['cat', path])}\n\n"
        f"It only reads; the token stays in memory, its signature masked. The exec (create "
        f"pods/exec) is in the API server's audit log.\n"
        f"Yes is remembered for this session: later t, p and d run without asking."),
        f"Not run: reading the {what} execs cat inside {pod.namespace}/{pod.name}, and this session is --readonly.")


def ask_before(app: IrsaExplorerApp, ask: Ask, run: Callable[[], None]) -> None:
    """Run `run` once the user agreed to `ask` (an exec agreed to before in this session runs
    at once); with --readonly, say why not and run nothing."""
    consent = app.consent
    if consent.readonly:
        app.notify(ask.refused, title="Read-only", severity="warning", timeout=10, markup=False)
        return
    if not ask.writes and ask.kind in consent.granted:
        run()
        return

    def answered(yes: bool | None) -> None:
        if not yes:
            app.notify("Cancelled: nothing was run.")
            return
        if not ask.writes:
            consent.granted.add(ask.kind)
        run()

    yes = "Create" if ask.writes else "Run"
    app.push_screen(ConfirmScreen(ask.what, title=ask.title, yes=yes, no="Cancel"), answered)


def copy(app: IrsaExplorerApp) -> None:
    """`y`: the focused ARN or fix to the clipboard (IrsaExplorerApp.copy_target)."""
    if text := app.copy_target():
        app.copy_to_clipboard(text)
        app.notify(f"Copied: {text if len(text) < 80 else text[:77] + '…'}")
    else:
        app.notify("Nothing to copy here: focus an ARN or a fix.", severity="warning")


def who_am_i(app: IrsaExplorerApp) -> None:
    """`w`: `sts get-caller-identity` in the selected pod, once the user agreed (ask_before);
    its answer in the live identity pane."""
    from irsa_explorer.screens.main import PodsScreen  # here: screens.view imports this module

    screen = app.screens_by_view["pods"]
    pod = screen.selected_pod if isinstance(screen, PodsScreen) and screen.live else None
    if pod is None:
        app.notify("Select a pod first.", severity="warning")
        return

    def run() -> None:
        from_chain = app.focused is not None and app.focused.id == "chain"
        screen.check_identity(pod)
        screen.minimize()
        if app.history.current.view != "pods" or app.history.current.pane != "live-identity":
            app.go(Location("pods", pod.ref, "live-identity"))
        if from_chain:  # the answer's pane, focused: at 80 columns the focused chain fills its place
            app.call_after_refresh(lambda: screen.is_mounted and screen.query_one("#live-identity").focus())

    if (ended := ended_words(pod)) is not None:  # nothing to exec into: said before any question
        app.notify(ended, title="Nothing to ask", severity="warning", timeout=10, markup=False)
        return
    ask_before(app, who_am_i_ask(pod), run)


def experiment(app: IrsaExplorerApp, kind: str) -> None:
    """W / X from the palette: on the service account selected in the view shown (screens/probe.py)."""
    from irsa_explorer.screens import probe

    sa = probe.selected_service_account(app)
    (probe.probe if kind == "probe" else probe.what_would_it_get)(app, sa)


# Under --readonly the footer does not offer W and X (as it does not offer w), but pressing them
# still says why nothing runs: these hidden bindings answer then (`offered`), the shown ones not.
EXPERIMENT_READONLY_BINDINGS = [
    Binding("W,shift+w", "experiment('what-would-it-get')", "What would it get", show=False, id="sa.what_would_get_readonly"),
    Binding("X,shift+x", "experiment('probe')", "Probe pod", show=False, id="sa.probe_readonly"),
]
EXPERIMENT_ACTIONS = ("what_would_it_get", "probe")


def experiment_offered(app: Any, action: str) -> bool:
    """Whether a W/X binding is live: the shown ones without --readonly, the hidden ones with it."""
    readonly = bool(getattr(getattr(app, "consent", None), "readonly", False))
    if action in EXPERIMENT_ACTIONS:
        return not readonly
    if action == "experiment":
        return readonly
    return True


def ended_words(pod: Pod) -> str | None:
    """A pod that has completed or failed has no process to exec into: why `w` cannot ask it,
    and where its last words are instead. None for a pod that may still run."""
    if pod.phase not in ("Succeeded", "Failed"):
        return None
    from irsa_explorer.sources.livecheck import who_am_i_container

    container = who_am_i_container(pod)
    logs = shlex.join(["kubectl", "logs", "-n", pod.namespace, pod.name, *(["-c", container] if container else [])])
    status = pod.phase if pod.status in ("", pod.phase) else f"{pod.phase}, {pod.status}"
    return f"{pod.name} has ended ({status}): nothing runs in it to ask — l shows its logs (as {logs})"


def focus_chain(app: IrsaExplorerApp) -> None:
    """`i`: the identity chain focused; a pod's chain starts on its first broken link (enter opens it)."""
    from irsa_explorer.widgets.chain_strip import ChainStrip

    screen = app.screen
    chains = screen.query(ChainStrip)
    if not chains:
        app.notify("The identity chain is in the pods view (:pods).", severity="warning")
        return
    chain = chains.first()
    if screen.maximized not in (None, chain):
        screen.minimize()
    screen.set_focus(chain)


def zoom(app: IrsaExplorerApp) -> None:
    """`z`: the focused pane (the table, the chain, a detail pane) over the whole screen, or
    back. Screen.maximize only takes widgets that allow it; these panes are chosen here."""
    screen = app.screen
    if screen.maximized is not None:
        screen.minimize()
        return
    node = app.focused
    while node is not None and node is not screen:
        if node.id in ("pods", "list", "chain") or node.has_class("pane") or node.has_class("detail"):
            screen.maximized = node
            return
        node = node.parent
    app.notify("Nothing to zoom here: focus the table, the chain or a pane first.", severity="warning")


def lesson_entries(app: IrsaExplorerApp) -> list[tuple[str, str, object]]:
    """The palette's lessons and challenges (screens/learn_picker.py), each started as `:learn NAME` starts it."""
    from irsa_explorer.screens.learn_picker import catalogue_if_read, lesson_folder, progress_words, start_lesson

    folder, entries = lesson_folder(app), catalogue_if_read() or []
    def title(entry) -> str:  # "Challenge: …" titles say their kind already
        kind = entry.kind.capitalize() or "Lesson"
        return entry.title if entry.title.startswith(kind) else f"{kind}: {entry.title}"

    return [(title(entry), entry.problem or f"{entry.description} · "
             f"{progress_words(entry, folder)}", partial(start_lesson, app, entry)) for entry in entries]


class ExplorerCommands(Provider):
    """One provider for everything the explorer can jump to or do."""

    def _entries(self) -> list[tuple[str, str, object]]:
        app: IrsaExplorerApp = self.app  # type: ignore[assignment]  # the explorer runs this provider
        entries: list[tuple[str, str, object]] = []
        for view, title in VIEW_TITLES.items():
            entries.append((f"View: {title}", f":{view}", partial(app.go, Location(view))))
        for key, help_text, action in (
            ("Who am I", "run sts get-caller-identity in the selected pod (w, asks first)", app.action_who_am_i),
            ("What would this SA get", "TokenRequest → STS for the selected service account's role, beside the engine's "
             "prediction (W, asks first)", partial(experiment, app, "what-would-it-get")),
            ("Probe pod as this SA", "a pod as the selected service account asked sts get-caller-identity, then deleted "
             "(X, asks first)", partial(experiment, app, "probe")),
            ("Zoom", "the focused pane over the whole screen, or back (z)", app.action_zoom),
            ("Refresh", "load everything again (r)", app.action_refresh),
            ("Namespace…", "one namespace or all (n)", app.action_namespace),
            ("Context…", "another kubeconfig context (c)", app.action_context),
            ("Help", "every key (?)", app.action_help),
            ("Learn…", "lessons and challenges, with your progress (:learn)", partial(run_command, app, "learn")),
            ("Scenario…", "switch the lab to another scenario (:scenario)", partial(run_command, app, "scenario")),
            ("Concepts", "IRSA, Pod Identity, the node role, tokens, sub/aud, trust policies (:concepts)",
             partial(run_command, app, "concepts")),
        ):
            entries.append((key, help_text, action))
        entries += lesson_entries(app)
        inventory = app.state.inventory
        if inventory is not None:
            for pod in sorted(inventory.pods.values(), key=lambda p: (p.namespace, p.name)):
                entries.append((f"Pod {pod.namespace}/{pod.name}", f"service account {pod.service_account}", partial(app.go, Location("pods", pod.ref))))
            for (ns, name), sa in sorted(inventory.service_accounts.items()):
                entries.append((f"Service account {ns}/{name}", sa.role_arn or "no role annotation", partial(app.go, Location("sa", sa.ref))))
            for arn in sorted(inventory.roles):
                entries.append((f"Role {role_name_of(arn)}", arn, partial(app.go, Location("roles", ObjectRef("Role", arn)))))
            for name in sorted(inventory.nodes):
                entries.append((f"Node {name}", "instance role and pods on it", partial(app.go, Location("nodes", ObjectRef("Node", name)))))
        return entries

    async def discover(self) -> Hits:
        for title, help_text, action in self._entries()[:12]:
            yield DiscoveryHit(title, action, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), action, help=help_text)
