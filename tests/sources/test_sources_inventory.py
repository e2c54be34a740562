"""load_inventory against the walkthrough lab: stages, distinct lookups, cluster naming, and the
fallback when a cluster-wide list is forbidden."""

from __future__ import annotations

import yaml
from kubernetes.client.rest import ApiException

from irsa_explorer.cloud import AwsSource
from irsa_explorer.cluster import KubeSource
from irsa_explorer.inventory import load_inventory
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


def test_cluster_name_needs_a_hint_when_the_context_does_not_say(lab, tmp_path) -> None:
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["contexts"][0]["name"] = "plain"
    config["contexts"][0]["context"]["cluster"] = config["clusters"][0]["name"] = "plain-cluster"
    config["current-context"] = "plain"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    kube = KubeSource(kubeconfig=str(kubeconfig))
    aws = AwsSource.from_env(lab.aws_env)
    unnamed = load_inventory(kube, aws, "default")
    assert isinstance(unnamed.cluster, Unavailable) and "--cluster" in unnamed.cluster.reason
    assert isinstance(unnamed.associations, Unavailable)  # unknown, not "no associations"
    named = load_inventory(kube, aws, "default", cluster_name="eks-oidc-demo")
    kube.close()
    assert isinstance(named.cluster, Cluster)


class _ClusterWideForbidden:
    """The real CoreV1Api, except that cluster-wide lists answer 403 as RBAC would for a
    namespace-scoped user (the lab grants every authenticated user read access)."""

    def __init__(self, real, namespaces_forbidden: bool) -> None:
        self._real, self._namespaces_forbidden = real, namespaces_forbidden

    def __getattr__(self, name):
        denied = {"list_pod_for_all_namespaces", "list_service_account_for_all_namespaces"}
        if self._namespaces_forbidden:
            denied.add("list_namespace")
        if name in denied:
            def forbidden(*args, **kwargs):
                raise ApiException(status=403, reason="Forbidden")
            return forbidden
        return getattr(self._real, name)


def test_forbidden_cluster_wide_list_falls_back_to_readable_namespaces(lab) -> None:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    everything = {p.uid for p in kube.list_pods(None).items}
    kube.core = _ClusterWideForbidden(kube.core, namespaces_forbidden=False)
    listing = kube.list_pods(None)
    assert {p.uid for p in listing.items} == everything  # every namespace was readable one by one
    assert any("forbidden" in note for note in listing.notes)

    kube.core = _ClusterWideForbidden(kube.core._real, namespaces_forbidden=True)
    listing = kube.list_pods(None)
    kube.close()
    assert {p.namespace for p in listing.items} == {"default"}  # the context's namespace only
    assert any("context's namespace" in note for note in listing.notes)


def test_forbidden_nodes_make_node_roles_unknown_with_the_reason(lab) -> None:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))

    class NodesForbidden(_ClusterWideForbidden):
        def __getattr__(self, name):
            if name == "list_node":
                def forbidden(*args, **kwargs):
                    raise ApiException(status=403, reason="Forbidden")
                return forbidden
            return getattr(self._real, name)

    kube.core = NodesForbidden(kube.core, namespaces_forbidden=False)
    inventory = load_inventory(kube, AwsSource.from_env(lab.aws_env), "default")
    kube.close()
    assert any("nodes" in note and "forbidden" in note for note in inventory.notes)
    test2 = next(p for p in inventory.pods.values() if p.name == "eks-iam-test2")
    role = inventory.node_roles[test2.node_name]
    assert isinstance(role, Unavailable) and role.kind == "forbidden" and role.permission == "list nodes"
