"""Trust policy pane: the document, highlighted, and each statement and condition marked
matched / failed / unknown for the selected pod's token, with why in words."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.widgets import Static

from irsa_explorer.model import Role, Unavailable
from irsa_explorer.widgets.format import value_or_unknown
from irsa_explorer.widgets.link import Link
from irsa_explorer.widgets.panes.detail import DetailPane, heading, note, row
from irsa_explorer.model import ObjectRef

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
        self.evaluation: Any = None
        self.context_words = ""
        self.why_none = "No role."

    def show(self, role: Role | Unavailable | None, evaluation: Any, context_words: str = "", why_none: str = "No role.") -> None:
        self.role, self.evaluation, self.context_words, self.why_none = role, evaluation, context_words, why_none
        self.rebuild((id(role), repr(evaluation), context_words, why_none))

    def compose(self) -> ComposeResult:
        role = self.role
        if role is None:
            yield note(self.why_none)
            return
        if isinstance(role, Unavailable):
            yield row("trust policy", value_or_unknown(role))
            return
        yield Link(role.arn, ObjectRef("Role", role.arn), classes="title-link")
        evaluation = self.evaluation
        if evaluation is not None:
            yield from self._evaluation(evaluation)
        yield heading("Document")
        yield Static(Syntax(pretty_document(role.trust_policy), "json", theme="ansi_dark", word_wrap=True, background_color="default"), classes="document")

    def _evaluation(self, evaluation: Any) -> ComposeResult:
        if isinstance(evaluation, (str, Unavailable)):
            yield row("for this pod", f"[$warning]{escape(str(evaluation))}[/]")
            return
        yield row("decision", f"{result_markup(evaluation.decision)} — {escape(evaluation.reason)}")
        if self.context_words:  # what the verdict was computed for, after the verdict itself
            yield note(self.context_words)
        for statement in evaluation.statements:
            title = f"Statement {statement.index + 1}" + (f" ({statement.sid})" if statement.sid else "")
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
                    f"{escape(short_key(check.key))} {escape(wanted)} [$text-muted](token: {escape(has)})[/]"
                    f"\n      {escape(check.why)}",
                )
            for problem in statement.problems:
                yield row("  not understood", f"[$warning]{escape(problem)}[/]")
