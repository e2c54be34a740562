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
MEMBER = "222233334444"  # the member account of cross-account-irsa and static-key-owners

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
    # the credential-side paths (issue 9 part 4)
    "cross-account-irsa": (
        ("reports", "copied-trust", "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        ("reports", "cross-reporter", f"arn:aws:sts::{MEMBER}:assumed-role/shared-reports-reader/botocore-session-"),
    ),
    "credentials-file-secret": (
        ("default", "nightly-batch", f"arn:aws:iam::{ACCOUNT}:user/batch-runner"),
        ("default", "irsa-and-keys-file", f"arn:aws:sts::{ACCOUNT}:assumed-role/{SA_ROLE}/"),
    ),
    "static-key-owners": (
        ("default", "stale-keys", "InvalidClientTokenId"),
        ("default", "ci-uploader", f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deploy"),
    ),
    # the node-side paths (issue 9 part 4): no credentials at all, not the node role
    "imds-hop-limit": (
        ("default", "hardened-app", "Unable to locate credentials"),
        ("default", "hardened-hostnet", f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE}/i-"),
    ),
    "fargate-no-node-role": (
        ("fargate-apps", "report-job", "Unable to locate credentials"),
        ("fargate-apps", "uploader", f"arn:aws:sts::{ACCOUNT}:assumed-role/fargate-uploader/"),
    ),
    "pod-identity-agent-missing": (
        ("default", "batch-uploader", 'Connect timeout on endpoint URL: "http://169.254.170.23/v1/credentials"'),
        ("default", "uploader", f"arn:aws:sts::{ACCOUNT}:assumed-role/pod-identity-uploader/eks-eks-oidc-demo-uploader-"),
    ),
    "sts-legacy-endpoint": (
        # it works (through sts.amazonaws.com): the finding is a warning, the identity the role
        ("default", "legacy-sts", f"arn:aws:sts::{ACCOUNT}:assumed-role/{SA_ROLE}/"),
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


def test_an_assume_role_profile_from_a_secret_wins_over_irsa(lab_for):
    shown = caller_identity(lab_for("credentials-file-secret"), "deploy-profile")
    assert json.loads(shown.stdout)["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/")


def test_keys_of_a_member_account_are_that_accounts_user(lab_for):
    shown = caller_identity(lab_for("static-key-owners"), "partner-sync")
    assert json.loads(shown.stdout)["Arn"] == f"arn:aws:iam::{MEMBER}:user/partner-sync"
