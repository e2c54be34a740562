"""IAM trust-policy evaluation: would this role let this principal assume it, and why (not)?

Shared by the engine (to explain a pod's identity chain) and by the lab's simulated STS (to
decide AssumeRoleWithWebIdentity), so there is one implementation to get right.

No maintained Python library evaluates IAM policies with AWS's semantics (the AWS policy
simulator is an online API, and open-source evaluators cover identity policies or only parts
of the condition language), so this is our own, written from the IAM documentation:

- `Statement` is an object or a list; `Effect` is `Allow` or `Deny`; an explicit Deny wins.
- `Principal`: `"*"`, or `{"Federated"|"Service"|"AWS": str | list}`. IAM refuses a role trust
  policy with `NotPrincipal`, `Resource` or `NotResource`: such a statement is not understood.
- `Action` / `NotAction` with `*` and `?` wildcards; action names compare case-insensitively.
- `Condition`: several operators AND, several keys under one operator AND, several values
  of one key OR. Condition keys compare case-insensitively; String* values case-sensitively
  (except *IgnoreCase); only *Like (and Arn*) expand `*` and `?`.
- A key missing from the request makes a condition false — except negated operators
  (StringNot*, ArnNot*, NumericNot…, which are then true), `…IfExists` (true), `Null`, and
  `ForAllValues:` (true on an empty set).
- `ForAnyValue:` / `ForAllValues:` apply the operator to each value of a multi-valued key.

Anything not understood (an unknown operator, a malformed statement, a policy variable we
cannot resolve, a document that does not parse) makes the decision UNKNOWN with the reason,
unless an explicit Deny already decides. The evaluator never answers ALLOW on a policy it
did not fully understand.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from datetime import datetime
from typing import Any, Iterable

# The result types live in the model (a chain carries them); named here too, as they always were.
from irsa_explorer.model import (
    Check,
    CheckStatus,
    Decision,
    Hint,
    StatementResult,
    TrustEvaluation,
    TrustRequest,
)

__all__ = [
    "ASSUME_ROLE_ACTION", "Check", "CheckStatus", "Decision", "Hint", "POD_IDENTITY_SERVICE",
    "StatementResult", "TAG_SESSION_ACTION", "TrustEvaluation", "TrustRequest", "WEB_IDENTITY_ACTION",
    "combine_evaluations", "evaluate_trust", "evaluate_trust_all", "issuer_host_path", "oidc_provider_arn",
    "parse_policy", "pod_identity_request", "pod_identity_requests", "web_identity_request",
]

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
ASSUME_ROLE_ACTION = "sts:AssumeRole"
TAG_SESSION_ACTION = "sts:TagSession"
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


# --- building requests ----------------------------------------------------------------------


def issuer_host_path(issuer: str) -> str:
    """The issuer URL without its scheme: IAM's provider URL and the condition-key prefix.

    Nothing else is taken off: an issuer with a trailing `/` keeps it, in the provider ARN and
    in the keys (`host/:sub`), exactly as IAM stores a provider made for that issuer.
    """
    return issuer.strip().removeprefix("https://").removeprefix("http://")


def oidc_provider_arn(issuer: str, account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:oidc-provider/{issuer_host_path(issuer)}"


def web_identity_request(
    issuer: str, sub: str, aud: list[str] | tuple[str, ...] | str, account: str
) -> TrustRequest:
    """The request STS evaluates for AssumeRoleWithWebIdentity with a service-account token."""
    host = issuer_host_path(issuer)
    auds = (aud,) if isinstance(aud, str) else tuple(aud)
    return TrustRequest(
        action=WEB_IDENTITY_ACTION,
        principal_type="Federated",
        principal=oidc_provider_arn(issuer, account),
        context={f"{host}:sub": (sub,), f"{host}:aud": auds},
    )


def pod_identity_request(
    action: str = ASSUME_ROLE_ACTION,
    *,
    cluster_arn: str | None = None,
    cluster_name: str | None = None,
    namespace: str | None = None,
    service_account: str | None = None,
    pod_name: str | None = None,
    pod_uid: str | None = None,
    account: str | None = None,
) -> TrustRequest:
    """The request EKS Auth makes for a Pod Identity association (one per action).

    EKS assumes the role as the service principal `pods.eks.amazonaws.com` with `sts:AssumeRole`
    and `sts:TagSession`, tagging the session; those tags are condition-context values too.
    """
    tags = {
        "eks-cluster-arn": cluster_arn,
        "eks-cluster-name": cluster_name,
        "kubernetes-namespace": namespace,
        "kubernetes-service-account": service_account,
        "kubernetes-pod-name": pod_name,
        "kubernetes-pod-uid": pod_uid,
    }
    context: dict[str, tuple[str, ...]] = {
        f"aws:RequestTag/{k}": (v,) for k, v in tags.items() if v is not None
    }
    present = tuple(k for k, v in tags.items() if v is not None)
    if present:
        context["aws:TagKeys"] = present
    if account:
        context["aws:SourceAccount"] = (account,)
    if cluster_arn:
        context["aws:SourceArn"] = (cluster_arn,)
    return TrustRequest(action, "Service", POD_IDENTITY_SERVICE, context)


def pod_identity_requests(**kwargs: Any) -> tuple[TrustRequest, TrustRequest]:
    """Both requests a Pod Identity association needs allowed: AssumeRole and TagSession."""
    return (
        pod_identity_request(ASSUME_ROLE_ACTION, **kwargs),
        pod_identity_request(TAG_SESSION_ACTION, **kwargs),
    )


# --- evaluation -----------------------------------------------------------------------------


def evaluate_trust(policy: Any, request: TrustRequest) -> TrustEvaluation:
    """Evaluate a role's trust policy against one request, with IAM semantics.

    `policy` is the document as IAM returned it: a dict, or a JSON string (possibly
    URL-encoded, as the raw IAM API returns it). Never raises; anything not understood
    gives Decision.UNKNOWN with the reason.
    """
    try:
        return _evaluate(policy, request)
    except Exception as exc:  # a policy shape we did not foresee must not crash a view
        return TrustEvaluation(
            Decision.UNKNOWN, (), f"could not evaluate the trust policy: {type(exc).__name__}: {exc}"
        )


def evaluate_trust_all(policy: Any, requests: Iterable[TrustRequest]) -> TrustEvaluation:
    """Evaluate several requests that must all be allowed (e.g. AssumeRole + TagSession).

    The combined decision is the worst of the parts (DENY > UNKNOWN > NOT_ALLOWED > ALLOW);
    statements of every part are kept, in order.
    """
    return combine_evaluations([(r, evaluate_trust(policy, r)) for r in requests])


def combine_evaluations(parts: list[tuple[TrustRequest, TrustEvaluation]]) -> TrustEvaluation:
    """Several requests' evaluations as one: the worst decision, its request named in the reason."""
    if not parts:
        return TrustEvaluation(Decision.UNKNOWN, (), "no request to evaluate")
    rank = [Decision.DENY, Decision.UNKNOWN, Decision.NOT_ALLOWED, Decision.ALLOW]
    worst_request, worst = min(parts, key=lambda p: rank.index(p[1].decision))
    statements = tuple(s for _, e in parts for s in e.statements)
    if worst.decision is Decision.ALLOW:
        reason = "allowed for " + ", ".join(r.action for r, _ in parts)
    else:
        reason = f"{worst_request.action}: {worst.reason}"
    return TrustEvaluation(worst.decision, statements, reason)


