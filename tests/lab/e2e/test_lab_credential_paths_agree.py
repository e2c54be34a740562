"""The credential-side scenarios (issue 9 part 4): for every pod, what the engine says and what
`kubectl exec POD -- aws sts get-caller-identity` shows in it agree. Where the engine knows the
identity it is the pod's; where it says "unknown" (a Secret's content decides) it names what
decides, and the pod's answer is one the engine left open."""

from __future__ import annotations

import json
import shutil

import pytest
from lab_e2e_shell import caller_identity

from irsa_explorer.analysis.arns import same_role
from irsa_explorer.model import LinkStatus, Mechanism
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.inventory import load_and_resolve
from irsa_explorer.sources.kube import KubeSource

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

ACCOUNT, MEMBER = "113534181560", "222233334444"
SCENARIOS = ["cross-account-irsa", "credentials-file-secret", "static-key-owners"]


@pytest.fixture(scope="module", autouse=True)
def _start_them_together(lab_for):
    lab_for.prefetch(*SCENARIOS)


def engine(lab):
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        inventory, chains = load_and_resolve(kube, AwsSource.from_env(lab.aws_env), None, discover_issuer=False)
    finally:
        kube.close()
    return {inventory.pods[uid].name: (inventory.pods[uid], chain) for uid, chain in chains.items()
            if inventory.pods[uid].namespace != "kube-system"}


def who(lab, pod) -> tuple[int, str]:
    shown = caller_identity(lab, pod.name, pod.namespace, check=False)
    return shown.returncode, json.loads(shown.stdout)["Arn"] if shown.returncode == 0 else shown.stderr


@pytest.mark.parametrize("scenario", ["cross-account-irsa", "static-key-owners"])  # every pod known
def test_known_identities_are_the_pods(lab_for, scenario):
    lab = lab_for(scenario)
    checked = 0
    for pod, chain in engine(lab).values():
        effective = chain.effective
        if effective.status is LinkStatus.UNKNOWN:
            continue  # test_unknown_names_what_decides
        code, shown = who(lab, pod)
        if effective.status is LinkStatus.OK and effective.arn:
            assert code == 0, (pod.name, shown)
            if effective.mechanism is Mechanism.STATIC_KEYS:
                assert shown == effective.arn, (pod.name, shown)  # the user's ARN, path included
            else:
                assert same_role(shown, effective.arn), (pod.name, shown, effective.arn)
        else:
            assert effective.status is LinkStatus.BROKEN, (pod.name, effective)
            assert code != 0, (pod.name, shown)
        checked += 1
    assert checked >= 2


def test_unknown_names_what_decides(lab_for):
    """credentials-file-secret: the explorer does not read Secrets, so it names them."""
    lab = lab_for("credentials-file-secret")
    chains = engine(lab)
    batch_pod, batch = chains["nightly-batch"]
    assert batch.mechanism is Mechanism.PROFILE and batch.effective.status is LinkStatus.UNKNOWN
    assert "Secret batch-aws-credentials, key credentials" in batch.effective.source
    assert who(lab, batch_pod) == (0, f"arn:aws:iam::{ACCOUNT}:user/batch-runner")  # the profile, not the node role
    for name, role in (("irsa-and-keys-file", "eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"),
                       ("deploy-profile", "deployer")):
        pod, chain = chains[name]
        effective = chain.effective
        # "the IRSA role, unless the profile is an assume-role profile": both answers are open
        assert effective.mechanism is Mechanism.IRSA and effective.status is LinkStatus.UNKNOWN
        assert "assume-role profile" in effective.why and effective.profile.secrets
        code, shown = who(lab, pod)
        assert code == 0 and f"assumed-role/{role}/" in shown, (name, shown)
