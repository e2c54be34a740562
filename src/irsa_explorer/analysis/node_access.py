"""How a pod reaches what its node hands out: the instance metadata service (IMDS, the node's
role) and the EKS Pod Identity agent (failure-catalogue E.17 and F.18).

Both sit at the end of a path the pod spec alone does not show:
- IMDS answers only if the instance has it on (`HttpEndpoint`), and when IMDSv2 is required
  (`HttpTokens=required`) only callers its token answer reaches: the answer to
  `PUT /latest/api/token` carries an IP TTL of `HttpPutResponseHopLimit`, and a pod that does
  not share the node's network namespace is one hop further than the node. With hop limit 1
  such a pod gets no token, IMDS refuses it without one, and its SDK ends with "Unable to locate
  credentials" — not with the node's role. With IMDSv1 allowed the SDK falls back to it (no hop
  limit applies to its answers), so the pod gets the node's role at any hop limit.
  Fargate has no IMDS and no node role at all (its pod execution role is EKS's, for pulling
  images and shipping logs, never handed to the application).
- The Pod Identity agent is a DaemonSet pod (EKS add-on `eks-pod-identity-agent`, kube-system)
  listening on the node's 169.254.170.23: without one running on the pod's node the SDK's
  request to it times out. Fargate runs no DaemonSets, so Pod Identity is not available there.

The answers depend on the node (and on whether the pod shares its network namespace), not on
the pod: `NodeAccessCache` works each out once.
"""

from __future__ import annotations

from irsa_explorer.model import (
    COMPUTE_TYPE_LABEL,
    POD_IDENTITY_AGENT_NAMESPACE,
    AgentPod,
    Container,
    InstanceMetadataOptions,
    Inventory,
    LinkStatus,
    Node,
    NodeAccess,
    Pod,
    Unavailable,
)

IMDS = "imds"
AGENT = "pod-identity-agent"
FARGATE = "fargate"
# IP hops between IMDS and its caller: the node itself (and hostNetwork pods), or a pod in its
# own network namespace behind the node's virtual interface.
HOPS_FROM_HOST, HOPS_FROM_POD = 1, 2
_TRUE = ("true", "1", "yes")


def compute_of(node_name: str | None, node: Node | None, pod: Pod | None = None) -> str:
    """ "fargate" for a pod Fargate runs (its node's label or name says so), "ec2" otherwise,
    "unknown" when the pod has no node."""
    if node is not None and node.labels.get(COMPUTE_TYPE_LABEL) == FARGATE:
        return FARGATE
    if node_name and node_name.startswith("fargate-"):
        return FARGATE  # EKS names Fargate nodes fargate-ip-…; also seen when nodes cannot be listed
    if pod is not None and "eks.amazonaws.com/fargate-profile" in pod.labels:
        return FARGATE
    return "ec2" if node_name else "unknown"


def imds_env(container: Container | None) -> tuple[bool, bool]:
    """(IMDS off, IMDSv1 fallback off) as the container's env tells the SDK
    (AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_V1_DISABLED)."""
    if container is None:
        return False, False
    disabled = (container.env_value("AWS_EC2_METADATA_DISABLED") or "").lower() in _TRUE
    v1_disabled = (container.env_value("AWS_EC2_METADATA_V1_DISABLED") or "").lower() in _TRUE
    return disabled, v1_disabled


def _options(metadata: InstanceMetadataOptions) -> str:
    return (f"HttpTokens={metadata.http_tokens or '?'}, HttpPutResponseHopLimit={metadata.hop_limit or '?'}, "
            f"HttpEndpoint={metadata.http_endpoint or '?'}")


def imds_access(node_name: str | None, node: Node | None, metadata: InstanceMetadataOptions | Unavailable | None,
                *, host_network: bool, compute: str, imds_disabled: bool = False,
                v1_disabled: bool = False) -> NodeAccess | None:
    """Whether the pod's SDK gets the node's role from IMDS. None when the instance's IMDS
    settings were not looked up (an inventory made by hand), so nothing is claimed either way."""
    def access(status: LinkStatus, reason: str, options: InstanceMetadataOptions | None = None) -> NodeAccess:
        return NodeAccess(IMDS, node_name, status, reason, compute, options, host_network)

    if compute == FARGATE:
        return access(LinkStatus.BROKEN,
                      f"{node_name} is a Fargate node: Fargate has no instance metadata service and no node role")
    if imds_disabled:
        return access(LinkStatus.BROKEN, "the container sets AWS_EC2_METADATA_DISABLED=true: its SDK never asks IMDS")
    if isinstance(metadata, Unavailable):
        return access(LinkStatus.UNKNOWN, f"the instance's IMDS settings are {metadata}")
    if metadata is None:
        return None
    where = f"instance {metadata.instance_id} ({_options(metadata)})"
    if metadata.http_endpoint == "disabled":
        return access(LinkStatus.BROKEN, f"IMDS is turned off on {where}: nothing on the node can read it", metadata)
    hops = HOPS_FROM_HOST if host_network else HOPS_FROM_POD
    away = "on the node's network (hostNetwork), 1 hop away" if host_network else "in its own network namespace, 2 hops away"
    limit = metadata.hop_limit
    required = metadata.http_tokens == "required"
    if limit is None:
        if required:
            return access(LinkStatus.UNKNOWN, f"IMDSv2 is required on {where} and its hop limit is unknown", metadata)
        return access(LinkStatus.OK, f"IMDSv1 is allowed on {where}: the pod reads it without a token", metadata)
    if limit >= hops:
        version = "IMDSv2 (tokens required)" if required else "IMDS"
        return access(LinkStatus.OK, f"{version} on {where} answers the pod, {away}", metadata)
    short = (f"the answer to the pod's token request (PUT /latest/api/token) runs out of hops before it reaches "
             f"the pod ({away}, hop limit {limit})")
    if required:
        return access(LinkStatus.BROKEN, f"IMDSv2 is required on {where} and {short}: without a token IMDS "
                                         "refuses the pod, so its SDK finds no credentials", metadata)
    if v1_disabled:
        return access(LinkStatus.BROKEN, f"{short}, and the container turns the IMDSv1 fallback off "
                                         "(AWS_EC2_METADATA_V1_DISABLED=true)", metadata)
    return access(LinkStatus.OK, f"IMDSv1 is allowed on {where}: {short}, so the SDK falls back to IMDSv1, "
                                 "which no hop limit applies to", metadata)


