"""The reverse map: who can assume a role, annotated or not."""

from __future__ import annotations

from analysis_builders import (
    PI_ROLE_ARN,
    POD_IDENTITY_TRUST,
    association,
    inventory,
    irsa_trust,
    plain_pod,
    pod,
    role,
    sa,
)
from irsa_explorer.analysis.reverse import who_can_assume
from irsa_explorer.analysis.trust import Decision
from irsa_explorer.model import Mechanism, Unavailable


def accounts(matches):
    return [(m.service_account.namespace, m.service_account.name) for m in matches if m.service_account]


def test_exact_trust_admits_only_its_service_account():
    r = role()
    inv = inventory(pods=[pod("a"), plain_pod("b")], sas=[sa(), sa("default", role_arn=None), sa("my-sa", "prod", role_arn=None)],
                    roles=[r])
    matches = who_can_assume(r, inv)
    assert accounts(matches) == [("default", "my-sa")]
    [m] = matches
    assert m.mechanism is Mechanism.IRSA and m.decision is Decision.ALLOW and m.annotated
    assert [p.name for p in m.pods] == ["a"]


def test_wildcard_trust_admits_unannotated_service_accounts_too():
    r = role(trust=irsa_trust("system:serviceaccount:default:*", operator="StringLike"))
    inv = inventory(pods=[pod("a"), plain_pod("b")], sas=[sa(), sa("default", role_arn=None), sa("x", "prod", role_arn=None)])
    matches = who_can_assume(r, inv)
    assert sorted(accounts(matches)) == [("default", "default"), ("default", "my-sa")]
    by_name = {m.service_account.name: m for m in matches}
    assert not by_name["default"].annotated
    assert [p.name for p in by_name["default"].pods] == ["b"]


def test_service_account_known_only_from_a_pod_is_evaluated():
    r = role(trust=irsa_trust("system:serviceaccount:*", operator="StringLike"))
    inv = inventory(pods=[plain_pod("b", service_account="ghost")], sas=[])
    assert accounts(who_can_assume(r, inv)) == [("default", "ghost")]


def test_unparsable_trust_lists_everyone_as_unknown():
    r = role(trust="{broken")
    inv = inventory(pods=[], sas=[sa(), sa("default", role_arn=None)])
    matches = who_can_assume(r, inv)
    assert len(matches) == 2
    assert {m.decision for m in matches} == {Decision.UNKNOWN}


def test_unknown_issuer_is_unknown_not_empty():
    r = role()
    inv = inventory(sas=[sa()], issuer=Unavailable("denied"), cluster=Unavailable("denied"))
    [m] = who_can_assume(r, inv)
    assert m.decision is Decision.UNKNOWN and "issuer" in m.reason


def test_pod_identity_associations_naming_the_role():
    r = role(PI_ROLE_ARN, POD_IDENTITY_TRUST)
    inv = inventory(pods=[plain_pod("p", service_account="my-sa")], sas=[sa(role_arn=None)],
                    associations=[association(), association("other", "x", role_arn="arn:aws:iam::113534181560:role/else")])
    matches = who_can_assume(r, inv)
    [m] = matches
    assert m.mechanism is Mechanism.POD_IDENTITY and m.decision is Decision.ALLOW
    assert m.association_id and [p.name for p in m.pods] == ["p"]


def test_association_with_invalid_trust_is_still_listed():
    r = role(PI_ROLE_ARN, irsa_trust())
    inv = inventory(sas=[sa(role_arn=None)], associations=[association()])
    pod_identity = [m for m in who_can_assume(r, inv) if m.mechanism is Mechanism.POD_IDENTITY]
    assert [m.decision for m in pod_identity] == [Decision.NOT_ALLOWED]


def test_unknown_associations_are_listed_as_unknown():
    r = role()
    inv = inventory(sas=[sa()], associations=Unavailable("denied", "eks:ListPodIdentityAssociations"))
    matches = who_can_assume(r, inv)
    assert [(m.mechanism, m.decision) for m in matches] == [(Mechanism.IRSA, Decision.ALLOW), (Mechanism.POD_IDENTITY, Decision.UNKNOWN)]
    assert "eks:ListPodIdentityAssociations" in matches[1].reason