def parse_policy(policy: Any) -> tuple[dict | None, str | None]:
    """The policy as a dict, or (None, why it could not be read)."""
    if isinstance(policy, dict):
        return policy, None
    if isinstance(policy, (bytes, bytearray)):
        try:
            policy = bytes(policy).decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"trust policy is not UTF-8: {exc}"
    if not isinstance(policy, str):
        return None, f"trust policy is a {type(policy).__name__}, not a JSON document"
    text = policy.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = urllib.parse.unquote(text)  # the raw IAM API URL-encodes policy documents
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return None, f"trust policy does not parse as JSON: {exc}"
    if not isinstance(doc, dict):
        return None, f"trust policy is a JSON {type(doc).__name__}, not an object"
    return doc, None


def _evaluate(policy: Any, request: TrustRequest) -> TrustEvaluation:
    doc, error = parse_policy(policy)
    if doc is None:
        return TrustEvaluation(Decision.UNKNOWN, (), error or "unreadable trust policy")
    raw = doc.get("Statement")
    if raw is None:
        return TrustEvaluation(Decision.UNKNOWN, (), "trust policy has no Statement")
    statements = raw if isinstance(raw, list) else [raw]
    if not statements:
        return TrustEvaluation(Decision.NOT_ALLOWED, (), "trust policy has no statements: nobody may assume the role")
    variables = doc.get("Version") == "2012-10-17"  # older versions treat ${…} literally
    results = tuple(_statement(i, s, request, variables) for i, s in enumerate(statements))
    return TrustEvaluation(*_decide(results, request))


