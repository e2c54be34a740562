"""analysis.log_errors: which AWS error a log line shows, and which of the chain's findings explain it."""

from __future__ import annotations

import pytest

from irsa_explorer.analysis.findings import CATALOGUE
from irsa_explorer.analysis.log_errors import KINDS, explain_line, explain_lines, first_explained, recognise
from irsa_explorer.model import Finding, IdentityChain, Mechanism, ObjectRef, Severity, Verdict


def _chain(*codes: str) -> IdentityChain:
    findings = tuple(Finding(code, Severity.ERROR, code.lower(), "") for code in codes)
    return IdentityChain(ObjectRef("Pod", "p", "default"), Mechanism.NODE_ROLE, None, None, Verdict.BROKEN,
                         findings=findings)


WALKTHROUGH = "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied"


def test_the_walkthroughs_access_denied_is_the_node_role() -> None:
    said = explain_line(WALKTHROUGH, _chain("NODE_ROLE_FALLBACK", "POD_FAILED_ON_NODE_ROLE"))
    assert said is not None
    assert (said.code, said.kind, said.operation) == ("AccessDenied", "access-denied", "ListBuckets")
    assert WALKTHROUGH[said.start:said.end] == "AccessDenied"
    # the failed pod's finding first: it is the one that names this very failure
    assert said.findings == ("POD_FAILED_ON_NODE_ROLE", "NODE_ROLE_FALLBACK")
    assert said.explained


@pytest.mark.parametrize(("line", "kind", "code"), [
    ("An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized "
     "to perform sts:AssumeRoleWithWebIdentity", "trust-denied", "AccessDenied"),
    ("An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: No "
     "OpenIDConnect provider found in your account for https://oidc.eks.us-east-2.amazonaws.com/id/X",
     "no-provider", "InvalidIdentityToken"),
    ("An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: "
     "Incorrect token audience", "wrong-audience", "InvalidIdentityToken"),
    ("An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token "
     "included in the request is expired", "expired-token", "ExpiredToken"),
    ('Unable to locate credentials. You can configure credentials by running "aws configure".',
     "no-credentials", "Unable to locate credentials"),
    ("NoCredentialProviders: no valid providers in chain. Deprecated.", "no-credentials", "NoCredentialProviders"),
    ("CredentialsProviderError: Could not load credentials from any providers", "no-credentials",
     "CredentialsProviderError"),
    ("botocore.exceptions.ClientError: An error occurred (UnrecognizedClientException) when calling the "
     "ListTables operation: The security token included in the request is invalid.", "unknown-keys",
     "UnrecognizedClientException"),
    ("An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security "
     "token included in the request is invalid.", "unknown-keys", "InvalidClientTokenId"),
    ("AccessDeniedException: User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: "
     "dynamodb:Scan", "access-denied", "AccessDeniedException"),
    ("ExpiredTokenException: Token expired: current date/time 1 must be before the expiration date/time 0",
     "expired-token", "ExpiredTokenException"),
    ("WebIdentityErr: unable to read file at /var/run/secrets/eks.amazonaws.com/serviceaccount/token",
     "token-file", "WebIdentityErr: unable to read file"),
    ('Connect timeout on endpoint URL: "http://169.254.170.23/v1/credentials"', "pod-identity-agent",
     'Connect timeout on endpoint URL: "http://169.254.170.23'),
    ("InvalidParameterException: Trust policy of the role provided is invalid", "pod-identity-trust",
     "Trust policy of the role provided is invalid"),
    ("software.amazon.awssdk.services.s3.model.S3Exception: Access Denied (Service: S3, Status Code: 403, "
     "Error Code: AccessDenied)", "access-denied", "AccessDenied"),
])
def test_each_error_the_catalogue_quotes(line: str, kind: str, code: str) -> None:
    found = recognise(line)
    assert found is not None and found[0] == kind and found[1] == code
    assert line[found[2]:found[3]] == code


@pytest.mark.parametrize("line", [
    "", "listing buckets…", "2026-01-01 bucket-of-AccessDeniedish", "access denied by the firewall",
    "An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The bucket does not exist",
])
def test_lines_without_an_identity_error(line: str) -> None:
    assert explain_line(line, _chain("NODE_ROLE_FALLBACK")) is None


def test_only_findings_the_chain_has_and_none_is_said() -> None:
    trust = "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized"
    said = explain_line(trust, _chain("NODE_ROLE_FALLBACK", "TRUST_SUB_MISMATCH"))
    assert said is not None and said.findings == ("TRUST_SUB_MISMATCH",)
    # sub-wrong-namespace's payments pod that ran `aws sts get-caller-identity`: the cause before the failure
    said = explain_line(trust, _chain("POD_FAILED_WITHOUT_CREDENTIALS", "TRUST_SUB_MISMATCH"))
    assert said.findings == ("TRUST_SUB_MISMATCH", "POD_FAILED_WITHOUT_CREDENTIALS")
    alone = explain_line(trust, _chain())
    assert alone is not None and alone.findings == () and not alone.explained
    assert explain_line(WALKTHROUGH, None).findings == ()


def test_every_code_named_is_a_finding_of_the_catalogue() -> None:
    named = {code for kind in KINDS.values() for code in kind.explained_by}
    assert named <= set(CATALOGUE), named - set(CATALOGUE)


def test_lines_by_index_and_the_summary() -> None:
    lines = ["", WALKTHROUGH, "ok", "Unable to locate credentials"]
    errors = explain_lines(lines, _chain("POD_FAILED_WITHOUT_CREDENTIALS"))
    assert sorted(errors) == [1, 3]
    assert first_explained(list(errors.values())).kind == "no-credentials"
    assert first_explained([]) is None


def test_a_hostile_line_is_bounded_work() -> None:
    line = "An error occurred (" + "A" * 100_000 + ") AccessDenied: " + "x" * 100_000
    said = recognise(line)
    assert said is not None and said[1] == "AccessDenied"
