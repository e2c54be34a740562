"""A pod Kubernetes says failed, judged with its identity: on the node role (a fallback) or with no
credentials it is broken, with a finding that says so; a failure AWS cannot cause (OOMKilled),
a pod that completed, or a failed pod whose own identity holds are not judged by it."""

from __future__ import annotations

import dataclasses

import pytest

from analysis_builders import NODE, NODE_ROLE, ROLE_ARN, inventory, irsa_trust, plain_pod, pod, role, sa
from irsa_explorer.analysis import findings as F
from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.model import ContainerExit, InstanceMetadataOptions, LinkStatus, Mechanism, Severity, Verdict


def chain_of(p, metadata=None, **kw):
    kw.setdefault("sas", [sa(role_arn=None), sa("default", role_arn=None)])
    inv = inventory(pods=[p], **kw)
    if metadata is not None:
        inv = dataclasses.replace(inv, node_metadata={NODE: metadata})
    return resolve_all(inv)[p.uid]


def failed(p, phase="Failed", status="Error"):
    return dataclasses.replace(p, phase=phase, status=status)


@pytest.mark.parametrize("phase, status, words", [
    ("Failed", "Error", "ended in Error (phase Failed)"),
    ("Failed", "ExitCode:255", "ended in ExitCode:255 (phase Failed)"),
    ("Running", "CrashLoopBackOff", "keeps crashing (phase Running)"),
    ("Failed", "Failed", "ended in Failed"),
])
def test_the_walkthrough_pod_that_ended_in_error_on_the_node_role_is_broken(phase, status, words):
    chain = chain_of(failed(plain_pod(), phase, status))
    assert chain.mechanism is Mechanism.NODE_ROLE and chain.verdict is Verdict.BROKEN
    first = chain.findings[0]  # the headline of a failed pod
    assert first.code == F.POD_FAILED_ON_NODE_ROLE and first.severity is Severity.ERROR
    assert words in first.title and "NodeInstanceRole" in first.title
    assert "AccessDenied" in first.explanation and NODE_ROLE in first.explanation
    assert "kubectl -n default logs eks-iam-test1" in first.fix and "--cluster eks-oidc-demo" in first.fix
    assert {(e.field, e.value) for e in first.evidence} >= {("status.phase", phase), ("status (kubectl STATUS)", status)}
    # the fallback itself is still said, as for any pod on the node role
    assert F.NODE_ROLE_FALLBACK in {f.code for f in chain.findings}


@pytest.mark.parametrize("phase, status", [
    ("Running", "Running"), ("Succeeded", "Completed"), ("Failed", "OOMKilled"), ("Failed", "Evicted"),
    ("Pending", "ImagePullBackOff"),
])
def test_a_node_role_pod_that_did_not_fail_on_an_aws_call_stays_a_warning(phase, status):
    chain = chain_of(failed(plain_pod(), phase, status))
    assert chain.verdict is Verdict.WARNING
    assert F.POD_FAILED_ON_NODE_ROLE not in {f.code for f in chain.findings}


def test_a_failed_pod_whose_own_role_holds_is_not_blamed_on_its_identity():
    chain = chain_of(failed(pod()), sas=[sa()], roles=[role()])
    assert chain.mechanism is Mechanism.IRSA and chain.effective_identity == ROLE_ARN
    assert chain.verdict is Verdict.OK
    assert not {F.POD_FAILED_ON_NODE_ROLE, F.POD_FAILED_WITHOUT_CREDENTIALS} & {f.code for f in chain.findings}


def test_a_failed_pod_that_gets_no_credentials_at_all_is_broken():
    hop_limit_1 = InstanceMetadataOptions("i-0123456789abcdef0", "required", 1, "enabled", "applied")
    running = chain_of(plain_pod(), metadata=hop_limit_1)
    assert running.mechanism is Mechanism.NONE and running.verdict is not Verdict.BROKEN  # nothing meant, nothing failed
    chain = chain_of(failed(plain_pod()), metadata=hop_limit_1)
    assert chain.verdict is Verdict.BROKEN
    first = chain.findings[0]
    assert first.code == F.POD_FAILED_WITHOUT_CREDENTIALS and "gets no AWS credentials" in first.title
    assert "hop" in first.explanation.lower()  # why it has none, from the engine's effective identity


def test_a_broken_chain_that_also_failed_says_so_first():
    # IRSA meant, but the role's trust names another service account: no credentials
    wrong = role(trust=irsa_trust(sub="system:serviceaccount:other:someone"))
    chain = chain_of(failed(pod()), sas=[sa()], roles=[wrong])
    assert chain.effective is not None and chain.effective.status is LinkStatus.BROKEN
    assert chain.verdict is Verdict.BROKEN
    assert chain.findings[0].code == F.POD_FAILED_WITHOUT_CREDENTIALS
    assert any(f.code.startswith("TRUST_") for f in chain.findings[1:])  # the link that broke, said after


