"""Findings about the credentials a pod brings itself or reaches across accounts: profiles from
files a pod mounts (a Secret at AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, AWS_PROFILE), the
owner of static keys, and IRSA with a role in another account. The reasoning is in
analysis.profiles and analysis.mechanisms; these word it, with a fix."""

from __future__ import annotations

import shlex

from irsa_explorer.model import (
    AccessKeyOwner,
    Evidence,
    Finding,
    ObjectRef,
    Pod,
    ProfileSource,
    Severity,
    SharedFile,
)

from ..tokens import key_id_masked as _mask
from ..trust import issuer_host_path
from .catalogue import CATALOGUE, CROSS_ACCOUNT_PROVIDER_UNKNOWN, NO_OIDC_PROVIDER, _make, _restart_fix, _spec

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

CREDENTIALS_FROM_PROFILE = _spec(
    "CREDENTIALS_FROM_PROFILE", W, "A.5",
    "The container's SDK takes its credentials from a profile in a mounted file",
    "The container names a profile (AWS_PROFILE) or a shared credentials / config file "
    "(AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, or ~/.aws/), and a volume — usually a Secret — puts the file "
    "there. Every SDK reads such a profile before EKS Pod Identity and the node role, so whatever the profile "
    "holds (static keys, an assume-role profile, SSO, credential_process) is who the pod is. This tool never "
    "reads a Secret's value, so it names the Secret and key, not the identity. Long-lived keys in a Secret are "
    "also a security risk: whoever can read the Secret can use them, and they do not rotate.",
    "Remove the mounted credentials and the profile variables, give the service account a role with IRSA or "
    "EKS Pod Identity, restart the pod, then deactivate the keys the Secret held.",
)
PROFILE_MAY_OVERRIDE_IRSA = _spec(
    "PROFILE_MAY_OVERRIDE_IRSA", W, "A.5",
    "An IRSA pod also mounts shared AWS files: an assume-role profile in them would win",
    "botocore (the aws CLI, boto3) reads an assume-role profile (role_arn with source_profile or "
    "credential_source) before web identity, and static keys, SSO and credential_process after it. The files "
    "come from a Secret this tool does not read, so whether the pod gets its IRSA role or the profile's role "
    "is unknown. SDKs that read profiles before web identity (Rust, C++) would use the file's keys too.",
    "Drop the mounted credentials and AWS_PROFILE if IRSA is meant; otherwise drop IRSA (the annotation) and "
    "say so. Check the Secret: kubectl -n NS get secret NAME -o jsonpath='{.data}' | jq 'keys'.",
)
PROFILE_NOT_MOUNTED = _spec(
    "PROFILE_NOT_MOUNTED", W, "A.5",
    "AWS_PROFILE names a profile, but no file is mounted where the SDK reads it",
    "With AWS_PROFILE set, the SDK must find that profile in its config or credentials file, or it stops "
    "before any call ('The config profile (NAME) could not be found'). No volume puts either file where this "
    "container's SDK reads it; only a file built into the image could hold the profile.",
    "Mount the Secret with the profile at AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, or remove AWS_PROFILE.",
)
STATIC_KEY_NOT_FOUND = _spec(
    "STATIC_KEY_NOT_FOUND", E, "A.5",
    "The static access key in the pod no longer exists",
    "The key is of this account (STS GetAccessKeyInfo) but IAM has no such key (GetAccessKeyLastUsed): it was "
    "deleted. Every call the pod makes fails with 'InvalidClientTokenId: The security token included in the "
    "request is invalid'.",
    "Give the service account a role with IRSA or EKS Pod Identity and remove the keys from the pod spec.",
)
STATIC_KEY_OTHER_ACCOUNT = _spec(
    "STATIC_KEY_OTHER_ACCOUNT", W, "A.5",
    "The static access key belongs to another AWS account",
    "STS GetAccessKeyInfo says the key is of another account: the pod acts as an IAM user of that account, "
    "outside the cluster account's IAM, and this tool cannot name the user (IAM answers only for its own keys).",
    "Use IRSA with a role in that account (its OIDC provider for this cluster's issuer) instead of keys.",
)


def profile_in_use(pod: Pod, container: str, profile: ProfileSource, intended: str | None) -> Finding:
    """CREDENTIALS_FROM_PROFILE: an error when it overrides a role the pod was meant to have."""
    files = ", ".join(f.describe() for f in profile.mounted) or "no mounted file"
    title = f"Container {container} reads profile {profile.profile} from {files}"
    explanation = CATALOGUE[CREDENTIALS_FROM_PROFILE].explanation
    finding = _make(CREDENTIALS_FROM_PROFILE, title=title, evidence=_evidence(pod, container, profile),
                    explanation=explanation + (f" Here it overrides the intended role {intended}." if intended else ""),
                    fix=_fix(pod, profile, CATALOGUE[CREDENTIALS_FROM_PROFILE].fix))
    if intended:
        return Finding(finding.code, E, finding.title, finding.explanation, finding.evidence, finding.fix)
    return finding


