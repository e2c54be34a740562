"""The few places the lab reads moto's state directly, in the server's own process.

The lab answers some calls itself (STS web identity, IMDS, Pod Identity) and needs what IAM
and EC2 hold: OIDC providers, roles and trust policies, instance profiles. Reading moto's
backends in-process is what its own request handlers do; credentials are minted through
moto's STS backend so they are real moto credentials that IAM enforcement and
`get-caller-identity` recognise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Must be set before moto builds an IAM backend: the walkthrough attaches the AWS-managed
# AmazonS3ReadOnlyAccess, which moto only has when asked to load managed policies.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
# Scenarios name their AMI and moto does not validate AMIs, so its catalogue of 1,288 public
# images (a quarter second of the lab's start, in the first EC2 call) is never needed.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from moto.iam.models import iam_backends  # noqa: E402
from moto.sts.models import sts_backends  # noqa: E402

PARTITION = "aws"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    assumed_role_arn: str  # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
    assumed_role_id: str  # ROLEID:SESSION


@dataclass(frozen=True)
class Provider:
    arn: str
    url: str  # host/path, as IAM stores it
    client_ids: tuple[str, ...]


_WARMED: dict[str, Any] = {}  # the lab host's warm-up (lab/host.py), taken once by the lab forked from it


def warm_up(accounts: list[str], services: tuple[str, ...] = ("iam", "sts", "ec2", "eks", "s3")) -> None:
    """For the lab host, before it forks labs: IAM backends of `accounts` (the AWS-managed
    policies loaded, ~45 MB each) and moto's per-service server apps (each builds a backend of
    moto's default account to read its URLs: IAM's loads the managed policies too). Built once
    here and shared copy-on-write by every lab; they hold nothing of any lab.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    for account in accounts:
        iam(account)
    app = DomainDispatcherApplication(create_backend_app)
    for service in services:
        app.app_instances[service] = app.create_app(service)
    _WARMED["app"] = app
    _WARMED["backends"] = True


def moto_app() -> Any:
    """moto's server app: the host's warmed one the first time in a forked lab, else a new one."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return _WARMED.pop("app", None) or DomainDispatcherApplication(create_backend_app)


def forget_all_state() -> None:
    """Drop every moto backend so the next lab starts empty.

    moto's own reset re-creates each backend at once (loading AMIs and managed policies
    again, seconds on a busy machine) only to throw them away; dropping the per-region
    backends lets moto build them lazily on first use instead. In a lab forked by the lab
    host the backends are the host's warm-up (nothing of a lab yet): kept, the first time.
    """
    if _WARMED.pop("backends", None):
        return
    from moto.core.base_backend import BackendDict, backend_lock
    from moto.core.model_instances import reset_model_data

    with backend_lock:
        for service_backends in list(BackendDict._instances):
            for account_backends in list(service_backends.values()):
                dict.clear(account_backends)
    reset_model_data()


def iam(account: str) -> Any:
    return iam_backends[account][PARTITION]


def find_oidc_provider(account: str, issuer: str) -> Provider | None:
    """The IAM OIDC provider whose Url equals `issuer` without https:// (IAM compares exactly)."""
    wanted = issuer.removeprefix("https://")
    for arn, provider in list(iam(account).open_id_providers.items()):
        if provider.url == wanted:
            return Provider(arn, provider.url, tuple(provider.client_id_list or ()))
    return None


def find_role(role_arn: str) -> Any | None:
    """The moto Role for an ARN, or None (a missing role reads as AccessDenied in STS)."""
    from irsa_explorer.analysis.arns import parse_role_arn  # the engine's ARN rule

    parsed = parse_role_arn(role_arn)
    if parsed is None:
        return None
    account = parsed.account
    try:
        return iam(account).get_role_by_arn(role_arn)
    except Exception:  # moto raises its own NotFound/IAMNotFound types
        return None


