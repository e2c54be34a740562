"""Hypothesis: policy-shaped garbage never crashes the evaluator and never gets a guessed ALLOW."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irsa_explorer.analysis import trust
from irsa_explorer.analysis.trust import Decision, web_identity_request

# The internal evaluator, not the public wrapper: the wrapper turns any exception into UNKNOWN as
# a safety net, which would hide a crash from these tests.
evaluate_trust = trust._evaluate

ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/ABC"
HOST = ISSUER.removeprefix("https://")
REQUEST = web_identity_request(ISSUER, "system:serviceaccount:default:my-sa", ["sts.amazonaws.com"], "111122223333")

KNOWN_OPS = ["StringEquals", "StringLike", "StringNotEquals", "ArnLike", "Null", "Bool", "StringEqualsIfExists",
             "ForAnyValue:StringLike", "ForAllValues:StringEquals", "NumericLessThan", "DateGreaterThan"]
UNKNOWN_OPS = ["StringEqualz", "IpAddresses", "stringequals", "ForSomeValues:StringEquals", "StringLikeIfExist", ""]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                    st.sampled_from(["*", "sts:*", "system:serviceaccount:default:my-sa", "sts.amazonaws.com"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                              st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=12)
keys = st.sampled_from([f"{HOST}:sub", f"{HOST}:aud", "aws:SourceArn", "x"])
condition_values = st.one_of(scalars, st.lists(scalars, max_size=3), json_values)


def conditions(ops):
    return st.dictionaries(st.sampled_from(ops), st.dictionaries(keys, condition_values, max_size=2), max_size=3)


statements = st.fixed_dictionaries(
    {},
    optional={
        "Effect": st.sampled_from(["Allow", "Deny", "allow", None, 3]),
        "Principal": st.one_of(st.just("*"), json_values,
                               st.fixed_dictionaries({"Federated": st.sampled_from([f"arn:aws:iam::111122223333:oidc-provider/{HOST}", "x"])})),
        "NotPrincipal": json_values,
        "Action": st.one_of(st.sampled_from(["sts:AssumeRoleWithWebIdentity", "sts:*", "*", "s?s:*"]), json_values),
        "NotAction": json_values,
        "Condition": st.one_of(conditions(KNOWN_OPS + UNKNOWN_OPS), json_values),
        "Sid": json_values,
    },
)
policies = st.one_of(
    json_values,
    st.fixed_dictionaries({"Statement": st.one_of(statements, st.lists(statements, max_size=4), json_values)},
                          optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17"])}),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies)
def test_garbage_never_raises(doc):
    evaluation = evaluate_trust(doc, REQUEST)
    assert evaluation.decision in Decision
    assert evaluation.reason
    # The JSON text of the same document gives the same answer.
    try:
        text = json.dumps(doc)
    except (TypeError, ValueError):
        return
    assert evaluate_trust(text, REQUEST).decision is evaluation.decision


@settings(max_examples=300, deadline=None)
@given(st.lists(statements, min_size=0, max_size=3), st.sampled_from(UNKNOWN_OPS), keys, condition_values,
       st.integers(min_value=0, max_value=3))
def test_unknown_operator_never_allows(others, op, key, value, position):
    bad = {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {op: {key: value}}}
    statements_ = list(others)
    statements_.insert(min(position, len(statements_)), bad)
    evaluation = evaluate_trust({"Version": "2012-10-17", "Statement": statements_}, REQUEST)
    assert evaluation.decision is not Decision.ALLOW, evaluation.reason


@given(st.text(max_size=200))
def test_random_text_never_raises(text):
    assert evaluate_trust(text, REQUEST).decision in Decision
