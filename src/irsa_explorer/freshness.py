"""How old what the explorer shows is, and which AWS facts to read again.

The Kubernetes side is watched (pods, service accounts, nodes): it is "watching", or, while a
watch is lost, as old as the loss. The IAM and EKS side (roles, OIDC providers, Pod Identity
associations, node roles) is read at load time and again for what the user looks at and what a
watch event brings, once older than `STALE_AFTER`; every fact carries when it was read
(`Inventory.read_at`) and a pane says how old what it shows is.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from irsa_explorer.model import (
    EffectiveIdentity, IdentityChain, Inventory, Mechanism, ProviderCheck, ServiceAccount, TrustCheck,
)
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.widgets.format import duration, utc

STALE_AFTER = timedelta(seconds=30)
NOTHING = FactsWanted()


def chain_facts(chain: IdentityChain) -> tuple[set[str], bool]:
    """The roles a chain names (intended, trusted, effective) and whether it checked the OIDC
    providers (IRSA): one pass over its links, as the store indexes 10,000 of them."""
    roles = {chain.intended_role_arn} if chain.intended_role_arn else set()
    irsa = chain.mechanism is Mechanism.IRSA
    for link in chain.links:
        result = link.result
        if isinstance(result, TrustCheck):
            roles.add(result.role_arn)
        elif isinstance(result, EffectiveIdentity):
            if result.arn and ":role/" in result.arn:
                roles.add(result.arn)
        elif isinstance(result, ProviderCheck):
            irsa = True
    return roles, irsa


def facts_of_chain(chain: IdentityChain | None, sa: ServiceAccount | None) -> FactsWanted:
    """The AWS facts a pod's chain was worked out from: its roles (intended, trusted, effective),
    the OIDC providers when IRSA is in play, and the Pod Identity associations (one may be made
    for its service account at any time)."""
    roles, irsa = chain_facts(chain) if chain is not None else (set(), False)
    if sa is not None and sa.role_arn:
        roles.add(sa.role_arn)
        irsa = True
    return FactsWanted(frozenset(roles), oidc_providers=irsa, associations=True)


def facts_of_service_account(sa: ServiceAccount) -> FactsWanted:
    """The AWS facts a service account's pods depend on through it."""
    roles = frozenset({sa.role_arn}) if sa.role_arn else frozenset()
    return FactsWanted(roles, oidc_providers=bool(sa.role_arn), associations=True)


def read_times(inventory: Inventory, wanted: FactsWanted) -> list[datetime | None]:
    """When each wanted fact was read (None: never)."""
    times = inventory.read_at
    found: list[datetime | None] = [times.roles.get(arn) for arn in sorted(wanted.roles)]
    found += [times.node_roles.get(node) for node in sorted(wanted.node_roles)]
    if wanted.oidc_providers:
        found.append(times.oidc_providers)
    if wanted.associations:
        found.append(times.associations)
    return found


def stale(inventory: Inventory, wanted: FactsWanted, now: datetime, after: timedelta = STALE_AFTER) -> FactsWanted:
    """The wanted facts never read or read longer than `after` ago."""
    times = inventory.read_at

    def old(at: datetime | None) -> bool:
        return at is None or utc(now) - utc(at) >= after

    return FactsWanted(
        frozenset(arn for arn in wanted.roles if old(times.roles.get(arn))),
        wanted.oidc_providers and old(times.oidc_providers),
        wanted.associations and old(times.associations),
        frozenset(node for node in wanted.node_roles if old(times.node_roles.get(node))),
    )


def read_words(inventory: Inventory | None, wanted: FactsWanted, now: datetime) -> str:
    """How old the wanted facts are, by the oldest: "read 12s ago"; "" when none is wanted."""
    if inventory is None or not wanted:
        return ""
    times = read_times(inventory, wanted)
    if any(at is None for at in times):
        return "not read yet"
    oldest = min(utc(at) for at in times if at is not None)
    return f"read {ago(oldest, now)}"


def ago(moment: datetime, now: datetime) -> str:
    """'12s ago', '3m12s ago' ('just now' under a second)."""
    seconds = (utc(now) - utc(moment)).total_seconds()
    return "just now" if seconds < 1 else f"{duration(seconds)} ago"
