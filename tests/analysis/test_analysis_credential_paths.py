"""The credential-side identity paths of the engine (issue 9 part 4): IRSA with a role in another
account, profiles from files a pod mounts (a Secret), static keys that name their owner, and
EKS Pod Identity trust policies that test the per-pod session tags."""

from __future__ import annotations

from dataclasses import replace

from analysis_builders import (
    ACCOUNT,
    HOST,
    ISSUER,
    NODE_ROLE,
    PI_TOKEN,
    POD_IDENTITY_TRUST,
    PROVIDER_ARN,
    ROLE_ARN,
    association,
    container,
    inventory,
    irsa_container,
    irsa_trust,
    plain_pod,
    pod,
    pod_identity_container,
    role,
    sa,
)

from irsa_explorer.analysis import findings as F
from irsa_explorer.analysis.identity import container_credentials, resolve_all, resolve_chain
from irsa_explorer.analysis.trust import Decision
from irsa_explorer.model import (
    AccessKeyOwner,
    EnvVar,
    LinkStatus,
    Mechanism,
    OidcProvider,
    Unavailable,
    Verdict,
    VolumeSource,
)

MEMBER = "222233334444"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/shared-reports-reader"
MEMBER_PROVIDER = f"arn:aws:iam::{MEMBER}:oidc-provider/{HOST}"
KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_VOLUME = VolumeSource("aws-credentials", "secret", "batch-aws", (("credentials", "credentials"),))


def codes(chain) -> set[str]:
    return {f.code for f in chain.findings}


# --- 1. cross-account IRSA -----------------------------------------------------------------------


def _cross(account_providers, roles=None, trust_principal=MEMBER_PROVIDER):
    member_role = role(MEMBER_ROLE, irsa_trust(principal=trust_principal))
    p = pod(containers=[irsa_container(role_arn=MEMBER_ROLE)])
    inv = inventory([p], [sa(role_arn=MEMBER_ROLE)], roles if roles is not None else [member_role])
    return resolve_chain(p, replace(inv, account_providers=account_providers))


def test_a_role_in_another_account_is_checked_against_that_accounts_providers():
    chain = _cross({MEMBER: [OidcProvider(MEMBER_PROVIDER, HOST, ("sts.amazonaws.com",))]})
    assert chain.provider.status is LinkStatus.OK and chain.provider.provider.arn == MEMBER_PROVIDER
    assert chain.provider.expected_arn == MEMBER_PROVIDER
    assert chain.trust.decision is Decision.ALLOW
    assert chain.effective.arn == MEMBER_ROLE and chain.effective.status is LinkStatus.OK
    assert chain.verdict is Verdict.OK and not codes(chain)


def test_no_provider_in_the_roles_account_is_broken_with_the_command_for_that_account():
    # The cluster account has its provider (the builders' default), the member account none.
    chain = _cross({MEMBER: []})
    assert chain.provider.status is LinkStatus.BROKEN and MEMBER in chain.provider.reason
    assert chain.effective.status is LinkStatus.BROKEN and chain.verdict is Verdict.BROKEN
    finding = next(f for f in chain.findings if f.code == F.NO_OIDC_PROVIDER)
    assert f"in account {MEMBER}" in finding.title
    assert finding.fix.startswith(f"aws iam create-open-id-connect-provider --url {ISSUER} --client-id-list sts.amazonaws.com")


def test_a_trust_copied_from_the_cluster_account_names_the_wrong_provider():
    chain = _cross({MEMBER: [OidcProvider(MEMBER_PROVIDER, HOST, ("sts.amazonaws.com",))]}, trust_principal=PROVIDER_ARN)
    assert chain.provider.status is LinkStatus.OK
    assert chain.trust.decision is Decision.NOT_ALLOWED
    assert chain.effective.status is LinkStatus.BROKEN
    assert F.TRUST_PRINCIPAL_NOT_PROVIDER in codes(chain)


