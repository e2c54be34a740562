"""load_inventory against the walkthrough lab: stages, distinct lookups, cluster naming, and the
fallback when a cluster-wide list is forbidden — real 403s from the `restricted-user` lab's users."""

from __future__ import annotations

import pytest

from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.inventory import load_inventory
from irsa_explorer.model import Cluster, IssuerInfo, Role, Unavailable

ACCOUNT = "113534181560"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
MY_SA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"


def test_kubernetes_stage_first_then_aws(lab) -> None:
    kube, aws = KubeSource(kubeconfig=str(lab.kubeconfig)), AwsSource.from_env(lab.aws_env)
    stages: list[tuple[str, int, int]] = []
    inventory = load_inventory(
        kube, aws, None, on_stage=lambda stage, inv: stages.append((stage, len(inv.pods), len(inv.roles)))
    )
    kube.close()
    assert [s[0] for s in stages] == ["kubernetes", "aws"]
    assert stages[0][1] >= 3 and stages[0][2] == 0  # rows can show before any AWS call returns
    assert isinstance(inventory.cluster, Cluster) and inventory.cluster.name == "eks-oidc-demo"
    assert isinstance(inventory.issuer, IssuerInfo) and inventory.issuer.issuer == inventory.cluster.issuer
    assert set(inventory.node_roles.values()) == {NODE_ROLE}
    assert {NODE_ROLE, MY_SA_ROLE} <= set(inventory.roles)  # other suites may add roles of their own
    assert isinstance(inventory.roles[NODE_ROLE], Role) and isinstance(inventory.roles[MY_SA_ROLE], Role)
    assert isinstance(inventory.associations, list)
    assert any(p.url in inventory.cluster.issuer for p in inventory.oidc_providers)


def test_cluster_name_needs_a_hint_when_the_context_does_not_say(lab, plain_kubeconfig) -> None:
    kube = KubeSource(kubeconfig=str(plain_kubeconfig))
    aws = AwsSource.from_env(lab.aws_env)
    unnamed = load_inventory(kube, aws, "default")
    assert isinstance(unnamed.cluster, Unavailable) and "--cluster" in unnamed.cluster.reason
    assert isinstance(unnamed.associations, Unavailable)  # unknown, not "no associations"
    named = load_inventory(kube, aws, "default", cluster_name="eks-oidc-demo")
    kube.close()
    assert isinstance(named.cluster, Cluster)


@pytest.fixture(scope="module")
def restricted(lab_for):
    """The walkthrough plus team-b/batch behind restricted kubeconfigs: dev@… reads only default;
    auditor@… reads default and team-b and may list namespaces (not pods across them)."""
    return lab_for("restricted-user")


def _as(restricted, user: str) -> KubeSource:
    return KubeSource(context=f"{user}@eks-oidc-demo.us-east-2.eksctl.io", kubeconfig=str(restricted.kubeconfig))


def _admin_view(restricted) -> dict[str, set[str]]:
    """Pod uids per namespace, as the admin (current context) sees them."""
    admin = KubeSource(kubeconfig=str(restricted.kubeconfig))
    pods = admin.list_pods(None)
    admin.close()
    assert not pods.notes  # the admin's cluster-wide list is not forbidden
    view: dict[str, set[str]] = {}
    for pod in pods.items:
        view.setdefault(pod.namespace, set()).add(pod.uid)
    return view


def test_forbidden_cluster_wide_list_falls_back_to_readable_namespaces(restricted) -> None:
    everything = _admin_view(restricted)
    auditor = _as(restricted, "auditor")
    listing = auditor.list_pods(None)
    namespaces = auditor.readable_namespaces()
    accounts = auditor.list_service_accounts(None)
    auditor.close()
    assert isinstance(namespaces, list) and {"default", "team-b", "kube-system"} <= set(namespaces)
    assert set(everything) == {"default", "team-b"}
    # every pod, gathered namespace by namespace; the unreadable namespaces are named, not hidden
    assert {p.uid for p in listing.items} == everything["default"] | everything["team-b"]
    assert "listing pods in all namespaces is forbidden" in listing.notes
    assert f"showing the {len(namespaces)} namespaces that could be read one by one" in listing.notes
    assert "listing pods in namespace 'kube-system' is forbidden: not shown" in listing.notes
    assert not any(f"namespace {ns!r} is forbidden" in note for note in listing.notes for ns in ("default", "team-b"))
    assert {a.namespace for a in accounts.items} == {"default", "team-b"}
    assert "listing serviceaccounts in all namespaces is forbidden" in accounts.notes


def test_forbidden_namespaces_too_fall_back_to_the_contexts_namespace(restricted) -> None:
    everything = _admin_view(restricted)
    assert everything.get("team-b"), "the fallback must leave something out to be seen"
    dev = _as(restricted, "dev")
    assert isinstance(dev.readable_namespaces(), Unavailable)
    listing = dev.list_pods(None)
    dev.close()
    assert {p.uid for p in listing.items} == everything["default"]  # the context's namespace only
    assert "listing pods in all namespaces is forbidden" in listing.notes
    assert any("context's namespace 'default'" in note for note in listing.notes)


def test_forbidden_nodes_make_node_roles_unknown_with_the_reason(restricted) -> None:
    dev = _as(restricted, "dev")
    inventory = load_inventory(dev, AwsSource.from_env(restricted.aws_env), None)
    dev.close()
    assert isinstance(inventory.cluster, Cluster) and inventory.cluster.name == "eks-oidc-demo"
    assert any("nodes" in note and "forbidden" in note for note in inventory.notes)
    assert any("context's namespace" in note for note in inventory.notes)  # pods and SAs fell back
    test2 = next(p for p in inventory.pods.values() if p.name == "eks-iam-test2")
    assert test2.node_name
    role = inventory.node_roles[test2.node_name]
    assert isinstance(role, Unavailable) and role.kind == "forbidden" and role.permission == "list nodes"
    assert "forbidden" in role.reason
