"""Identity chains on hand-built inventories: the walkthrough, each catalogue failure, and unknowns."""

from __future__ import annotations

import dataclasses
import json

import pytest

from analysis_builders import (
    ACCOUNT,
    CLUSTER,
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
    irsa_container,
    irsa_trust,
    plain_pod,
    pod,
    pod_identity_container,
    role,
    sa,
)
from irsa_explorer.analysis import findings as F
from irsa_explorer.analysis.identity import container_credentials, expected_token, resolve_all, resolve_chain
from irsa_explorer.model import (
    EnvVar,
    LinkStatus,
    Mechanism,
    OidcProvider,
    ProjectedToken,
    Severity,
    Unavailable,
    Verdict,
)


def chain_of(p, **inv):
    inv.setdefault("pods", [p])
    return resolve_chain(p, inventory(**inv))


def codes(chain):
    return [f.code for f in chain.findings]


def link(chain, step):
    [found] = [l for l in chain.links if l.step == step]
    return found


STEPS = ["pod", "service-account", "token", "oidc-provider", "role", "trust-policy", "identity"]


# --- the walkthrough ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["eks-iam-test1", "eks-iam-test2"])
def test_walkthrough_pods_use_the_node_role_with_a_warning(name):
    p = plain_pod(name)
    chain = chain_of(p, sas=[sa("default", role_arn=None), sa()], roles=[role()])
    assert chain.mechanism is Mechanism.NODE_ROLE
    assert chain.verdict is Verdict.WARNING
    assert chain.intended_role_arn is None
    assert chain.effective_identity == NODE_ROLE
    assert [l.step for l in chain.links] == STEPS
    assert link(chain, "token").status is LinkStatus.SKIPPED
    assert link(chain, "role").status is LinkStatus.OK
    assert codes(chain) == [F.NODE_ROLE_FALLBACK]
    [finding] = chain.findings
    assert finding.severity is Severity.WARNING
    assert "least privilege" in finding.explanation
    assert "my-sa" in finding.explanation  # the annotated SA next door is pointed at
    assert "eksctl create iamserviceaccount --cluster eks-oidc-demo --namespace default" in finding.fix
    assert f"kubectl -n default delete pod {name}" in finding.fix


def test_walkthrough_fixed_pod_gets_its_role():
    p = pod("eks-iam-test3")
    chain = chain_of(p, sas=[sa()], roles=[role()])
    assert chain.mechanism is Mechanism.IRSA
    assert chain.verdict is Verdict.OK, [(l.step, l.status, l.detail) for l in chain.links]
    assert chain.intended_role_arn == ROLE_ARN
    assert chain.effective_identity == ROLE_ARN
    assert [l.step for l in chain.links] == STEPS
    assert all(l.status is LinkStatus.OK for l in chain.links)
    assert chain.findings == ()
    token = link(chain, "token")
    assert token.label == "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
    assert "sub system:serviceaccount:default:my-sa" in token.detail and "aud sts.amazonaws.com" in token.detail
    assert ISSUER in token.detail


def test_expected_token_reads_the_projected_volume():
    p = pod(tokens=(ProjectedToken("aws-iam-token", "custom-aud", 3600, "token"),))
    token = expected_token(p, sa(), ISSUER)
    assert token.issuer == ISSUER
    assert token.subject == "system:serviceaccount:default:my-sa"
    assert token.audiences == ("custom-aud",)
    assert token.expiration_seconds == 3600
    assert token.path == "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
    assert expected_token(plain_pod(), None, ISSUER) is None
    assert expected_token(pod(tokens=(ProjectedToken("aws-iam-token", None, None, "token"),)), None, None).audiences == ("sts.amazonaws.com",)
    assert expected_token(p, None, Unavailable("denied")).issuer is None


# --- A: nothing injected ------------------------------------------------------------------------


def test_pod_created_before_annotation_is_broken_with_restart_fix():
    p = plain_pod("web-7d4b9c-x2x9z", service_account="my-sa", labels={"pod-template-hash": "7d4b9c"})
    chain = chain_of(p, sas=[sa()], roles=[role()])
    assert chain.mechanism is Mechanism.NODE_ROLE
    assert chain.verdict is Verdict.BROKEN
    assert chain.intended_role_arn == ROLE_ARN
    assert chain.effective_identity == NODE_ROLE
    assert link(chain, "token").status is LinkStatus.BROKEN
    assert codes(chain) == [F.IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION]
    finding = chain.findings[0]
    assert finding.fix == "kubectl -n default rollout restart deployment/web"
    assert {e.ref.kind for e in finding.evidence} == {"ServiceAccount", "Pod"}


