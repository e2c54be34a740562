"""What the user can ask for by name: the `:` commands and the command palette (ctrl+p)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from irsa_explorer.analysis.arns import role_name_of
from irsa_explorer.model import ObjectRef
from irsa_explorer.navigation import VIEW_TITLES, VIEWS, Location
from irsa_explorer.screens.modals import PickerScreen

if TYPE_CHECKING:
    from irsa_explorer.app import IrsaExplorerApp
    from irsa_explorer.sources.connect import Sources

# `:` commands besides the views, and what else people type for them (kubectl's short names).
COMMANDS = (*VIEWS, "help", "quit")
ALIASES = {
    "po": "pods", "pod": "pods", "serviceaccounts": "sa", "serviceaccount": "sa", "role": "roles",
    "node": "nodes", "no": "nodes", "finding": "findings", "h": "help", "?": "help", "q": "quit",
}


def parse_command(text: str) -> str:
    """What a `:` line asks for: one of COMMANDS, else the word as typed ("" for nothing)."""
    word = text.lstrip(":").strip().lower()
    return ALIASES.get(word, word)


def run_command(app: IrsaExplorerApp, text: str) -> None:
    """`:pods`, `:sa`, `:roles`, `:nodes`, `:findings`, `:help`, `:q`; anything else is said so."""
    command = parse_command(text)
    if command in VIEWS:
        app.go(Location(command))
    elif command == "help":
        app.action_help()
    elif command == "quit":
        app.exit()
    elif command:
        app.notify(f"Unknown command :{command} — try :{' :'.join(VIEWS)}", severity="warning")


def pick_namespace(app: IrsaExplorerApp) -> None:
    """`n`: one namespace or all, then everything loaded again for it."""
    if (sources := app.sources) is None:
        return
    current = sources.namespace or "*"

    def picked(choice: str | None) -> None:
        if choice is not None and choice != current:
            sources.namespace = None if choice == "*" else choice
            app.go(Location("pods"))
            app.action_refresh()

    choices = [("*", "all namespaces")] + [(name, name) for name in app.state.namespaces()]
    app.push_screen(PickerScreen("Namespace", choices, current), picked)


def pick_context(app: IrsaExplorerApp, switch: Callable[[Sources, str], Sources]) -> None:
    """`c`: another context of the kubeconfig; its sources made by `switch`."""
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

    app.push_screen(PickerScreen("Context", [(c, c) for c in contexts], app.context_name), picked)


class ExplorerCommands(Provider):
    """One provider for everything the explorer can jump to or do."""

    def _entries(self) -> list[tuple[str, str, object]]:
        app: IrsaExplorerApp = self.app  # type: ignore[assignment]  # the explorer runs this provider
        entries: list[tuple[str, str, object]] = []
        for view, title in VIEW_TITLES.items():
            entries.append((f"View: {title}", f":{view}", partial(app.go, Location(view))))
        for key, help_text, action in (
            ("Who am I", "run sts get-caller-identity in the selected pod (w)", app.action_who_am_i),
            ("Refresh", "load everything again (r)", app.action_refresh),
            ("Namespace…", "one namespace or all (n)", app.action_namespace),
            ("Context…", "another kubeconfig context (c)", app.action_context),
            ("Help", "every key (?)", app.action_help),
        ):
            entries.append((key, help_text, action))
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
