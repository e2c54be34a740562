"""The typed results a chain carries per link — the token, the provider check, the trust decision
for the request the mechanism really makes, the effective identity — and that they are shared
between the pods they hold for, not made again per pod."""

from __future__ import annotations

from analysis_builders import (
    ACCOUNT,
    HOST,
    ISSUER,
    NODE,
    NODE_ROLE,
    PI_ROLE_ARN,
    PI_TOKEN,
    POD_IDENTITY_TRUST,
    PROVIDER_ARN,
    ROLE_ARN,
    association,
    container,
    inventory,
    irsa_trust,
    plain_pod,
    pod,
    pod_identity_container,
    role,
    sa,
)
from irsa_explorer.analysis.identity import resolve_all, resolve_chain
from irsa_explorer.model import (
    AUDIENCE_ANNOTATION,
    IRSA_VOLUME,
    Decision,
    EffectiveIdentity,
    EnvVar,
    ExpectedToken,
    IssuerInfo,
    LinkStatus,
    Mechanism,
    OidcProvider,
    ProjectedToken,
    ProviderCheck,
    TrustCheck,
    Verdict,
)

ASSUME_ROLE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def chain_of(p, **inv):
    inv.setdefault("pods", [p])
    return resolve_chain(p, inventory(**inv))


def pi_pod(name: str = "pi", **kw):
    return pod(name, containers=[pod_identity_container()], tokens=(PI_TOKEN,), **kw)


def test_every_link_result_is_typed_on_a_working_irsa_pod():
    chain = chain_of(pod(), sas=[sa()], roles=[role()])
    assert chain.verdict is Verdict.OK
    assert isinstance(chain.token, ExpectedToken)
    assert (chain.token.issuer, chain.token.subject, chain.token.audiences) == (
        ISSUER, "system:serviceaccount:default:my-sa", ("sts.amazonaws.com",))
    provider = chain.provider
    assert isinstance(provider, ProviderCheck) and provider.status is LinkStatus.OK
    assert provider.provider.arn == PROVIDER_ARN == provider.expected_arn
    assert provider.client_ids == ("sts.amazonaws.com",) and provider.url == HOST
    trust = chain.trust
    assert isinstance(trust, TrustCheck) and trust.decision is Decision.ALLOW
    [request] = trust.requests
    assert request.action == "sts:AssumeRoleWithWebIdentity" and request.principal == PROVIDER_ARN
    assert request.context[f"{HOST}:sub"] == ("system:serviceaccount:default:my-sa",)
    assert "sub system:serviceaccount:default:my-sa" in trust.made_by
    effective = chain.effective
    assert isinstance(effective, EffectiveIdentity)
    assert (effective.mechanism, effective.status, effective.arn) == (Mechanism.IRSA, LinkStatus.OK, ROLE_ARN)
    assert "AssumeRoleWithWebIdentity" in effective.source
    # the link words are made from these results
    assert chain.link("trust-policy").detail == trust.evaluation.reason
    assert chain.link("identity").result is effective


def test_irsa_trust_is_evaluated_with_the_audience_of_the_pods_token_not_the_annotation():
    # The audience annotation came after the pod: the pod's projected token still says sts.amazonaws.com.
    annotated = sa(**{AUDIENCE_ANNOTATION: "sts.amazon.com"})
    chain = chain_of(pod(), sas=[annotated], roles=[role()])
    [request] = chain.trust.requests
    assert request.context[f"{HOST}:aud"] == ("sts.amazonaws.com",)
    assert chain.trust.decision is Decision.ALLOW and chain.verdict is Verdict.OK
    # …and a pod whose token carries the other audience is evaluated with it.
    odd_token = ProjectedToken(IRSA_VOLUME, "sts.amazon.com", 86400, "token")
    odd = chain_of(pod("odd", tokens=(odd_token,)), sas=[annotated], roles=[role()])
    assert odd.trust.requests[0].context[f"{HOST}:aud"] == ("sts.amazon.com",)
    assert odd.verdict is Verdict.BROKEN


def test_pod_identity_trust_for_assume_role_only_is_not_allowed_naming_tag_session():
    chain = chain_of(pi_pod(), sas=[sa(role_arn=None)], roles=[role(PI_ROLE_ARN, ASSUME_ROLE_ONLY)],
                     associations=[association()])
    assert chain.verdict is Verdict.BROKEN
    trust = chain.trust
    assert [r.action for r in trust.requests] == ["sts:AssumeRole", "sts:TagSession"]
    assert [e.decision for e in trust.evaluations] == [Decision.ALLOW, Decision.NOT_ALLOWED]
    assert trust.decision is Decision.NOT_ALLOWED
    assert "sts:TagSession" in trust.evaluation.reason
    # the requests carry EKS's session tags, as EKS Auth sends them
    for request in trust.requests:
        assert request.principal_type == "Service" and request.principal == "pods.eks.amazonaws.com"
        assert request.context["aws:RequestTag/kubernetes-namespace"] == ("default",)
        assert request.context["aws:RequestTag/kubernetes-service-account"] == ("my-sa",)
        assert request.context["aws:SourceAccount"] == (ACCOUNT,)
    assert "sts:TagSession" in trust.made_by
    assert chain.link("trust-policy").status is LinkStatus.BROKEN
    effective = chain.effective
    assert (effective.status, effective.arn, effective.label) == (LinkStatus.BROKEN, None, "no credentials")
    assert chain.token.volume == "eks-pod-identity-token"


