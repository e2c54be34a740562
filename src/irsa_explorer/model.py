"""The domain's plain data: what the data sources return and what the analysis reads.

Nothing here imports Textual, kubernetes or boto3. Everything is a frozen dataclass so it can
be shared between worker threads and the UI without copies or locks.

A value that could not be fetched is an `Unavailable` carrying the reason (and, when known,
the missing permission) — never a default that would read as "none" or "ok".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

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


# --- Kubernetes objects ------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectRef:
    """Points at one object anywhere: the target of a cross-link and of finding evidence."""

    kind: str  # "Pod", "ServiceAccount", "Node", "Role", "OidcProvider", "Namespace", ...
    name: str  # for IAM objects, the ARN
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None  # literal value
    value_from: str | None = None  # e.g. "secret my-secret/key" when set through valueFrom


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[str, ...] = ()  # e.g. "secret aws-creds", "configMap settings"
    volume_mounts: tuple[tuple[str, str], ...] = ()  # (volume name, mount path)
    init: bool = False
    sub_paths: tuple[tuple[str, str, str], ...] = ()  # (volume, mount path, subPath) of mounts with a subPath

    def env_value(self, name: str) -> str | None:
        for var in self.env:
            if var.name == name:
                return var.value
        return None

    def has_env(self, name: str) -> bool:
        return any(var.name == name for var in self.env)


@dataclass(frozen=True)
class ProjectedToken:
    """A projected serviceAccountToken source of a pod volume."""

    volume: str
    audience: str | None  # None: the API server's default audience
    expiration_seconds: int | None
    path: str


@dataclass(frozen=True)
class VolumeSource:
    """What a pod volume holds, for the files it puts in containers: a Secret's or ConfigMap's
    keys (never their values), or another kind of volume. A projected volume gives one per source."""

    volume: str
    kind: str  # "secret" | "configMap" | "emptyDir" | "hostPath" | "persistentVolumeClaim" | … (the volume's type)
    name: str | None = None  # the Secret's or ConfigMap's name
    items: tuple[tuple[str, str], ...] = ()  # (key, path in the volume) when listed; (): every key at its own name

    def describe(self) -> str:
        return f"{'Secret' if self.kind == 'secret' else self.kind} {self.name}" if self.name else f"{self.kind} volume {self.volume}"


@dataclass(frozen=True)
class Pod:
    uid: str
    namespace: str
    name: str
    service_account: str
    node_name: str | None
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    status: str  # what kubectl's STATUS column says: Running, Error, Completed, ...
    created: datetime | None
    containers: tuple[Container, ...] = ()  # init containers included, with init=True
    projected_tokens: tuple[ProjectedToken, ...] = ()
    # What the pod's other volumes are (Secret, ConfigMap, emptyDir …): where a mounted file comes from
    volume_sources: tuple[VolumeSource, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    host_network: bool = False
    fs_group: int | None = None
    run_as_user: int | None = None
    resource_version: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Pod", self.name, self.namespace)

    @property
    def service_account_ref(self) -> ObjectRef:
        return ObjectRef("ServiceAccount", self.service_account, self.namespace)


@dataclass(frozen=True)
class ServiceAccount:
    uid: str
    namespace: str
    name: str
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    automount_token: bool | None = None
    created: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("ServiceAccount", self.name, self.namespace)

    @property
    def role_arn(self) -> str | None:
        return self.annotations.get(ROLE_ARN_ANNOTATION)

    @property
    def subject(self) -> str:
        return service_account_subject(self.namespace, self.name)


@dataclass(frozen=True)
class Node:
    uid: str
    name: str
    provider_id: str | None  # aws:///us-east-2a/i-0123456789abcdef0
    created: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def instance_id(self) -> str | None:
        if self.provider_id and self.provider_id.startswith("aws://"):
            tail = self.provider_id.rsplit("/", 1)[-1]
            return tail if tail.startswith("i-") else None
        return None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Node", self.name)


@dataclass(frozen=True)
class AgentPod:
    """A pod of a node daemon (the EKS Pod Identity agent): where it runs and how it is doing."""

    name: str
    namespace: str
    node_name: str | None
    phase: str  # Pending, Running, ...
    status: str  # what kubectl's STATUS column says: Running, CrashLoopBackOff, ...

    @property
    def running(self) -> bool:
        return self.phase == "Running" and self.status == "Running"


@dataclass(frozen=True)
class IssuerInfo:
    """What the API server publishes about its service-account token issuer."""

    issuer: str  # https://oidc.eks.REGION.amazonaws.com/id/ID
    jwks: dict[str, Any] = field(hash=False, compare=False)


# --- AWS objects -------------------------------------------------------------------------


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


# --- Analysis results ----------------------------------------------------------------------


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


# --- Trust-policy evaluation (computed by analysis.trust) ---------------------------------


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny matched
    NOT_ALLOWED = "not-allowed"  # no Allow matched (IAM's implicit deny)
    UNKNOWN = "unknown"  # something in the policy was not understood


class CheckStatus(StrEnum):
    MATCHED = "matched"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Hint(StrEnum):
    """Stable names for the well-known trust-policy mistakes a failed check points at."""

    WILDCARD_IN_STRING_EQUALS = "wildcard-in-string-equals"
    NAMESPACE_DIFFERS = "namespace-differs"
    SERVICE_ACCOUNT_DIFFERS = "service-account-differs"
    SUBJECT_DIFFERS = "subject-differs"
    SUBJECT_IN_AUD_KEY = "subject-in-aud-key"
    AUDIENCE_DIFFERS = "audience-differs"
    KEY_WITHOUT_ISSUER_PREFIX = "key-without-issuer-prefix"
    KEY_OTHER_ISSUER = "key-other-issuer"
    PRINCIPAL_NOT_PROVIDER = "principal-not-provider"
    PRINCIPAL_OTHER_PROVIDER = "principal-other-provider"
    PRINCIPAL_OTHER_ACCOUNT = "principal-other-account"
    PRINCIPAL_TYPE_DIFFERS = "principal-type-differs"
    ACTION_DIFFERS = "action-differs"
    EXPLICIT_DENY = "explicit-deny"


@dataclass(frozen=True)
class TrustRequest:
    """Who asks to assume the role, with what action and which condition-context values."""

    action: str  # "sts:AssumeRoleWithWebIdentity", "sts:AssumeRole", "sts:TagSession"
    principal_type: str  # "Federated" | "Service" | "AWS"
    principal: str  # provider ARN, "pods.eks.amazonaws.com", or an IAM ARN
    context: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def lookup(self, key: str) -> tuple[str, ...] | None:
        """The request's values of a condition key (keys compare case-insensitively)."""
        wanted = key.lower()
        for name, values in self.context.items():
            if name.lower() == wanted:
                return tuple(values)
        return None