def test_an_account_without_a_profile_is_unknown_with_the_option_that_reads_it():
    unread = Unavailable(f"role is in account {MEMBER}, our credentials are for {ACCOUNT}: pass --account-profile", "sts:AssumeRole")
    chain = _cross({}, roles={MEMBER_ROLE: unread})
    assert chain.provider.status is LinkStatus.UNKNOWN
    assert "no --account-profile names a profile for account 222233334444" in chain.provider.reason
    assert chain.effective.status is LinkStatus.UNKNOWN and chain.verdict is Verdict.UNKNOWN
    finding = next(f for f in chain.findings if f.code == F.CROSS_ACCOUNT_PROVIDER_UNKNOWN)
    assert f"--account-profile {MEMBER}=PROFILE" in finding.fix


def test_an_account_whose_profile_failed_says_why():
    chain = _cross({MEMBER: Unavailable("profile member-ro: the SSO session has expired", None)})
    assert "the SSO session has expired" in chain.provider.reason
    assert chain.effective.status is LinkStatus.UNKNOWN


# --- 2. profiles and shared files ------------------------------------------------------------------


def _files_pod(env, mounts=(), sources=(SECRET_VOLUME,), irsa=False, sub_paths=(), **kw):
    c = (irsa_container(extra_env=env) if irsa else container("app", env, mounts))
    if irsa:
        c = replace(c, volume_mounts=c.volume_mounts + tuple(mounts))
    c = replace(c, sub_paths=tuple(sub_paths))
    return (pod("batch", containers=[c], volume_sources=tuple(sources), **kw) if irsa
            else plain_pod("batch", containers=[c], volume_sources=tuple(sources), **kw))


def test_a_secret_at_aws_shared_credentials_file_is_the_profile_that_wins():
    p = _files_pod([EnvVar("AWS_SHARED_CREDENTIALS_FILE", "/etc/aws/credentials"), EnvVar("AWS_PROFILE", "batch")],
                   [("aws-credentials", "/etc/aws")])
    chain = resolve_chain(p, inventory([p]))
    assert chain.mechanism is Mechanism.PROFILE
    effective = chain.effective
    assert effective.status is LinkStatus.UNKNOWN and effective.arn is None
    assert effective.label == "profile batch"
    (file,) = effective.profile.mounted
    assert (file.path, file.source.name, file.key, file.set_by) == (
        "/etc/aws/credentials", "batch-aws", "credentials", "AWS_SHARED_CREDENTIALS_FILE")
    assert "Secret batch-aws, key credentials" in effective.source
    finding = next(f for f in chain.findings if f.code == F.CREDENTIALS_FROM_PROFILE)
    assert finding.severity.value == "warning"
    assert "kubectl -n default get secret batch-aws -o jsonpath='{.data}' | jq 'keys'" in finding.fix
    assert chain.verdict is Verdict.UNKNOWN  # who it is: in the Secret, not read


def test_the_default_location_by_subpath_is_found():
    p = _files_pod([], [("aws-credentials", "/root/.aws/credentials")],
                   sub_paths=[("aws-credentials", "/root/.aws/credentials", "credentials")])
    chain = resolve_chain(p, inventory([p]))
    assert chain.mechanism is Mechanism.PROFILE
    (file,) = chain.effective.profile.mounted
    assert file.path == "/root/.aws/credentials" and file.key == "credentials"
    assert "HOME is /root" in file.set_by and chain.effective.profile.profile == "default"


