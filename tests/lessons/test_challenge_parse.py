"""The checks challenges added, read and checked before anything starts: role_trusts_others'
arguments, `key_source`, a policy pattern — and a wrong way needs its explanation."""

from __future__ import annotations

import textwrap

import pytest

from irsa_explorer.lessons import LessonError, parse_lesson

CHALLENGE = """\
kind: challenge
symptom: checkout gets AccessDenied on S3
scenario: sub-wrong-namespace
steps:
  - id: fixed
    title: Fixed
    check:
      - pod: {name: payments/checkout, verdict: ok, key_source: "*secret*"}
wrong_ways:
  - check:
      - role_trusts_others: {role: checkout-s3-reader, only: [default/my-sa, payments/my-sa]}
      - role_has_policy: {role: node, policy: "AmazonS3*"}
    explain: too open
"""


def problems(text: str) -> list[str]:
    with pytest.raises(LessonError) as raised:
        parse_lesson(textwrap.dedent(text), source="challenge.yaml")
    return [str(p) for p in raised.value.problems]


def test_the_challenge_checks_are_read_with_their_arguments() -> None:
    lesson = parse_lesson(CHALLENGE, source="challenge.yaml")
    assert lesson.kind == "challenge" and lesson.symptom == "checkout gets AccessDenied on S3"
    trusts, policy = lesson.wrong_ways[0].checks
    assert trusts.args == {"role": "checkout-s3-reader", "only": ["default/my-sa", "payments/my-sa"]}
    assert policy.args == {"role": "node", "policy": "AmazonS3*"}


def test_variables_are_substituted_in_a_list_argument_too() -> None:
    lesson = parse_lesson(CHALLENGE.replace("only: [default/my-sa, payments/my-sa]", "only: [default/my-sa, '${cluster}/x']"),
                          source="challenge.yaml")
    assert lesson.wrong_ways[0].checks[0].args["only"] == ["default/my-sa", "eks-oidc-demo/x"]
    said = problems(CHALLENGE.replace("only: [default/my-sa, payments/my-sa]", "only: [default/my-sa, '${nope}/x']"))
    assert any("wrong_ways[0].check[0].role_trusts_others.only[1]: undefined variable ${nope}" in p for p in said), said


def test_bad_arguments_of_the_new_checks_are_found_with_their_lines() -> None:
    text = CHALLENGE.replace("only: [default/my-sa, payments/my-sa]", "only: [default/my-sa, /x/]") \
                    .replace("role: checkout-s3-reader, only", "onli: [a], only").replace("explain: too open", "")
    said = problems(text)
    assert "challenge.yaml, line 11: wrong_ways[0].check[0].role_trusts_others.onli: role_trusts_others takes no argument 'onli' (it takes: role, service_account, only)" in said
    assert "challenge.yaml, line 11: wrong_ways[0].check[0].role_trusts_others.only: only: namespace/name, or a list of them" in said
    assert "challenge.yaml, line 11: wrong_ways[0].check[0].role_trusts_others: role_trusts_others needs one of role, service_account" in said
    assert any(p.startswith("challenge.yaml, line 10: wrong_ways[0].explain: missing") for p in said), said
