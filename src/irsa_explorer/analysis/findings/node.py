"""Findings about what a pod's node gives it: the instance metadata service (hop limit, IMDS
off, Fargate), the EKS Pod Identity agent, and which STS endpoint IRSA exchanges the token at.
The reasoning is analysis.node_access and analysis.sts_endpoint; these word it, with a fix."""

from __future__ import annotations

from irsa_explorer.model import (
    POD_IDENTITY_AGENT_NAMESPACE,
    POD_IDENTITY_AGENT_SELECTOR,
    STS_REGIONAL_ANNOTATION,
    Evidence,
    Finding,
    LinkStatus,
    NodeAccess,
    ObjectRef,
    Pod,
    Severity,
    StsEndpoint,
)

from .catalogue import CATALOGUE, _make, _restart_fix, _spec

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

IMDS_HOP_LIMIT = _spec(
    "IMDS_HOP_LIMIT", I, "E.17",
    "IMDSv2 with hop limit 1: this pod gets no credentials from the node",
    "The node's instance requires IMDSv2 tokens (HttpTokens=required) and lets the answer to the token "
    "request travel one IP hop (HttpPutResponseHopLimit=1). A pod in its own network namespace is two hops "
    "from IMDS, so its SDK never gets a token, IMDS refuses it, and with nothing injected the SDK ends with "
    "'Unable to locate credentials' — not with the node's role. hostNetwork pods are one hop away and still "
    "get the node role. This is the setting AWS recommends for EKS nodes: pods get AWS access only through "
    "IRSA or Pod Identity. Launch templates (managed node groups, Karpenter's EC2NodeClass, whose default is "
    "hop limit 1) set it per instance.",
    "If the pod needs AWS, give its service account a role (eksctl create iamserviceaccount … or an EKS Pod "
    "Identity association) and recreate the pod. Do not raise the hop limit to 2: every pod on the node would "
    "get the node's role.",
)
IMDS_DISABLED = _spec(
    "IMDS_DISABLED", I, "E.17",
    "Instance metadata is off for this pod: no node role, no credentials",
    "The node's instance has its metadata service turned off (HttpEndpoint=disabled), or the container sets "
    "AWS_EC2_METADATA_DISABLED=true. With nothing injected, the SDK's credential chain ends without credentials "
    "('Unable to locate credentials').",
    "If the pod needs AWS, give its service account a role with IRSA or EKS Pod Identity and recreate the pod.",
)
FARGATE_NO_CREDENTIALS = _spec(
    "FARGATE_NO_CREDENTIALS", I, "E",
    "Fargate pod without IRSA: no credentials at all",
    "Fargate runs each pod on a node of its own with no instance metadata service and no node role. The "
    "Fargate profile's pod execution role is for EKS (pulling images, shipping logs), never handed to the "
    "application. A pod without IRSA gets no credentials ('Unable to locate credentials'). EKS Pod Identity "
    "is not available on Fargate either: IRSA is the way.",
    "eksctl create iamserviceaccount --cluster CLUSTER --namespace NS --name SA --attach-policy-arn POLICY_ARN "
    "--approve, run the pod as that service account, recreate it.",
)
POD_IDENTITY_AGENT_MISSING = _spec(
    "POD_IDENTITY_AGENT_MISSING", E, "F.18",
    "No EKS Pod Identity agent runs on the pod's node",
    "EKS Pod Identity hands credentials out through the agent, a DaemonSet pod (EKS add-on "
    "eks-pod-identity-agent) on every node, listening on 169.254.170.23. Without one running on the pod's "
    "node the SDK's request times out ('Connect timeout on endpoint URL: \"http://169.254.170.23/v1/"
    "credentials\"') and the pod gets no credentials — the association is not enough. Fargate runs no "
    "DaemonSets, so Pod Identity is not available there.",
    "aws eks create-addon --cluster-name CLUSTER --addon-name eks-pod-identity-agent (or find why its "
    "DaemonSet has no running pod on the node: kubectl -n kube-system get pods -l "
    "app.kubernetes.io/name=eks-pod-identity-agent -o wide).",
)
POD_IDENTITY_AGENT_UNKNOWN = _spec(
    "POD_IDENTITY_AGENT_UNKNOWN", I, "F.18",
    "Whether the EKS Pod Identity agent runs on the pod's node is unknown",
    "The agent's pods (kube-system, label app.kubernetes.io/name=eks-pod-identity-agent) could not be "
    "listed, so the Pod Identity identity is shown as unknown rather than assumed.",
    "Grant the viewer list on pods in kube-system (docs/clusterrole.yaml), or check by hand: kubectl -n "
    "kube-system get pods -l app.kubernetes.io/name=eks-pod-identity-agent -o wide.",
)
STS_GLOBAL_ENDPOINT = _spec(
    "STS_GLOBAL_ENDPOINT", W, "C.14",
    "IRSA exchanges the token at the legacy global STS endpoint",
    "AWS_STS_REGIONAL_ENDPOINTS=legacy sends AssumeRoleWithWebIdentity to sts.amazonaws.com, in us-east-1, "
    "instead of the cluster's own region: an outage there stops IRSA in every region, a private cluster "
    "whose STS interface VPC endpoint serves the regional name times out, and every call crosses regions. "
    "The EKS webhook injects AWS_STS_REGIONAL_ENDPOINTS=regional but leaves a value the container sets itself.",
    "Remove AWS_STS_REGIONAL_ENDPOINTS=legacy from the container (or set it to regional) and recreate the pod.",
)
STS_ENDPOINT_SDK_DEFAULT = _spec(
    "STS_ENDPOINT_SDK_DEFAULT", I, "C.14",
    "AWS_STS_REGIONAL_ENDPOINTS is not set: the SDK picks the STS endpoint",
    "Without the variable, AWS CLI v2, boto3/botocore ≥ 1.40, AWS CLI v1 ≥ 1.42 and the SDKs released since "
    "July 2022 (Java v2, Go v2, JavaScript v3) call the regional STS endpoint; older botocore and AWS CLI v1, "
    "Java v1, Go v1 and JavaScript v2 call the legacy global sts.amazonaws.com (us-east-1). EKS's webhook sets "
    "it to regional when it injects IRSA, so an IRSA container without it set its role variables itself or "
    "was injected by a webhook run without that option.",
    "kubectl -n NS annotate serviceaccount SA eks.amazonaws.com/sts-regional-endpoints=true and recreate the pod, "
    "or set AWS_STS_REGIONAL_ENDPOINTS=regional in the container.",
)
STS_REGIONAL_ENDPOINTS_INVALID = _spec(
    "STS_REGIONAL_ENDPOINTS_INVALID", W, "C.14",
    "AWS_STS_REGIONAL_ENDPOINTS has a value SDKs do not know",
    "The variable takes 'regional' or 'legacy'. botocore (boto3 and the AWS CLI) refuses anything else when it "
    "creates an STS client (InvalidSTSRegionalEndpointsConfigError), so the web-identity exchange fails there. "
    "('true' is the value of the service-account annotation eks.amazonaws.com/sts-regional-endpoints, not of "
    "the variable.)",
    "Set AWS_STS_REGIONAL_ENDPOINTS=regional in the container (or remove it) and recreate the pod.",
)

