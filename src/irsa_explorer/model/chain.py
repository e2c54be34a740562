"""Identity chains (computed by analysis.identity) and the findings they carry. Each link holds
its typed result; panes and the report render these and decide nothing again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .aws import AccessKeyOwner, InstanceMetadataOptions, OidcProvider
from .common import LinkStatus, Mechanism, Severity, Verdict
from .kube import ObjectRef, VolumeSource
from .trust import Decision, TrustEvaluation, TrustRequest


@dataclass(frozen=True)
class Evidence:
    """Which field of which object shows a finding."""

    ref: ObjectRef
    field: str  # e.g. "metadata.annotations[eks.amazonaws.com/role-arn]"
    value: str | None = None


@dataclass(frozen=True)
class Finding:
    code: str  # stable, e.g. "IRSA_NOT_INJECTED"
    severity: Severity
    title: str  # one line
    explanation: str  # what a trainee needs to understand it
    evidence: tuple[Evidence, ...] = ()
    fix: str | None = None  # a command, or a corrected policy snippet


# --- Identity chains (computed by analysis.identity) ----------------------------------------
# Each link of a chain carries its typed result; the panes and the report render these and
# decide nothing again. Results are shared between the pods they hold for (per role and
# subject, per node), never copied per pod.


@dataclass(frozen=True)
class ExpectedToken:
    """The claims a pod's projected token carries, read from the pod spec (no API call)."""

    issuer: str | None  # None when the cluster's issuer is unknown
    subject: str
    audiences: tuple[str, ...]
    expiration_seconds: int | None
    path: str  # the file inside the container
    volume: str


@dataclass(frozen=True)
class ProviderCheck:
    """The IAM OIDC provider STS looks up for an IRSA token: the token's issuer, in the role's
    account, with the token's audience among its client IDs."""

    status: LinkStatus
    reason: str  # why (not), in words
    issuer: str | None = None  # the token's issuer; None when unknown
    url: str | None = None  # the issuer as IAM stores a provider URL (no scheme, nothing stripped)
    expected_arn: str | None = None  # the provider ARN STS looks up, when the role's account is known
    provider: OidcProvider | None = None  # the provider whose URL is the issuer's, if one is
    audiences: tuple[str, ...] = ()  # the token's aud

    @property
    def client_ids(self) -> tuple[str, ...]:
        return self.provider.client_ids if self.provider else ()


@dataclass(frozen=True)
class TrustCheck:
    """A role's trust policy evaluated for the requests the pod's mechanism really makes:
    IRSA's AssumeRoleWithWebIdentity with the pod's token claims, or Pod Identity's
    AssumeRole and TagSession with EKS's session tags (all must be allowed)."""

    role_arn: str
    requests: tuple[TrustRequest, ...]
    evaluations: tuple[TrustEvaluation, ...]  # one per request, in the same order
    evaluation: TrustEvaluation  # all of them together: the worst decision, its reason
    made_by: str  # in words: what the requests carry

    @property
    def decision(self) -> Decision:
        return self.evaluation.decision


@dataclass(frozen=True)
class NodeAccess:
    """Whether a pod's SDK reaches what its node hands out: the instance metadata service (the
    node's role) or the EKS Pod Identity agent. Worked out once per node (and network namespace)."""

    kind: str  # "imds" | "pod-identity-agent"
    node: str | None
    status: LinkStatus  # OK: reachable; BROKEN: not (no credentials from it); UNKNOWN: cannot tell
    reason: str  # why, in words
    compute: str = "ec2"  # "ec2" | "fargate" | "unknown" (the node is not known)
    metadata: InstanceMetadataOptions | None = None  # imds: the instance's settings, when read
    host_network: bool = False  # imds: the pod shares the node's network namespace (one hop closer)
    agents: tuple[str, ...] = ()  # pod-identity-agent: the agent pods found on the node


@dataclass(frozen=True)
class StsEndpoint:
    """Which STS endpoint an IRSA pod's SDK calls for AssumeRoleWithWebIdentity."""

    setting: str | None  # AWS_STS_REGIONAL_ENDPOINTS as the container sets it; None: not set
    scope: str  # "regional" | "global" (legacy sts.amazonaws.com) | "sdk-default" | "invalid"
    endpoint: str | None  # the host, when the setting decides it
    reason: str  # in words


