"""The command palette (ctrl+p): views, pods, service accounts, roles, nodes and actions."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from irsa_explorer.analysis.arns import role_name_of
from irsa_explorer.model import ObjectRef
from irsa_explorer.navigation import VIEW_TITLES, Location


class ExplorerCommands(Provider):
    """One provider for everything the explorer can jump to or do."""

    def _entries(self) -> list[tuple[str, str, object]]:
        app = self.app
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
        state = getattr(app, "state", None)
        inventory = state.inventory if state else None
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