del E, W, I

__all__ = [
    "FARGATE_NO_CREDENTIALS", "IMDS_DISABLED", "IMDS_HOP_LIMIT", "POD_IDENTITY_AGENT_MISSING",
    "POD_IDENTITY_AGENT_UNKNOWN", "STS_ENDPOINT_SDK_DEFAULT", "STS_GLOBAL_ENDPOINT", "STS_REGIONAL_ENDPOINTS_INVALID",
    "imds_unreachable", "pod_identity_agent", "sts_endpoint_finding",
]


def _sa_name(service_account: str) -> str:
    return service_account if service_account != "default" else "SA_NAME"


def _irsa_command(namespace: str, service_account: str, cluster: str | None) -> str:
    return (f"eksctl create iamserviceaccount --cluster {cluster or 'CLUSTER'} --namespace {namespace} "
            f"--name {_sa_name(service_account)} --attach-policy-arn POLICY_ARN --approve")


def _node_evidence(access: NodeAccess) -> list[Evidence]:
    node = ObjectRef("Node", access.node or "?")
    metadata = access.metadata
    if metadata is None:
        return [Evidence(node, "compute type", access.compute)]
    instance = ObjectRef("Instance", metadata.instance_id)
    return [Evidence(node, "spec.providerID", metadata.instance_id),
            Evidence(instance, "MetadataOptions.HttpTokens", metadata.http_tokens),
            Evidence(instance, "MetadataOptions.HttpPutResponseHopLimit",
                     None if metadata.hop_limit is None else str(metadata.hop_limit)),
            Evidence(instance, "MetadataOptions.HttpEndpoint", metadata.http_endpoint)]