@dataclass(frozen=True)
class SharedFile:
    """One of the SDK's shared files (credentials or config) as a container's spec shows it:
    where the SDK looks and what provides it there. Its content is never read."""

    kind: str  # "credentials" | "config"
    path: str  # the file the SDK reads
    set_by: str  # "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", or "default ($HOME/.aws/…)"
    source: VolumeSource | None = None  # the volume mounted there; None: nothing (only the image could have it)
    key: str | None = None  # the Secret's / ConfigMap's key that is this file, when known

    def describe(self) -> str:
        if self.source is None:
            return f"{self.path} (no volume mounted there)"
        key = f", key {self.key}" if self.key else ""
        return f"{self.path} from {self.source.describe()}{key}"


@dataclass(frozen=True)
class ProfileSource:
    """The profile a container's SDK reads and the files it reads it from (AWS_PROFILE,
    AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, or their defaults)."""

    profile: str  # AWS_PROFILE (else AWS_DEFAULT_PROFILE), or "default"
    set_by: str | None  # "AWS_PROFILE" / "AWS_DEFAULT_PROFILE", None: the default profile
    files: tuple[SharedFile, ...] = ()

    @property
    def mounted(self) -> tuple[SharedFile, ...]:
        """The files a volume provides (a Secret, a ConfigMap …): what the SDK will find."""
        return tuple(f for f in self.files if f.source is not None)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.source.name for f in self.mounted if f.source and f.source.kind == "secret" and f.source.name))


@dataclass(frozen=True)
class EffectiveIdentity:
    """Who the pod's SDK really ends up as, where that comes from and why."""

    mechanism: Mechanism
    # OK: the pod gets it (mechanism NONE: no credentials, and none were meant for it);
    # BROKEN: no credentials although some were meant; UNKNOWN: not every link was checked.
    status: LinkStatus
    label: str  # how it reads: a role name, "static keys AKIA…1234", "no credentials"
    arn: str | None  # the identity's ARN when known (the role whose permissions apply)
    source: str  # where the credentials come from, in words
    why: str  # why this identity and not another
    node: str | None = None  # node role: the node whose instance role it is
    key_source: str | None = None  # static keys: where the keys are set (env field, Secret)
    key_owner: AccessKeyOwner | None = None  # static keys: whose keys (when looked up)
    profile: ProfileSource | None = None  # profile (and IRSA with shared files): the profile and its files
    access: NodeAccess | None = None  # node role / Pod Identity: how the pod reaches its node's IMDS or agent
    sts_endpoint: StsEndpoint | None = None  # IRSA: which STS endpoint the SDK exchanges the token at


LinkResult = ExpectedToken | ProviderCheck | TrustCheck | EffectiveIdentity


@dataclass(frozen=True)
class ChainLink:
    """One step of pod → service account → token → OIDC provider → role → trust → identity."""

    step: str  # "pod", "service-account", "token", "oidc-provider", "role", "trust-policy", "identity"
    label: str
    status: LinkStatus
    detail: str = ""
    ref: ObjectRef | None = None
    # The typed result the status and words were made from: token → ExpectedToken,
    # oidc-provider → ProviderCheck, trust-policy → TrustCheck, identity → EffectiveIdentity.
    result: LinkResult | None = None


@dataclass(frozen=True)
class IdentityChain:
    pod: ObjectRef
    mechanism: Mechanism
    intended_role_arn: str | None
    effective_identity: str | None  # a role ARN, "static keys AKIA…", or None when unknown
    verdict: Verdict
    links: tuple[ChainLink, ...] = ()
    findings: tuple[Finding, ...] = ()

    def link(self, step: str) -> ChainLink | None:
        return next((link for link in self.links if link.step == step), None)

    def _result(self, step: str, kind: type) -> Any:
        link = self.link(step)
        return link.result if link is not None and isinstance(link.result, kind) else None

    @property
    def token(self) -> ExpectedToken | None:
        """The token the mechanism presents (IRSA or Pod Identity), from the pod spec."""
        return self._result("token", ExpectedToken)

    @property
    def provider(self) -> ProviderCheck | None:
        return self._result("oidc-provider", ProviderCheck)

    @property
    def trust(self) -> TrustCheck | None:
        return self._result("trust-policy", TrustCheck)

    @property
    def effective(self) -> EffectiveIdentity | None:
        return self._result("identity", EffectiveIdentity)
