"""The result of evaluating a trust policy (computed by analysis.trust): the request, each
statement's checks, the decision and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny matched
    NOT_ALLOWED = "not-allowed"  # no Allow matched (IAM's implicit deny)
    UNKNOWN = "unknown"  # something in the policy was not understood


class CheckStatus(StrEnum):
    MATCHED = "matched"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Hint(StrEnum):
    """Stable names for the well-known trust-policy mistakes a failed check points at."""

    WILDCARD_IN_STRING_EQUALS = "wildcard-in-string-equals"
    NAMESPACE_DIFFERS = "namespace-differs"
    SERVICE_ACCOUNT_DIFFERS = "service-account-differs"
    SUBJECT_DIFFERS = "subject-differs"
    SUBJECT_IN_AUD_KEY = "subject-in-aud-key"
    AUDIENCE_DIFFERS = "audience-differs"
    KEY_WITHOUT_ISSUER_PREFIX = "key-without-issuer-prefix"
    KEY_OTHER_ISSUER = "key-other-issuer"
    PRINCIPAL_NOT_PROVIDER = "principal-not-provider"
    PRINCIPAL_OTHER_PROVIDER = "principal-other-provider"
    PRINCIPAL_OTHER_ACCOUNT = "principal-other-account"
    PRINCIPAL_TYPE_DIFFERS = "principal-type-differs"
    ACTION_DIFFERS = "action-differs"
    EXPLICIT_DENY = "explicit-deny"


@dataclass(frozen=True)
class TrustRequest:
    """Who asks to assume the role, with what action and which condition-context values."""

    action: str  # "sts:AssumeRoleWithWebIdentity", "sts:AssumeRole", "sts:TagSession"
    principal_type: str  # "Federated" | "Service" | "AWS"
    principal: str  # provider ARN, "pods.eks.amazonaws.com", or an IAM ARN
    context: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def lookup(self, key: str) -> tuple[str, ...] | None:
        """The request's values of a condition key (keys compare case-insensitively)."""
        wanted = key.lower()
        for name, values in self.context.items():
            if name.lower() == wanted:
                return tuple(values)
        return None


@dataclass(frozen=True)
class Check:
    """One check of one statement: its principal, its action, or one condition key."""

    kind: str  # "principal" | "action" | "condition" | "statement"
    status: CheckStatus
    why: str  # in words: what the policy wants, what the request has, what differs
    hint: Hint | None = None
    operator: str | None = None  # conditions: the operator as written, e.g. "StringLike"
    key: str | None = None  # conditions: the key as written
    policy_values: tuple[str, ...] = ()
    request_values: tuple[str, ...] | None = None  # None: key absent from the request


@dataclass(frozen=True)
class StatementResult:
    index: int
    sid: str | None
    effect: str | None  # "Allow" | "Deny" | None when malformed
    status: CheckStatus  # does the statement apply to the request?
    principal: Check | None
    action: Check | None
    conditions: tuple[Check, ...] = ()
    problems: tuple[str, ...] = ()  # what made (part of) the statement not understood
    why: str = ""

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for c in (self.principal, self.action) if c) + self.conditions

    @property
    def understood(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class TrustEvaluation:
    decision: Decision
    statements: tuple[StatementResult, ...]
    reason: str  # one line in words

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    @property
    def hints(self) -> tuple[Hint, ...]:
        """Known-mistake hints of the failed checks of Allow statements, in order, without repeats.

        A Deny statement that does not match is working as meant, so its failures are no hint.
        """
        seen: dict[Hint, None] = {}
        for statement in self.statements:
            if statement.effect != "Allow":
                continue
            for check in statement.checks:
                if check.hint is not None:
                    seen.setdefault(check.hint, None)
        return tuple(seen)

    def failed_checks(self) -> list[Check]:
        return [c for s in self.statements for c in s.checks if c.status is CheckStatus.FAILED]
