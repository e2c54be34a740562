"""Who uses a role, from the store's index of the chains, kept up to date chain by chain as watch
events re-resolve them; and the scope the crumbs show. Plain data: no screen, no lab."""

from __future__ import annotations

from datetime import datetime, timezone

from irsa_explorer.messages import KubeChanged
from irsa_explorer.model import (
    ROLE_ARN_ANNOTATION,
    Container,
    Inventory,
    Node,
    Pod,
    Role,
    ServiceAccount,
)
from irsa_explorer.screens.listing import Shortened, cut_end, middle
from irsa_explorer.state import ExplorerState

NOW = datetime(2026, 12, 5, 0, 0, tzinfo=timezone.utc)
NODE_ROLE = "arn:aws:iam::113534181560:role/eksctl-demo-nodegroup-ng--NodeInstanceRole-X"
APP_ROLE = "arn:aws:iam::113534181560:role/app"


def pod(uid: str, sa: str = "default", node: str = "n1", namespace: str = "default") -> Pod:
    return Pod(uid, namespace, f"pod-{uid}", sa, node, "Running", "Running", NOW,
               containers=(Container("app", "amazon/aws-cli"),))


def loaded(pods: list[Pod], sas: list[ServiceAccount], notes: tuple[str, ...] = ()) -> tuple[ExplorerState, int]:
    """A store with a staged inventory and its chains, as a load leaves it."""
    from irsa_explorer.analysis.identity import resolve_all

    state = ExplorerState(clock=lambda: NOW)
    generation = state.load_started()
    trust = {"Version": "2012-10-17", "Statement": []}
    inventory = Inventory(
        context="ctx", namespace=None, pods={p.uid: p for p in pods}, service_accounts={s.key: s for s in sas},
        nodes={"n1": Node("node-1", "n1", "aws:///us-east-2a/i-0123456789abcdef0")},
        node_roles={"n1": NODE_ROLE},
        roles={arn: Role(arn=arn, name=arn.rsplit("/", 1)[-1], account="113534181560", trust_policy=trust)
               for arn in (NODE_ROLE, APP_ROLE)},
        associations=[], oidc_providers=[], notes=notes,
    )
    state.stage_reached(generation, inventory, "", resolve_all(inventory))
    return state, generation


def test_the_node_role_is_used_by_the_pods_that_fall_back_to_it_and_the_count_follows_events() -> None:
    default = ServiceAccount("sa-1", "default", "default")
    app = ServiceAccount("sa-2", "default", "app", annotations={ROLE_ARN_ANNOTATION: APP_ROLE})
    # p3 runs as `app` but predates its annotation: nothing injected, it falls back to the node role
    state, generation = loaded([pod("p1"), pod("p2"), pod("p3", "app")], [default, app])
    assert state.role_users(NODE_ROLE) == (0, 3)  # nobody means to get it; three do
    assert state.role_users(APP_ROLE) == (1, 0)  # meant for p3, which does not get it
    assert [p.uid for p in state.pods_getting(NODE_ROLE)] == ["p1", "p2", "p3"]
    # a pod goes, another comes: the index follows the chains worked out again, not a full pass
    assert state.update(KubeChanged(generation, [("pods", "DELETED", pod("p1")), ("pods", "ADDED", pod("p4"))]))
    assert state.role_users(NODE_ROLE) == (0, 3)
    assert {p.uid for p in state.pods_getting(NODE_ROLE)} == {"p2", "p3", "p4"}
    # the node role annotated on `default`: its pods now mean to get the app role (not injected)
    annotated = ServiceAccount("sa-1", "default", "default", annotations={ROLE_ARN_ANNOTATION: APP_ROLE})
    assert state.update(KubeChanged(generation, [("serviceaccounts", "MODIFIED", annotated)]))
    assert state.role_users(APP_ROLE) == (3, 0)
    assert state.role_users(NODE_ROLE) == (0, 3)
    assert state.pod_count_on_node("n1") == 3 and [p.uid for p in state.pods_on_node("n1")] == ["p2", "p3", "p4"]


def test_the_scope_says_which_namespaces_a_restricted_user_read_never_all() -> None:
    default = ServiceAccount("sa-1", "default", "default")
    state, _ = loaded([pod("p1")], [default])
    assert state.scope(None) == "all namespaces" and state.scope("team-b") == "team-b"
    limited, _ = loaded([pod("p1")], [default], notes=(
        "listing pods in all namespaces is forbidden",
        "listing namespaces is forbidden too: showing only the context's namespace 'default'"))
    assert limited.scope(None) == "namespace default only"
    several, _ = loaded([pod("p1"), pod("p2", namespace="team-b")], [default],
                        notes=("listing pods in all namespaces is forbidden",))
    assert several.scope(None) == "namespaces default, team-b only"
    nothing = ExplorerState(clock=lambda: NOW)
    nothing.inventory = Inventory(context="ctx", namespace=None, notes=("listing pods in all namespaces is forbidden",))
    assert nothing.scope(None) == "no namespace readable"


def test_list_cells_are_cut_where_they_tell_least() -> None:
    name = "eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
    assert middle(name, 200) == name
    cut = middle(name, 21)
    assert len(cut) == 21 and cut.startswith("eksctl-eks") and cut.endswith("RY47katu4") and "…" in cut
    assert cut_end("ip-192-168-1-169.us-east-2.compute.internal", 12) == "ip-192-168-…"
    cell = Shortened(name, "…nodegroup-ng--NodeInstanceRole-rL7RY47katu4")
    assert cell == name and name in f"{cell} x"  # a filter matches the whole name
