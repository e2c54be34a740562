"""The Kubernetes objects and IAM documents of a planned `--scale` cluster, as the clients that
make them on EKS would send them (before the API server's admission fills in the rest)."""

from __future__ import annotations

import json
from typing import Any

from irsa_explorer.lab.scale.plan import PlannedNode, PlannedPod, PlannedRole, PlannedServiceAccount
from irsa_explorer.model import POD_IDENTITY_AGENT_NAMESPACE, ROLE_ARN_ANNOTATION

_SIDECAR_IMAGE = "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod"


def service_account_manifest(sa: PlannedServiceAccount, *, annotated: bool = True) -> dict:
    """The ServiceAccount as `kubectl apply` would send it (annotation optional for late ones)."""
    metadata: dict[str, Any] = {
        "name": sa.name,
        "namespace": sa.namespace,
        "labels": {"app.kubernetes.io/name": sa.name, "app.kubernetes.io/managed-by": "Helm"},
    }
    if sa.role_arn and annotated:
        metadata["annotations"] = {ROLE_ARN_ANNOTATION: sa.role_arn}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}


def pod_manifest(pod: PlannedPod) -> dict:
    """The Pod as a ReplicaSet controller would send it, before admission."""
    app = pod.name.rsplit("-", 2)[0]
    containers = [
        {
            "name": app[:63],
            "image": pod.image,
            "command": ["sleep", "86400"],
            "env": [{"name": "APP_NAME", "value": app}],
        }
    ]
    if pod.sidecar:
        containers.append({"name": "envoy", "image": _SIDECAR_IMAGE, "command": ["sleep", "86400"]})
    spec: dict[str, Any] = {"containers": containers, "restartPolicy": "Always", "nodeName": pod.node}
    if pod.service_account != "default":
        spec["serviceAccountName"] = pod.service_account
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod.name,
            "namespace": pod.namespace,
            "labels": {"app.kubernetes.io/name": app, "pod-template-hash": pod.name.rsplit("-", 2)[1]},
        },
        "spec": spec,
    }


def pod_identity_agent_manifest(node: PlannedNode, cluster_name: str) -> dict:
    """The EKS Pod Identity agent add-on's DaemonSet pod on `node` (kube-system, host network),
    as the DaemonSet controller makes it: without one on its node a pod gets no Pod Identity
    credentials."""
    region = node.zone[:-1]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"eks-pod-identity-agent-{node.index:05d}",
            "namespace": POD_IDENTITY_AGENT_NAMESPACE,
            "labels": {"app.kubernetes.io/name": "eks-pod-identity-agent",
                       "app.kubernetes.io/instance": "eks-pod-identity-agent"},
        },
        "spec": {
            "nodeName": node.name,
            "hostNetwork": True,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": "eks-pod-identity-agent",
                "image": f"602401143452.dkr.ecr.{region}.amazonaws.com/eks/eks-pod-identity-agent:0.1.29",
                "command": ["/go-runner", "/eks-pod-identity-agent", "server"],
                "args": ["--port", "80", "--cluster-name", cluster_name, "--probe-port", "2703"],
            }],
        },
    }


def node_manifest(node: PlannedNode, instance_id: str) -> dict:
    """The Node as the kubelet registers it on an EKS managed node group (the server fills
    addresses, conditions and nodeInfo as it does for any node)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "m5.large",
                "topology.kubernetes.io/zone": node.zone,
                "eks.amazonaws.com/nodegroup": "scale",
            },
        },
        "spec": {"providerID": f"aws:///{node.zone}/{instance_id}"},
    }


def trust_json(role: PlannedRole) -> str:
    return json.dumps(role.trust_policy, separators=(",", ":"))
