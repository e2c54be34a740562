"""Everything fetched for one view of one cluster, as of one moment, and when its IAM and EKS
facts were read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .aws import (
    AccessKeyOwner,
    Cluster,
    InstanceMetadataOptions,
    OidcProvider,
    PodIdentityAssociation,
    Role,
)
from .common import Unavailable
from .kube import AgentPod, IssuerInfo, Node, Pod, ServiceAccount


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
