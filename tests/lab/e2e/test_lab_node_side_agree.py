"""The node-side scenarios (issue 9 part 4): for every workload pod, what the engine says it gets
and what `kubectl exec POD -- aws sts get-caller-identity` shows in it agree — a role's session
where the engine names the role, a failure where it says "no credentials"."""

from __future__ import annotations

import json
import shutil

import pytest
from lab_e2e_shell import caller_identity

from irsa_explorer.analysis.arns import same_role
from irsa_explorer.model import LinkStatus
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.inventory import load_and_resolve
from irsa_explorer.sources.kube import KubeSource

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

SCENARIOS = ["imds-hop-limit", "fargate-no-node-role", "pod-identity-agent-missing", "sts-legacy-endpoint"]


@pytest.fixture(scope="module", autouse=True)
def _start_them_together(lab_for):
    lab_for.prefetch(*SCENARIOS)


def engine(lab):
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        inventory, chains = load_and_resolve(kube, AwsSource.from_env(lab.aws_env), None, discover_issuer=False)
    finally:
        kube.close()
    # the workloads (not the agent), and only pods one can exec into (the walkthrough's
    # eks-iam-test1 ran `aws s3 ls` and has ended)
    return [(pod, chains[uid]) for uid, pod in inventory.pods.items()
            if pod.namespace != "kube-system" and pod.phase == "Running"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_engine_and_the_pods_sdk_agree(lab_for, scenario):
    lab = lab_for(scenario)
    checked = 0
    for pod, chain in engine(lab):
        effective = chain.effective
        assert effective is not None and effective.status is not LinkStatus.UNKNOWN, (pod.name, chain.links)
        shown = caller_identity(lab, pod.name, pod.namespace, check=False)
        if effective.arn:
            assert shown.returncode == 0, (pod.name, shown.stderr)
            assert same_role(json.loads(shown.stdout)["Arn"], effective.arn), (pod.name, shown.stdout, effective.arn)
        else:
            assert effective.label == "no credentials", (pod.name, effective)
            assert shown.returncode != 0, (pod.name, shown.stdout)
            if effective.access and effective.access.kind == "imds":
                assert "Unable to locate credentials" in shown.stderr
            else:
                assert "169.254.170.23" in shown.stderr
        checked += 1
    assert checked >= 2