def imds_unreachable(namespace: str, service_account: str, access: NodeAccess, cluster: str | None) -> Finding:
    """Pods of this service account on `access.node` reach no IMDS: why, and what to do if they need AWS.
    The same for every pod of the service account on the node (no pod name in it)."""
    who = f"pods of {namespace}/{service_account}"
    node = access.node or "?"
    irsa = _irsa_command(namespace, service_account, cluster)
    metadata = access.metadata
    if access.compute == "fargate":
        return _make(FARGATE_NO_CREDENTIALS,
                     title=f"Fargate node {node}: no node role and no IMDS, so {who} without IRSA get no credentials",
                     evidence=[Evidence(ObjectRef("Node", node), "metadata.labels[eks.amazonaws.com/compute-type]",
                                        "fargate"),
                               Evidence(ObjectRef("ServiceAccount", service_account, namespace),
                                        "metadata.annotations[eks.amazonaws.com/role-arn]", None)],
                     fix=f"{irsa}, then recreate the pods (IRSA works on Fargate; EKS Pod Identity does not)")
    if metadata is None or metadata.http_endpoint == "disabled" or "AWS_EC2_METADATA_DISABLED" in access.reason:
        return _make(IMDS_DISABLED, title=f"No instance metadata for {who} on {node}: {access.reason}",
                     evidence=_node_evidence(access),
                     fix=f"If they need AWS: {irsa} (or an EKS Pod Identity association), then recreate the pods")
    hop = "" if metadata.hop_limit is None else f" --http-put-response-hop-limit {metadata.hop_limit + 1}"
    return _make(
        IMDS_HOP_LIMIT,
        title=(f"{who.capitalize()} on {node} get no credentials: IMDSv2 is required and its hop limit "
               f"({metadata.hop_limit}) ends one hop short of a pod"),
        evidence=[*_node_evidence(access), Evidence(ObjectRef("ServiceAccount", service_account, namespace),
                                                    "spec.hostNetwork of its pods", "false")],
        fix=(f"If they need AWS: {irsa} (or an EKS Pod Identity association), then recreate the pods. Keep the "
             f"hop limit: aws ec2 modify-instance-metadata-options --instance-id {metadata.instance_id}{hop} would "
             "hand every pod on the node the node's role."),
    )