def test_annotation_typo_is_found_and_not_called_a_plain_node_role_pod():
    account = sa(role_arn=None, **{"eks.amazon.com/role-arn": ROLE_ARN})
    chain = chain_of(plain_pod(service_account="my-sa"), sas=[account], roles=[role()])
    assert codes(chain) == [F.ROLE_ARN_ANNOTATION_TYPO]
    assert chain.verdict is Verdict.BROKEN
    assert "eks.amazonaws.com/role-arn=" in chain.findings[0].fix


def test_role_arn_on_the_pod():
    p = plain_pod(service_account="default", annotations={"eks.amazonaws.com/role-arn": ROLE_ARN})
    chain = chain_of(p, sas=[sa("default", role_arn=None)], roles=[role()])
    assert F.ROLE_ARN_ON_POD in codes(chain)
    assert F.NODE_ROLE_FALLBACK not in codes(chain)
    assert chain.verdict is Verdict.BROKEN


def test_container_that_sets_aws_role_arn_itself():
    c = container(env=[EnvVar("AWS_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/mine")])
    chain = chain_of(pod(containers=[c]), sas=[sa()], roles=[role()])
    assert F.CONTAINER_SETS_AWS_ROLE_ARN in codes(chain)
    assert F.IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION not in codes(chain)
    assert chain.mechanism is Mechanism.NODE_ROLE
    assert chain.verdict is Verdict.BROKEN


def test_skipped_sidecar_is_a_warning_while_the_app_works():
    p = pod(containers=[irsa_container("app"), container("sidecar")],
            annotations={"eks.amazonaws.com/skip-containers": "sidecar"})
    chain = chain_of(p, sas=[sa()], roles=[role()])
    assert chain.mechanism is Mechanism.IRSA
    assert codes(chain) == [F.SKIPPED_CONTAINER]
    assert chain.verdict is Verdict.WARNING


def test_skip_label_explains_the_missing_injection():
    p = plain_pod(service_account="my-sa", labels={"eks.amazonaws.com/skip-pod-identity-webhook": "true"})
    chain = chain_of(p, sas=[sa()], roles=[role()])
    assert codes(chain) == [F.SKIPPED_CONTAINER]
    assert chain.verdict is Verdict.BROKEN  # the token link: configured but not injected


def test_static_keys_override_irsa_and_are_never_shown():
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    c = irsa_container(extra_env=[EnvVar("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"), EnvVar("AWS_SECRET_ACCESS_KEY", secret)])
    chain = chain_of(pod(containers=[c]), sas=[sa()], roles=[role()])
    assert chain.mechanism is Mechanism.STATIC_KEYS
    assert chain.verdict is Verdict.BROKEN
    assert chain.effective_identity == "static keys AKIA…MPLE"
    [finding] = [f for f in chain.findings if f.code == F.STATIC_KEYS_IN_ENV]
    assert finding.severity is Severity.ERROR and ROLE_ARN in finding.explanation
    assert secret not in repr(chain) and "AKIAIOSFODNN7EXAMPLE" not in repr(chain)


def test_static_keys_from_a_secret_without_a_role_are_a_warning():
    c = container(env=[EnvVar("AWS_ACCESS_KEY_ID", value_from="secret aws-creds/id"),
                       EnvVar("AWS_SECRET_ACCESS_KEY", value_from="secret aws-creds/key")])
    chain = chain_of(plain_pod(containers=[c]), sas=[sa("default", role_arn=None)])
    assert chain.mechanism is Mechanism.STATIC_KEYS
    assert chain.verdict is Verdict.WARNING
    assert chain.effective_identity == "static keys from secret aws-creds/id"
    assert chain.findings[0].severity is Severity.WARNING


def test_container_credentials_per_container():
    p = pod(containers=[irsa_container("app"), container("init", init=True), pod_identity_container("pi")])
    by_name = {c.name: c for c in container_credentials(p)}
    assert by_name["app"].mechanism is Mechanism.IRSA and by_name["app"].token_mounted
    assert by_name["init"].mechanism is Mechanism.NODE_ROLE and by_name["init"].init
    assert by_name["pi"].mechanism is Mechanism.POD_IDENTITY


