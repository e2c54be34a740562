"""Trust policy pane: the document, highlighted, and each statement and condition marked
matched / failed / unknown for the request the selected pod's mechanism makes, with why in words.

It renders the chain's `TrustCheck` (the engine's one decision); it evaluates nothing itself.
"""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.highlight import highlight
from textual.widgets import Static

from irsa_explorer.model import ObjectRef, Role, TrustCheck, TrustEvaluation, Unavailable
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.widgets.format import breakable, document_text, line, literal, value_or_unknown
from irsa_explorer.widgets.panes.detail import DetailPane, arn_link, heading, note, row

RESULT_STYLE = {
    "matched": ("✓", "$success"),
    "allow": ("✓", "$success"),
    "ok": ("✓", "$success"),
    "failed": ("✗", "$error"),
    "deny": ("✗", "$error"),
    "not-allowed": ("✗", "$error"),
    "not-matched": ("✗", "$error"),
    "unknown": ("?", "$warning"),
    "skipped": ("–", "$text-muted"),
}


def result_content(result: Any) -> Content:
    text = str(getattr(result, "value", result) or "unknown")
    mark, style = RESULT_STYLE.get(text.lower(), ("?", "$warning"))
    return literal(f"{mark} {text}", style)


def pretty_document(document: Any) -> str:
    """The document as drawn: indented JSON, bounded, literal (format.document_text)."""
    return document_text(document)


def short_key(key: str | None) -> str:
    """'oidc.eks.REGION.amazonaws.com/id/ID:sub' → '…/id/ID:sub' (the issuer is shown above)."""
    if key and "/id/" in key and ":" in key:
        host_path, _, name = key.rpartition(":")
        return f"…{host_path[-6:]}:{name}"
    return key or ""


def issuer_of(trust: TrustCheck) -> str | None:
    """The OIDC issuer (host/path) of a web-identity request: its provider ARN's tail."""
    for request in trust.requests:
        if request.principal_type == "Federated" and "oidc-provider/" in request.principal:
            return request.principal.split("oidc-provider/", 1)[1]
    return None


def said_once(text: str, issuer: str | None) -> str:
    """`text` with the issuer shortened as `short_key` does: it is said in full once, in the
    line that says what the token carries."""
    return text.replace(issuer, f"…{issuer[-6:]}") if issuer and len(issuer) > 8 else text


class TrustPolicyPane(DetailPane):
    TITLE = "Trust policy"
    PANE_ID = "trust-policy"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.role: Role | Unavailable | None = None
        self.trust: TrustCheck | None = None
        self.why = "No role."

    def show(self, role: Role | Unavailable | None, trust: TrustCheck | None = None, why: str = "No role.") -> None:
        """`role`'s document, with the chain's `trust` decision for the selected pod when there
        is one; `why` says why there is no role, or no decision for this role (engine words)."""
        self.role, self.trust, self.why = role, trust, why
        arn = role.arn if isinstance(role, Role) else trust.role_arn if trust is not None else None
        federated = trust is not None and any(r.principal_type == "Federated" for r in trust.requests)
        # the decision is as old as the role's document (and, for IRSA, the OIDC providers)
        self.date(*[("role", FactsWanted(roles=frozenset({arn}), oidc_providers=federated), None)] if arn else [])
        # the objects themselves, not their ids: an id may be reused once its object is freed
        self.rebuild((role, trust, why))

    def compose(self) -> ComposeResult:
        role = self.role
        if role is None:
            yield note(self.why)
            return
        if isinstance(role, Unavailable):
            yield row("trust policy", value_or_unknown(role))
            return
        yield arn_link(role.arn, ObjectRef("Role", role.arn), classes="title-link")
        if self.trust is not None:
            yield from self._trust(self.trust)
        elif self.why:
            yield row("for this pod", literal(self.why, "$text-muted"))
        yield heading("Document")
        yield Static(highlight(pretty_document(role.trust_policy), language="json"), classes="document")

    def _trust(self, trust: TrustCheck) -> ComposeResult:
        issuer = issuer_of(trust)
        yield row("decision", line(result_content(trust.decision), " — ", said_once(trust.evaluation.reason, issuer)))
        # what the decision was made for, after the decision itself: the issuer in full, once
        yield Static(breakable(literal(trust.made_by, "$text-muted")), classes="note")
        several = len(trust.requests) > 1
        if several:
            # All must be allowed (Pod Identity: AssumeRole and TagSession): each one's own
            # decision first, so the one that fails is named.
            for request, evaluation in zip(trust.requests, trust.evaluations):
                yield row(request.action, line(result_content(evaluation.decision), " — ", said_once(evaluation.reason, issuer)))
        for request, evaluation in zip(trust.requests, trust.evaluations):
            yield from self._statements(evaluation, f"{request.action} · " if several else "", issuer)

    def _statements(self, evaluation: TrustEvaluation, prefix: str, issuer: str | None) -> ComposeResult:
        for statement in evaluation.statements:
            title = prefix + f"Statement {statement.index + 1}" + (f" ({statement.sid})" if statement.sid else "")
            title += f" · {statement.effect or 'no Effect'}"
            yield heading(title)
            yield row("applies", line(result_content(statement.status), " ", said_once(statement.why, issuer)))
            for check in (statement.principal, statement.action):
                if check is not None:
                    yield row(f"  {check.kind}", line(result_content(check.status), " ", said_once(check.why, issuer)))
            for check in statement.conditions:
                yield row("  condition", line(result_content(check.status), " ", self._condition(check)))
            for problem in statement.problems:
                yield row("  not understood", literal(said_once(problem, issuer), "$warning"))

    @staticmethod
    def _condition(check) -> Content:
        """A condition once: the engine's words ('StringEquals KEY: token has X, policy wants Y'),
        the key shortened (its issuer is said above)."""
        operator, key, why = str(check.operator or ""), check.key or "", check.why
        head = f"{operator} {key}"
        if key and why.startswith(head):
            return line((operator, "b"), " ", short_key(key), why[len(head):])
        wanted = json.dumps(list(check.policy_values))
        return line((operator, "b"), " ", short_key(key), " ", wanted, " — ", why)
