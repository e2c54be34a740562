"""resolve_all recognises replicas' container specs by the identity of their env tuples (the
conversion shares them): computed once for replicas, never blurred between pods whose specs
differ, and right when equal specs arrive as separate objects."""

from __future__ import annotations

import dataclasses

from analysis_builders import IRSA_TOKEN, NODE, NODE_ROLE, irsa_container, inventory, plain_pod, pod, role, sa

from irsa_explorer.analysis import identity
from irsa_explorer.analysis.identity import resolve_all, resolve_chain
from irsa_explorer.model import IRSA_TOKEN_DIR, IRSA_VOLUME, EnvVar, ProjectedToken, Unavailable, Verdict

OTHER_ROLE = "arn:aws:iam::111122223333:role/other"


def _replica(i: int, container):
    own = f"kube-api-access-{i:05d}"
    mounted = dataclasses.replace(
        container, volume_mounts=((own, "/var/run/secrets/kubernetes.io/serviceaccount"), (IRSA_VOLUME, IRSA_TOKEN_DIR))
    )
    return pod(f"app-{i}", containers=[mounted], tokens=(ProjectedToken(own, None, 3607, "token"), IRSA_TOKEN))


def _counting(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = identity.container_credentials

    def counted(p):
        calls.append(p.name)
        return real(p)

    monkeypatch.setattr(identity, "container_credentials", counted)
    return calls


def test_replicas_sharing_one_env_are_worked_out_once(monkeypatch) -> None:
    shared = irsa_container()
    pods = [_replica(i, shared) for i in range(20)]
    inv = inventory(pods=pods, sas=[sa()], roles=[role()])
    calls = _counting(monkeypatch)
    chains = resolve_all(inv)
    assert len(calls) == 1
    for p in pods:
        assert chains[p.uid] == resolve_chain(p, inv)
        assert chains[p.uid].verdict is Verdict.OK


def test_equal_env_in_separate_objects_gives_the_same_answers() -> None:
    pods = [_replica(i, irsa_container()) for i in range(5)]  # a fresh env tuple each
    inv = inventory(pods=pods, sas=[sa()], roles=[role()])
    chains = resolve_all(inv)
    assert {chains[p.uid].verdict for p in pods} == {Verdict.OK}
    assert all(chains[p.uid] == resolve_chain(p, inv) for p in pods)


def test_a_replica_whose_env_differs_keeps_its_own_answer() -> None:
    shared = irsa_container()
    changed = dataclasses.replace(shared, env=tuple(
        EnvVar(v.name, OTHER_ROLE) if v.name == "AWS_ROLE_ARN" else v for v in shared.env))
    pods = [_replica(i, shared) for i in range(3)]
    odd = _replica(99, changed)
    inv = inventory(pods=pods + [odd], sas=[sa()], roles=[role()])
    chains = resolve_all(inv)
    assert all(chains[p.uid].verdict is Verdict.OK for p in pods)
    assert chains[odd.uid].intended_role_arn != OTHER_ROLE
    assert chains[odd.uid] == resolve_chain(odd, inv)
    assert chains[odd.uid].verdict is not Verdict.OK


def test_env_from_differs_with_the_same_env() -> None:
    shared = irsa_container()
    with_secret = dataclasses.replace(shared, env_from=("secret aws-creds",))
    plain, odd = _replica(1, shared), _replica(2, with_secret)
    inv = inventory(pods=[plain, odd], sas=[sa()], roles=[role()])
    chains = resolve_all(inv)
    assert chains[plain.uid] == resolve_chain(plain, inv)
    assert chains[odd.uid] == resolve_chain(odd, inv)
    assert {f.code for f in chains[odd.uid].findings} != {f.code for f in chains[plain.uid].findings}


def test_node_role_links_are_per_node() -> None:
    other_node, other_role = "ip-10-0-0-2.us-east-2.compute.internal", "arn:aws:iam::111122223333:role/other-nodes"
    forbidden = Unavailable("access denied", "ec2:DescribeInstances", "forbidden")
    gone_node = "ip-10-0-0-3.us-east-2.compute.internal"
    pods = [plain_pod(f"a-{i}") for i in range(3)]
    pods += [plain_pod(f"b-{i}", node_name=other_node) for i in range(3)]
    pods += [plain_pod("forbidden", node_name=gone_node), plain_pod("pending", node_name=None)]
    inv = inventory(pods=pods, sas=[sa("default", role_arn=None)],
                    node_roles={NODE: NODE_ROLE, other_node: other_role, gone_node: forbidden})
    chains = resolve_all(inv)
    assert [chains[p.uid].effective_identity for p in pods] == [NODE_ROLE] * 3 + [other_role] * 3 + [None, None]
    for p in pods:
        assert chains[p.uid] == resolve_chain(p, inv)
    assert "access denied" in chains[pods[6].uid].links[4].detail
    assert "no node yet" in chains[pods[7].uid].links[4].detail
