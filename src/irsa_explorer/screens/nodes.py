"""Nodes view: each node's instance role and the pods that fall back to it."""

from __future__ import annotations

from textual.app import ComposeResult

from irsa_explorer.model import ObjectRef, Unavailable
from irsa_explorer.screens.listing import Col, ListScreen
from irsa_explorer.screens.roles import short_role
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.format import literal, short_arn, value_or_unknown
from irsa_explorer.widgets.link import Link
from irsa_explorer.widgets.panes.detail import LIST_LIMIT, DetailPane, heading, more, note, row


def short_node(name: str) -> str:
    """An EC2 node's name without its `.REGION.compute.internal` (or `.ec2.internal`): the
    first label tells the nodes of a cluster apart; the pane beside shows the whole name."""
    head, _, rest = name.partition(".")
    return head if head and rest.endswith(("compute.internal", "ec2.internal")) else name


class NodePane(DetailPane):
    TITLE = "Node"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state: ExplorerState | None = None
        self.node_name: str | None = None

    def show(self, state: ExplorerState, name: str | None) -> None:
        self.state, self.node_name = state, name
        # the store's version, not ids: an id may be reused once its object is freed, and the
        # chains change in place (the fallbacks listed here are read from them)
        self.date(*[("node", FactsWanted(), "nodes"), ("instance role", FactsWanted(node_roles=frozenset({name})), None)]
                  if name else [])
        self.rebuild((name, state.version))

    def compose(self) -> ComposeResult:
        name, state = self.node_name, self.state
        if not name or state is None or state.inventory is None:
            yield note("No node selected.")
            return
        node = state.inventory.nodes.get(name)
        yield Link(name, ObjectRef("Node", name), classes="title-link")
        if node is not None:
            yield row("instance", node.instance_id or node.provider_id or "unknown")
        role = state.inventory.node_roles.get(name)
        if isinstance(role, str):
            yield Link(role, ObjectRef("Role", role), prefix="[b]instance role[/b] ")
        else:
            yield row("instance role", value_or_unknown(role) if role is not None else literal("not loaded", "$text-muted"))

        pods = state.pods_on_node(name)
        fallback = state.node_role_fallbacks(name)
        yield heading(f"Pods falling back to the node role ({len(fallback)})")
        if not fallback:
            yield note("none")
        for pod in fallback[:LIST_LIMIT]:
            yield Link(f"{pod.namespace}/{pod.name}", pod.ref)
        yield from more(len(fallback), LIST_LIMIT, "filter the pods view by this node")
        yield heading(f"All pods on this node ({len(pods)})")
        for pod in pods[:LIST_LIMIT]:
            yield Link(f"{pod.namespace}/{pod.name}", pod.ref)
        yield from more(len(pods), LIST_LIMIT, "filter the pods view by this node")


class NodesScreen(ListScreen):
    VIEW = "nodes"
    # "Pods": every pod scheduled on the node; "On its role": those whose identity is the node's
    # instance role (nothing of their own), which the role's permissions decide.
    COLUMNS = (("name", "Node", Col(most=28, cut="end")), ("pods", "Pods"), ("fallback", "On its role"),
               ("instance", "Instance", Col(drop=2)), ("role", "Instance role", Col(flex=True, least=12)))

    def compose_detail(self) -> ComposeResult:
        yield NodePane(id="detail", classes="detail")

    def rows(self) -> dict[str, tuple]:
        inv = self.state.inventory
        if inv is None:
            return {}
        fallbacks = self.state.node_role_fallbacks_by_node()  # one pass over the pods, not one per node
        cluster = getattr(inv.cluster, "name", None)
        out = {}
        # nodes the pods run on count too: when listing nodes is forbidden they are known only by
        # name, with their role Unavailable (an empty table would say "no nodes")
        for name in sorted(set(inv.nodes) | set(inv.node_roles)):
            node = inv.nodes.get(name)
            role = inv.node_roles.get(name)
            role_text = short_role(short_arn(role), cluster) if isinstance(role, str) else (
                "unknown" if isinstance(role, Unavailable) else "…")
            instance = (node.instance_id or "-") if node else "unknown"
            out[name] = (short_node(name), str(self.state.pod_count_on_node(name)), str(len(fallbacks.get(name, ()))),
                         instance, role_text)
        return out

    def ref_for(self, key: str) -> ObjectRef | None:
        return ObjectRef("Node", key)

    def shown_facts(self) -> FactsWanted:
        inv, key = self.state.inventory, self.table.selected_key if self.live else None
        role = inv.node_roles.get(key) if inv is not None and key else None
        return FactsWanted(roles=frozenset({role})) if isinstance(role, str) else FactsWanted()

    def detail(self, key: str | None) -> None:
        self.query_one(NodePane).show(self.state, key)
