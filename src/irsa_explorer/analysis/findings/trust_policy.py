"""Findings about trust policies: the one finding that best explains why a role's trust
rejects a token (or EKS Pod Identity), with a corrected statement as the fix."""

from __future__ import annotations

import json

from irsa_explorer.model import (
    Evidence,
    Finding,
    ObjectRef,
    Role,
)

from ..trust import Decision, Hint, TrustEvaluation, issuer_host_path
from .catalogue import (
    CATALOGUE,
    POD_IDENTITY_TRUST_INVALID,
    TRUST_ACTION_MISMATCH,
    TRUST_AUDIENCE_MISMATCH,
    TRUST_CONDITION_KEY_PREFIX,
    TRUST_EXPLICIT_DENY,
    TRUST_NOT_ALLOWED,
    TRUST_POLICY_NOT_UNDERSTOOD,
    TRUST_PRINCIPAL_NOT_PROVIDER,
    TRUST_PRINCIPAL_TYPE,
    TRUST_SUB_MISMATCH,
    TRUST_SUB_UNDER_AUD_KEY,
    TRUST_WILDCARD_IN_STRINGEQUALS,
    _make,
)


def irsa_statement(provider_arn: str, issuer: str, subject: str, audience: str = "sts.amazonaws.com") -> dict:
    """The trust statement eksctl writes for one service account."""
    host = issuer_host_path(issuer)
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": subject, f"{host}:aud": audience}},
    }


def suggested_irsa_statement(provider_arn: str, issuer: str, subject: str, audience: str = "sts.amazonaws.com") -> str:
    """`irsa_statement` as JSON, for a fix."""
    return json.dumps(irsa_statement(provider_arn, issuer, subject, audience), indent=2)


def suggested_irsa_trust(provider_arn: str, issuer: str, subject: str, audience: str = "sts.amazonaws.com") -> str:
    """A whole trust policy for one service account, as JSON (what eksctl create iamserviceaccount writes)."""
    doc = {"Version": "2012-10-17", "Statement": [irsa_statement(provider_arn, issuer, subject, audience)]}
    return json.dumps(doc, indent=2)


POD_IDENTITY_TRUST_STATEMENT = {
    "Effect": "Allow",
    "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"],
}

_HINT_CODES = [
    # The most specific explanation first: one trust failure gives one finding.
    (Hint.WILDCARD_IN_STRING_EQUALS, TRUST_WILDCARD_IN_STRINGEQUALS),
    (Hint.SUBJECT_IN_AUD_KEY, TRUST_SUB_UNDER_AUD_KEY),
    (Hint.PRINCIPAL_NOT_PROVIDER, TRUST_PRINCIPAL_NOT_PROVIDER),
    (Hint.PRINCIPAL_OTHER_PROVIDER, TRUST_PRINCIPAL_NOT_PROVIDER),
    (Hint.PRINCIPAL_OTHER_ACCOUNT, TRUST_PRINCIPAL_NOT_PROVIDER),
    (Hint.PRINCIPAL_TYPE_DIFFERS, TRUST_PRINCIPAL_TYPE),
    (Hint.KEY_WITHOUT_ISSUER_PREFIX, TRUST_CONDITION_KEY_PREFIX),
    (Hint.KEY_OTHER_ISSUER, TRUST_CONDITION_KEY_PREFIX),
    (Hint.NAMESPACE_DIFFERS, TRUST_SUB_MISMATCH),
    (Hint.SERVICE_ACCOUNT_DIFFERS, TRUST_SUB_MISMATCH),
    (Hint.SUBJECT_DIFFERS, TRUST_SUB_MISMATCH),
    (Hint.AUDIENCE_DIFFERS, TRUST_AUDIENCE_MISMATCH),
    (Hint.ACTION_DIFFERS, TRUST_ACTION_MISMATCH),
]


def irsa_trust_finding(role: Role, evaluation: TrustEvaluation, *, provider_arn: str, issuer: str,
                       subject: str, audience: str) -> Finding | None:
    """The one finding that best explains why a role's trust rejects (or cannot judge) a token."""
    if evaluation.decision is Decision.ALLOW:
        return None
    policy_ref = ObjectRef("Role", role.arn)
    evidence = [Evidence(policy_ref, "AssumeRolePolicyDocument", evaluation.reason)]
    if evaluation.decision is Decision.UNKNOWN:
        return _make(TRUST_POLICY_NOT_UNDERSTOOD, title=f"Trust policy of {role.name}: {evaluation.reason}",
                     evidence=evidence, fix=None)
    fix = (f"Add {subject} to the role's trust (keep the subjects it already trusts), e.g. with this "
           "statement in its trust policy:\n" + suggested_irsa_statement(provider_arn, issuer, subject, audience))
    if evaluation.decision is Decision.DENY:
        return _make(TRUST_EXPLICIT_DENY, title=f"Role {role.name}: {evaluation.reason}",
                     evidence=evidence, fix="Narrow or remove the Deny statement.")
    hints = evaluation.hints
    code = next((c for h, c in _HINT_CODES if h in hints), TRUST_NOT_ALLOWED)
    return _make(code, title=f"Role {role.name} does not trust {subject}: {_diagnosis(evaluation)}",
                 explanation=CATALOGUE[code].explanation + f" Evaluation: {evaluation.reason}",
                 evidence=evidence, fix=fix)


def pod_identity_trust_finding(role: Role, evaluation: TrustEvaluation) -> Finding | None:
    if evaluation.decision is Decision.ALLOW:
        return None
    evidence = [Evidence(ObjectRef("Role", role.arn), "AssumeRolePolicyDocument", evaluation.reason)]
    if evaluation.decision is Decision.UNKNOWN:
        return _make(TRUST_POLICY_NOT_UNDERSTOOD, title=f"Trust policy of {role.name}: {evaluation.reason}",
                     evidence=evidence, fix=None)
    return _make(
        POD_IDENTITY_TRUST_INVALID,
        title=f"Role {role.name} does not allow EKS Pod Identity: {_diagnosis(evaluation)}",
        explanation=CATALOGUE[POD_IDENTITY_TRUST_INVALID].explanation + f" Evaluation: {evaluation.reason}",
        evidence=evidence,
        fix="Add this statement to the trust policy:\n" + json.dumps(POD_IDENTITY_TRUST_STATEMENT, indent=2),
    )


def _diagnosis(evaluation: TrustEvaluation) -> str:
    """The most telling failed check in a few words: its diagnosis if it has one."""
    failed = evaluation.failed_checks()
    check = next((c for c in failed if c.hint is not None), failed[0] if failed else None)
    if check is None:
        return _short(evaluation.reason)
    head, sep, tail = check.why.partition(" — ")
    return _short(tail if sep else head)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