def pod_identity_agent(namespace: str, service_account: str, access: NodeAccess, cluster: str | None) -> Finding:
    """The Pod Identity agent is missing (or not running, or unknown) on the node of pods of this
    service account. The same for every such pod on the node (no pod name in it)."""
    node = access.node or "?"
    node_ref = ObjectRef("Node", node)
    who = f"pods of {namespace}/{service_account}"
    listing = f"kubectl -n {POD_IDENTITY_AGENT_NAMESPACE} get pods -l {POD_IDENTITY_AGENT_SELECTOR} -o wide"
    if access.status is LinkStatus.UNKNOWN:
        return _make(POD_IDENTITY_AGENT_UNKNOWN, title=f"Whether a Pod Identity agent runs on {node} is unknown",
                     explanation=f"{CATALOGUE[POD_IDENTITY_AGENT_UNKNOWN].explanation} Here: {access.reason}.",
                     evidence=[Evidence(node_ref, "eks-pod-identity-agent pod", None)])
    explanation = f"{CATALOGUE[POD_IDENTITY_AGENT_MISSING].explanation} Here: {access.reason}."
    if access.compute == "fargate":
        return _make(POD_IDENTITY_AGENT_MISSING,
                     title=f"{who.capitalize()} run on Fargate ({node}), where EKS Pod Identity is not available",
                     explanation=explanation,
                     evidence=[Evidence(node_ref, "metadata.labels[eks.amazonaws.com/compute-type]", "fargate")],
                     fix=(f"Use IRSA for {namespace}/{service_account}: "
                          f"{_irsa_command(namespace, service_account, cluster)}, delete the Pod Identity "
                          "association, then recreate the pods"))
    if access.agents:
        name = access.agents[0]
        fix = (f"kubectl -n {POD_IDENTITY_AGENT_NAMESPACE} describe pod {name} && "
               f"kubectl -n {POD_IDENTITY_AGENT_NAMESPACE} logs {name}")
        title = f"The Pod Identity agent on {node} is not running: {who} there get no credentials"
    elif "other nodes" in access.reason:
        fix = (f"{listing}; kubectl describe node {node}   # a taint or nodeSelector the "
               "eks-pod-identity-agent DaemonSet does not match keeps it off this node")
        title = f"No Pod Identity agent runs on {node}: {who} there get no credentials"
    else:
        fix = f"aws eks create-addon --cluster-name {cluster or 'CLUSTER'} --addon-name eks-pod-identity-agent"
        title = f"The EKS Pod Identity agent is not installed: {who} get no credentials"
    return _make(POD_IDENTITY_AGENT_MISSING, title=title, explanation=explanation,
                 evidence=[Evidence(node_ref, f"{POD_IDENTITY_AGENT_NAMESPACE}/eks-pod-identity-agent pod",
                                    ", ".join(access.agents) or None)],
                 fix=fix)


def sts_endpoint_finding(pod: Pod, container: str, endpoint: StsEndpoint) -> Finding | None:
    """Where the STS endpoint an IRSA container uses matters: global, the SDK's choice, or refused."""
    field = f"spec.containers[{container}].env[AWS_STS_REGIONAL_ENDPOINTS]"
    restart = _restart_fix(pod)
    if endpoint.scope == "global":
        return _make(STS_GLOBAL_ENDPOINT,
                     title=f"Container {container} of pod {pod.name} calls the legacy global STS endpoint sts.amazonaws.com",
                     evidence=[Evidence(pod.ref, field, endpoint.setting)],
                     fix=f"Set AWS_STS_REGIONAL_ENDPOINTS=regional in container {container} (or remove it), then "
                         f"recreate the pod ({restart})")
    if endpoint.scope == "sdk-default":
        return _make(STS_ENDPOINT_SDK_DEFAULT,
                     title=f"Container {container} of pod {pod.name} leaves the STS endpoint to its SDK",
                     evidence=[Evidence(pod.ref, field, None),
                               Evidence(pod.service_account_ref, f"metadata.annotations[{STS_REGIONAL_ANNOTATION}]", None)],
                     fix=(f"kubectl -n {pod.namespace} annotate serviceaccount {pod.service_account} "
                          f"{STS_REGIONAL_ANNOTATION}=true, then recreate the pod ({restart})"))
    if endpoint.scope == "invalid":
        return _make(STS_REGIONAL_ENDPOINTS_INVALID,
                     title=f"Container {container} of pod {pod.name} sets AWS_STS_REGIONAL_ENDPOINTS={endpoint.setting!r}",
                     evidence=[Evidence(pod.ref, field, endpoint.setting)],
                     fix=f"Set AWS_STS_REGIONAL_ENDPOINTS=regional in container {container}, then recreate the pod ({restart})")
    return None