def _decide(results: tuple[StatementResult, ...], request: TrustRequest) -> tuple[Decision, tuple, str]:
    def label(s: StatementResult) -> str:
        return f"statement {s.index + 1}" + (f" ({s.sid})" if s.sid else "")

    for s in results:
        if s.effect == "Deny" and s.status is CheckStatus.MATCHED:
            return Decision.DENY, results, f"explicit Deny in {label(s)}: {s.why}"
    not_understood = [s for s in results if s.problems or s.status is CheckStatus.UNKNOWN]
    if not_understood:
        s = not_understood[0]
        detail = "; ".join(s.problems) or s.why
        return Decision.UNKNOWN, results, f"{label(s)} not understood: {detail}"
    allows = [s for s in results if s.effect == "Allow" and s.status is CheckStatus.MATCHED]
    if allows:
        return Decision.ALLOW, results, f"{label(allows[0])} allows {request.action} for {request.principal}"
    allow_statements = [s for s in results if s.effect == "Allow"]
    if not allow_statements:
        return Decision.NOT_ALLOWED, results, "no Allow statement in the trust policy"
    # Explain with the Allow statement that came closest (fewest failed checks).
    closest = min(
        allow_statements, key=lambda s: sum(c.status is CheckStatus.FAILED for c in s.checks)
    )
    return Decision.NOT_ALLOWED, results, f"no statement allows it; closest, {label(closest)}: {closest.why}"


def _statement(index: int, raw: Any, request: TrustRequest, variables: bool) -> StatementResult:
    if not isinstance(raw, dict):
        return StatementResult(
            index, None, None, CheckStatus.UNKNOWN, None, None,
            problems=(f"statement is a {type(raw).__name__}, not an object",),
            why="malformed statement",
        )
    sid = raw.get("Sid") if isinstance(raw.get("Sid"), str) else None
    problems: list[str] = []
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        problems.append(f"Effect {effect!r} is neither Allow nor Deny")
        effect = None

    for element in ("Resource", "NotResource"):
        if element in raw:
            # The role is the resource of a trust policy: IAM refuses a document naming one.
            problems.append(f"a trust policy statement cannot have a {element} element (IAM refuses the document)")
    principal = _principal_check(raw, request, problems)
    action = _action_check(raw, request, problems)
    conditions = _condition_checks(raw.get("Condition"), request, variables, problems)
    checks = [c for c in (principal, action) if c] + list(conditions)
    statuses = [c.status for c in checks]
    if problems:
        # Not understood: even a failed check elsewhere must not hide it (never guess).
        status = CheckStatus.UNKNOWN
        why = "; ".join(problems)
    elif CheckStatus.FAILED in statuses:
        status = CheckStatus.FAILED
        why = "; ".join(c.why for c in checks if c.status is CheckStatus.FAILED)
    elif CheckStatus.UNKNOWN in statuses:
        status = CheckStatus.UNKNOWN
        why = "; ".join(c.why for c in checks if c.status is CheckStatus.UNKNOWN)
    else:
        status = CheckStatus.MATCHED
        why = "principal, action and every condition match"
    if effect is None and status is CheckStatus.MATCHED:
        status = CheckStatus.UNKNOWN
    return StatementResult(index, sid, effect, status, principal, action, tuple(conditions), tuple(problems), why)


# --- principal ------------------------------------------------------------------------------

_PRINCIPAL_TYPES = ("AWS", "Federated", "Service", "CanonicalUser")


def _principal_check(raw: dict, request: TrustRequest, problems: list[str]) -> Check:
    if "NotPrincipal" in raw:
        # IAM refuses a trust policy with NotPrincipal (MalformedPolicyDocument): a document
        # that has one was not written by IAM's rules, so it is not understood, never allowed.
        problems.append("NotPrincipal cannot be used in a role trust policy (IAM refuses the document)")
        return Check("principal", CheckStatus.UNKNOWN, "NotPrincipal is not valid in a trust policy")
    if "Principal" not in raw:
        problems.append("a trust policy statement needs a Principal")
        return Check("principal", CheckStatus.UNKNOWN, "no Principal element")
    matched, why, hint = _principal_matches(raw["Principal"], request, problems)
    if matched is None:
        return Check("principal", CheckStatus.UNKNOWN, why)
    return Check("principal", CheckStatus.MATCHED if matched else CheckStatus.FAILED, why, hint)


