"""Each failure-catalogue scenario loads and shows its failure where a trainee would look:
`kubectl exec POD -- aws sts get-caller-identity` in the broken pod, and in a healthy one."""

from __future__ import annotations

import json
import shutil

import pytest
from lab_e2e_shell import caller_identity

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

ACCOUNT = "113534181560"
NODE_ROLE = "eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
SA_ROLE = "eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"

# scenario → (broken pod, what its caller identity call shows), (healthy pod, its identity ARN prefix)
CASES = {
    "pod-before-annotation": (
        ("default", "reports-before", f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE}/i-"),
        ("default", "reports-after", f"arn:aws:sts::{ACCOUNT}:assumed-role/reports-s3-reader/"),
    ),
    "no-oidc-provider": (
        ("default", "eks-iam-test3", "InvalidIdentityToken"),
        ("default", "node-fallback", f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE}/i-"),
    ),
    "sub-wrong-namespace": (
        ("payments", "checkout", "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        ("default", "billing", f"arn:aws:sts::{ACCOUNT}:assumed-role/checkout-s3-reader/"),
    ),
    "wrong-audience": (
        ("default", "audience-typo", "Incorrect token audience"),
        ("default", "eks-iam-test3", f"arn:aws:sts::{ACCOUNT}:assumed-role/audience-demo/"),
    ),
    "pod-identity": (
        ("default", "uploader-before", f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE}/i-"),
        ("default", "uploader-after", f"arn:aws:sts::{ACCOUNT}:assumed-role/pod-identity-uploader/eks-eks-oidc-demo-uploader-after-"),
    ),
    "static-keys": (
        ("default", "legacy-uploader", f"arn:aws:iam::{ACCOUNT}:user/ci-deploy"),
        ("default", "eks-iam-test3", f"arn:aws:sts::{ACCOUNT}:assumed-role/{SA_ROLE}/"),
    ),
}


@pytest.fixture(scope="module", autouse=True)
def _start_the_catalogue_labs_together(lab_for):
    lab_for.prefetch(*CASES)


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_catalogue_scenario_shows_its_failure(lab_for, scenario):
    lab = lab_for(scenario)
    (broken_ns, broken, symptom), (healthy_ns, healthy, healthy_arn) = CASES[scenario]

    shown = caller_identity(lab, broken, broken_ns, check=False)
    if symptom.startswith("arn:"):
        # A silent failure: the call works, as the wrong identity.
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["Arn"].startswith(symptom)
    else:
        assert shown.returncode != 0
        assert symptom in shown.stderr, shown.stderr

    contrast = caller_identity(lab, healthy, healthy_ns)
    assert json.loads(contrast.stdout)["Arn"].startswith(healthy_arn)


def test_no_oidc_provider_names_the_issuer(lab_for):
    shown = caller_identity(lab_for("no-oidc-provider"), "eks-iam-test3", check=False)
    assert (
        "No OpenIDConnect provider found in your account for "
        "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
    ) in shown.stderr
