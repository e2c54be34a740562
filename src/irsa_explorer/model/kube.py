"""Kubernetes objects, as the analysis reads them: only the fields it needs, never a secret's value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .common import ROLE_ARN_ANNOTATION, service_account_subject


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
class ContainerExit:
    """A container that ended with an error: its state (or, restarted, its last state) is
    terminated with a non-zero exit code. What the pod's status says, no log read."""

    container: str
    exit_code: int | None
    reason: str | None = None  # the kubelet's: "Error", "OOMKilled", …
    last: bool = False  # the previous run of a restarted container (lastState), not the current one
    init: bool = False
    # terminated.message: what the container left in its termination-message file, or with
    # terminationMessagePolicy FallbackToLogsOnError its last log lines (the kubelet keeps ≤ 4 KiB).
    # Untrusted and possibly secret: bounded here; analysis quotes only an AWS error line of it.
    message: str | None = field(default=None, repr=False)


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
    restarts: int = 0  # kubectl's RESTARTS: its containers' restart counts, summed
    exits: tuple[ContainerExit, ...] = ()  # containers that ended with an error (now, or their last run)

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