def _principal_matches(value: Any, request: TrustRequest, problems: list[str]) -> tuple[bool | None, str, Hint | None]:
    if value == "*":
        return True, "Principal \"*\" matches anyone", None
    if not isinstance(value, dict) or not value:
        problems.append(f"Principal {value!r} is neither \"*\" nor an object")
        return None, "Principal not understood", None
    for kind in value:
        if kind not in _PRINCIPAL_TYPES:
            problems.append(f"unknown principal type {kind!r}")
            return None, f"unknown principal type {kind!r}", None
    wanted: list[tuple[str, str]] = []
    for kind, names in value.items():
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append(f"Principal {kind} must be a string or a list of strings")
            return None, f"Principal {kind} not understood", None
        wanted.extend((kind, n) for n in names)
    for kind, name in wanted:
        if kind == "AWS" and name == "*":
            return True, "Principal {\"AWS\": \"*\"} matches anyone", None
        if kind != request.principal_type:
            continue
        if _principal_name_matches(kind, name, request.principal):
            return True, f"Principal {kind} {name} is the caller", None
    listed = ", ".join(f"{k} {n}" for k, n in wanted)
    why = f"Principal lists {listed}; the caller is {request.principal_type} {request.principal}"
    diagnosis, hint = _principal_diagnosis(wanted, request)
    return False, why + diagnosis, hint


def _principal_name_matches(kind: str, name: str, caller: str) -> bool:
    if kind == "Service":
        return name.lower() == caller.lower()
    if kind == "AWS":
        account = _account_of(caller)
        # An account id or its root ARN stands for every principal of that account.
        if account and (name == account or re.fullmatch(rf"arn:[\w-]+:iam::{account}:root", name)):
            return True
    return name == caller


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) >= 6 and parts[0] == "arn" and parts[4] else None


def _principal_diagnosis(wanted: list[tuple[str, str]], request: TrustRequest) -> tuple[str, Hint | None]:
    same_kind = [n for k, n in wanted if k == request.principal_type]
    if not same_kind:
        kinds = sorted({k for k, _ in wanted})
        return (
            f" — the policy trusts {'/'.join(kinds)} principals, not {request.principal_type}",
            Hint.PRINCIPAL_TYPE_DIFFERS,
        )
    if request.principal_type != "Federated" or ":oidc-provider/" not in request.principal:
        return "", None
    caller_account = _account_of(request.principal)
    caller_url = request.principal.split(":oidc-provider/", 1)[1]
    for name in same_kind:
        if ":oidc-provider/" not in name:
            if name.removeprefix("https://").rstrip("/").lower() == caller_url.lower() or caller_url in name:
                return (
                    f" — {name!r} is the issuer, not the provider's ARN "
                    f"(arn:aws:iam::ACCOUNT:oidc-provider/{caller_url})",
                    Hint.PRINCIPAL_NOT_PROVIDER,
                )
            return f" — {name!r} is not an oidc-provider ARN", Hint.PRINCIPAL_NOT_PROVIDER
        account = _account_of(name)
        url = name.split(":oidc-provider/", 1)[1]
        if url == caller_url and account != caller_account:
            return f" — provider in account {account}, the token's provider is in {caller_account}", Hint.PRINCIPAL_OTHER_ACCOUNT
        if url != caller_url:
            return f" — provider {url} is not this cluster's issuer {caller_url}", Hint.PRINCIPAL_OTHER_PROVIDER
    return "", None


# --- action ---------------------------------------------------------------------------------


def _action_check(raw: dict, request: TrustRequest, problems: list[str]) -> Check:
    has_a, has_na = "Action" in raw, "NotAction" in raw
    if has_a == has_na:
        problems.append("statement needs exactly one of Action / NotAction")
        return Check("action", CheckStatus.UNKNOWN, "no usable Action element")
    element = "Action" if has_a else "NotAction"
    patterns = raw[element]
    patterns = [patterns] if isinstance(patterns, str) else patterns
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        problems.append(f"{element} must be a string or a list of strings")
        return Check("action", CheckStatus.UNKNOWN, f"{element} not understood")
    hit = next((p for p in patterns if _glob(p, request.action, ignore_case=True)), None)
    if has_a:
        if hit:
            return Check("action", CheckStatus.MATCHED, f"Action {hit} covers {request.action}")
        return Check(
            "action", CheckStatus.FAILED,
            f"Action {', '.join(patterns)} does not cover {request.action}", Hint.ACTION_DIFFERS,
        )
    if hit:
        return Check("action", CheckStatus.FAILED, f"NotAction {hit} excludes {request.action}", Hint.ACTION_DIFFERS)
    return Check("action", CheckStatus.MATCHED, f"NotAction {', '.join(patterns)} does not exclude {request.action}")


