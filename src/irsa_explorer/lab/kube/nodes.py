"""What a kubelet registers for a node, filled in for nodes a scenario describes briefly."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from ..spec import LabCluster
from .store import now_rfc3339


def apply_node_defaults(node: dict[str, Any], cluster: LabCluster) -> None:
    """Fill what a kubelet would register for a node the scenario describes briefly."""
    meta = node["metadata"]
    labels = meta.setdefault("labels", {})
    labels.setdefault("kubernetes.io/hostname", meta.get("name", ""))
    labels.setdefault("kubernetes.io/os", "linux")
    labels.setdefault("kubernetes.io/arch", "amd64")
    labels.setdefault("topology.kubernetes.io/region", cluster.region)
    labels.setdefault("node.kubernetes.io/instance-type", "m5.large")
    status = node.setdefault("status", {})
    # An m5.large, the eksctl default: kubectl describe node computes percentages from these.
    capacity = {"cpu": "2", "memory": "7910360Ki", "pods": "29", "ephemeral-storage": "83873772Ki",
                "hugepages-1Gi": "0", "hugepages-2Mi": "0", "attachable-volumes-aws-ebs": "25"}
    status.setdefault("capacity", capacity)
    status.setdefault("allocatable", {**capacity, "cpu": "1930m", "memory": "7220184Ki",
                                      "ephemeral-storage": "76224326324"})
    now = now_rfc3339()
    if not status.get("conditions"):
        status["conditions"] = [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                 "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                                 "lastTransitionTime": now}]
    if not status.get("addresses"):
        status["addresses"] = [{"type": "InternalIP", "address": _ip_from_node_name(meta.get("name", ""))},
                               {"type": "Hostname", "address": meta.get("name", "")}]
    info = status.setdefault("nodeInfo", {})
    info.setdefault("kubeletVersion", f"v{cluster.version}.9-eks-5e0fdde")
    info.setdefault("osImage", "Amazon Linux 2")
    info.setdefault("kernelVersion", "5.10.210-201.852.amzn2.x86_64")
    info.setdefault("containerRuntimeVersion", "containerd://1.7.11")
    info.setdefault("operatingSystem", "linux")
    info.setdefault("architecture", "amd64")
    # IDs a kubelet reports; clients with strict models require them.
    digest = hashlib.sha256(meta.get("name", "").encode()).hexdigest()
    info.setdefault("machineID", digest[:32])
    info.setdefault("systemUUID", f"ec2{digest[3:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}")
    info.setdefault("bootID", str(uuid.UUID(digest[32:64])))
    info.setdefault("kubeProxyVersion", info["kubeletVersion"])
    status.setdefault("daemonEndpoints", {"kubeletEndpoint": {"Port": 10250}})


def _ip_from_node_name(name: str) -> str:
    """EKS node names carry their IP: ip-192-168-53-243.us-east-2.compute.internal."""
    head = name.split(".", 1)[0]
    if head.startswith("ip-"):
        parts = head[3:].split("-")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            return ".".join(parts)
    return "192.168.0.10"