def test_irsa_role_changed_since_pod_creation():
    old = f"arn:aws:iam::{ACCOUNT}:role/old"
    chain = chain_of(pod(containers=[irsa_container(role_arn=old)]), sas=[sa()],
                     roles=[role(), role(old, irsa_trust())])
    assert F.IRSA_ROLE_CHANGED in codes(chain)
    assert chain.effective_identity == old
    assert chain.verdict is Verdict.WARNING


# --- C: STS rejects ------------------------------------------------------------------------------


def test_no_oidc_provider():
    chain = chain_of(pod(), sas=[sa()], roles=[role()], providers=[])
    assert chain.verdict is Verdict.BROKEN
    assert link(chain, "oidc-provider").status is LinkStatus.BROKEN
    assert chain.effective_identity is None
    assert link(chain, "identity").status is LinkStatus.BROKEN
    [finding] = [f for f in chain.findings if f.code == F.NO_OIDC_PROVIDER]
    assert finding.fix == "eksctl utils associate-iam-oidc-provider --cluster eks-oidc-demo --approve"


def test_provider_of_a_recreated_cluster_does_not_count():
    old = OidcProvider(f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/OLD",
                       "oidc.eks.us-east-2.amazonaws.com/id/OLD", ("sts.amazonaws.com",))
    chain = chain_of(pod(), sas=[sa()], roles=[role()], providers=[old])
    assert F.NO_OIDC_PROVIDER in codes(chain)


def test_audience_not_in_client_ids():
    provider = OidcProvider(PROVIDER_ARN, HOST, ("sts.amazon.com",))
    chain = chain_of(pod(), sas=[sa()], roles=[role()], providers=[provider])
    assert F.AUDIENCE_NOT_IN_CLIENT_IDS in codes(chain)
    assert "--client-id sts.amazonaws.com" in chain.findings[0].fix
    assert chain.verdict is Verdict.BROKEN


def _one_statement(condition, action="sts:AssumeRoleWithWebIdentity"):
    statement = {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": action}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(
    "trust,code",
    [
        (irsa_trust("system:serviceaccount:prod:my-sa"), F.TRUST_SUB_MISMATCH),
        (irsa_trust("system:serviceaccount:default:*"), F.TRUST_WILDCARD_IN_STRINGEQUALS),
        (irsa_trust(principal=f"arn:aws:iam::{ACCOUNT}:{HOST}"), F.TRUST_PRINCIPAL_NOT_PROVIDER),
        (POD_IDENTITY_TRUST, F.TRUST_PRINCIPAL_TYPE),
        ({"Version": "2012-10-17", "Statement": [irsa_trust()["Statement"][0],
                                                  {"Effect": "Deny", "Principal": "*", "Action": "*"}]}, F.TRUST_EXPLICIT_DENY),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
                                                   "Action": "sts:AssumeRoleWithWebIdentity",
                                                   "Condition": {"StringEquals": {f"{HOST}:aud": "system:serviceaccount:default:my-sa"}}}]},
         F.TRUST_SUB_UNDER_AUD_KEY),
        (_one_statement({"StringEquals": {f"{HOST}:aud": "other"}}), F.TRUST_AUDIENCE_MISMATCH),
        (_one_statement({"StringEquals": {"sub": "system:serviceaccount:default:my-sa"}}), F.TRUST_CONDITION_KEY_PREFIX),
        (_one_statement(None, action="sts:AssumeRole"), F.TRUST_ACTION_MISMATCH),
        (_one_statement({"StringEquals": {f"{HOST}:amr": "authenticated"}}), F.TRUST_NOT_ALLOWED),
    ],
)
def test_trust_failures_are_broken_with_a_specific_finding(trust, code):
    chain = chain_of(pod(), sas=[sa()], roles=[role(trust=trust)])
    assert chain.verdict is Verdict.BROKEN
    assert link(chain, "trust-policy").status is LinkStatus.BROKEN
    assert code in codes(chain), codes(chain)
    finding = next(f for f in chain.findings if f.code == code)
    assert finding.evidence and finding.fix