def test_pod_identity_allowed_for_both_actions():
    chain = chain_of(pi_pod(), sas=[sa(role_arn=None)], roles=[role(PI_ROLE_ARN, POD_IDENTITY_TRUST)],
                     associations=[association()])
    assert [e.decision for e in chain.trust.evaluations] == [Decision.ALLOW, Decision.ALLOW]
    assert chain.effective.arn == PI_ROLE_ARN and chain.effective.mechanism is Mechanism.POD_IDENTITY
    assert "association" in chain.effective.why


def test_a_node_role_pod_names_the_node_its_role_and_why():
    chain = chain_of(plain_pod(), sas=[sa("default", role_arn=None)])
    effective = chain.effective
    assert (effective.mechanism, effective.status, effective.arn, effective.node) == (
        Mechanism.NODE_ROLE, LinkStatus.OK, NODE_ROLE, NODE)
    assert NODE in effective.source and "instance metadata" in effective.source
    assert "nothing gives this pod an identity of its own" in effective.why
    assert chain.trust is None and chain.intended_role_arn is None


def test_a_pod_created_before_its_annotation_falls_back_and_says_why():
    chain = chain_of(plain_pod(service_account="my-sa"), sas=[sa()], roles=[role()])
    assert chain.intended_role_arn == ROLE_ARN
    assert chain.effective.arn == NODE_ROLE
    assert "annotated for IRSA" in chain.effective.why


def test_static_keys_say_where_the_keys_come_from():
    c = container(env=[EnvVar("AWS_ACCESS_KEY_ID", value_from="secret aws-creds/id"),
                       EnvVar("AWS_SECRET_ACCESS_KEY", value_from="secret aws-creds/key")])
    chain = chain_of(plain_pod(containers=[c]), sas=[sa("default", role_arn=None)])
    effective = chain.effective
    assert effective.mechanism is Mechanism.STATIC_KEYS and effective.arn is None
    assert "secret aws-creds/id" in effective.key_source and "AWS_ACCESS_KEY_ID" in effective.key_source
    assert effective.label == chain.effective_identity


def test_results_are_shared_between_pods_not_copied():
    irsa_pods = [pod(f"app-{i}") for i in range(3)]
    node_pods = [plain_pod(f"plain-{i}") for i in range(3)]
    pi_pods = [pi_pod(f"pi-{i}", service_account="uploader") for i in range(2)]
    inv = inventory(pods=irsa_pods + node_pods + pi_pods,
                    sas=[sa(), sa("default", role_arn=None), sa("uploader", role_arn=None)],
                    roles=[role(), role(PI_ROLE_ARN, POD_IDENTITY_TRUST)],
                    associations=[association(service_account="uploader")])
    chains = resolve_all(inv)
    for group, attributes in ((irsa_pods, ("token", "provider", "trust", "effective")),
                              (node_pods, ("effective",)),
                              (pi_pods, ("token", "trust", "effective"))):
        first = chains[group[0].uid]
        for other in group[1:]:
            for attribute in attributes:
                assert getattr(chains[other.uid], attribute) is getattr(first, attribute), attribute
    assert chains[pi_pods[0].uid].verdict is Verdict.OK


TRAILING_ISSUER = "https://oidc.example.com/cluster/"


def trailing_inventory(provider_url: str, trust_host: str = "oidc.example.com/cluster/"):
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{provider_url}"
    trust = irsa_trust(principal=f"arn:aws:iam::{ACCOUNT}:oidc-provider/{trust_host}")
    trust["Statement"][0]["Condition"] = {"StringEquals": {
        f"{trust_host}:sub": "system:serviceaccount:default:my-sa", f"{trust_host}:aud": "sts.amazonaws.com"}}
    p = pod()
    return p, inventory(pods=[p], sas=[sa()], roles=[role(trust=trust)],
                        providers=[OidcProvider(provider_arn, provider_url, ("sts.amazonaws.com",))],
                        issuer=IssuerInfo(TRAILING_ISSUER, {"keys": []}))


def test_an_issuer_with_a_trailing_slash_matches_the_provider_iam_stores_with_it():
    p, inv = trailing_inventory("oidc.example.com/cluster/")
    chain = resolve_chain(p, inv)
    assert chain.provider.status is LinkStatus.OK
    assert chain.provider.expected_arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example.com/cluster/"
    assert chain.trust.decision is Decision.ALLOW
    assert chain.verdict is Verdict.OK


def test_a_provider_made_without_the_slash_is_another_provider():
    p, inv = trailing_inventory("oidc.example.com/cluster")
    chain = resolve_chain(p, inv)
    assert chain.provider.status is LinkStatus.BROKEN and chain.provider.provider is None
    assert chain.verdict is Verdict.BROKEN


def test_a_trust_policy_keyed_without_the_slash_does_not_match_the_token():
    p, inv = trailing_inventory("oidc.example.com/cluster/", trust_host="oidc.example.com/cluster")
    chain = resolve_chain(p, inv)
    assert chain.trust.decision is Decision.NOT_ALLOWED
