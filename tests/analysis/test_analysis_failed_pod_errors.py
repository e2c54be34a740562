"""A failed pod's termination message is read for its AWS error by the one recogniser the logs
screen uses (analysis.log_errors.recognise): the finding quotes what the logs screen marks."""

from __future__ import annotations

import dataclasses

import pytest

from analysis_builders import inventory, plain_pod, sa
from irsa_explorer.analysis import findings as F
from irsa_explorer.analysis.findings.builders import aws_error
from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.analysis.log_errors import recognise
from irsa_explorer.model import ContainerExit

GO_SDK = ("operation error STS: GetCallerIdentity, https response error StatusCode: 403, RequestID: 1, "
          "api error InvalidClientTokenId: The security token included in the request is invalid.")
JS_SDK = "CredentialsProviderError: Could not load credentials from any providers"
CLI = ("An error occurred (AccessDenied) when calling the ListBuckets operation: User: "
       "arn:aws:sts::111122223333:assumed-role/NodeInstanceRole/i-0abc is not authorized to perform: s3:ListAllMyBuckets")
TRUST = ("An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: "
         "Not authorized to perform sts:AssumeRoleWithWebIdentity")


def failed_with(message: str):
    return dataclasses.replace(plain_pod(), phase="Failed", status="Error",
                               exits=(ContainerExit("my-aws-cli", 254, "Error", message=f"starting\n{message}\n"),))


@pytest.mark.parametrize("line, code, kind, quoted", [
    (CLI, "AccessDenied", "access-denied", CLI),
    (TRUST, "AccessDenied", "trust-denied", TRUST),
    (GO_SDK, "InvalidClientTokenId", "unknown-keys", GO_SDK[GO_SDK.index("InvalidClientTokenId"):]),
    (JS_SDK, "CredentialsProviderError", "no-credentials", JS_SDK),
], ids=["cli", "trust", "go-sdk", "js-sdk"])
def test_the_finding_reads_the_error_the_logs_screen_marks(line, code, kind, quoted):
    pod = failed_with(line)
    said = aws_error(pod)
    assert said is not None and (said.code, said.kind, said.text) == (code, kind, quoted)
    assert recognise(line)[:2] == (kind, code)
    chain = resolve_all(inventory(pods=[pod], sas=[sa(role_arn=None), sa("default", role_arn=None)]))[pod.uid]
    first = chain.findings[0]
    assert first.code == F.POD_FAILED_ON_NODE_ROLE and f"it logged {code}" in first.title
    assert quoted in first.explanation and ("status.containerStatuses[my-aws-cli].state.terminated.message", quoted) in {
        (e.field, e.value) for e in first.evidence}


def test_an_error_aws_identity_cannot_cause_is_not_quoted():
    assert aws_error(failed_with("An error occurred (NoSuchBucket) when calling the GetObject operation: nope")) is None
    assert aws_error(failed_with("Traceback … KeyError: 'x'")) is None


@pytest.mark.parametrize("code", [F.POD_FAILED_ON_NODE_ROLE, F.POD_FAILED_WITHOUT_CREDENTIALS])
def test_a_failed_pod_s_finding_points_at_its_logs_in_the_explorer(code):
    spec = F.CATALOGUE[code]
    assert "reads no logs;" not in spec.explanation and "irsa-explorer reads no logs" not in spec.explanation
    assert "`l` on the pod" in spec.explanation and "`l` on the pod" in spec.fix
    pod = failed_with(CLI)
    chain = resolve_all(inventory(pods=[pod], sas=[sa(role_arn=None), sa("default", role_arn=None)]))[pod.uid]
    built = next(f for f in chain.findings if f.code == F.POD_FAILED_ON_NODE_ROLE)
    assert built.fix.startswith("l on the pod") and "kubectl -n default logs eks-iam-test1" in built.fix
