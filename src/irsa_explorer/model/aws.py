"""AWS objects: the cluster, IAM OIDC providers, roles and their policies, EC2 instance
metadata options, access-key owners, EKS Pod Identity associations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .kube import ObjectRef


@dataclass(frozen=True)
class Cluster:
    name: str
    arn: str
    region: str
    account: str
    issuer: str | None
    version: str | None = None


@dataclass(frozen=True)
class OidcProvider:
    arn: str
    url: str  # without https://, as IAM returns it
    client_ids: tuple[str, ...] = ()
    thumbprints: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttachedPolicy:
    name: str
    arn: str


@dataclass(frozen=True)
class Role:
    arn: str
    name: str
    account: str
    trust_policy: Any  # the document as IAM returned it: a dict, or a str that may not parse
    path: str = "/"
    max_session_duration: int | None = None
    permissions_boundary: str | None = None
    last_used: datetime | None = None
    last_used_region: str | None = None
    created: datetime | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Role", self.arn)


@dataclass(frozen=True)
class RolePolicies:
    """Fetched only when a user opens a role: one call per policy is too many for a list."""

    role_arn: str
    attached: tuple[AttachedPolicy, ...] = ()
    inline: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class InstanceMetadataOptions:
    """An EC2 instance's instance-metadata settings (DescribeInstances `MetadataOptions`):
    whether IMDS answers, whether IMDSv2 tokens are required, how far the token's answer goes."""

    instance_id: str
    http_tokens: str | None  # "required" (IMDSv2 only) | "optional" (IMDSv1 allowed)
    hop_limit: int | None  # HttpPutResponseHopLimit: IP hops the PUT /latest/api/token answer survives
    http_endpoint: str | None  # "enabled" | "disabled"
    state: str | None = None  # "pending" | "applied"


@dataclass(frozen=True)
class AccessKeyOwner:
    """Whose access key it is: its account (STS GetAccessKeyInfo), and for a key of the reader's
    own account the IAM user (IAM GetAccessKeyLastUsed, GetUser)."""

    key_id: str
    account: str
    user_name: str | None = None
    arn: str | None = None  # arn:aws:iam::ACCOUNT:user/PATH/NAME, as get-caller-identity shows it


@dataclass(frozen=True)
class PodIdentityAssociation:
    association_id: str
    cluster: str
    namespace: str
    service_account: str
    role_arn: str
    association_arn: str | None = None
