"""What every part of the model shares: the EKS names (annotations, paths, audiences), the
enums, `Unavailable` and `ObjectRef`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
AUDIENCE_ANNOTATION = "eks.amazonaws.com/audience"
STS_REGIONAL_ANNOTATION = "eks.amazonaws.com/sts-regional-endpoints"
TOKEN_EXPIRATION_ANNOTATION = "eks.amazonaws.com/token-expiration"
SKIP_CONTAINERS_ANNOTATION = "eks.amazonaws.com/skip-containers"
SKIP_WEBHOOK_LABEL = "eks.amazonaws.com/skip-pod-identity-webhook"
DEFAULT_AUDIENCE = "sts.amazonaws.com"
POD_IDENTITY_AUDIENCE = "pods.eks.amazonaws.com"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
IRSA_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
IRSA_TOKEN_PATH = IRSA_TOKEN_DIR + "/token"
IRSA_VOLUME = "aws-iam-token"
POD_IDENTITY_TOKEN_PATH = (
    "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"
)
POD_IDENTITY_VOLUME = "eks-pod-identity-token"
POD_IDENTITY_URI = "http://169.254.170.23/v1/credentials"
DEFAULT_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"
COMPUTE_TYPE_LABEL = "eks.amazonaws.com/compute-type"  # "fargate" on the nodes Fargate runs pods on
# The EKS Pod Identity agent add-on: a DaemonSet whose pods carry this label in kube-system.
POD_IDENTITY_AGENT_NAMESPACE = "kube-system"
POD_IDENTITY_AGENT_SELECTOR = "app.kubernetes.io/name=eks-pod-identity-agent"


class Mechanism(StrEnum):
    """How a pod gets its AWS identity, in the SDK's order of precedence."""

    STATIC_KEYS = "static-keys"
    # A profile of the shared config / credentials files (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE,
    # AWS_CONFIG_FILE, a Secret mounted there): an assume-role profile comes before IRSA, keys after it.
    PROFILE = "profile"
    IRSA = "irsa"
    POD_IDENTITY = "pod-identity"
    NODE_ROLE = "node-role"
    NONE = "none"


class Verdict(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BROKEN = "broken"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LinkStatus(StrEnum):
    """The state of one link of an identity chain."""

    OK = "ok"
    BROKEN = "broken"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"  # does not apply to this pod's mechanism


@dataclass(frozen=True)
class Unavailable:
    """A value we could not fetch. Shown as "unknown" with `reason`, never as a verdict."""

    reason: str
    permission: str | None = None  # e.g. "iam:GetRole" when the call was denied
    # Why, as a class: "forbidden" (denied), "not-found" (the object does not exist),
    # "not-available" (the API does not answer here), or None (any other failure).
    kind: str | None = None

    def __str__(self) -> str:
        if self.permission:
            return f"unknown: {self.reason} (needs {self.permission})"
        return f"unknown: {self.reason}"


def service_account_subject(namespace: str, name: str) -> str:
    """The `sub` of a service account's tokens (and its Kubernetes user name)."""
    return f"system:serviceaccount:{namespace}:{name}"