# --- conditions -----------------------------------------------------------------------------

_STRING_OPS = {
    # name: (negated, compare(policy_value, request_value))
    "StringEquals": (False, lambda p, r: p == r),
    "StringNotEquals": (True, lambda p, r: p == r),
    "StringEqualsIgnoreCase": (False, lambda p, r: p.lower() == r.lower()),
    "StringNotEqualsIgnoreCase": (True, lambda p, r: p.lower() == r.lower()),
    "StringLike": (False, lambda p, r: _glob(p, r)),
    "StringNotLike": (True, lambda p, r: _glob(p, r)),
    "ArnEquals": (False, lambda p, r: _arn_like(p, r)),
    "ArnLike": (False, lambda p, r: _arn_like(p, r)),
    "ArnNotEquals": (True, lambda p, r: _arn_like(p, r)),
    "ArnNotLike": (True, lambda p, r: _arn_like(p, r)),
    "NumericEquals": (False, lambda p, r: _num(p) == _num(r)),
    "NumericNotEquals": (True, lambda p, r: _num(p) == _num(r)),
    "NumericLessThan": (False, lambda p, r: _num(r) < _num(p)),
    "NumericLessThanEquals": (False, lambda p, r: _num(r) <= _num(p)),
    "NumericGreaterThan": (False, lambda p, r: _num(r) > _num(p)),
    "NumericGreaterThanEquals": (False, lambda p, r: _num(r) >= _num(p)),
    "DateEquals": (False, lambda p, r: _date(p) == _date(r)),
    "DateNotEquals": (True, lambda p, r: _date(p) == _date(r)),
    "DateLessThan": (False, lambda p, r: _date(r) < _date(p)),
    "DateLessThanEquals": (False, lambda p, r: _date(r) <= _date(p)),
    "DateGreaterThan": (False, lambda p, r: _date(r) > _date(p)),
    "DateGreaterThanEquals": (False, lambda p, r: _date(r) >= _date(p)),
    "Bool": (False, lambda p, r: p.lower() == r.lower()),
}
_VARIABLE_OPS = {n for n in _STRING_OPS if n.startswith(("String", "Arn"))}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _NotUnderstood(Exception):
    """A value we cannot compare (bad number/date, unresolvable variable)."""


def _condition_checks(
    block: Any, request: TrustRequest, variables: bool, problems: list[str]
) -> tuple[Check, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        problems.append("Condition is not an object")
        return (Check("condition", CheckStatus.UNKNOWN, "Condition not understood"),)
    checks: list[Check] = []
    for operator, keys in block.items():
        if not isinstance(keys, dict):
            problems.append(f"Condition {operator} is not an object of keys")
            checks.append(Check("condition", CheckStatus.UNKNOWN, f"{operator} not understood", operator=str(operator)))
            continue
        for key, values in keys.items():
            checks.append(_condition(str(operator), str(key), values, request, variables, problems))
    return tuple(checks)


def _policy_values(values: Any) -> tuple[str, ...] | None:
    values = values if isinstance(values, list) else [values]
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (str, int, float)):
            out.append(str(v))
        else:
            return None
    return tuple(out)


def _split_operator(operator: str) -> tuple[str | None, str, bool]:
    qualifier = None
    for q in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(q):
            qualifier, operator = q[:-1], operator[len(q):]
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    return qualifier, operator.removesuffix("IfExists") if if_exists else operator, if_exists