def test_the_aws_cli_exit_code_says_the_service_refused_and_is_evidence():
    # the walkthrough's container: `aws s3 ls` as the node role, AccessDenied, exit code 254
    p = dataclasses.replace(plain_pod(), phase="Failed", status="Error",
                            exits=(ContainerExit("my-aws-cli", 254, "Error"),))
    first = chain_of(p).findings[0]
    assert first.code == F.POD_FAILED_ON_NODE_ROLE
    assert "container my-aws-cli exited 254" in first.title
    assert "exited 254: the AWS CLI's code for an error the AWS service returned" in first.explanation
    assert ("status.containerStatuses[my-aws-cli].state.terminated.exitCode", "254") in {
        (e.field, e.value) for e in first.evidence}
    # any other program's 254 says nothing of AWS
    other = dataclasses.replace(p, containers=tuple(dataclasses.replace(c, image="busybox") for c in p.containers))
    assert "AWS CLI" not in chain_of(other).findings[0].explanation


def test_a_container_that_keeps_being_killed_for_memory_is_not_blamed_on_the_node_role():
    looping = dataclasses.replace(plain_pod(), phase="Running", status="CrashLoopBackOff",
                                  exits=(ContainerExit("my-aws-cli", 137, "OOMKilled", last=True),))
    chain = chain_of(looping)
    assert chain.verdict is Verdict.WARNING and F.POD_FAILED_ON_NODE_ROLE not in {f.code for f in chain.findings}
    erroring = dataclasses.replace(looping, exits=(ContainerExit("my-aws-cli", 253, "Error", last=True),))
    first = chain_of(erroring).findings[0]
    assert first.code == F.POD_FAILED_ON_NODE_ROLE and "keeps crashing" in first.title
    assert "container my-aws-cli last exited 253" in first.title
    assert "lastState.terminated.exitCode" in {e.field.rsplit("].", 1)[-1] for e in first.evidence}


def _failed_json(pod_json: dict, message: str, code: int = 254) -> dict:
    """The pod's JSON as the API server returns it once its container failed, with the last log
    lines in the termination message (terminationMessagePolicy: FallbackToLogsOnError)."""
    return dict(pod_json, status={"phase": "Failed", "containerStatuses": [{
        "name": "my-aws-cli", "restartCount": 0, "ready": False,
        "state": {"terminated": {"exitCode": code, "reason": "Error", "message": message}}}]})


WALKTHROUGH_POD = {
    "metadata": {"name": "eks-iam-test1", "namespace": "default", "uid": "u-1",
                 "creationTimestamp": "2024-03-30T00:29:51Z"},
    "spec": {"nodeName": NODE, "serviceAccountName": "default", "restartPolicy": "Never",
             "containers": [{"name": "my-aws-cli", "image": "amazon/aws-cli:latest", "args": ["s3", "ls"],
                             "terminationMessagePolicy": "FallbackToLogsOnError"}]},
}


def test_the_termination_message_says_what_aws_answered_and_no_token_leaks():
    from irsa_explorer.sources.kube_convert import pod_from_dict

    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"
    logs = ("starting\n" * 200 + f"debug: token {token}\n"
            "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied\n")
    p = pod_from_dict(_failed_json(WALKTHROUGH_POD, logs))
    assert p.exits and p.exits[0].exit_code == 254 and len(p.exits[0].message) <= 4096  # bounded
    first = chain_of(p).findings[0]
    assert first.code == F.POD_FAILED_ON_NODE_ROLE
    assert "it logged AccessDenied" in first.title
    assert "termination message (kept in the pod's status) says: An error occurred (AccessDenied) when calling " \
           "the ListBuckets operation: Access Denied" in first.explanation
    assert ("status.containerStatuses[my-aws-cli].state.terminated.message",
            "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied") in {
        (e.field, e.value) for e in first.evidence}
    shown = " ".join([first.title, first.explanation, first.fix or ""] + [str(e.value) for e in first.evidence])
    assert token not in shown and "c2lnbmF0dXJl" not in shown and "starting" not in shown  # only the AWS line


def test_a_pod_refused_as_its_own_role_is_broken_by_its_permissions():
    from irsa_explorer.sources.kube_convert import pod_from_dict

    denied = ("An error occurred (AccessDenied) when calling the PutObject operation: User: "
              "arn:aws:sts::113534181560:assumed-role/app/botocore-session-1 is not authorized to perform: "
              "s3:PutObject on resource: arn:aws:s3:::reports/x because no identity-based policy allows the s3:PutObject action")
    irsa = pod()
    raw = _failed_json(dict(WALKTHROUGH_POD, metadata=dict(WALKTHROUGH_POD["metadata"], name="uploader")), denied)
    converted = pod_from_dict(raw)
    # the IRSA pod's spec (injected variables and token) with the failed status of the JSON above
    failed_irsa = dataclasses.replace(irsa, name="uploader", phase=converted.phase, status=converted.status,
                                      exits=converted.exits)
    chain = chain_of(failed_irsa, sas=[sa()], roles=[role()])
    assert chain.mechanism is Mechanism.IRSA and chain.effective.status is LinkStatus.OK
    assert chain.verdict is Verdict.BROKEN
    first = chain.findings[0]
    assert first.code == F.POD_FAILED_ACCESS_DENIED and "AWS refused" in first.title
    assert f"--policy-source-arn {ROLE_ARN} --action-names s3:PutObject" in first.fix
    # the same failure without the message: not the identity's to explain
    quiet = dataclasses.replace(failed_irsa, exits=tuple(dataclasses.replace(e, message=None) for e in converted.exits))
    assert chain_of(quiet, sas=[sa()], roles=[role()]).verdict is Verdict.OK