def assume(role_arn: str, session_name: str, region: str, duration: int = 3600) -> Credentials:
    """Mint real moto session credentials for `role_arn` (the checks are the caller's job)."""
    from irsa_explorer.analysis.arns import account_of_arn

    account = account_of_arn(role_arn)
    backend = sts_backends[account][PARTITION]
    assumed = backend.assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,
        duration=duration,
        external_id=None,
    )
    return Credentials(
        access_key_id=assumed.access_key_id,
        secret_access_key=assumed.secret_access_key,
        session_token=assumed.session_token,
        expiration=assumed.expiration,
        assumed_role_arn=assumed.arn,
        assumed_role_id=assumed.user_id,
    )


def find_role_by_name(account: str, name: str) -> Any | None:
    try:
        return iam(account).get_role(name)
    except Exception:
        return None


@dataclass(frozen=True)
class InstanceInfo:
    instance_id: str
    availability_zone: str
    role_name: str | None  # of the instance profile, None when the instance has none
    role_arn: str | None
    http_tokens: str  # "optional" | "required"
    hop_limit: int
    http_endpoint: str = "enabled"  # "enabled" | "disabled"


def find_instance(account: str, region: str, instance_id: str) -> InstanceInfo | None:
    """An EC2 instance and the role of its instance profile (what IMDS hands out)."""
    backend = _ec2(account, region)
    try:
        instance = backend.get_instance(instance_id)
    except Exception:
        return None
    role = None
    association = backend.iam_instance_profile_associations.get(instance_id)
    profile = association.iam_instance_profile if association else None
    if profile is None and isinstance(instance.iam_instance_profile, dict):
        profile = _profile_from_reference(account, instance.iam_instance_profile)
    if profile is not None and profile.roles:
        role = profile.roles[0]
    options = instance.metadata_options
    return InstanceInfo(
        instance_id=instance_id,
        availability_zone=instance.placement,
        role_name=role.name if role else None,
        role_arn=role.arn if role else None,
        http_tokens=options.http_tokens,
        hop_limit=options.http_put_response_hop_limit,
        http_endpoint=options.http_endpoint or "enabled",
    )


def _ec2(account: str, region: str) -> Any:
    # Imported on first use: moto's EC2 models take most of a second to load.
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def _profile_from_reference(account: str, reference: dict[str, str]) -> Any | None:
    try:
        if reference.get("Arn"):
            return iam(account).get_instance_profile_by_arn(reference["Arn"])
        if reference.get("Name"):
            return iam(account).get_instance_profile(reference["Name"])
    except Exception:
        return None
    return None


def find_instance_by_node_name(account: str, region: str, node_name: str) -> str | None:
    """An instance whose private DNS name (EKS's node name) or Name tag equals `node_name`."""
    backend = _ec2(account, region)
    for reservation in list(backend.reservations.values()):
        for instance in reservation.instances:
            tags = {tag["key"]: tag["value"] for tag in backend.describe_tags(filters={"resource-id": [instance.id]})}
            if node_name in (instance.private_dns_name, tags.get("Name")):
                return instance.id
    return None


# --- which account and principal a key belongs to (a lab may hold several accounts) ---------


def account_of_key(access_key_id: str) -> str | None:
    """The account whose IAM holds this access key (a user's, or an STS session's), or None.

    moto keeps every account's keys in that account's IAM backend; AWS knows a key's account
    the same way (`sts get-access-key-info`), so requests are served in the key's account."""
    for account, backends in list(iam_backends.items()):
        backend = dict.get(backends, PARTITION)
        if backend is not None and access_key_id in backend.access_keys:
            return account
    return None


def principal_of_key(account: str, access_key_id: str) -> tuple[str, str] | None:
    """(IAM principal ARN, caller ARN as STS words it) of a key of `account`: a user's ARN twice,
    or for an STS session its role's ARN and the session's assumed-role ARN. None if unknown."""
    try:
        user = iam(account).get_user_from_access_key_id(access_key_id)
    except Exception:
        user = None
    if user is not None:
        return user.arn, user.arn
    session = sts_backends[account][PARTITION].get_assumed_role_from_access_key(access_key_id)
    if session is not None:
        return session.role_arn, session.arn
    return None
