"""The live check's hint follows the engine's finding for the pod: the Pod Identity agent's 403
is a trust policy without sts:TagSession in one pod and hostNetwork in another, and it says
which — not a guess. Against the labs, with the chains the engine made for those pods."""

from __future__ import annotations

import pytest

from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.inventory import load_and_resolve
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.model import EffectiveIdentity, Finding, LinkStatus, Mechanism, Severity
from irsa_explorer.sources.livecheck import _parse_error, agrees, who_am_i

FORBIDDEN_403 = ("\nError when retrieving credentials from container-role: Error retrieving metadata: Received non 200 "
                 'response 403 from container metadata: {"message": "Unauthorized Exception! EKS does not have '
                 'permissions to assume the associated role."}\n')


def finding(code: str, title: str) -> Finding:
    return Finding(code, Severity.ERROR, title, "explained")


def test_the_403_hint_is_the_pods_finding() -> None:
    trust = finding("POD_IDENTITY_TRUST_INVALID", "Role r does not allow sts:TagSession for pods.eks.amazonaws.com")
    host = finding("POD_IDENTITY_HOST_NETWORK", "Pod p uses hostNetwork, which EKS Pod Identity refuses")
    assert _parse_error(FORBIDDEN_403, (trust,))[2] == trust.title
    assert _parse_error(FORBIDDEN_403, (host, trust))[2] == host.title
    generic = _parse_error(FORBIDDEN_403)[2]
    assert "hostNetwork?" not in generic and "sts:TagSession" in generic  # both causes, no guess


def test_a_finding_that_does_not_explain_the_error_is_not_its_hint() -> None:
    unrelated = finding("NODE_ROLE_FALLBACK", "Pod p uses the node's role")
    assert _parse_error(FORBIDDEN_403, (unrelated,))[2] != unrelated.title


@pytest.mark.parametrize(("scenario", "pod", "code"), [
    ("pod-identity-no-tag-session", "reporter", "POD_IDENTITY_TRUST_INVALID"),
    ("pod-identity-agent-missing", "batch-uploader", "POD_IDENTITY_AGENT_MISSING"),
    ("imds-hop-limit", "hardened-app", "IMDS_HOP_LIMIT"),
])
def test_live_hints_name_the_engines_finding(lab_for, scenario, pod, code) -> None:
    lab = lab_for(scenario)
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        inventory, chains = load_and_resolve(kube, AwsSource.from_env(lab.aws_env), None, discover_issuer=False)
        target = next(p for p in inventory.pods.values() if p.name == pod)
        chain = chains[target.uid]
        result = who_am_i(kube, target, intended_role_arn=chain.intended_role_arn, findings=chain.findings,
                          expected=chain.effective)
    finally:
        kube.close()
    expected = next(f for f in chain.findings if f.code == code)
    assert not result.ok
    assert result.hint == expected.title
    # the engine said this pod gets no credentials, and the pod indeed got none
    assert result.agrees_with_engine is True


def test_an_answer_is_compared_with_the_engines_effective_identity() -> None:
    role = "arn:aws:iam::111122223333:role/app"
    gets_role = EffectiveIdentity(Mechanism.IRSA, LinkStatus.OK, "app", role, "IRSA", "annotated")
    gets_nothing = EffectiveIdentity(Mechanism.NONE, LinkStatus.OK, "no credentials", None, "none", "hop limit 1")
    not_checked = EffectiveIdentity(Mechanism.IRSA, LinkStatus.UNKNOWN, "app", role, "IRSA", "role unread")
    assert agrees(gets_role, True, "arn:aws:sts::111122223333:assumed-role/app/botocore-session-1") is True
    assert agrees(gets_role, True, "arn:aws:sts::111122223333:assumed-role/node/i-0abc") is False
    assert agrees(gets_role, False, None) is False
    assert agrees(gets_nothing, False, None) is True
    assert agrees(gets_nothing, True, "arn:aws:sts::111122223333:assumed-role/node/i-0abc") is False
    assert agrees(not_checked, True, "arn:aws:sts::111122223333:assumed-role/app/s") is None
    assert agrees(None, True, "arn:aws:sts::111122223333:assumed-role/app/s") is None
