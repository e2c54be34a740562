"""What a scenario file says, as values: its steps, its users and its variables.

The format itself is documented for trainers in docs/scenarios.md; `parse` turns a file into
these values (checking everything first) and `apply` replays them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from irsa_explorer.lab.spec import LabCluster

# Kinds the lab's API server serves, with how to reach them through the typed client.
# (kind → (namespaced, CoreV1Api method suffix))
KUBE_KINDS: dict[str, tuple[bool, str]] = {
    "Namespace": (False, "namespace"),
    "Node": (False, "node"),
    "ServiceAccount": (True, "namespaced_service_account"),
    "Pod": (True, "namespaced_pod"),
    "Secret": (True, "namespaced_secret"),
    "ConfigMap": (True, "namespaced_config_map"),
    "DaemonSet": (True, "namespaced_daemon_set"),
}
KUBE_API_VERSIONS = {"DaemonSet": "apps/v1"}  # every other kind is core v1

# ${name} is a variable; $${…} stays a literal ${…} (e.g. a shell command in a container's args).
VARIABLE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Anything that looks like a variable, well-formed or not (what validation looks at).
ANY_DOLLAR_BRACE = re.compile(r"(?<!\$)\$\{([^}]*)\}?")


@dataclass(frozen=True)
class Step:
    source: str
    index: int  # position in its own file
    line: int | None
    included_from: str | None  # "file step N" when pulled in by `include:`

    @property
    def place(self) -> str:
        line = f", line {self.line}" if self.line else ""
        origin = f" (included from {self.included_from})" if self.included_from else ""
        return f"{self.source}{line}: steps[{self.index}]{origin}"

    def describe(self) -> str:  # pragma: no cover - overridden
        return "step"


@dataclass(frozen=True)
class KubeStep(Step):
    """Create a Kubernetes object, or merge-patch it when it already exists (like kubectl apply)."""

    manifest: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        meta = self.manifest.get("metadata", {})
        ns = meta.get("namespace")
        return f"{self.manifest.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


@dataclass(frozen=True)
class AwsStep(Step):
    """One AWS API call, named as boto3 names it: `iam.create_role` with the API's params."""

    service: str = ""
    operation: str = ""  # boto3's snake_case method name
    params: dict[str, Any] = field(default_factory=dict)
    save: dict[str, str] = field(default_factory=dict)  # variable → JMESPath into the response
    account: str | None = None  # another account of the lab to call it in (None: the cluster's)

    def describe(self) -> str:
        where = f" in account {self.account}" if self.account else ""
        return f"aws {self.service}.{self.operation}{where}"


@dataclass(frozen=True)
class WaitStep(Step):
    """Wait until a pod reaches one of `phases` (e.g. the walkthrough's pod ends Failed)."""

    pod: str = ""
    namespace: str = "default"
    phases: tuple[str, ...] = ()
    timeout: float = 30.0

    def describe(self) -> str:
        return f"wait for pod {self.namespace}/{self.pod} to be {'|'.join(self.phases)}"


@dataclass(frozen=True)
class LabUser:
    """A restricted kubeconfig user the lab creates (header `users:`): reads everything, or only
    in `namespaces`; `write` adds create/update/delete; `cluster_read` names cluster-scoped
    resources (only "namespaces" or "nodes") a namespace user may still read."""

    name: str
    namespaces: tuple[str, ...] | None = None  # None: every namespace and cluster scope
    write: bool = False
    cluster_read: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    cluster: LabCluster
    description: str
    steps: tuple[Step, ...]
    users: tuple[LabUser, ...] = ()

    def variables(self) -> dict[str, str]:
        """The built-in variables every step can use."""
        return builtin_variables(self.cluster)


def builtin_variables(cluster: LabCluster) -> dict[str, str]:
    return {
        "account": cluster.account,
        "region": cluster.region,
        "cluster": cluster.name,
        "cluster_arn": cluster.arn,
        "issuer": cluster.issuer,
        "issuer_host": cluster.issuer_host_path,
        "oidc_provider_arn": cluster.oidc_provider_arn,
        "version": cluster.version,
    }


def substitute(value: Any, variables: Mapping[str, str]) -> Any:
    """Replace ${name} in every string of `value` (validation already proved each name exists)."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda m: "${" + m.group(2) + "}" if m.group(1) else str(variables[m.group(2)]), value)
    if isinstance(value, dict):
        # Keys too: trust-policy condition keys and annotations carry ${issuer_host} and the like.
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value
