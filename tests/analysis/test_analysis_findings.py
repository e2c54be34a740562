"""The findings catalogue: complete, documented, and every builder makes a usable finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis_builders import ACCOUNT, HOST, ISSUER, PROVIDER_ARN, ROLE_ARN, association, pod, role, sa
from irsa_explorer.analysis import findings as F
from irsa_explorer.analysis.trust import evaluate_trust, pod_identity_requests, evaluate_trust_all, web_identity_request
from irsa_explorer.model import (
    Finding,
    InstanceMetadataOptions,
    LinkStatus,
    NodeAccess,
    ObjectRef,
    OidcProvider,
    Severity,
    StsEndpoint,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "findings.md"

# Codes the brief and the failure catalogue ask for by name.
REQUIRED = {
    "IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION", "ROLE_ARN_ANNOTATION_TYPO", "ROLE_ARN_ON_POD",
    "CONTAINER_SETS_AWS_ROLE_ARN", "SKIPPED_CONTAINER", "STATIC_KEYS_IN_ENV", "NO_OIDC_PROVIDER",
    "AUDIENCE_NOT_IN_CLIENT_IDS", "TRUST_SUB_MISMATCH", "TRUST_WILDCARD_IN_STRINGEQUALS",
    "TRUST_PRINCIPAL_NOT_PROVIDER", "TRUST_EXPLICIT_DENY", "MALFORMED_ROLE_ARN", "ROLE_NOT_FOUND",
    "TOKEN_FILE_PERMISSIONS", "NODE_ROLE_FALLBACK", "POD_IDENTITY_TRUST_INVALID", "POD_IDENTITY_HOST_NETWORK",
    "ASSOCIATION_AFTER_POD",
}


def test_catalogue_has_every_required_code():
    assert REQUIRED <= set(F.CATALOGUE)


@pytest.mark.parametrize("spec", list(F.CATALOGUE.values()), ids=list(F.CATALOGUE))
def test_every_entry_is_complete(spec):
    assert spec.code.isupper() and " " not in spec.code
    assert isinstance(spec.severity, Severity)
    assert spec.title and "\n" not in spec.title
    assert len(spec.explanation) > 60
    assert spec.fix and spec.catalogue


def test_docs_are_generated_from_the_catalogue():
    assert DOCS.read_text() == F.catalogue_markdown(), (
        "docs/findings.md is stale: python -m irsa_explorer.analysis.findings > docs/findings.md")


def _all_built() -> list[Finding]:
    p = pod("web-5f6d7-abcde", labels={"pod-template-hash": "5f6d7"})
    account = sa()
    wrong = role(trust={"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
                                       "Action": "sts:AssumeRoleWithWebIdentity",
                                       "Condition": {"StringEquals": {f"{HOST}:sub": "system:serviceaccount:x:y"}}}]})
    request = web_identity_request(ISSUER, account.subject, ["sts.amazonaws.com"], ACCOUNT)
    return [
        F.irsa_not_injected(p, account, ROLE_ARN),
        F.association_after_pod(p, association()),
        F.annotation_typo(account.ref, "eks.amazon.com/role-arn", ROLE_ARN),
        F.role_arn_on_pod(p, ROLE_ARN),
        F.container_sets_aws_role_arn(p, "app", ["AWS_ROLE_ARN"], {"AWS_ROLE_ARN": ROLE_ARN}),
        F.skipped_container(p, "sidecar", by_label=False),
        F.static_keys_in_env(p, "app", [("spec.containers[app].env[AWS_ACCESS_KEY_ID]", "secret s/k")], ROLE_ARN),
        F.static_keys_maybe_from_secret(p, "app", "secret app-config"),
        F.no_oidc_provider(ISSUER, ACCOUNT, "demo", account.ref),
        F.audience_not_in_client_ids(OidcProvider(PROVIDER_ARN, HOST, ("sts.amazon.com",)), ("sts.amazonaws.com",), []),
        F.irsa_trust_finding(wrong, evaluate_trust(wrong.trust_policy, request), provider_arn=PROVIDER_ARN,
                             issuer=ISSUER, subject=account.subject, audience="sts.amazonaws.com"),
        F.malformed_role_arn(account.ref, "metadata.annotations[eks.amazonaws.com/role-arn]", "arn:aws:iam::1:role/x"),
        F.role_not_found(ROLE_ARN, "role does not exist", []),
        F.role_lookup_failed(ROLE_ARN, "access denied", "iam:GetRole"),
        F.token_file_permissions(p, "1.18"),
        F.node_role_fallback(p, "arn:aws:iam::1:role/node", ["my-sa"], "demo"),
        F.pod_failed_on_node_role(p, "ended in Error (phase Failed)", "arn:aws:iam::1:role/node", "demo"),
        F.pod_failed_without_credentials(p, "keeps crashing (phase Running)", "IMDS is out of reach"),
        F.pod_failed_access_denied(p, "ended in Error (phase Failed)", "app-role", ROLE_ARN),
        F.pod_identity_trust_finding(wrong, evaluate_trust_all(wrong.trust_policy, pod_identity_requests())),
        F.pod_identity_host_network(p),
        F.irsa_role_changed(p, "app", "arn:aws:iam::1:role/old", ROLE_ARN),
        F.irsa_shadows_pod_identity(p, ROLE_ARN, "arn:aws:iam::1:role/pi"),
        F.cross_account_unreadable(ROLE_ARN, "999999999999", ACCOUNT, "no --account-profile names a profile for it"),
        F.token_expired(ObjectRef("Pod", "p", "default"), "2024-03-30T00:00:00Z", "2024-03-31T00:00:00Z"),
        *_node_built(p),
        *_credentials_built(p),
    ]


def _credentials_built(p) -> list[Finding]:
    """The credential-side findings (analysis/findings/credentials.py): profiles, key owners, other accounts."""
    from irsa_explorer.model import AccessKeyOwner, ProfileSource, SharedFile, VolumeSource

    secret = VolumeSource("aws", "secret", "batch-aws", (("credentials", "credentials"),))
    mounted = ProfileSource("batch", "AWS_PROFILE", (SharedFile("credentials", "/etc/aws/credentials",
                                                                "AWS_SHARED_CREDENTIALS_FILE", secret, "credentials"),))
    bare = ProfileSource("batch", "AWS_PROFILE", ())
    return [
        F.profile_in_use(p, "app", mounted, None),
        F.profile_may_override_irsa(p, "app", mounted, ROLE_ARN),
        F.profile_not_mounted(p, "app", bare),
        F.static_key_not_found(p, "app", None, "AKIAIOSFODNN7EXAMPLE", "no such key"),
        F.static_key_other_account(p, "app", AccessKeyOwner("AKIAIOSFODNN7EXAMPLE", "999999999999")),
    ]


def _node_built(p) -> list[Finding]:
    """The node-side findings (analysis/findings/node.py): IMDS, Fargate, the agent, the STS endpoint."""
    hop1 = InstanceMetadataOptions("i-0abc", "required", 1, "enabled")
    off = InstanceMetadataOptions("i-0abc", "optional", 2, "disabled")
    node = "ip-192-168-1-169.us-east-2.compute.internal"
    return [
        F.imds_unreachable("default", "my-sa", NodeAccess("imds", node, LinkStatus.BROKEN, "hop limit 1", metadata=hop1), "demo"),
        F.imds_unreachable("default", "my-sa", NodeAccess("imds", node, LinkStatus.BROKEN, "off", metadata=off), "demo"),
        F.imds_unreachable("default", "my-sa", NodeAccess("imds", "fargate-ip-1", LinkStatus.BROKEN, "fargate",
                                                          compute="fargate"), "demo"),
        F.pod_identity_agent("default", "my-sa", NodeAccess("pod-identity-agent", node, LinkStatus.BROKEN,
                                                            "no agent pod runs in kube-system at all"), "demo"),
        F.pod_identity_agent("default", "my-sa", NodeAccess("pod-identity-agent", node, LinkStatus.UNKNOWN, "forbidden"), "demo"),
        F.sts_endpoint_finding(p, "app", StsEndpoint("legacy", "global", "sts.amazonaws.com", "legacy")),
        F.sts_endpoint_finding(p, "app", StsEndpoint(None, "sdk-default", None, "not set")),
        F.sts_endpoint_finding(p, "app", StsEndpoint("true", "invalid", None, "not a value")),
    ]


def test_builders_make_findings_with_evidence_and_a_fix():
    built = _all_built()
    # Every catalogue entry except those only the identity resolver builds (from an evaluation).
    assert {f.code for f in built} | {"TRUST_WILDCARD_IN_STRINGEQUALS", "TRUST_PRINCIPAL_NOT_PROVIDER",
                                      "TRUST_EXPLICIT_DENY", "TRUST_SUB_UNDER_AUD_KEY", "TRUST_AUDIENCE_MISMATCH",
                                      "TRUST_CONDITION_KEY_PREFIX", "TRUST_PRINCIPAL_TYPE", "TRUST_ACTION_MISMATCH",
                                      "TRUST_NOT_ALLOWED", "TRUST_POLICY_NOT_UNDERSTOOD"} == set(F.CATALOGUE)
    for finding in built:
        assert finding.code in F.CATALOGUE
        assert finding.severity is F.CATALOGUE[finding.code].severity
        assert finding.title and "\n" not in finding.title
        assert finding.evidence, finding.code
        assert finding.fix, finding.code
    assert {f.code for f in built} >= REQUIRED - {
        "TRUST_WILDCARD_IN_STRINGEQUALS", "TRUST_PRINCIPAL_NOT_PROVIDER", "TRUST_EXPLICIT_DENY"}  # covered in identity tests


def test_fixes_name_the_objects():
    built = {f.code: f for f in _all_built()}
    assert built["IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION"].fix == "kubectl -n default rollout restart deployment/web"
    assert built["NO_OIDC_PROVIDER"].fix == "eksctl utils associate-iam-oidc-provider --cluster demo --approve"
    assert "kubectl -n default annotate serviceaccount my-sa eks.amazonaws.com/role-arn=" in built["ROLE_ARN_ANNOTATION_TYPO"].fix
    assert "'eks.amazon.com/role-arn-'" in built["ROLE_ARN_ANNOTATION_TYPO"].fix
    assert '"system:serviceaccount:default:my-sa"' in built["TRUST_SUB_MISMATCH"].fix
    assert '"sts:TagSession"' in built["POD_IDENTITY_TRUST_INVALID"].fix


def test_bare_pod_fix_recreates_it():
    bare = pod("lonely")
    assert F.irsa_not_injected(bare, sa(), ROLE_ARN).fix.startswith("kubectl -n default get pod lonely -o yaml > lonely.yaml")


def test_fix_commands_quote_values_read_from_the_cluster():
    """Annotation values are free text: a copied fix must run kubectl/aws and nothing else."""
    import shlex

    hostile = "arn:aws:iam::1:role/x; touch /tmp/pwned $(id)"
    account = sa(role_arn=None)
    fixes = [
        F.annotation_typo(account.ref, "eks.amazon.com/role-arn", hostile).fix,
        F.role_arn_on_pod(pod("p"), hostile).fix.split(" && ")[0],
        F.audience_not_in_client_ids(OidcProvider(PROVIDER_ARN, HOST, ("sts.amazonaws.com",)), (hostile,), []).fix,
    ]
    for fix in fixes:
        words = shlex.split(fix.split("   #")[0])
        assert words[0] in ("kubectl", "aws")
        assert any(word.endswith(hostile) for word in words), words  # one argument, verbatim
        assert ";" not in [w for w in words if not w.endswith(hostile)]