def agent_access(node_name: str | None, agents: tuple[AgentPod, ...] | Unavailable | None, *,
                 compute: str) -> NodeAccess | None:
    """Whether an EKS Pod Identity agent runs on the pod's node. None when the agents were not
    looked up (an inventory made by hand), so nothing is claimed either way."""
    def access(status: LinkStatus, reason: str, found: tuple[str, ...] = ()) -> NodeAccess:
        return NodeAccess(AGENT, node_name, status, reason, compute, agents=found)

    if compute == FARGATE:
        return access(LinkStatus.BROKEN, f"{node_name} is a Fargate node: Fargate runs no DaemonSet, so no Pod "
                                         "Identity agent answers at 169.254.170.23 (EKS Pod Identity is not "
                                         "available on Fargate)")
    if agents is None:
        return None
    if isinstance(agents, Unavailable):
        return access(LinkStatus.UNKNOWN, f"whether the Pod Identity agent runs on {node_name} is {agents}")
    if not node_name:
        return access(LinkStatus.UNKNOWN, "the pod has no node yet")
    here = [a for a in agents if a.node_name == node_name]
    running = tuple(a.name for a in here if a.running)
    if running:
        return access(LinkStatus.OK, f"agent pod {POD_IDENTITY_AGENT_NAMESPACE}/{running[0]} runs on {node_name}",
                      running)
    if here:
        states = ", ".join(f"{a.name} is {a.status}" for a in here)
        return access(LinkStatus.BROKEN, f"the Pod Identity agent on {node_name} is not running ({states}): "
                                         "the SDK's request to 169.254.170.23 times out", tuple(a.name for a in here))
    if agents:
        return access(LinkStatus.BROKEN, f"no eks-pod-identity-agent pod runs on {node_name} ({len(agents)} on other "
                                         "nodes): the SDK's request to 169.254.170.23 times out")
    return access(LinkStatus.BROKEN, f"no eks-pod-identity-agent pod runs in {POD_IDENTITY_AGENT_NAMESPACE} at all "
                                     "(the EKS add-on is not installed): the SDK's request to 169.254.170.23 times out")


class NodeAccessCache:
    """The access of every pod of an inventory, worked out once per node and network namespace."""

    def __init__(self, inventory: Inventory) -> None:
        self.inv = inventory
        self._imds: dict[tuple, NodeAccess | None] = {}
        self._agent: dict[str | None, NodeAccess | None] = {}
        # id(container env) → (its IMDS flags, the env, held so its id is not reused meanwhile):
        # replicas share one env tuple, so this is read once per distinct spec, not per pod
        self._flags: dict[int, tuple[tuple[bool, bool], object]] = {}

    def compute(self, pod: Pod) -> str:
        node = self.inv.nodes.get(pod.node_name) if pod.node_name else None
        return compute_of(pod.node_name, node, pod)

    def imds(self, pod: Pod, container: Container | None) -> NodeAccess | None:
        """IMDS as the SDK of `container` (the pod's main one) meets it."""
        env = container.env if container is not None else None
        found = self._flags.get(id(env))
        if found is None or found[1] is not env:
            found = self._flags[id(env)] = (imds_env(container), env)
        disabled, v1_disabled = found[0]
        key = (pod.node_name, pod.host_network, disabled, v1_disabled, self.compute(pod))
        if key not in self._imds:
            metadata = self.inv.node_metadata.get(pod.node_name) if pod.node_name else None
            node = self.inv.nodes.get(pod.node_name) if pod.node_name else None
            self._imds[key] = imds_access(pod.node_name, node, metadata, host_network=pod.host_network,
                                          compute=key[-1], imds_disabled=disabled, v1_disabled=v1_disabled)
        return self._imds[key]

    def agent(self, pod: Pod) -> NodeAccess | None:
        """The Pod Identity agent on the pod's node."""
        compute = self.compute(pod)
        key = pod.node_name if compute != FARGATE else f"{FARGATE}:{pod.node_name}"
        if key not in self._agent:
            self._agent[key] = agent_access(pod.node_name, self.inv.pod_identity_agents, compute=compute)
        return self._agent[key]
