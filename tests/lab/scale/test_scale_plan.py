"""The scale generator's plan: parsing `--scale`, determinism, and the realistic mix it promises."""

from __future__ import annotations

import pytest

from irsa_explorer.lab.scale import (
    FULL,
    QUICK,
    TRUST_FLAWS,
    parse_scale,
    plan_cluster,
    pod_manifest,
)
from irsa_explorer.lab.spec import LabCluster


def test_parse_scale_reads_every_key():
    spec = parse_scale("pods=10000,namespaces=200,serviceaccounts=2000,roles=500,nodes=100")
    assert (spec.pods, spec.namespaces, spec.serviceaccounts, spec.roles, spec.nodes) == (10000, 200, 2000, 500, 100)
    assert parse_scale(spec.as_text()) == spec


def test_parse_scale_presets_and_shorthands():
    assert parse_scale("full") == parse_scale(FULL)
    assert parse_scale("quick") == parse_scale(QUICK)
    assert parse_scale("pods=10k,nodes=2").pods == 10000
    derived = parse_scale("pods=1000")
    assert derived.namespaces == 20 and derived.serviceaccounts == 200 and derived.roles == 50 and derived.nodes == 10


@pytest.mark.parametrize(
    "text, words",
    [
        ("pods=ten", "not a non-negative whole number"),
        ("pods=10,colour=3", "unknown key 'colour'"),
        ("namespaces=3", "pods=N is required"),
        ("pods=10,pods=20", "given twice"),
        ("pods", "is not KEY=N"),
        ("pods=5,nodes=0", "at least one node"),
    ],
)
def test_parse_scale_rejects_bad_input_in_words(text, words):
    with pytest.raises(ValueError, match=words):
        parse_scale(text)


def test_same_seed_same_cluster_other_seed_other_names():
    a = plan_cluster(parse_scale(QUICK))
    b = plan_cluster(parse_scale(QUICK))
    c = plan_cluster(parse_scale(QUICK, seed=99))
    assert [p.name for p in a.pods] == [p.name for p in b.pods]
    assert [r.trust_policy for r in a.roles] == [r.trust_policy for r in b.roles]
    assert [p.name for p in a.pods] != [p.name for p in c.pods]


def test_full_scale_plan_has_the_sizes_and_mix_asked_for():
    cluster = LabCluster()
    plan = plan_cluster(parse_scale(FULL), cluster)
    counts = plan.counts()
    assert counts["pods"] == 10000 and counts["namespaces"] == 200 and counts["nodes"] == 100
    assert counts["serviceaccounts"] == 2000 and counts["roles"] == 500
    assert len({(p.namespace, p.name) for p in plan.pods}) == 10000  # names unique per namespace
    # Most pods on IRSA, some on Pod Identity, some on the node role, a few never injected.
    assert counts["pods_irsa"] > 0.6 * 10000
    assert 0 < counts["pods_pod_identity"] < counts["pods_irsa"]
    assert 0 < counts["pods_node_role"] < counts["pods_irsa"]
    assert counts["pods_not_injected"] > 0 and counts["missing_roles"] > 0
    # About one IRSA role in ten has a broken trust, every kind of flaw present.
    assert {r.flaw for r in plan.roles if r.flaw} == set(TRUST_FLAWS)
    assert 0.05 * 500 < counts["broken_trust_roles"] < 0.15 * 500
    # Every annotation of a role that exists names a planned role; pods land on planned nodes.
    arns = {r.arn for r in plan.roles}
    assert all(sa.role_arn in arns for sa in plan.service_accounts if sa.role_arn and sa.role_exists)
    assert all(sa.role_arn not in arns for sa in plan.service_accounts if not sa.role_exists)
    assert {p.node for p in plan.pods} == {n.name for n in plan.nodes}


def test_trust_policies_are_right_except_the_planted_flaw():
    cluster = LabCluster()
    plan = plan_cluster(parse_scale(FULL), cluster)
    host = cluster.issuer_host_path
    for role in plan.roles:
        statement = role.trust_policy["Statement"][0]
        if role.kind == "pod-identity":
            assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
            assert set(statement["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
            continue
        conditions = statement["Condition"]["StringEquals"]
        subs = conditions.get(f"{host}:sub")
        subs = [subs] if isinstance(subs, str) else subs
        if role.flaw is None:
            assert statement["Principal"]["Federated"] == cluster.oidc_provider_arn
            assert sorted(subs) == sorted(role.subjects)
            assert conditions[f"{host}:aud"] == "sts.amazonaws.com"
        elif role.flaw == "sub-wrong-namespace":
            assert not set(subs) & set(role.subjects)
        elif role.flaw == "wrong-audience":
            assert conditions[f"{host}:aud"] != "sts.amazonaws.com"
        elif role.flaw == "wildcard-in-stringequals":
            assert all(s.endswith(":*") for s in subs)
        elif role.flaw == "wrong-provider":
            assert statement["Principal"]["Federated"] != cluster.oidc_provider_arn


def test_without_pod_identity_no_pod_is_planned_for_it():
    without = plan_cluster(parse_scale(FULL), pod_identity=False)
    assert without.counts()["pods_pod_identity"] == 0
    assert not any(sa.pod_identity_role_arn for sa in without.service_accounts)


def test_pod_manifest_is_a_plain_controller_pod_before_admission():
    plan = plan_cluster(parse_scale(QUICK))
    pod = next(p for p in plan.pods if p.service_account != "default")
    manifest = pod_manifest(pod)
    assert manifest["spec"]["serviceAccountName"] == pod.service_account
    assert manifest["spec"]["nodeName"] == pod.node
    # Nothing the webhook would add is there before admission.
    for container in manifest["spec"]["containers"]:
        assert not any(e["name"].startswith("AWS_") for e in container.get("env", []))
    assert "volumes" not in manifest["spec"]