def test_trust_mismatch_fix_is_the_corrected_policy():
    chain = chain_of(pod(), sas=[sa()], roles=[role(trust=irsa_trust("system:serviceaccount:prod:my-sa"))])
    finding = chain.findings[0]
    assert "namespace differs" in finding.title
    assert '"oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B:sub": "system:serviceaccount:default:my-sa"' in finding.fix
    assert PROVIDER_ARN in finding.fix
    # Applying the fix (adding the statement) makes the chain work, and keeps the old subject.
    statement = json.loads(finding.fix.split("\n", 1)[1])
    trust = irsa_trust("system:serviceaccount:prod:my-sa")
    trust["Statement"].append(statement)
    fixed = chain_of(pod(), sas=[sa()], roles=[role(trust=trust)])
    assert fixed.verdict is Verdict.OK
    prod = chain_of(pod(namespace="prod"), sas=[sa(namespace="prod")], roles=[role(trust=trust)])
    assert prod.verdict is Verdict.OK


def test_unparsable_trust_is_unknown():
    chain = chain_of(pod(), sas=[sa()], roles=[role(trust="{not json")])
    assert chain.verdict is Verdict.UNKNOWN
    assert link(chain, "trust-policy").status is LinkStatus.UNKNOWN
    assert codes(chain) == [F.TRUST_POLICY_NOT_UNDERSTOOD]


def test_malformed_role_arn():
    bad = "arn:aws:iam::11353418156:role/x"
    p = pod(containers=[irsa_container(role_arn=bad)])
    chain = chain_of(p, sas=[sa(role_arn=bad)])
    assert chain.verdict is Verdict.BROKEN
    assert codes(chain).count(F.MALFORMED_ROLE_ARN) == 1
    assert "12 digits" in chain.findings[0].title
    assert link(chain, "role").status is LinkStatus.BROKEN


def test_role_not_found():
    chain = chain_of(pod(), sas=[sa()], roles={ROLE_ARN: Unavailable("role does not exist: x", None, "not-found")})
    assert chain.verdict is Verdict.BROKEN
    assert F.ROLE_NOT_FOUND in codes(chain)
    assert link(chain, "role").status is LinkStatus.BROKEN


def test_role_found_under_another_path_is_not_the_annotated_role():
    # IAM role names are unique per account, so GetRole(RoleName=…) finds the role whatever path
    # the annotation wrote; STS matches the whole ARN and answers AccessDenied (the lab does too).
    wrong_path = ROLE_ARN.replace(":role/", ":role/some/path/")
    p = pod(containers=[irsa_container(role_arn=wrong_path)])
    chain = chain_of(p, sas=[sa(role_arn=wrong_path)], roles={wrong_path: role(ROLE_ARN)})
    assert chain.verdict is Verdict.BROKEN
    assert F.ROLE_NOT_FOUND in codes(chain)
    assert "path differs" in link(chain, "role").detail


# --- unknowns are never OK ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,step",
    [
        ({"roles": {ROLE_ARN: Unavailable("access denied", "iam:GetRole", "forbidden")}}, "role"),
        ({"roles": {}}, "role"),
        ({"providers": Unavailable("access denied", "iam:ListOpenIDConnectProviders", "forbidden")}, "oidc-provider"),
        ({"issuer": Unavailable("forbidden"), "cluster": Unavailable("denied", "eks:DescribeCluster")}, "oidc-provider"),
    ],
)
def test_unavailable_inputs_make_irsa_unknown(overrides, step):
    overrides.setdefault("roles", [role()])
    chain = chain_of(pod(), sas=[sa()], **overrides)
    assert chain.verdict is Verdict.UNKNOWN
    assert link(chain, step).status is LinkStatus.UNKNOWN
    assert link(chain, "identity").status is LinkStatus.UNKNOWN
    assert chain.effective_identity is None
    assert "unknown" in link(chain, step).detail


def test_denied_role_lookup_names_the_permission():
    chain = chain_of(pod(), sas=[sa()], roles={ROLE_ARN: Unavailable("access denied", "iam:GetRole", "forbidden")})
    assert "iam:GetRole" in link(chain, "role").detail
    assert [f.severity for f in chain.findings] == [Severity.INFO]


def test_cross_account_role_provider_is_unknown():
    other = "arn:aws:iam::999999999999:role/x"
    chain = chain_of(pod(containers=[irsa_container(role_arn=other)]), sas=[sa(role_arn=other)],
                     roles=[role(other, irsa_trust(principal=f"arn:aws:iam::999999999999:oidc-provider/{HOST}"))])
    assert link(chain, "oidc-provider").status is LinkStatus.UNKNOWN
    assert F.CROSS_ACCOUNT_PROVIDER_UNKNOWN in codes(chain)
    assert chain.verdict is Verdict.UNKNOWN