def test_a_profile_comes_before_pod_identity():
    pi = pod_identity_container()
    c = replace(pi, env=pi.env + (EnvVar("AWS_SHARED_CREDENTIALS_FILE", "/etc/aws/credentials"),),
                volume_mounts=pi.volume_mounts + (("aws-credentials", "/etc/aws"),))
    p = pod("uploader", containers=[c], tokens=(PI_TOKEN,), volume_sources=(SECRET_VOLUME,))
    inv = inventory([p], [sa(role_arn=None)], [role("arn:aws:iam::113534181560:role/pod-identity-s3", POD_IDENTITY_TRUST)],
                    associations=[association()])
    chain = resolve_chain(p, inv)
    assert chain.mechanism is Mechanism.PROFILE
    assert chain.link("token").label == "ignored" and chain.link("token").status is LinkStatus.BROKEN
    assert next(f for f in chain.findings if f.code == F.CREDENTIALS_FROM_PROFILE).severity.value == "error"
    assert chain.verdict is Verdict.BROKEN


def test_irsa_with_mounted_files_is_the_role_unless_an_assume_role_profile():
    p = _files_pod([EnvVar("AWS_CONFIG_FILE", "/etc/aws/config"), EnvVar("AWS_PROFILE", "deploy")],
                   [("aws-config", "/etc/aws")], sources=[VolumeSource("aws-config", "secret", "deploy-profile")], irsa=True)
    chain = resolve_chain(p, inventory([p], [sa()], [role()]))
    assert chain.mechanism is Mechanism.IRSA
    assert chain.effective.status is LinkStatus.UNKNOWN and chain.effective.arn is None
    assert "assume-role profile" in chain.effective.why and chain.effective.profile.profile == "deploy"
    assert chain.effective.profile.mounted[0].key == "config"  # every key at its own name
    assert F.PROFILE_MAY_OVERRIDE_IRSA in codes(chain)
    assert chain.verdict is Verdict.UNKNOWN


def test_aws_profile_without_a_mounted_file():
    p = plain_pod("nightly", containers=[container("app", [EnvVar("AWS_PROFILE", "nightly")])])
    chain = resolve_chain(p, inventory([p]))
    assert chain.mechanism is Mechanism.PROFILE and chain.effective.status is LinkStatus.UNKNOWN
    assert "The config profile (nightly) could not be found" in chain.effective.why
    assert F.PROFILE_NOT_MOUNTED in codes(chain)


def test_no_profile_no_files_leaves_the_chain_alone():
    p = plain_pod(containers=[container("app", [EnvVar("HOME", "/home/app")])],
                  volume_sources=(VolumeSource("cache", "emptyDir"),))
    assert container_credentials(p)[0].profile is None
    assert resolve_chain(p, inventory([p])).mechanism is Mechanism.NODE_ROLE


def test_an_env_keys_container_ignores_the_files():
    p = _files_pod([EnvVar("AWS_ACCESS_KEY_ID", KEY), EnvVar("AWS_SECRET_ACCESS_KEY", "s"),
                    EnvVar("AWS_SHARED_CREDENTIALS_FILE", "/etc/aws/credentials")], [("aws-credentials", "/etc/aws")])
    assert resolve_chain(p, inventory([p])).mechanism is Mechanism.STATIC_KEYS


def test_replicas_with_and_without_files_are_not_confused_by_the_cache():
    env = (EnvVar("AWS_SHARED_CREDENTIALS_FILE", "/etc/aws/credentials"),)
    with_files = plain_pod("a", containers=[container("app", env, [("aws-credentials", "/etc/aws")])],
                           volume_sources=(SECRET_VOLUME,))
    without = plain_pod("b", containers=[replace(with_files.containers[0], volume_mounts=())], volume_sources=())
    chains = resolve_all(inventory([with_files, without]))
    assert chains[with_files.uid].mechanism is Mechanism.PROFILE
    assert chains[without.uid].mechanism is Mechanism.NODE_ROLE


# --- 3. static keys name their owner -----------------------------------------------------------------


def _keys_pod():
    return plain_pod("legacy", containers=[container("app", [EnvVar("AWS_ACCESS_KEY_ID", KEY),
                                                               EnvVar("AWS_SECRET_ACCESS_KEY", None, "secret s/k")])])


