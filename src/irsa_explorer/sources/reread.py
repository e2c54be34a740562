"""IAM and EKS facts read again: the few a view shows, when they have grown older than it allows.

The Kubernetes side of an inventory is watched; its AWS side (roles, OIDC providers, Pod
Identity associations, node roles) can only be asked again. A view asks for what the user is
looking at and what a watch event brought (the TUI: when older than 30 s), with the calls the
loader makes (sources/inventory.py): one GetRole per distinct role (or a ListRoles listing past
`list_roles_threshold`), the account's OIDC providers, the cluster's associations, the
instances (role and IMDS settings) of nodes whose instance changed. The answers are put into the inventory with
`Inventory.with_facts`, stamped with when they were asked for.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from irsa_explorer.model import (
    Cluster, InstanceMetadataOptions, Inventory, OidcProvider, PodIdentityAssociation, Role, Unavailable,
)

if TYPE_CHECKING:  # FactsWanted is used by the TUI's store before boto3 is imported
    from irsa_explorer.sources.aws import AwsSource


@dataclass(frozen=True)
class FactsWanted:
    """Which facts to read again: roles by ARN, the OIDC providers, the associations, node roles
    by node name."""

    roles: frozenset[str] = frozenset()
    oidc_providers: bool = False
    associations: bool = False
    node_roles: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.roles or self.oidc_providers or self.associations or self.node_roles)

    def __or__(self, other: FactsWanted) -> FactsWanted:
        return FactsWanted(self.roles | other.roles, self.oidc_providers or other.oidc_providers,
                           self.associations or other.associations, self.node_roles | other.node_roles)

    def __sub__(self, other: FactsWanted) -> FactsWanted:
        return FactsWanted(self.roles - other.roles, self.oidc_providers and not other.oidc_providers,
                           self.associations and not other.associations, self.node_roles - other.node_roles)


@dataclass(frozen=True)
class FactsRead:
    """What was read again, as of `at` (when the calls were made: the facts are no older)."""

    at: datetime
    wanted: FactsWanted
    roles: dict[str, Role | Unavailable] = field(default_factory=dict)
    oidc_providers: list[OidcProvider] | Unavailable | None = None  # None: not asked again
    associations: list[PodIdentityAssociation] | Unavailable | None = None  # None: not asked again
    node_roles: dict[str, str | Unavailable] = field(default_factory=dict)
    node_metadata: dict[str, InstanceMetadataOptions | Unavailable] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Whether a lookup failed for a reason that may pass (no answer, throttled, expired
        credentials): not a refusal or an object that does not exist."""
        values = [*self.roles.values(), self.oidc_providers, self.associations, *self.node_roles.values()]
        return any(isinstance(v, Unavailable) and v.kind not in ("forbidden", "not-found") for v in values)

    def into(self, inventory: Inventory) -> Inventory:
        """`inventory` with these answers in place of the ones it had."""
        return inventory.with_facts(self.at, self.roles, self.oidc_providers, self.associations, self.node_roles,
                                    self.node_metadata)


def read_again(aws: AwsSource, inventory: Inventory, wanted: FactsWanted, at: datetime,
               cluster_name: str | None = None) -> FactsRead:
    """Ask AWS again for the `wanted` facts of `inventory`'s cluster; `at` is now.

    The lookups run side by side, each as the loader makes it. Associations are asked for only
    when the cluster's name is known (`inventory.cluster`, else `cluster_name`); node roles
    only for nodes the inventory has. Never raises for AWS: a failed lookup is its Unavailable.
    """
    name = inventory.cluster.name if isinstance(inventory.cluster, Cluster) else cluster_name
    nodes = [inventory.nodes[n] for n in sorted(wanted.node_roles) if n in inventory.nodes]
    with ThreadPoolExecutor(4, thread_name_prefix="reread") as pool:
        roles_f = pool.submit(aws.get_roles, wanted.roles) if wanted.roles else None
        providers_f = pool.submit(aws.list_oidc_providers) if wanted.oidc_providers else None
        associations_f = pool.submit(aws.list_pod_identity_associations, name) if wanted.associations and name else None
        instances_f = pool.submit(aws.node_instances, nodes) if nodes else None
        instances = instances_f.result() if instances_f else None
        return FactsRead(
            at, wanted,
            roles=roles_f.result() if roles_f else {},
            oidc_providers=providers_f.result() if providers_f else None,
            associations=associations_f.result() if associations_f else None,
            node_roles=dict(instances.roles) if instances else {},
            node_metadata=dict(instances.metadata) if instances else {},
        )


class FactReader:
    """`read_again` through an AwsSource of its own, made from the view's (`handover()`: its
    region and credentials as resolved now) and made anew after a lookup failed for a reason
    that may pass, and every RENEW_AFTER seconds.

    The view's own source does not ask an endpoint again once it gave no answer in time, which
    is right for one load (hundreds of GetRole calls would each wait the whole timeout) and
    wrong for a view kept fresh for hours: one blip would leave every later read unknown.
    Renewing also takes up credentials the view's session refreshed (SSO, assume-role)."""

    RENEW_AFTER = 600.0

    def __init__(self, aws: AwsSource) -> None:
        self._parent = aws
        self._own: AwsSource | None = None
        self._made = 0.0
        self._lock = threading.Lock()

    def read(self, inventory: Inventory, wanted: FactsWanted, at: datetime, cluster_name: str | None = None) -> FactsRead:
        from irsa_explorer.sources.aws import AwsSource

        with self._lock:
            if self._own is None or time.monotonic() - self._made > self.RENEW_AFTER:
                self._own, self._made = AwsSource(**self._parent.handover()), time.monotonic()
            source = self._own
        read = read_again(source, inventory, wanted, at, cluster_name)
        if read.failed:
            with self._lock:
                self._own = None
        return read
