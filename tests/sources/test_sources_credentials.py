"""The credential-side lookups against the lab, over the real wire: whose static keys pods carry
(sources/aws_keys.py, once per distinct key), roles and OIDC providers of another account read
through the profile named for it (sources/aws_accounts.py), and what load_and_resolve makes of
both and of a profile mounted from a Secret."""

from __future__ import annotations

import pytest
from test_sources_inventory_requests import Counters

from irsa_explorer.model import AccessKeyOwner, LinkStatus, Mechanism, Role, Unavailable
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.aws_accounts import ACCOUNT_PROFILES_ENV, parse_account_profiles
from irsa_explorer.sources.aws_keys import key_owners
from irsa_explorer.sources.inventory import load_and_resolve
from irsa_explorer.sources.kube import KubeSource

ACCOUNT = "113534181560"
MEMBER = "222233334444"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/shared-reports-reader"


@pytest.fixture(scope="module", autouse=True)
def _labs(lab_for):
    lab_for.prefetch("static-key-owners", "cross-account-irsa", "credentials-file-secret")


def pod_env(lab, pod: str, name: str) -> str:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        found = next(p for p in kube.list_pods(None).items if p.name == pod)
    finally:
        kube.close()
    return next(v.value for c in found.containers for v in c.env if v.name == name)


def without_member_profiles(lab) -> dict[str, str]:
    return {k: v for k, v in lab.aws_env.items() if k != ACCOUNT_PROFILES_ENV}


def test_account_profiles_are_parsed_and_checked():
    assert parse_account_profiles("222233334444=member, 333344445555=audit") == {MEMBER: "member", "333344445555": "audit"}
    assert parse_account_profiles(["222233334444=a", "333344445555=b"]) == {MEMBER: "a", "333344445555": "b"}
    for bad in ("222233334444", "2222=x", "222233334444="):
        with pytest.raises(ValueError, match="ACCOUNT=PROFILE"):
            parse_account_profiles(bad)


def test_static_keys_name_their_owner_once_per_key(lab_for):
    lab = lab_for("static-key-owners")
    ci, partner, stale = (pod_env(lab, p, "AWS_ACCESS_KEY_ID") for p in ("ci-uploader", "partner-sync", "stale-keys"))
    counters = Counters(lab)
    before = counters.snapshot()
    owners = key_owners(AwsSource.from_env(lab.aws_env), [ci, partner, stale, ci, "not-a-key", None])
    assert owners[ci] == AccessKeyOwner(ci, ACCOUNT, "ci-deploy", f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deploy")
    assert owners[partner] == AccessKeyOwner(partner, MEMBER, "partner-sync", f"arn:aws:iam::{MEMBER}:user/partner-sync")
    assert isinstance(owners[stale], Unavailable) and owners[stale].kind == "not-found"
    assert "deleted" in owners[stale].reason
    assert owners["not-a-key"].reason == "not an AWS access key id"
    asked = counters.since(before)
    assert asked["sts:GetAccessKeyInfo"] == 3  # one per distinct key, the duplicate not asked again
    # ci and stale in the lab's account; partner in the member account, through its profile
    assert asked["iam:GetAccessKeyLastUsed"] == 3 and asked["iam:GetUser"] == 2


def test_a_key_of_an_account_without_a_profile_names_only_the_account(lab_for):
    lab = lab_for("static-key-owners")
    partner = pod_env(lab, "partner-sync", "AWS_ACCESS_KEY_ID")
    owners = key_owners(AwsSource.from_env(without_member_profiles(lab)), [partner])
    assert owners[partner] == AccessKeyOwner(partner, MEMBER)


def test_roles_of_another_account_are_read_through_its_profile(lab_for):
    lab = lab_for("cross-account-irsa")
    aws = AwsSource.from_env(lab.aws_env)
    role = aws.get_roles([MEMBER_ROLE])[MEMBER_ROLE]
    assert isinstance(role, Role) and role.account == MEMBER
    (provider,) = aws.other_accounts.providers([MEMBER])[MEMBER]
    assert provider.arn.startswith(f"arn:aws:iam::{MEMBER}:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/")


def test_without_a_profile_the_role_is_unknown_naming_the_option(lab_for):
    lab = lab_for("cross-account-irsa")
    aws = AwsSource.from_env(without_member_profiles(lab))
    role = aws.get_roles([MEMBER_ROLE])[MEMBER_ROLE]
    assert isinstance(role, Unavailable)
    assert f"no --account-profile names a profile for account {MEMBER}" in str(role)
    assert isinstance(aws.other_accounts.providers([MEMBER])[MEMBER], Unavailable)


def test_a_profile_of_another_account_than_named_is_refused(lab_for):
    lab = lab_for("cross-account-irsa")
    aws = AwsSource.from_env(lab.aws_env, account_profiles={"333344445555": f"member-{MEMBER}"})
    found = aws.other_accounts.reader("333344445555")
    assert isinstance(found, Unavailable)
    assert f"profile member-{MEMBER} is for account {MEMBER}, not 333344445555" in found.reason


def test_the_loader_checks_the_role_against_its_accounts_provider(lab_for):
    lab = lab_for("cross-account-irsa")
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        inventory, chains = load_and_resolve(kube, AwsSource.from_env(lab.aws_env), None)
    finally:
        kube.close()
    assert isinstance(inventory.account_providers[MEMBER], list)
    by_name = {inventory.pods[uid].name: chain for uid, chain in chains.items()}
    assert by_name["cross-reporter"].effective.arn == MEMBER_ROLE
    assert by_name["cross-reporter"].provider.status is LinkStatus.OK
    assert by_name["copied-trust"].trust.decision == "not-allowed"


def test_the_loader_names_key_owners_and_secret_profiles(lab_for):
    keys_lab, files_lab = lab_for("static-key-owners"), lab_for("credentials-file-secret")
    for lab in (keys_lab, files_lab):
        kube = KubeSource(kubeconfig=str(lab.kubeconfig))
        try:
            inventory, chains = load_and_resolve(kube, AwsSource.from_env(lab.aws_env), None)
        finally:
            kube.close()
        by_name = {inventory.pods[uid].name: chain for uid, chain in chains.items()}
        if lab is keys_lab:
            assert by_name["ci-uploader"].effective_identity == f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deploy"
            assert by_name["stale-keys"].effective.status is LinkStatus.BROKEN
        else:
            batch = by_name["nightly-batch"]
            assert batch.mechanism is Mechanism.PROFILE
            (file,) = batch.effective.profile.mounted
            assert (file.source.kind, file.source.name, file.key) == ("secret", "batch-aws-credentials", "credentials")
            deploy = by_name["deploy-profile"].effective
            assert deploy.status is LinkStatus.UNKNOWN and {f.key for f in deploy.profile.mounted} == {"config", "credentials"}


def test_a_role_opened_in_the_tui_is_read_in_its_own_account(lab_for):
    """role_policies / policy_document: what the role pane asks, for a role of the member account."""
    lab = lab_for("cross-account-irsa")
    policies = AwsSource.from_env(lab.aws_env).role_policies(MEMBER_ROLE)
    assert not isinstance(policies, Unavailable), policies
    assert [p.name for p in policies.attached] == ["AmazonS3ReadOnlyAccess"]
    unread = AwsSource.from_env(without_member_profiles(lab)).role_policies(MEMBER_ROLE)
    assert isinstance(unread, Unavailable) and "--account-profile" in str(unread)
