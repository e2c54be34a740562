"""Trust-policy evaluation, table-driven from the IAM docs' semantics and real-world policies."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from irsa_explorer.analysis.trust import (
    CheckStatus,
    Decision,
    Hint,
    TrustRequest,
    evaluate_trust,
    evaluate_trust_all,
    oidc_provider_arn,
    pod_identity_request,
    pod_identity_requests,
    web_identity_request,
)

ACCOUNT = "113534181560"
ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
HOST = ISSUER.removeprefix("https://")
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}"
SUB = "system:serviceaccount:default:my-sa"


def irsa(sub: str = SUB, aud=("sts.amazonaws.com",), issuer: str = ISSUER, account: str = ACCOUNT):
    return web_identity_request(issuer, sub, list(aud), account)


def stmt(condition=None, *, effect="Allow", principal=None, action="sts:AssumeRoleWithWebIdentity", **extra):
    s = {"Effect": effect, "Principal": principal or {"Federated": PROVIDER}, "Action": action}
    if condition is not None:
        s["Condition"] = condition
    s.update(extra)
    return s


def policy(*statements, version="2012-10-17"):
    doc = {"Statement": list(statements)}
    if version:
        doc["Version"] = version
    return doc


# eksctl create iamserviceaccount writes exactly this shape.
EKSCTL = policy(stmt({"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": SUB}}))

# terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks: StringLike over a
# list of "ns:sa" subjects and a separate aud condition.
TERRAFORM = policy(
    stmt(
        {
            "StringLike": {f"{HOST}:sub": ["system:serviceaccount:kube-system:ebs-*", "system:serviceaccount:default:my-sa"]},
            "StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"},
        },
        Sid="",
    )
)

POD_IDENTITY = policy(
    {
        "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
)


def test_request_builders_follow_sts_naming():
    r = irsa()
    assert r.action == "sts:AssumeRoleWithWebIdentity"
    assert r.principal_type == "Federated"
    assert r.principal == PROVIDER == oidc_provider_arn(ISSUER, ACCOUNT)
    assert r.context == {f"{HOST}:sub": (SUB,), f"{HOST}:aud": ("sts.amazonaws.com",)}
    assert web_identity_request(ISSUER, SUB, "x", ACCOUNT).lookup(f"{HOST}:AUD") == ("x",)
    p = pod_identity_request(namespace="default", service_account="my-sa", account=ACCOUNT)
    assert (p.principal_type, p.principal, p.action) == ("Service", "pods.eks.amazonaws.com", "sts:AssumeRole")
    assert p.lookup("aws:requesttag/kubernetes-namespace") == ("default",)


CASES = [
    # (name, policy, request, decision, hint expected among the evaluation's hints)
    ("eksctl trust, right SA", EKSCTL, irsa(), Decision.ALLOW, None),
    ("eksctl trust, other namespace", EKSCTL, irsa("system:serviceaccount:prod:my-sa"), Decision.NOT_ALLOWED, Hint.NAMESPACE_DIFFERS),
    ("eksctl trust, other SA name", EKSCTL, irsa("system:serviceaccount:default:other"), Decision.NOT_ALLOWED, Hint.SERVICE_ACCOUNT_DIFFERS),
    ("eksctl trust, wrong audience", EKSCTL, irsa(aud=["sts.amazon.com"]), Decision.NOT_ALLOWED, Hint.AUDIENCE_DIFFERS),
    ("eksctl trust, other cluster's issuer", EKSCTL,
     irsa(issuer="https://oidc.eks.us-east-2.amazonaws.com/id/OTHER"), Decision.NOT_ALLOWED, Hint.PRINCIPAL_OTHER_PROVIDER),
    ("eksctl trust, provider in another account", EKSCTL, irsa(account="999999999999"), Decision.NOT_ALLOWED, Hint.PRINCIPAL_OTHER_ACCOUNT),
    ("terraform StringLike list, literal entry", TERRAFORM, irsa(), Decision.ALLOW, None),
    ("terraform StringLike list, wildcard entry", TERRAFORM, irsa("system:serviceaccount:kube-system:ebs-csi-controller-sa"), Decision.ALLOW, None),
    ("terraform StringLike list, no entry", TERRAFORM, irsa("system:serviceaccount:kube-system:vpc-cni"), Decision.NOT_ALLOWED, Hint.SERVICE_ACCOUNT_DIFFERS),
    ("terraform StringLike list, unrelated subject", TERRAFORM, irsa("system:serviceaccount:apps:web"), Decision.NOT_ALLOWED, Hint.SUBJECT_DIFFERS),
    ("wildcard inside StringEquals does not expand",
     policy(stmt({"StringEquals": {f"{HOST}:sub": "system:serviceaccount:default:*"}})), irsa(),
     Decision.NOT_ALLOWED, Hint.WILDCARD_IN_STRING_EQUALS),
    ("wildcard inside StringEquals matches only itself literally",
     policy(stmt({"StringEquals": {f"{HOST}:sub": "system:serviceaccount:default:*"}})),
     irsa("system:serviceaccount:default:*"), Decision.ALLOW, None),
    ("same wildcard under StringLike expands",
     policy(stmt({"StringLike": {f"{HOST}:sub": "system:serviceaccount:default:*"}})), irsa(), Decision.ALLOW, None),
    ("? matches exactly one character",
     policy(stmt({"StringLike": {f"{HOST}:sub": "system:serviceaccount:default:my-s?"}})), irsa(), Decision.ALLOW, None),
    ("? does not match two characters",
     policy(stmt({"StringLike": {f"{HOST}:sub": "system:serviceaccount:default:my-?"}})), irsa(), Decision.NOT_ALLOWED, None),
    ("aud key used where sub was meant",
     policy(stmt({"StringEquals": {f"{HOST}:aud": SUB}})), irsa(), Decision.NOT_ALLOWED, Hint.SUBJECT_IN_AUD_KEY),
    ("Federated principal missing oidc-provider/",
     policy(stmt(principal={"Federated": f"arn:aws:iam::{ACCOUNT}:{HOST}"})), irsa(), Decision.NOT_ALLOWED, Hint.PRINCIPAL_NOT_PROVIDER),
    ("Federated principal is the issuer URL",
     policy(stmt(principal={"Federated": ISSUER})), irsa(), Decision.NOT_ALLOWED, Hint.PRINCIPAL_NOT_PROVIDER),
    ("condition key without the issuer prefix",
     policy(stmt({"StringEquals": {"sub": SUB}})), irsa(), Decision.NOT_ALLOWED, Hint.KEY_WITHOUT_ISSUER_PREFIX),
    ("condition key of another issuer",
     policy(stmt({"StringEquals": {"oidc.eks.us-east-2.amazonaws.com/id/OTHER:sub": SUB}})), irsa(), Decision.NOT_ALLOWED, Hint.KEY_OTHER_ISSUER),
    ("condition keys compare case-insensitively",
     policy(stmt({"StringEquals": {f"{HOST.lower()}:SUB": SUB}})), irsa(), Decision.ALLOW, None),
    ("StringEquals values compare case-sensitively",
     policy(stmt({"StringEquals": {f"{HOST}:sub": SUB.upper()}})), irsa(), Decision.NOT_ALLOWED, None),
    ("StringEqualsIgnoreCase ignores case",
     policy(stmt({"StringEqualsIgnoreCase": {f"{HOST}:sub": SUB.upper()}})), irsa(), Decision.ALLOW, None),
    ("StringNotEqualsIgnoreCase",
     policy(stmt({"StringNotEqualsIgnoreCase": {f"{HOST}:sub": SUB.upper()}})), irsa(), Decision.NOT_ALLOWED, None),
    ("StringNotEquals excludes the SA",
     policy(stmt({"StringNotEquals": {f"{HOST}:sub": SUB}})), irsa(), Decision.NOT_ALLOWED, None),
    ("StringNotLike lets others through",
     policy(stmt({"StringNotLike": {f"{HOST}:sub": "system:serviceaccount:kube-system:*"}})), irsa(), Decision.ALLOW, None),
    ("several values of one key are OR",
     policy(stmt({"StringEquals": {f"{HOST}:sub": ["system:serviceaccount:x:y", SUB]}})), irsa(), Decision.ALLOW, None),
    ("several keys are AND (one fails)",
     policy(stmt({"StringEquals": {f"{HOST}:sub": SUB, f"{HOST}:aud": "other"}})), irsa(), Decision.NOT_ALLOWED, Hint.AUDIENCE_DIFFERS),
    ("several operators are AND (one fails)",
     policy(stmt({"StringEquals": {f"{HOST}:sub": SUB}, "StringLike": {f"{HOST}:aud": "x*"}})), irsa(), Decision.NOT_ALLOWED, None),
    ("missing key makes a positive operator false",
     policy(stmt({"StringEquals": {f"{HOST}:amr": "x"}})), irsa(), Decision.NOT_ALLOWED, None),
    ("missing key makes a negated operator true",
     policy(stmt({"StringNotEquals": {f"{HOST}:amr": "x"}})), irsa(), Decision.ALLOW, None),
    ("IfExists: missing key matches",
     policy(stmt({"StringEqualsIfExists": {f"{HOST}:amr": "x"}, "StringEquals": {f"{HOST}:sub": SUB}})), irsa(), Decision.ALLOW, None),
    ("IfExists: present key is still checked",
     policy(stmt({"StringEqualsIfExists": {f"{HOST}:sub": "system:serviceaccount:x:y"}})), irsa(), Decision.NOT_ALLOWED, None),
    ("Null true: key absent",
     policy(stmt({"Null": {f"{HOST}:amr": "true"}})), irsa(), Decision.ALLOW, None),
    ("Null false: key present",
     policy(stmt({"Null": {f"{HOST}:sub": "false"}})), irsa(), Decision.ALLOW, None),
    ("Null true on a present key fails",
     policy(stmt({"Null": {f"{HOST}:sub": "true"}})), irsa(), Decision.NOT_ALLOWED, None),
    ("ForAnyValue: one audience matches",
     policy(stmt({"ForAnyValue:StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}})),
     irsa(aud=["other", "sts.amazonaws.com"]), Decision.ALLOW, None),
    ("ForAllValues: every audience must match",
     policy(stmt({"ForAllValues:StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}})),
     irsa(aud=["other", "sts.amazonaws.com"]), Decision.NOT_ALLOWED, None),
    ("ForAllValues: all audiences listed",
     policy(stmt({"ForAllValues:StringEquals": {f"{HOST}:aud": ["sts.amazonaws.com", "other"]}})),
     irsa(aud=["other", "sts.amazonaws.com"]), Decision.ALLOW, None),
    ("ForAllValues: absent key is an empty set, so true",
     policy(stmt({"ForAllValues:StringEquals": {f"{HOST}:amr": "x"}})), irsa(), Decision.ALLOW, None),
    ("ForAnyValue: absent key is false",
     policy(stmt({"ForAnyValue:StringEquals": {f"{HOST}:amr": "x"}})), irsa(), Decision.NOT_ALLOWED, None),
    ("ForAnyValue:StringNotEquals: one value differs",
     policy(stmt({"ForAnyValue:StringNotEquals": {f"{HOST}:aud": "sts.amazonaws.com"}})),
     irsa(aud=["other", "sts.amazonaws.com"]), Decision.ALLOW, None),
    ("ForAllValues:StringNotEquals: one value is listed",
     policy(stmt({"ForAllValues:StringNotEquals": {f"{HOST}:aud": "sts.amazonaws.com"}})),
     irsa(aud=["other", "sts.amazonaws.com"]), Decision.NOT_ALLOWED, None),
    ("explicit Deny wins over Allow",
     policy(stmt(), stmt({"StringLike": {f"{HOST}:sub": "system:serviceaccount:default:*"}}, effect="Deny")),
     irsa(), Decision.DENY, None),
    ("Deny that does not apply leaves the Allow",
     policy(stmt(), stmt({"StringLike": {f"{HOST}:sub": "system:serviceaccount:kube-system:*"}}, effect="Deny")),
     irsa(), Decision.ALLOW, None),
    ("action must be AssumeRoleWithWebIdentity",
     policy(stmt(action="sts:AssumeRole")), irsa(), Decision.NOT_ALLOWED, Hint.ACTION_DIFFERS),
    ("action wildcard sts:*", policy(stmt(action="sts:*")), irsa(), Decision.ALLOW, None),
    ("action wildcard *", policy(stmt(action="*")), irsa(), Decision.ALLOW, None),
    ("action names are case-insensitive", policy(stmt(action="STS:assumerolewithwebidentity")), irsa(), Decision.ALLOW, None),
    ("action list", policy(stmt(action=["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"])), irsa(), Decision.ALLOW, None),
    ("NotAction excluding it", policy({"Effect": "Allow", "Principal": "*", "NotAction": "sts:AssumeRoleWith*"}), irsa(), Decision.NOT_ALLOWED, None),
    ("NotAction excluding others", policy({"Effect": "Allow", "Principal": "*", "NotAction": "iam:*"}), irsa(), Decision.ALLOW, None),
    ("Principal * matches", policy(stmt(principal="*")), irsa(), Decision.ALLOW, None),
    ("Principal AWS * matches", policy(stmt(principal={"AWS": "*"})), irsa(), Decision.ALLOW, None),
    ("Principal list with the provider", policy(stmt(principal={"Federated": ["arn:aws:iam::1:oidc-provider/x", PROVIDER]})), irsa(), Decision.ALLOW, None),
    ("Statement as a single object", {"Version": "2012-10-17", "Statement": stmt()}, irsa(), Decision.ALLOW, None),
    ("no statements", policy(), irsa(), Decision.NOT_ALLOWED, None),
    ("only a Deny", policy(stmt(effect="Deny", principal={"Federated": "x"})), irsa(), Decision.NOT_ALLOWED, None),
    ("Pod Identity trust does not trust web identity", POD_IDENTITY, irsa(), Decision.NOT_ALLOWED, Hint.PRINCIPAL_TYPE_DIFFERS),
    ("Pod Identity trust allows AssumeRole", POD_IDENTITY, pod_identity_request(), Decision.ALLOW, None),
    ("Pod Identity trust allows TagSession", POD_IDENTITY, pod_identity_request("sts:TagSession"), Decision.ALLOW, None),
    ("IRSA trust rejects Pod Identity", EKSCTL, pod_identity_request(), Decision.NOT_ALLOWED, Hint.PRINCIPAL_TYPE_DIFFERS),
    ("Pod Identity with tag conditions",
     policy({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"],
             "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "default", "aws:SourceAccount": ACCOUNT},
                           "ArnLike": {"aws:SourceArn": f"arn:aws:eks:us-east-2:{ACCOUNT}:cluster/*"}}}),
     pod_identity_request(namespace="default", account=ACCOUNT, cluster_arn=f"arn:aws:eks:us-east-2:{ACCOUNT}:cluster/demo"),
     Decision.ALLOW, None),
    ("ArnEquals checks each part, other account fails",
     policy({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole",
             "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:eks:us-east-2:1:cluster/demo"}}}),
     pod_identity_request(cluster_arn=f"arn:aws:eks:us-east-2:{ACCOUNT}:cluster/demo"), Decision.NOT_ALLOWED, None),
    ("AWS principal by account id",
     policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}),
     TrustRequest("sts:AssumeRole", "AWS", f"arn:aws:iam::{ACCOUNT}:role/x"), Decision.ALLOW, None),
    ("AWS principal by root ARN",
     policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}),
     TrustRequest("sts:AssumeRole", "AWS", f"arn:aws:iam::{ACCOUNT}:role/x"), Decision.ALLOW, None),
    ("Bool operator", policy(stmt({"Bool": {"aws:SecureTransport": "true"}})),
     TrustRequest("sts:AssumeRoleWithWebIdentity", "Federated", PROVIDER, {"aws:SecureTransport": ("true",)}), Decision.ALLOW, None),
    ("Bool given a JSON boolean", policy(stmt({"Bool": {"aws:SecureTransport": False}})),
     TrustRequest("sts:AssumeRoleWithWebIdentity", "Federated", PROVIDER, {"aws:SecureTransport": ("true",)}), Decision.NOT_ALLOWED, None),
    ("policy variable resolves from the request",
     policy(stmt({"StringEquals": {f"{HOST}:sub": f"${{{HOST}:sub}}"}})), irsa(), Decision.ALLOW, None),
    ("policy variables are literal before Version 2012-10-17",
     policy(stmt({"StringEquals": {f"{HOST}:sub": f"${{{HOST}:sub}}"}}), version=None), irsa(), Decision.NOT_ALLOWED, None),
]


@pytest.mark.parametrize("doc,request_,decision,hint", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_trust_table(doc, request_, decision, hint):
    evaluation = evaluate_trust(doc, request_)
    assert evaluation.decision is decision, evaluation.reason
    if hint is not None:
        assert hint in evaluation.hints, (evaluation.hints, evaluation.reason)
    assert evaluation.reason


UNKNOWN_CASES = [
    ("string that does not parse", "{\"Statement\": ["),
    ("JSON list, not object", "[]"),
    ("not a document", 42),
    ("no Statement", {"Version": "2012-10-17"}),
    ("statement not an object", policy("Allow everything")),
    ("unknown operator", policy(stmt({"StringEqualsMaybe": {f"{HOST}:sub": SUB}}))),
    ("misspelt operator case", policy(stmt({"stringequals": {f"{HOST}:sub": SUB}}))),
    ("effect typo", policy(stmt(effect="allow"))),
    ("missing Action", policy({"Effect": "Allow", "Principal": "*"})),
    ("Principal and NotPrincipal", policy(stmt(NotPrincipal="*"))),
    # IAM refuses a trust policy with NotPrincipal or a Resource: such a document is invalid.
    ("NotPrincipal in an Allow", policy({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"},
                                         "Action": "sts:AssumeRoleWithWebIdentity"})),
    ("NotPrincipal in a Deny that excludes the provider",
     policy(stmt(), {"Effect": "Deny", "NotPrincipal": {"Federated": PROVIDER}, "Action": "*"})),
    ("NotPrincipal in a Deny that would hit the provider",
     policy(stmt(), {"Effect": "Deny", "NotPrincipal": {"Federated": "arn:aws:iam::1:oidc-provider/x"}, "Action": "*"})),
    ("a Resource element", policy(stmt(Resource="*"))),
    ("a Resource naming the role", policy(stmt(Resource=f"arn:aws:iam::{ACCOUNT}:role/app"))),
    ("a NotResource element", policy(stmt(NotResource="arn:aws:s3:::x"))),
    ("unknown principal type", policy(stmt(principal={"Federate": PROVIDER}))),
    ("condition value an object", policy(stmt({"StringEquals": {f"{HOST}:sub": {"x": 1}}}))),
    ("unresolvable policy variable", policy(stmt({"StringEquals": {f"{HOST}:sub": "${aws:username}"}}))),
    ("Null with a non-boolean", policy(stmt({"Null": {f"{HOST}:sub": "maybe"}}))),
    ("Null with no value", policy(stmt({"Null": {f"{HOST}:sub": []}}))),
    ("numeric operator on a non-number", policy(stmt({"NumericLessThan": {f"{HOST}:sub": "5"}}))),
    ("an unknown Allow next to a matching Allow", policy(stmt(), stmt({"Mystery": {"a": "b"}}))),
]


@pytest.mark.parametrize("doc", [c[1] for c in UNKNOWN_CASES], ids=[c[0] for c in UNKNOWN_CASES])
def test_not_understood_is_unknown_never_allow(doc):
    evaluation = evaluate_trust(doc, irsa())
    assert evaluation.decision is Decision.UNKNOWN, evaluation.reason
    assert evaluation.reason


def test_explicit_deny_decides_even_next_to_something_unknown():
    doc = policy(stmt({"Mystery": {"a": "b"}}), stmt(effect="Deny"))
    assert evaluate_trust(doc, irsa()).decision is Decision.DENY


def test_parse_error_is_in_the_reason():
    evaluation = evaluate_trust("{not json", irsa())
    assert evaluation.decision is Decision.UNKNOWN
    assert "JSON" in evaluation.reason


def test_json_string_and_url_encoded_documents_are_read():
    text = json.dumps(EKSCTL)
    assert evaluate_trust(text, irsa()).decision is Decision.ALLOW
    assert evaluate_trust(urllib.parse.quote(text), irsa()).decision is Decision.ALLOW


def test_namespace_mismatch_is_explained_in_words():
    evaluation = evaluate_trust(EKSCTL, irsa("system:serviceaccount:prod:my-sa"))
    [statement] = evaluation.statements
    assert statement.status is CheckStatus.FAILED
    assert statement.principal.status is CheckStatus.MATCHED
    assert statement.action.status is CheckStatus.MATCHED
    failed = [c for c in statement.conditions if c.status is CheckStatus.FAILED]
    assert len(failed) == 1
    why = failed[0].why
    assert "StringEquals" in why and f"{HOST}:sub" in why
    assert "system:serviceaccount:prod:my-sa" in why and SUB in why
    assert "namespace differs" in why
    assert failed[0].request_values == ("system:serviceaccount:prod:my-sa",)
    assert failed[0].policy_values == (SUB,)
    assert "namespace differs" in evaluation.reason


def test_matched_checks_say_what_matched():
    evaluation = evaluate_trust(EKSCTL, irsa())
    [statement] = evaluation.statements
    assert all(c.status is CheckStatus.MATCHED for c in statement.checks)
    assert PROVIDER in statement.principal.why


def test_pod_identity_needs_both_actions():
    both = evaluate_trust_all(POD_IDENTITY, pod_identity_requests(namespace="default", service_account="s"))
    assert both.decision is Decision.ALLOW
    no_tag = policy({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole"})
    missing = evaluate_trust_all(no_tag, pod_identity_requests())
    assert missing.decision is Decision.NOT_ALLOWED
    assert "sts:TagSession" in missing.reason
    assert evaluate_trust_all(EKSCTL, ()).decision is Decision.UNKNOWN


def test_escaped_wildcard_in_variable_is_literal():
    doc = policy(stmt({"StringLike": {f"{HOST}:sub": "system:serviceaccount:default:${*}"}}))
    assert evaluate_trust(doc, irsa()).decision is Decision.NOT_ALLOWED
    assert evaluate_trust(doc, irsa("system:serviceaccount:default:*")).decision is Decision.ALLOW


def test_hints_come_from_allow_statements_only():
    doc = policy(
        stmt({"StringEquals": {f"{HOST}:sub": "system:serviceaccount:prod:my-sa"}}),
        stmt({"StringEquals": {f"{HOST}:sub": "system:serviceaccount:kube-system:*"}}, effect="Deny"),
    )
    evaluation = evaluate_trust(doc, irsa())
    assert evaluation.decision is Decision.NOT_ALLOWED
    assert evaluation.hints == (Hint.NAMESPACE_DIFFERS,)


@pytest.mark.parametrize("element,value", [
    ("NotPrincipal", {"AWS": "arn:aws:iam::1:root"}),
    ("Resource", "*"),
])
def test_invalid_trust_elements_say_why_and_name_the_element(element, value):
    evaluation = evaluate_trust(policy(stmt(**{element: value})), irsa())
    assert evaluation.decision is Decision.UNKNOWN
    assert element in evaluation.reason and "IAM refuses" in evaluation.reason
    assert not evaluation.statements[0].understood


TRAILING = "https://issuer.example.com/cluster/"


def test_an_issuer_with_a_trailing_slash_keeps_it_in_the_provider_arn_and_the_keys():
    assert oidc_provider_arn(TRAILING, ACCOUNT) == f"arn:aws:iam::{ACCOUNT}:oidc-provider/issuer.example.com/cluster/"
    request_ = irsa(issuer=TRAILING)
    assert request_.principal.endswith("oidc-provider/issuer.example.com/cluster/")
    assert set(request_.context) == {"issuer.example.com/cluster/:sub", "issuer.example.com/cluster/:aud"}


def test_trailing_slash_policies_match_only_the_issuer_that_has_it():
    host = "issuer.example.com/cluster/"
    with_slash = policy(stmt({"StringEquals": {f"{host}:sub": SUB, f"{host}:aud": "sts.amazonaws.com"}},
                             principal={"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"}))
    assert evaluate_trust(with_slash, irsa(issuer=TRAILING)).decision is Decision.ALLOW
    # The same issuer without the slash is another provider, and other condition keys.
    without = irsa(issuer=TRAILING.rstrip("/"))
    evaluation = evaluate_trust(with_slash, without)
    assert evaluation.decision is Decision.NOT_ALLOWED
    stripped = policy(stmt({"StringEquals": {f"{host.rstrip('/')}:sub": SUB}},
                           principal={"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host.rstrip('/')}"}))
    assert evaluate_trust(stripped, irsa(issuer=TRAILING)).decision is Decision.NOT_ALLOWED