def test_node_role_unknown_is_unknown():
    chain = chain_of(plain_pod(), sas=[sa("default", role_arn=None)], node_roles={NODE: Unavailable("denied", "ec2:DescribeInstances")})
    assert chain.mechanism is Mechanism.NODE_ROLE
    assert chain.verdict is Verdict.UNKNOWN
    assert chain.effective_identity is None
    assert "ec2:DescribeInstances" in link(chain, "role").detail


def test_unknown_associations_make_an_unannotated_pod_unknown():
    chain = chain_of(plain_pod(), sas=[sa("default", role_arn=None)], associations=Unavailable("denied", "eks:ListPodIdentityAssociations"))
    assert chain.verdict is Verdict.UNKNOWN
    assert link(chain, "service-account").status is LinkStatus.UNKNOWN
    # Nothing was injected, so the node role is certain even though the intent is not.
    assert codes(chain) == [F.NODE_ROLE_FALLBACK]
    assert chain.effective_identity == NODE_ROLE


def test_missing_service_account_is_unknown():
    chain = chain_of(plain_pod(), sas=[])
    assert link(chain, "service-account").status is LinkStatus.UNKNOWN
    assert chain.verdict is Verdict.UNKNOWN


# --- Pod Identity ------------------------------------------------------------------------------


def pi_pod(**kw):
    return pod("pi", containers=[pod_identity_container()], tokens=(PI_TOKEN,), **kw)


def test_pod_identity_healthy():
    chain = chain_of(pi_pod(), sas=[sa(role_arn=None)], roles=[role(PI_ROLE_ARN, POD_IDENTITY_TRUST)], associations=[association()])
    assert chain.mechanism is Mechanism.POD_IDENTITY
    assert chain.verdict is Verdict.OK, [(l.step, l.status, l.detail) for l in chain.links]
    assert chain.effective_identity == PI_ROLE_ARN == chain.intended_role_arn
    assert link(chain, "oidc-provider").status is LinkStatus.SKIPPED


def test_pod_identity_trust_invalid():
    chain = chain_of(pi_pod(), sas=[sa(role_arn=None)], roles=[role(PI_ROLE_ARN, irsa_trust())], associations=[association()])
    assert chain.verdict is Verdict.BROKEN
    assert codes(chain) == [F.POD_IDENTITY_TRUST_INVALID]
    assert "sts:TagSession" in chain.findings[0].fix


def test_pod_identity_without_tag_session_is_invalid():
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    chain = chain_of(pi_pod(), sas=[sa(role_arn=None)], roles=[role(PI_ROLE_ARN, trust)], associations=[association()])
    assert codes(chain) == [F.POD_IDENTITY_TRUST_INVALID]
    assert "TagSession" in chain.findings[0].title


def test_pod_identity_host_network():
    chain = chain_of(pi_pod(host_network=True), sas=[sa(role_arn=None)], roles=[role(PI_ROLE_ARN, POD_IDENTITY_TRUST)],
                     associations=[association()])
    assert F.POD_IDENTITY_HOST_NETWORK in codes(chain)
    assert chain.verdict is Verdict.BROKEN


def test_association_after_pod():
    chain = chain_of(plain_pod(service_account="my-sa"), sas=[sa(role_arn=None)],
                     roles=[role(PI_ROLE_ARN, POD_IDENTITY_TRUST)], associations=[association()])
    assert codes(chain) == [F.ASSOCIATION_AFTER_POD]
    assert chain.intended_role_arn == PI_ROLE_ARN
    assert chain.verdict is Verdict.BROKEN


def test_irsa_shadows_pod_identity():
    p = pod(containers=[irsa_container()])
    chain = chain_of(p, sas=[sa()], roles=[role(), role(PI_ROLE_ARN, POD_IDENTITY_TRUST)], associations=[association()])
    assert F.IRSA_SHADOWS_POD_IDENTITY in codes(chain)
    assert chain.effective_identity == ROLE_ARN
    assert chain.verdict is Verdict.WARNING


# --- B.7, caching, scale ---------------------------------------------------------------------------


def test_token_file_permissions_on_old_clusters_only():
    p = pod(run_as_user=1000)
    old = dataclasses.replace(CLUSTER, version="1.18")
    assert F.TOKEN_FILE_PERMISSIONS in codes(chain_of(p, sas=[sa()], roles=[role()], cluster=old))
    assert F.TOKEN_FILE_PERMISSIONS not in codes(chain_of(p, sas=[sa()], roles=[role()]))
    assert F.TOKEN_FILE_PERMISSIONS not in codes(chain_of(pod(run_as_user=1000, fs_group=2000), sas=[sa()], roles=[role()], cluster=old))


