"""The node-side identity paths: what IMDS settings, Fargate and the EKS Pod Identity agent on the
pod's node make of its identity, and which STS endpoint an IRSA pod uses (issue 9, part 4)."""

from __future__ import annotations

import dataclasses

import pytest

from analysis_builders import (
    NODE,
    NODE_ROLE,
    PI_ROLE_ARN,
    PI_TOKEN,
    POD_IDENTITY_TRUST,
    ROLE_ARN,
    association,
    container,
    inventory,
    irsa_container,
    plain_pod,
    pod,
    pod_identity_container,
    role,
    sa,
)
from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.model import (
    AgentPod,
    EnvVar,
    InstanceMetadataOptions,
    LinkStatus,
    Mechanism,
    Node,
    Unavailable,
    Verdict,
)

INSTANCE = "i-0123456789abcdef0"
FARGATE_NODE = "fargate-ip-192-168-101-7.us-east-2.compute.internal"
OTHER_NODE = "ip-192-168-1-169.us-east-2.compute.internal"


def options(tokens="required", hops=2, endpoint="enabled") -> InstanceMetadataOptions:
    return InstanceMetadataOptions(INSTANCE, tokens, hops, endpoint, "applied")


def agent(node=NODE, name="eks-pod-identity-agent-x7k2p", status="Running") -> AgentPod:
    return AgentPod(name, "kube-system", node, "Running", status)


def chains(pods, *, metadata=None, sas=None, nodes=None, agents=None, node_roles=None, **kw):
    sas = [sa(role_arn=None), sa("default", role_arn=None)] if sas is None else sas
    inv = inventory(pods=pods, sas=sas, node_roles=node_roles, **kw)
    inv = dataclasses.replace(
        inv,
        node_metadata={NODE: metadata} if metadata is not None else {},
        nodes={n.name: n for n in nodes or ()},
        pod_identity_agents=agents,
    )
    return resolve_all(inv)


def chain_of(p, **kw):
    return chains([p], **kw)[p.uid]


def codes(chain) -> set[str]:
    return {f.code for f in chain.findings}


# --- IMDS: hop limit, IMDSv1, IMDS off ----------------------------------------------------------


def test_imdsv2_required_at_hop_limit_1_leaves_a_pod_without_credentials():
    chain = chain_of(plain_pod(service_account="my-sa"), metadata=options("required", 1))
    effective = chain.effective
    assert chain.mechanism is Mechanism.NONE and effective.mechanism is Mechanism.NONE
    assert (effective.label, effective.arn) == ("no credentials", None)
    assert chain.effective_identity == "no credentials"
    assert "Unable to locate credentials" in effective.why
    assert effective.access.metadata.hop_limit == 1 and effective.access.status is LinkStatus.BROKEN
    assert "2 hops away" in effective.access.reason
    # Nothing was meant for this pod: hardened nodes keeping it without credentials is the plan.
    assert effective.status is LinkStatus.OK and chain.verdict is Verdict.OK
    assert codes(chain) == {"IMDS_HOP_LIMIT"}
    finding = chain.findings[0]
    assert INSTANCE in finding.fix and "--http-put-response-hop-limit 2" in finding.fix
    assert "--namespace default --name my-sa" in finding.fix
    role_link = chain.link("role")
    assert role_link.status is LinkStatus.SKIPPED and "out of this pod's reach" in role_link.detail


def test_a_host_network_pod_is_one_hop_closer_and_gets_the_node_role():
    chain = chain_of(plain_pod(host_network=True), metadata=options("required", 1))
    assert chain.mechanism is Mechanism.NODE_ROLE
    assert chain.effective.arn == NODE_ROLE and chain.effective.access.status is LinkStatus.OK
    assert "1 hop away" in chain.effective.access.reason
    assert chain.verdict is Verdict.WARNING and "NODE_ROLE_FALLBACK" in codes(chain)


@pytest.mark.parametrize("tokens, hops", [("required", 2), ("required", 3), ("optional", 2)])
def test_a_hop_limit_of_2_hands_pods_the_node_role(tokens, hops):
    chain = chain_of(plain_pod(), metadata=options(tokens, hops))
    assert (chain.mechanism, chain.effective.arn, chain.verdict) == (Mechanism.NODE_ROLE, NODE_ROLE, Verdict.WARNING)
    assert "hop limit lets pods" not in chain.link("identity").detail  # known now, not hedged


def test_imdsv1_allowed_at_hop_limit_1_still_hands_out_the_node_role():
    chain = chain_of(plain_pod(), metadata=options("optional", 1))
    assert chain.effective.arn == NODE_ROLE
    assert "falls back to IMDSv1" in chain.effective.access.reason


def test_a_container_that_turns_the_imdsv1_fallback_off_gets_nothing_at_hop_limit_1():
    p = plain_pod(containers=[container(env=[EnvVar("AWS_EC2_METADATA_V1_DISABLED", "true")])])
    chain = chain_of(p, metadata=options("optional", 1))
    assert chain.mechanism is Mechanism.NONE and "AWS_EC2_METADATA_V1_DISABLED" in chain.effective.access.reason