def _condition(
    operator: str, key: str, raw_values: Any, request: TrustRequest, variables: bool, problems: list[str]
) -> Check:
    values = _policy_values(raw_values)
    if values is None:
        problems.append(f"{operator} {key}: values must be strings, numbers or booleans")
        return Check("condition", CheckStatus.UNKNOWN, f"{operator} {key}: values not understood", operator=operator, key=key)
    qualifier, base, if_exists = _split_operator(operator)
    present = request.lookup(key)

    def result(ok: bool | None, why: str, hint: Hint | None = None) -> Check:
        status = CheckStatus.UNKNOWN if ok is None else CheckStatus.MATCHED if ok else CheckStatus.FAILED
        return Check("condition", status, why, hint if status is CheckStatus.FAILED else None,
                     operator, key, values, present)

    if base == "Null":
        if qualifier or if_exists or not values or not all(v.lower() in ("true", "false") for v in values):
            problems.append(f"{operator} {key}: Null takes only \"true\" or \"false\"")
            return result(None, f"{operator} {key} not understood")
        absent = not present
        ok = any((v.lower() == "true") == absent for v in values)
        return result(ok, f"Null {key}: the key is {'absent' if absent else 'present'}, policy wants "
                          f"{'absent' if values[0].lower() == 'true' else 'present'}")

    if base not in _STRING_OPS:
        problems.append(f"unknown condition operator {operator!r}")
        return result(None, f"unknown condition operator {operator!r}: cannot evaluate {key}")
    negated, compare = _STRING_OPS[base]

    if variables and base in _VARIABLE_OPS and any("${" in v for v in values):
        try:
            values = tuple(_substitute(v, request, like=base.endswith("Like") or base.startswith("Arn")) for v in values)
        except _NotUnderstood as exc:
            problems.append(str(exc))
            return result(None, f"{operator} {key}: {exc}")

    shown_values = ", ".join(values) or "(no values)"
    if present is None or (qualifier and not present):
        # AWS: absent key → positive operators false, negated operators true; IfExists → true;
        # ForAllValues over an empty set → true, ForAnyValue → false.
        if if_exists:
            return result(True, f"{operator} {key}: key absent, so …IfExists matches")
        if qualifier == "ForAllValues":
            return result(True, f"{operator} {key}: key absent, ForAllValues matches an empty set")
        if qualifier == "ForAnyValue":
            return result(False, f"{operator} {key}: the request has no {key}{_missing_key_words(key, request)}",
                          _missing_key_hint(key, request))
        if negated:
            return result(True, f"{operator} {key}: key absent, so a negated operator matches")
        return result(False, f"{operator} {key}: the request has no {key} (policy wants {shown_values})"
                      + _missing_key_words(key, request),
                      _missing_key_hint(key, request))

    try:
        def hit(r: str) -> bool:
            return any(compare(p, r) for p in values)

        if qualifier == "ForAllValues":
            ok = all((not hit(r)) if negated else hit(r) for r in present)
        elif qualifier == "ForAnyValue":
            ok = any((not hit(r)) if negated else hit(r) for r in present)
        else:
            ok = (not any(hit(r) for r in present)) if negated else any(hit(r) for r in present)
    except _NotUnderstood as exc:
        problems.append(f"{operator} {key}: {exc}")
        return result(None, f"{operator} {key}: {exc}")

    shown_request = ", ".join(present) or "(empty)"
    # Web-identity context values come from the token's claims: say so, it is what users compare.
    holder = "token has" if request.principal_type == "Federated" else "request has"
    if ok:
        return result(True, f"{operator} {key}: {holder} {shown_request}, policy wants {shown_values}")
    why, hint = _condition_diagnosis(base, key, values, present)
    return result(False, f"{operator} {key}: {holder} {shown_request}, policy wants {shown_values}" + why, hint)


def _missing_key_hint(key: str, request: TrustRequest) -> Hint | None:
    """A key the request lacks: is it a web-identity key with a wrong or missing issuer prefix?"""
    _, _, claim = key.rpartition(":")
    prefixes = {name.rpartition(":")[0].lower() for name in request.context if ":" in name}
    if ":" not in key and any(name.lower().endswith(":" + key.lower()) for name in request.context):
        return Hint.KEY_WITHOUT_ISSUER_PREFIX
    if claim.lower() in ("sub", "aud", "amr") and key.rpartition(":")[0].lower() not in prefixes:
        return Hint.KEY_OTHER_ISSUER
    return None


def _missing_key_words(key: str, request: TrustRequest) -> str:
    hint = _missing_key_hint(key, request)
    prefixes = sorted({name.rpartition(":")[0] for name in request.context if name.endswith((":sub", ":aud"))})
    if hint is Hint.KEY_WITHOUT_ISSUER_PREFIX:
        return f" — the key lacks the issuer prefix; this token's keys are {prefixes[0]}:sub / :aud" if prefixes else ""
    if hint is Hint.KEY_OTHER_ISSUER:
        return f" — the key names another issuer; this token's is {prefixes[0]}" if prefixes else ""
    return ""


