"""Trust policy pane: the document, highlighted, and each statement and condition marked
matched / failed / unknown for the request the selected pod's mechanism makes, with why in words.

It renders the chain's `TrustCheck` (the engine's one decision); it evaluates nothing itself.
"""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.widgets import Static

from irsa_explorer.model import ObjectRef, Role, TrustCheck, TrustEvaluation, Unavailable
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.widgets.format import value_or_unknown
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


def result_markup(result: Any) -> str:
    text = str(getattr(result, "value", result) or "unknown")
    mark, style = RESULT_STYLE.get(text.lower(), ("?", "$warning"))
    return f"[{style}]{mark} {escape(text)}[/]"


def pretty_document(document: Any) -> str:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return document
    return json.dumps(document, indent=2)


def short_key(key: str | None) -> str:
    """'oidc.eks.REGION.amazonaws.com/id/ID:sub' → '…/id/ID:sub' (the issuer is shown above)."""
    if key and "/id/" in key and ":" in key:
        host_path, _, name = key.rpartition(":")
        return f"…{host_path[-6:]}:{name}"
    return key or ""


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
            yield row("for this pod", f"[$text-muted]{escape(self.why)}[/]")
        yield heading("Document")
        yield Static(Syntax(pretty_document(role.trust_policy), "json", theme="ansi_dark", word_wrap=True, background_color="default"), classes="document")

    def _trust(self, trust: TrustCheck) -> ComposeResult:
        yield row("decision", f"{result_markup(trust.decision)} — {escape(trust.evaluation.reason)}")
        yield note(trust.made_by)  # what the decision was made for, after the decision itself
        several = len(trust.requests) > 1
        if several:
            # All must be allowed (Pod Identity: AssumeRole and TagSession): each one's own
            # decision first, so the one that fails is named.
            for request, evaluation in zip(trust.requests, trust.evaluations):
                yield row(request.action, f"{result_markup(evaluation.decision)} — {escape(evaluation.reason)}")
        for request, evaluation in zip(trust.requests, trust.evaluations):
            holder = "token" if request.principal_type == "Federated" else "request"
            yield from self._statements(evaluation, f"{request.action} · " if several else "", holder)

    def _statements(self, evaluation: TrustEvaluation, prefix: str, holder: str) -> ComposeResult:
        for statement in evaluation.statements:
            title = prefix + f"Statement {statement.index + 1}" + (f" ({statement.sid})" if statement.sid else "")
            title += f" · {statement.effect or 'no Effect'}"
            yield heading(title)
            yield row("applies", f"{result_markup(statement.status)} {escape(statement.why)}")
            for check in (statement.principal, statement.action):
                if check is not None:
                    yield row(f"  {check.kind}", f"{result_markup(check.status)} {escape(check.why)}")
            for check in statement.conditions:
                wanted = json.dumps(list(check.policy_values))
                has = "absent" if check.request_values is None else json.dumps(list(check.request_values))
                yield row(
                    "  condition",
                    f"{result_markup(check.status)} [b]{escape(str(check.operator))}[/b] "
                    f"{escape(short_key(check.key))} {escape(wanted)} [$text-muted]({holder}: {escape(has)})[/]"
                    f"\n      {escape(check.why)}",
                )
            for problem in statement.problems:
                yield row("  not understood", f"[$warning]{escape(problem)}[/]")