def test_resolve_all_matches_resolve_chain():
    pods = [pod("a"), plain_pod("b"), pod("c", namespace="prod", service_account="my-sa")]
    inv = inventory(pods=pods, sas=[sa(), sa("default", role_arn=None), sa(namespace="prod")], roles=[role()])
    chains = resolve_all(inv)
    assert set(chains) == {p.uid for p in pods}
    for p in pods:
        assert chains[p.uid] == resolve_chain(p, inv)
    assert chains[pods[2].uid].verdict is Verdict.BROKEN  # trust names default/my-sa, not prod/my-sa


def test_ten_thousand_pods_resolve():
    namespaces = [f"ns{i}" for i in range(50)]
    sas, roles, pods = [], [], []
    for n, ns in enumerate(namespaces):
        arn = f"arn:aws:iam::{ACCOUNT}:role/app-{n}"
        sas += [sa("app", ns, role_arn=arn), sa("default", ns, role_arn=None)]
        roles.append(role(arn, irsa_trust(f"system:serviceaccount:{ns}:app")))
    for i in range(10_000):
        ns = namespaces[i % 50]
        if i % 4 == 0:
            pods.append(plain_pod(f"p{i}", namespace=ns))
        else:
            pods.append(pod(f"p{i}", namespace=ns, service_account="app",
                            containers=[irsa_container(role_arn=f"arn:aws:iam::{ACCOUNT}:role/app-{i % 50}")]))
    inv = inventory(pods=pods, sas=sas, roles=roles)
    # How fast is bench/'s to measure (bench/report_stages.py); here, that every pod gets its verdict.
    chains = resolve_all(inv)
    assert len(chains) == 10_000
    verdicts = {c.verdict for c in chains.values()}
    assert verdicts == {Verdict.OK, Verdict.WARNING}


def test_env_from_secret_is_a_possibility_not_a_verdict():
    c = irsa_container()
    c = dataclasses.replace(c, env_from=("secret app-config",))
    chain = chain_of(pod(containers=[c]), sas=[sa()], roles=[role()])
    assert codes(chain) == [F.STATIC_KEYS_MAYBE_FROM_SECRET]
    assert chain.findings[0].severity is Severity.INFO
    assert chain.verdict is Verdict.OK
    assert "get secret app-config" in chain.findings[0].fix


def test_annotation_removed_after_injection_is_a_warning():
    chain = chain_of(pod(), sas=[sa(role_arn=None)], roles=[role()])
    assert chain.mechanism is Mechanism.IRSA
    assert codes(chain) == [F.IRSA_ROLE_CHANGED]
    assert "no longer names a role" in chain.findings[0].title
    assert chain.verdict is Verdict.WARNING
    assert chain.effective_identity == ROLE_ARN


def test_arn_like_pattern_that_is_not_an_arn_is_unknown_not_guessed():
    from irsa_explorer.analysis.trust import Decision, evaluate_trust, pod_identity_request

    r = pod_identity_request(cluster_arn="arn:aws:eks:us-east-2:1:cluster/x")
    doc = lambda v: {"Statement": {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                   "Action": "sts:AssumeRole", "Condition": {"ArnLike": {"aws:SourceArn": v}}}}
    assert evaluate_trust(doc("*"), r).decision is Decision.ALLOW
    assert evaluate_trust(doc("arn:aws:eks:*:*:cluster/*"), r).decision is Decision.ALLOW
    assert evaluate_trust(doc("arn:aws:eks:*:*:cluster/y"), r).decision is Decision.NOT_ALLOWED
    assert evaluate_trust(doc("arn:aws:eks:*"), r).decision is Decision.UNKNOWN


def test_pod_identity_pod_whose_association_was_deleted_is_broken():
    chain = chain_of(pi_pod(), sas=[sa(role_arn=None)], associations=[])
    assert chain.mechanism is Mechanism.POD_IDENTITY
    assert chain.verdict is Verdict.BROKEN
    assert "any more" in link(chain, "role").detail


def test_pod_identity_pod_with_unknown_associations_is_unknown():
    chain = chain_of(pi_pod(), sas=[sa(role_arn=None)], associations=Unavailable("denied", "eks:ListPodIdentityAssociations"))
    assert chain.verdict is Verdict.UNKNOWN
    assert "eks:ListPodIdentityAssociations" in link(chain, "role").detail