def test_static_keys_name_their_user():
    p = _keys_pod()
    owner = AccessKeyOwner(KEY, ACCOUNT, "ci-deploy", f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deploy")
    chain = resolve_chain(p, replace(inventory([p], [sa("default", role_arn=None)]), access_keys={KEY: owner}))
    assert chain.effective.arn == f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deploy"
    assert chain.effective.label == "user/ci/ci-deploy" and chain.effective.key_owner == owner
    assert chain.effective_identity == f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deploy"
    assert chain.verdict is Verdict.WARNING  # static keys, no role meant


def test_a_key_of_another_account_names_the_account():
    p = _keys_pod()
    chain = resolve_chain(p, replace(inventory([p]), access_keys={KEY: AccessKeyOwner(KEY, "999988887777")}))
    assert chain.effective.label == "an IAM user of account 999988887777" and chain.effective.arn is None
    assert F.STATIC_KEY_OTHER_ACCOUNT in codes(chain)


def test_a_deleted_key_gives_no_credentials():
    p = _keys_pod()
    gone = Unavailable(f"no access key {KEY[:4]}… in account {ACCOUNT}", None, "not-found")
    chain = resolve_chain(p, replace(inventory([p]), access_keys={KEY: gone}))
    assert chain.effective.status is LinkStatus.BROKEN and "InvalidClientTokenId" in chain.effective.why
    assert F.STATIC_KEY_NOT_FOUND in codes(chain) and chain.verdict is Verdict.BROKEN


def test_an_unreadable_owner_keeps_the_masked_key_and_says_why():
    p = _keys_pod()
    denied = Unavailable("access denied", "iam:GetAccessKeyLastUsed", "forbidden")
    chain = resolve_chain(p, replace(inventory([p]), access_keys={KEY: denied}))
    assert chain.effective.label == "static keys AKIA…MPLE" and chain.effective.status is LinkStatus.OK
    assert "needs iam:GetAccessKeyLastUsed" in chain.effective.why


# --- 5. Pod Identity trust that tests the pod's own tags ----------------------------------------------


def _pod_name_trust(name: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-pod-name": name}}}]}


def _pi_pods(trust):
    pods = [pod(n, containers=[pod_identity_container()], tokens=(PI_TOKEN,)) for n in ("uploader-a", "uploader-b")]
    pi_role = role("arn:aws:iam::113534181560:role/pod-identity-s3", trust)
    return pods, resolve_all(inventory(pods, [sa(role_arn=None)], [pi_role], associations=[association()]))


def test_a_trust_on_the_pod_name_is_decided_per_pod():
    (a, b), chains = _pi_pods(_pod_name_trust("uploader-a"))
    assert chains[a.uid].trust.decision is Decision.ALLOW
    assert chains[a.uid].effective.status is LinkStatus.OK
    assert chains[b.uid].trust.decision is Decision.NOT_ALLOWED
    assert chains[b.uid].effective.status is LinkStatus.BROKEN
    request = chains[a.uid].trust.requests[0]
    assert request.lookup("aws:RequestTag/kubernetes-pod-uid") == (a.uid,)
    assert "kubernetes-pod-name" in request.lookup("aws:TagKeys")


def test_a_trust_without_pod_tags_is_shared_by_every_pod_of_the_service_account():
    (a, b), chains = _pi_pods(POD_IDENTITY_TRUST)
    assert chains[a.uid].trust is chains[b.uid].trust  # one evaluation for the service account
    assert chains[a.uid].trust.decision is Decision.ALLOW


def test_the_node_role_is_untouched():
    p = plain_pod()
    assert resolve_chain(p, inventory([p])).effective.arn == NODE_ROLE


def test_the_cross_account_roles_own_account_role_still_works():
    p = pod()
    chain = resolve_chain(p, inventory([p], [sa()], [role()]))
    assert chain.effective.arn == ROLE_ARN and chain.verdict is Verdict.OK