@pytest.mark.parametrize("host_network", [False, True])
def test_imds_turned_off_reaches_nobody(host_network):
    chain = chain_of(plain_pod(host_network=host_network), metadata=options("optional", 2, "disabled"))
    assert chain.mechanism is Mechanism.NONE
    assert codes(chain) == {"IMDS_DISABLED"}


def test_aws_ec2_metadata_disabled_in_the_container_means_no_imds():
    p = plain_pod(containers=[container(env=[EnvVar("AWS_EC2_METADATA_DISABLED", "true")])])
    chain = chain_of(p, metadata=options("required", 2))
    assert chain.mechanism is Mechanism.NONE and codes(chain) == {"IMDS_DISABLED"}


def test_a_pod_meant_for_irsa_but_not_injected_gets_nothing_at_hop_limit_1():
    """'The annotation is there, why Unable to locate credentials?': the pod predates it, and the
    node role it would fall back to is out of reach."""
    chain = chain_of(plain_pod(service_account="my-sa"), sas=[sa()], roles=[role()], metadata=options("required", 1))
    assert chain.verdict is Verdict.BROKEN
    assert chain.effective.status is LinkStatus.BROKEN and chain.effective.label == "no credentials"
    assert {"IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION", "IMDS_HOP_LIMIT"} <= codes(chain)
    assert "node's role" not in chain.link("token").detail


def test_unreadable_instance_settings_are_unknown_not_guessed():
    denied = Unavailable("access denied", "ec2:DescribeInstances", "forbidden")
    chain = chain_of(plain_pod(), metadata=denied, node_roles={NODE: denied})
    assert chain.verdict is Verdict.UNKNOWN and chain.effective.status is LinkStatus.UNKNOWN


def test_settings_not_looked_up_claim_nothing():
    """A hand-made inventory without node_metadata: the node role as before, hedged."""
    chain = chain_of(plain_pod())
    assert chain.effective.arn == NODE_ROLE and chain.effective.access is None
    assert "if the IMDS hop limit lets pods reach it" in chain.link("identity").detail


def test_pods_on_one_node_share_the_answer():
    a, b = plain_pod("a"), plain_pod("b")
    found = chains([a, b], metadata=options("required", 1))
    assert found[a.uid].effective is found[b.uid].effective
    assert found[a.uid].findings[0] is found[b.uid].findings[0]


# --- Fargate ------------------------------------------------------------------------------------


def fargate_node() -> Node:
    return Node("uid-f", FARGATE_NODE, f"aws:///us-east-2b/0b9e6d7b5b/{FARGATE_NODE}",
                labels={"eks.amazonaws.com/compute-type": "fargate"})


NOT_EC2 = Unavailable(f"not an EC2 node (providerID aws:///us-east-2b/0b9e6d7b5b/{FARGATE_NODE})", None, "not-found")


def test_a_fargate_pod_without_irsa_has_no_credentials():
    p = plain_pod(node_name=FARGATE_NODE)
    chain = chain_of(p, nodes=[fargate_node()], node_roles={FARGATE_NODE: NOT_EC2})
    assert chain.mechanism is Mechanism.NONE and chain.effective.label == "no credentials"
    assert chain.effective.access.compute == "fargate"
    assert codes(chain) == {"FARGATE_NO_CREDENTIALS"} and chain.verdict is Verdict.OK
    assert "IRSA works on Fargate" in chain.findings[0].fix
    assert chain.link("role").label == "no node role"


def test_fargate_is_known_by_the_node_name_when_nodes_cannot_be_listed():
    p = plain_pod(node_name=FARGATE_NODE)
    chain = chain_of(p, node_roles={FARGATE_NODE: Unavailable("nodes could not be read", "list nodes", "forbidden")})
    assert chain.mechanism is Mechanism.NONE and chain.effective.access.compute == "fargate"


def test_irsa_works_on_fargate():
    p = pod(node_name=FARGATE_NODE)
    chain = chain_of(p, sas=[sa()], roles=[role()], nodes=[fargate_node()], node_roles={FARGATE_NODE: NOT_EC2})
    assert (chain.mechanism, chain.effective.arn, chain.verdict) == (Mechanism.IRSA, ROLE_ARN, Verdict.OK)


# --- the EKS Pod Identity agent ------------------------------------------------------------------


def pi_pod(node=NODE, **kw):
    return pod("uploader", containers=[pod_identity_container()], tokens=(PI_TOKEN,), node_name=node, **kw)


def pi_chain(agents, node=NODE, **kw):
    return chain_of(pi_pod(node), sas=[sa(role_arn=None)], roles=[role(PI_ROLE_ARN, POD_IDENTITY_TRUST)],
                    associations=[association()], agents=agents, **kw)


def test_an_agent_on_the_node_hands_out_the_role():
    chain = pi_chain((agent(),))
    assert (chain.mechanism, chain.effective.arn, chain.verdict) == (Mechanism.POD_IDENTITY, PI_ROLE_ARN, Verdict.OK)
    assert chain.effective.access.agents == ("eks-pod-identity-agent-x7k2p",)