@dataclass(frozen=True)
class Check:
    """One check of one statement: its principal, its action, or one condition key."""

    kind: str  # "principal" | "action" | "condition" | "statement"
    status: CheckStatus
    why: str  # in words: what the policy wants, what the request has, what differs
    hint: Hint | None = None
    operator: str | None = None  # conditions: the operator as written, e.g. "StringLike"
    key: str | None = None  # conditions: the key as written
    policy_values: tuple[str, ...] = ()
    request_values: tuple[str, ...] | None = None  # None: key absent from the request


@dataclass(frozen=True)
class StatementResult:
    index: int
    sid: str | None
    effect: str | None  # "Allow" | "Deny" | None when malformed
    status: CheckStatus  # does the statement apply to the request?
    principal: Check | None
    action: Check | None
    conditions: tuple[Check, ...] = ()
    problems: tuple[str, ...] = ()  # what made (part of) the statement not understood
    why: str = ""

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for c in (self.principal, self.action) if c) + self.conditions

    @property
    def understood(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class TrustEvaluation:
    decision: Decision
    statements: tuple[StatementResult, ...]
    reason: str  # one line in words

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    @property
    def hints(self) -> tuple[Hint, ...]:
        """Known-mistake hints of the failed checks of Allow statements, in order, without repeats.

        A Deny statement that does not match is working as meant, so its failures are no hint.
        """
        seen: dict[Hint, None] = {}
        for statement in self.statements:
            if statement.effect != "Allow":
                continue
            for check in statement.checks:
                if check.hint is not None:
                    seen.setdefault(check.hint, None)
        return tuple(seen)

    def failed_checks(self) -> list[Check]:
        return [c for s in self.statements for c in s.checks if c.status is CheckStatus.FAILED]


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


@dataclass(frozen=True)
class ReadTimes:
    """When an inventory's IAM and EKS facts were read (UTC). The Kubernetes objects are watched;
    these are what can go stale, so a view says how old they are. None / absent: never read."""

    cluster: datetime | None = None
    oidc_providers: datetime | None = None
    associations: datetime | None = None
    roles: dict[str, datetime] = field(default_factory=dict, hash=False, compare=False)  # by ARN
    node_roles: dict[str, datetime] = field(default_factory=dict, hash=False, compare=False)  # by node name


@dataclass(frozen=True, eq=False)
class Inventory:
    """Everything fetched for one view of one cluster, as of one moment.

    Frozen once built, like everything here: the loader hands out a new one at each stage and
    a watch event makes a new one (`with_pod`, `without_pod`), so a thread never sees another
    change it. Compared by identity: two snapshots are two moments, even when they agree.
    The dicts are not to be changed in place either (copying one is cheap: 10,000 pods in
    well under a millisecond).
    """

    context: str
    namespace: str | None  # None: all namespaces
    pods: dict[str, Pod] = field(default_factory=dict)  # by uid
    service_accounts: dict[tuple[str, str], ServiceAccount] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)  # by name
    issuer: IssuerInfo | Unavailable | None = None
    cluster: Cluster | Unavailable | None = None
    oidc_providers: list[OidcProvider] | Unavailable | None = None
    roles: dict[str, Role | Unavailable] = field(default_factory=dict)  # by ARN
    node_roles: dict[str, str | Unavailable] = field(default_factory=dict)  # node name → role ARN
    # node name → its EC2 instance's IMDS settings (from the DescribeInstances node_roles makes)
    node_metadata: dict[str, InstanceMetadataOptions | Unavailable] = field(default_factory=dict)
    # the EKS Pod Identity agent's pods; None: not looked up (no association to serve)
    pod_identity_agents: tuple[AgentPod, ...] | Unavailable | None = None
    associations: list[PodIdentityAssociation] | Unavailable | None = None
    # the OIDC providers of the other accounts roles live in, read through --account-profile
    account_providers: dict[str, list[OidcProvider] | Unavailable] = field(default_factory=dict)
    # access key id → its owner, for the literal AWS_ACCESS_KEY_ID values of the pods (one lookup per key)
    access_keys: dict[str, AccessKeyOwner | Unavailable] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what limited this view, e.g. "cluster-wide list forbidden: …"
    read_at: ReadTimes = field(default_factory=ReadTimes)  # when each IAM / EKS fact was read
    # "pods", "serviceaccounts" → the version their list was read at: where a watch takes over
    resource_versions: dict[str, str] = field(default_factory=dict)

    def with_pod(self, pod: Pod) -> Inventory:
        """This inventory with `pod` added or replaced (a watch event)."""
        return replace(self, pods={**self.pods, pod.uid: pod})

    def without_pod(self, uid: str) -> Inventory:
        """This inventory without the pod `uid` (a watch event)."""
        pods = dict(self.pods)
        pods.pop(uid, None)
        return replace(self, pods=pods)

    def with_changes(
        self,
        pods: Iterable[Pod] = (),
        gone_pods: Iterable[str] = (),
        service_accounts: Iterable[ServiceAccount] = (),
        gone_service_accounts: Iterable[tuple[str, str]] = (),
        nodes: Iterable[Node] = (),
        gone_nodes: Iterable[str] = (),
    ) -> Inventory:
        """This inventory with Kubernetes objects added or replaced and others gone (a batch of
        watch events, in one new inventory): pods by uid, service accounts by (namespace, name),
        nodes by name. Only the dicts that change are copied."""
        changes: dict[str, Any] = {}
        for name, current, added, gone, key in (
            ("pods", self.pods, tuple(pods), tuple(gone_pods), lambda o: o.uid),
            ("service_accounts", self.service_accounts, tuple(service_accounts), tuple(gone_service_accounts),
             lambda o: o.key),
            ("nodes", self.nodes, tuple(nodes), tuple(gone_nodes), lambda o: o.name),
        ):
            if added or gone:
                updated = dict(current)
                for k in gone:
                    updated.pop(k, None)
                updated.update((key(o), o) for o in added)
                changes[name] = updated
        return replace(self, **changes) if changes else self

    def with_facts(
        self,
        at: datetime,
        roles: dict[str, Role | Unavailable] | None = None,
        oidc_providers: list[OidcProvider] | Unavailable | None = None,
        associations: list[PodIdentityAssociation] | Unavailable | None = None,
        node_roles: dict[str, str | Unavailable] | None = None,
        node_metadata: dict[str, InstanceMetadataOptions | Unavailable] | None = None,
    ) -> Inventory:
        """This inventory with IAM and EKS facts read again at `at` (None: not read again);
        `roles`, `node_roles` and `node_metadata` add to or replace the ones known, by ARN and
        by node name."""
        times = self.read_at
        changes: dict[str, Any] = {}
        if roles:
            changes["roles"] = {**self.roles, **roles}
            times = replace(times, roles={**times.roles, **dict.fromkeys(roles, at)})
        if node_roles:
            changes["node_roles"] = {**self.node_roles, **node_roles}
            times = replace(times, node_roles={**times.node_roles, **dict.fromkeys(node_roles, at)})
        if node_metadata:
            changes["node_metadata"] = {**self.node_metadata, **node_metadata}
        if oidc_providers is not None:
            changes["oidc_providers"], times = oidc_providers, replace(times, oidc_providers=at)
        if associations is not None:
            changes["associations"], times = associations, replace(times, associations=at)
        return replace(self, read_at=times, **changes)
