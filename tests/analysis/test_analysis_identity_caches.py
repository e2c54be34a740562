"""resolve_all shares work between pods (per container spec, per role and subject): what it
shares must never blur pods that differ in what the SDK would see."""

from __future__ import annotations

import dataclasses

from analysis_builders import (
    IRSA_TOKEN,
    irsa_container,
    inventory,
    pod,
    role,
    sa,
)

from irsa_explorer.analysis.identity import resolve_all, resolve_chain
from irsa_explorer.model import IRSA_TOKEN_DIR, IRSA_VOLUME, ProjectedToken, Verdict


def _replica(i: int, mount_dir: str = IRSA_TOKEN_DIR, **kw):
    """A replica as the API server has it: its own kube-api-access-xxxxx volume."""
    own = f"kube-api-access-{i:05d}"
    base = irsa_container()
    container = dataclasses.replace(
        base,
        volume_mounts=((own, "/var/run/secrets/kubernetes.io/serviceaccount"), (IRSA_VOLUME, mount_dir)),
    )
    return pod(f"app-{i}", containers=[container],
               tokens=(ProjectedToken(own, None, 3607, "token"), IRSA_TOKEN), **kw)


def test_replicas_get_what_each_would_get_alone() -> None:
    pods = [_replica(i) for i in range(20)]
    inv = inventory(pods=pods, sas=[sa()], roles=[role()])
    chains = resolve_all(inv)
    assert len(chains) == 20
    for p in pods:
        assert chains[p.uid] == resolve_chain(p, inv)
        assert chains[p.uid].verdict is Verdict.OK


def test_a_replica_with_the_token_mounted_elsewhere_is_not_taken_for_the_others() -> None:
    good = [_replica(i) for i in range(3)]
    odd = _replica(99, mount_dir="/somewhere/else")
    inv = inventory(pods=good + [odd], sas=[sa()], roles=[role()])
    chains = resolve_all(inv)
    assert all(chains[p.uid].verdict is Verdict.OK for p in good)
    assert chains[odd.uid].verdict is Verdict.BROKEN
    assert chains[odd.uid] == resolve_chain(odd, inv)


def test_a_second_irsa_mount_counts_too() -> None:
    # Same first IRSA mount, a second one (the one a dict of mounts keeps) elsewhere.
    base = _replica(1)
    container = base.containers[0]
    twice = dataclasses.replace(container, volume_mounts=container.volume_mounts + ((IRSA_VOLUME, "/elsewhere"),))
    other = dataclasses.replace(base, uid="uid-twice", name="app-twice", containers=(twice,))
    inv = inventory(pods=[base, other], sas=[sa()], roles=[role()])
    chains = resolve_all(inv)
    assert chains[base.uid] == resolve_chain(base, inv)
    assert chains[other.uid] == resolve_chain(other, inv)