def test_no_agent_on_the_node_means_no_credentials():
    chain = pi_chain((agent(OTHER_NODE),))
    assert chain.mechanism is Mechanism.POD_IDENTITY
    assert chain.effective.status is LinkStatus.BROKEN and chain.effective.label == "no credentials"
    assert "169.254.170.23" in chain.effective.why and chain.verdict is Verdict.BROKEN
    finding = next(f for f in chain.findings if f.code == "POD_IDENTITY_AGENT_MISSING")
    assert "1 on other nodes" in finding.explanation and f"kubectl describe node {NODE}" in finding.fix


def test_no_agent_anywhere_says_install_the_add_on():
    chain = pi_chain(())
    finding = next(f for f in chain.findings if f.code == "POD_IDENTITY_AGENT_MISSING")
    assert finding.fix == "aws eks create-addon --cluster-name eks-oidc-demo --addon-name eks-pod-identity-agent"


def test_a_crash_looping_agent_is_no_agent():
    chain = pi_chain((agent(status="CrashLoopBackOff"),))
    assert chain.effective.label == "no credentials"
    finding = next(f for f in chain.findings if f.code == "POD_IDENTITY_AGENT_MISSING")
    assert "logs eks-pod-identity-agent-x7k2p" in finding.fix


def test_agents_that_cannot_be_listed_make_the_identity_unknown():
    chain = pi_chain(Unavailable("listing pods in kube-system is forbidden", "list pods", "forbidden"))
    assert chain.verdict is Verdict.UNKNOWN and chain.effective.status is LinkStatus.UNKNOWN
    assert "POD_IDENTITY_AGENT_UNKNOWN" in codes(chain)


def test_agents_not_looked_up_claim_nothing():
    chain = pi_chain(None)
    assert chain.verdict is Verdict.OK and chain.effective.access is None


def test_pod_identity_is_not_available_on_fargate():
    chain = pi_chain((agent(),), node=FARGATE_NODE, nodes=[fargate_node()])
    assert chain.effective.label == "no credentials" and chain.verdict is Verdict.BROKEN
    finding = next(f for f in chain.findings if f.code == "POD_IDENTITY_AGENT_MISSING")
    assert "Fargate" in finding.title and "eksctl create iamserviceaccount" in finding.fix


# --- the STS endpoint of IRSA --------------------------------------------------------------------


def with_setting(value):
    """An IRSA container whose AWS_STS_REGIONAL_ENDPOINTS is `value` (None: not set)."""
    base = [e for e in irsa_container().env if e.name != "AWS_STS_REGIONAL_ENDPOINTS"]
    if value is not None:
        base.insert(0, EnvVar("AWS_STS_REGIONAL_ENDPOINTS", value))
    p = pod(containers=[container(env=base, mounts=irsa_container().volume_mounts)])
    return chain_of(p, sas=[sa()], roles=[role()])


def test_the_webhooks_regional_setting_names_the_regional_endpoint():
    chain = with_setting("regional")
    assert chain.effective.sts_endpoint.endpoint == "sts.us-east-2.amazonaws.com"
    assert "at sts.us-east-2.amazonaws.com" in chain.effective.source
    assert chain.verdict is Verdict.OK and not chain.findings


def test_legacy_sends_the_exchange_to_the_global_endpoint():
    chain = with_setting("legacy")
    assert chain.effective.sts_endpoint.scope == "global" and chain.effective.sts_endpoint.endpoint == "sts.amazonaws.com"
    assert chain.effective.arn == ROLE_ARN  # it works, from us-east-1
    assert chain.verdict is Verdict.WARNING and codes(chain) == {"STS_GLOBAL_ENDPOINT"}


def test_unset_leaves_it_to_the_sdk():
    chain = with_setting(None)
    assert chain.effective.sts_endpoint.scope == "sdk-default"
    assert codes(chain) == {"STS_ENDPOINT_SDK_DEFAULT"} and chain.verdict is Verdict.OK
    assert "eks.amazonaws.com/sts-regional-endpoints=true" in chain.findings[0].fix


def test_legacy_outside_the_old_regions_is_regional_anyway():
    base = [e for e in irsa_container().env if e.name not in ("AWS_STS_REGIONAL_ENDPOINTS", "AWS_REGION")]
    env = [EnvVar("AWS_STS_REGIONAL_ENDPOINTS", "legacy"), EnvVar("AWS_REGION", "ap-east-1"), *base]
    chain = chain_of(pod(containers=[container(env=env, mounts=irsa_container().volume_mounts)]), sas=[sa()], roles=[role()])
    assert chain.effective.sts_endpoint.endpoint == "sts.ap-east-1.amazonaws.com" and not chain.findings


def test_a_value_sdks_do_not_know_leaves_the_identity_unknown():
    chain = with_setting("true")
    assert chain.effective.status is LinkStatus.UNKNOWN and chain.verdict is Verdict.UNKNOWN
    assert codes(chain) == {"STS_REGIONAL_ENDPOINTS_INVALID"}
    assert "InvalidSTSRegionalEndpointsConfigError" in chain.effective.why
