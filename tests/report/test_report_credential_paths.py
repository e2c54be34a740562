"""`report` on the credential-side scenarios (issue 9 part 4): each names the mechanism and the
identity the engine found, with the finding and its fix — and "unknown" with why where only a
Secret's content or an unread account could tell."""

from __future__ import annotations

import pytest
from test_report_lab import codes, json_report_on, pods_by_name, run_report

ACCOUNT, MEMBER = "113534181560", "222233334444"


@pytest.fixture(scope="module", autouse=True)
def _labs(lab_for):
    lab_for.prefetch("cross-account-irsa", "credentials-file-secret", "static-key-owners")


def test_cross_account_irsa(lab_for):
    _, report = json_report_on(lab_for("cross-account-irsa"))
    pods = pods_by_name(report)
    reporter = pods["cross-reporter"]
    assert (reporter["mechanism"], reporter["verdict"]) == ("irsa", "ok")
    assert reporter["effective_identity"] == f"arn:aws:iam::{MEMBER}:role/shared-reports-reader"
    provider = next(link for link in reporter["chain"] if link["step"] == "oidc-provider")
    assert provider["status"] == "ok" and f"arn:aws:iam::{MEMBER}:oidc-provider/" in provider["detail"]
    copied = pods["copied-trust"]
    assert copied["verdict"] == "broken" and "TRUST_PRINCIPAL_NOT_PROVIDER" in codes(copied)


def test_cross_account_irsa_without_the_accounts_profile(lab_for):
    lab = lab_for("cross-account-irsa")
    env = {k: v for k, v in lab.aws_env.items() if k != "IRSA_EXPLORER_ACCOUNT_PROFILES"}
    _, report = json_report_on(lab, aws_env=env)
    reporter = pods_by_name(report)["cross-reporter"]
    assert reporter["verdict"] == "unknown" and reporter["effective_identity"] is None
    finding = next(f for f in reporter["findings"] if f["code"] == "CROSS_ACCOUNT_PROVIDER_UNKNOWN")
    assert f"no --account-profile names a profile for account {MEMBER}" in finding["title"]
    assert f"--account-profile {MEMBER}=PROFILE" in finding["fix"]


def test_credentials_from_a_secret_file(lab_for):
    _, report = json_report_on(lab_for("credentials-file-secret"))
    pods = pods_by_name(report)
    batch = pods["nightly-batch"]
    assert (batch["mechanism"], batch["verdict"], batch["effective_identity"]) == ("profile", "unknown", "profile batch")
    profile = batch["effective"]["profile"]
    assert profile["name"] == "batch" and profile["set_by"] == "AWS_PROFILE"
    (file,) = profile["files"]
    assert file == {"kind": "credentials", "path": "/etc/aws/credentials", "set_by": "AWS_SHARED_CREDENTIALS_FILE",
                    "key": "credentials", "from": "Secret batch-aws-credentials"}
    finding = next(f for f in batch["findings"] if f["code"] == "CREDENTIALS_FROM_PROFILE")
    assert "kubectl -n default get secret batch-aws-credentials -o jsonpath='{.data}' | jq 'keys'" in finding["fix"]
    deploy = pods["deploy-profile"]
    assert deploy["mechanism"] == "irsa" and deploy["verdict"] == "unknown"
    assert deploy["effective_identity"].endswith(" or profile deploy")
    assert "PROFILE_MAY_OVERRIDE_IRSA" in codes(deploy)
    # the Secret's values never reach the report
    assert "aws_secret_access_key" not in str(report)


def test_static_keys_name_their_owner(lab_for):
    _, report = json_report_on(lab_for("static-key-owners"))
    pods = pods_by_name(report)
    assert pods["ci-uploader"]["effective_identity"] == f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deploy"
    assert pods["ci-uploader"]["effective"]["key_owner"] == {
        "account": ACCOUNT, "user": "ci-deploy", "arn": f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deploy"}
    assert pods["partner-sync"]["effective_identity"] == f"arn:aws:iam::{MEMBER}:user/partner-sync"
    stale = pods["stale-keys"]
    assert stale["verdict"] == "broken" and "STATIC_KEY_NOT_FOUND" in codes(stale)


def test_the_installed_command_takes_account_profiles(lab_for, lab_env):
    """`--account-profile` on the command line, as a user types it: a bad one is refused at once."""
    shown = run_report("--lab", "cross-account-irsa", "--account-profile", "222233334444", timeout=60)
    assert shown.returncode == 2 and "--account-profile: write ACCOUNT=PROFILE" in shown.stderr