def profile_may_override_irsa(pod: Pod, container: str, profile: ProfileSource, role_arn: str) -> Finding:
    files = ", ".join(f.describe() for f in profile.mounted)
    return _make(
        PROFILE_MAY_OVERRIDE_IRSA,
        title=f"Container {container} has IRSA ({role_arn}) and reads profile {profile.profile} from {files}",
        evidence=_evidence(pod, container, profile),
        fix=_fix(pod, profile, CATALOGUE[PROFILE_MAY_OVERRIDE_IRSA].fix),
    )


def profile_not_mounted(pod: Pod, container: str, profile: ProfileSource) -> Finding:
    return _make(
        PROFILE_NOT_MOUNTED,
        title=f"Container {container} sets {profile.set_by}={profile.profile}, but no file holding it is mounted",
        explanation=CATALOGUE[PROFILE_NOT_MOUNTED].explanation.replace("(NAME)", f"({profile.profile})"),
        evidence=_evidence(pod, container, profile),
    )


def static_key_not_found(pod: Pod, container: str, owner: AccessKeyOwner | None, key: str, reason: str) -> Finding:
    account = f" of account {owner.account}" if owner else ""
    return _make(
        STATIC_KEY_NOT_FOUND,
        title=f"Container {container}'s access key {_mask(key)}{account} does not exist: {reason}",
        evidence=[Evidence(pod.ref, f"spec.containers[{container}].env[AWS_ACCESS_KEY_ID]", _mask(key))],
    )


def static_key_other_account(pod: Pod, container: str, owner: AccessKeyOwner) -> Finding:
    return _make(
        STATIC_KEY_OTHER_ACCOUNT,
        title=f"Container {container}'s access key {_mask(owner.key_id)} is of account {owner.account}",
        evidence=[Evidence(pod.ref, f"spec.containers[{container}].env[AWS_ACCESS_KEY_ID]", _mask(owner.key_id)),
                  Evidence(ObjectRef("Account", owner.account), "sts:GetAccessKeyInfo", owner.account)],
    )


def cross_account_unreadable(role_arn: str, role_account: str, our_account: str, reason: str) -> Finding:
    """CROSS_ACCOUNT_PROVIDER_UNKNOWN with why the role's account could not be read, and the option that reads it."""
    return _make(
        CROSS_ACCOUNT_PROVIDER_UNKNOWN,
        title=f"Role {role_arn} is in account {role_account}; its OIDC provider is unknown: {reason}",
        evidence=[Evidence(ObjectRef("Role", role_arn), "account", role_account),
                  Evidence(ObjectRef("Account", our_account), "the explorer's credentials", our_account)],
        fix=(f"irsa-explorer --account-profile {role_account}=PROFILE … (a profile of your AWS config for account "
             f"{role_account} that may call iam:ListOpenIDConnectProviders, iam:GetOpenIDConnectProvider and "
             f"iam:GetRole), or: aws iam list-open-id-connect-providers --profile PROFILE"),
    )


def no_oidc_provider_in_account(issuer: str, account: str, profile: str | None, token_ref: ObjectRef) -> Finding:
    """NO_OIDC_PROVIDER for a role in another account: eksctl only makes the cluster account's."""
    named = f" --profile {shlex.quote(profile)}" if profile else ""
    return _make(
        NO_OIDC_PROVIDER,
        title=f"No IAM OIDC provider for {issuer_host_path(issuer)} in account {account}, where the role is",
        explanation=CATALOGUE[NO_OIDC_PROVIDER].explanation
        + " The role is in another account than the cluster: STS looks the provider up in the role's account, "
          "so that account needs a provider for this cluster's issuer too.",
        evidence=[Evidence(token_ref, "token.iss", issuer),
                  Evidence(ObjectRef("Account", account), "iam:ListOpenIDConnectProviders", None)],
        fix=(f"aws iam create-open-id-connect-provider --url {shlex.quote(issuer)} --client-id-list sts.amazonaws.com"
             f"{named}   # credentials of account {account}"),
    )


def _evidence(pod: Pod, container: str, profile: ProfileSource) -> list[Evidence]:
    out = []
    if profile.set_by:
        out.append(Evidence(pod.ref, f"spec.containers[{container}].env[{profile.set_by}]", profile.profile))
    for file in profile.files:
        out.append(_file_evidence(pod, container, file))
    return out


def _file_evidence(pod: Pod, container: str, file: SharedFile) -> Evidence:
    if file.source is None:
        return Evidence(pod.ref, f"spec.containers[{container}] {file.set_by}", f"{file.path} (nothing mounted)")
    source = file.source
    where = f"spec.volumes[{source.volume}]"
    if source.kind in ("secret", "configMap") and source.name:
        return Evidence(ObjectRef("Secret" if source.kind == "secret" else "ConfigMap", source.name, pod.namespace),
                        f"data[{file.key}]" if file.key else "data", f"mounted at {file.path} ({where})")
    return Evidence(pod.ref, where, f"{source.kind}, mounted at {file.path}")


def _fix(pod: Pod, profile: ProfileSource, generic: str) -> str:
    secrets = profile.secrets
    if not secrets:
        return generic
    look = f"kubectl -n {pod.namespace} get secret {shlex.quote(secrets[0])} -o jsonpath='{{.data}}' | jq 'keys'"
    first = generic.split(" Check the Secret")[0]
    return f"{first} What the Secret holds (its key names only): {look}. Then recreate the pod: {_restart_fix(pod)}"