def _condition_diagnosis(base: str, key: str, values: tuple[str, ...], present: tuple[str, ...]) -> tuple[str, Hint | None]:
    """Explain a failed condition in the words of the usual IRSA mistakes."""
    claim = key.rpartition(":")[2].lower()
    if base in ("StringEquals", "StringEqualsIgnoreCase") and any(("*" in v or "?" in v) for v in values):
        if any(_glob(v, r, ignore_case=base.endswith("IgnoreCase")) for v in values for r in present):
            return (" — StringEquals compares * and ? literally; only StringLike expands wildcards",
                    Hint.WILDCARD_IN_STRING_EQUALS)
    if claim == "aud" and any(v.startswith("system:serviceaccount:") for v in values):
        return (" — a service-account subject under the :aud key; the subject belongs under :sub",
                Hint.SUBJECT_IN_AUD_KEY)
    if claim == "aud":
        return " — the token's audience is not the one the policy wants", Hint.AUDIENCE_DIFFERS
    if claim == "sub":
        subjects = [r for r in present if r.startswith("system:serviceaccount:")]
        for r in subjects:
            _, _, ns, name = (r.split(":", 3) + ["", "", "", ""])[:4]
            for v in values:
                if not v.startswith("system:serviceaccount:"):
                    continue
                _, _, vns, vname = (v.split(":", 3) + ["", "", "", ""])[:4]
                same = (lambda a, b: _glob(a, b)) if base.endswith("Like") else (lambda a, b: a == b)
                if same(vname, name) and not same(vns, ns):
                    return f" — namespace differs ({ns} vs {vns})", Hint.NAMESPACE_DIFFERS
                if same(vns, ns) and not same(vname, name):
                    return f" — service account name differs ({name} vs {vname})", Hint.SERVICE_ACCOUNT_DIFFERS
        return " — the token's subject is not one the policy names", Hint.SUBJECT_DIFFERS
    return "", None


def _substitute(value: str, request: TrustRequest, like: bool) -> str:
    """Replace policy variables ${key} with the request's single value of that key."""

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name in ("*", "?", "$"):
            # Escapes for a literal *, ? or $; in *Like they must not act as wildcards.
            return {"*": "\x00STAR\x00", "?": "\x00QMARK\x00", "$": "$"}[name] if like else name
        if "," in name:
            raise _NotUnderstood(f"policy variable ${{{name}}} with a default value is not supported")
        found = request.lookup(name.strip())
        if found is None or len(found) != 1:
            raise _NotUnderstood(f"policy variable ${{{name}}} has no single value in this request")
        # A substituted value is data, never a wildcard.
        if like:
            return found[0].replace("*", "\x00STAR\x00").replace("?", "\x00QMARK\x00")
        return found[0]

    return _VARIABLE.sub(one, value)


def _glob(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """IAM wildcard match: `*` any run of characters, `?` one character, nothing else special."""
    return _glob_regex(pattern, ignore_case).fullmatch(text) is not None


@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # The same few patterns are matched against thousands of subjects on a large cluster:
    # translate each once (re's own cache is keyed on the translated text, so it cannot help).
    regex = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch)
        for ch in pattern.replace("\x00STAR\x00", "\x01").replace("\x00QMARK\x00", "\x02")
    ).replace("\x01", re.escape("*")).replace("\x02", re.escape("?"))
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _arn_like(pattern: str, arn: str) -> bool:
    """Arn* operators: each of the six colon-separated parts is matched on its own."""
    if pattern == "*":
        return True
    p_parts, a_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(p_parts) != 6:
        # Not an ARN pattern: how IAM compares it is not documented, so do not guess.
        raise _NotUnderstood(f"{pattern!r} is not an ARN pattern (6 colon-separated parts)")
    if len(a_parts) != 6:
        return False
    return all(_glob(p, a) for p, a in zip(p_parts, a_parts))


def _num(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise _NotUnderstood(f"{value!r} is not a number") from None


def _date(value: str) -> float:
    try:
        if re.fullmatch(r"\d+", value):
            return float(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise _NotUnderstood(f"{value!r} is not a date") from None
