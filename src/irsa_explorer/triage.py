"""One pod's or one role's triage, to share: `report --pod NS/NAME`, `report --role ARN`, and
`e` in the TUI (screens/export.py).

A triage is the engine's results for one object, written for a ticket: the chain and its
verdict, the findings with their fixes, the trust evaluation statement by statement, and the
live (`w`) and CloudTrail results when there are any. It decides nothing: every verdict and
decision is the chain's (analysis), rendered.

Redacted always: no token byte (whole JWTs are replaced, signatures included), access key ids
masked to `AKIA…1234`, secret keys and the pod specs' literal secrets replaced; account IDs too
with `accounts=True` (`--redact-accounts`). One pass (`Redactor`) over the finished document
does it, so the JSON and the Markdown carry the same redacted values; the rendered text is
checked once more for anything JWT-shaped. Values are written into Markdown through
markdown_safe (control characters shown as `\\x1b`, nothing can open a tag, a link or a cell).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from irsa_explorer import markdown_safe as md
from irsa_explorer.analysis.arns import role_name_of, same_role
from irsa_explorer.analysis.tokens import mask_keys, mask_tokens
from irsa_explorer.model import IdentityChain, Inventory, Pod, Role, TrustCheck, Unavailable, Verdict
from irsa_explorer.report import (
    EXIT_CANNOT_RUN,
    EXIT_NOT_OK,
    EXIT_OK,
    CannotRun,
    cluster_doc,
    finding_markdown,
    pod_entry,
    secret_values,
)

SCHEMA = "irsa-explorer.triage/v1"

# --- redaction -------------------------------------------------------------------------------

# a secret access key's shape: exactly 40 characters of base64, both cases and a digit
_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+=._-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=._-])")
_ACCOUNT = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
SECRET_REDACTED = "<secret redacted>"


class Redactor:
    """Every string of a triage document, redacted (see the module's docstring)."""

    def __init__(self, secrets: Iterable[str] = (), *, accounts: bool = False) -> None:
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self.accounts = accounts
        self._account_names: dict[str, str] = {}

    def text(self, value: str) -> str:
        value = mask_tokens(value)  # whole tokens: a ticket needs no claim of a token
        if self._secrets is not None:
            value = self._secrets.sub(SECRET_REDACTED, value)
        value = _SECRET_KEY.sub(lambda m: SECRET_REDACTED if _mixed(m.group(0)) else m.group(0), value)
        value = mask_keys(value)
        if self.accounts:
            value = _ACCOUNT.sub(lambda m: self._account(m.group(0)), value)
        return value

    def _account(self, account: str) -> str:
        # one name per account: a cross-account chain still says which ARNs share an account
        if account not in self._account_names:
            self._account_names[account] = f"account-{len(self._account_names) + 1}"
        return self._account_names[account]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self(k) if isinstance(k, str) else k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value


def _mixed(text: str) -> bool:
    return any(c.islower() for c in text) and any(c.isupper() for c in text) and any(c.isdigit() for c in text)


def no_token_left(text: str) -> str:
    """The rendered text once more without anything JWT-shaped: a last guard, after the
    document's redaction, that no token byte leaves in a file."""
    return mask_tokens(text)


# --- the document ------------------------------------------------------------------------------


def _unknown(value: Unavailable) -> dict[str, Any]:
    return {"unknown": True, "reason": value.reason, "permission": value.permission, "kind": value.kind}


def trust_evaluation_doc(trust: TrustCheck) -> dict[str, Any]:
    """The chain's trust decision statement by statement and check by check (the engine's
    words), for each request the mechanism makes."""
    return {
        "role_arn": trust.role_arn,
        "decision": str(trust.decision),
        "reason": trust.evaluation.reason,
        "evaluated_for": trust.made_by,
        "requests": [
            {
                "action": request.action,
                "principal_type": request.principal_type,
                "principal": request.principal,
                "context": {key: list(values) for key, values in request.context.items()},
                "decision": str(evaluation.decision),
                "reason": evaluation.reason,
                "statements": [
                    {
                        "index": s.index + 1, "sid": s.sid, "effect": s.effect, "applies": str(s.status), "why": s.why,
                        "checks": [
                            {"kind": c.kind, "status": str(c.status), "why": c.why, "operator": c.operator, "key": c.key}
                            for c in s.checks
                        ],
                        "problems": list(s.problems),
                    }
                    for s in evaluation.statements
                ],
            }
            for request, evaluation in zip(trust.requests, trust.evaluations)
        ],
    }


def _token_doc(chain: IdentityChain) -> dict[str, Any] | None:
    token = chain.token
    if token is None:
        return None
    # from the pod spec: what the token claims, never the token
    return {"issuer": token.issuer, "subject": token.subject, "audiences": list(token.audiences),
            "file": token.path, "volume": token.volume, "expiration_seconds": token.expiration_seconds}


def _provider_doc(chain: IdentityChain) -> dict[str, Any] | None:
    provider = chain.provider
    if provider is None:
        return None
    return {"status": str(provider.status), "reason": provider.reason, "url": provider.url,
            "expected_arn": provider.expected_arn, "client_ids": list(provider.client_ids)}


def live_doc(runs: Iterable[Any]) -> list[dict[str, Any]]:
    """`w` runs (state.LiveRun: at, result, error — or a bare livecheck.LiveResult), oldest first."""
    out = []
    for run in runs:
        result = getattr(run, "result", run)
        at = getattr(run, "at", None) or getattr(result, "at", None)
        entry: dict[str, Any] = {"at": at.isoformat(timespec="seconds") if isinstance(at, datetime) else None}
        if result is None or not hasattr(result, "ok"):
            entry.update(ok=False, error=getattr(run, "error", None) or "no answer")
        else:
            entry.update(
                ok=result.ok, container=result.container, command=result.command, arn=result.arn,
                account=result.account, exit_code=result.exit_code, error_code=result.error_code,
                error=result.error_message, hint=result.hint, intended_role_arn=result.intended_role_arn,
                matches_intended=result.matches_intended, agrees_with_engine=result.agrees_with_engine,
            )
        out.append(entry)
    return out


_TRAIL_FIELDS = {
    # ours: CloudTrail's own record fields (LookupEvents' CloudTrailEvent), then snake_case attributes
    "time": ("eventTime", "EventTime", "event_time", "time", "at"),
    "event": ("eventName", "EventName", "event_name", "name"),
    "source": ("eventSource", "EventSource", "event_source", "source"),
    "error_code": ("errorCode", "error_code"),
    "error_message": ("errorMessage", "error_message"),
    "source_ip": ("sourceIPAddress", "source_ip"),
}


def trail_entry(event: Any) -> dict[str, Any]:
    """One CloudTrail event for a triage, from a CloudTrail record (a dict as LookupEvents'
    `CloudTrailEvent` holds it, or the Event around it) or an object with the same fields."""
    if isinstance(event, Mapping) and isinstance(event.get("CloudTrailEvent"), str):
        try:
            event = {**event, **json.loads(event["CloudTrailEvent"])}
        except ValueError:
            pass

    def field(*names: str) -> Any:
        for name in names:
            value = event.get(name) if isinstance(event, Mapping) else getattr(event, name, None)
            if value is not None:
                return value
        return None

    out = {key: field(*names) for key, names in _TRAIL_FIELDS.items()}
    if isinstance(out["time"], datetime):
        out["time"] = out["time"].isoformat(timespec="seconds")
    identity = field("userIdentity", "user_identity", "identity")
    if isinstance(identity, Mapping):
        out["identity"] = identity.get("arn") or identity.get("principalId") or identity.get("userName")
        web = identity.get("webIdFederationData") if isinstance(identity.get("webIdFederationData"), Mapping) else {}
        out["subject"] = field("subject", "source_identity") or web.get("federatedProvider")
    else:
        out["identity"] = identity or field("Username", "username", "arn")
        out["subject"] = field("subject", "source_identity", "sub")
    out["role_arn"] = field("role_arn")
    out["subject"] = out["subject"] or field("session_name")
    parameters = field("requestParameters", "request_parameters")
    if isinstance(parameters, Mapping):
        out["subject"] = out["subject"] or parameters.get("roleSessionName")
        out["role_arn"] = out["role_arn"] or parameters.get("roleArn")
    return {k: (None if v is None else v if isinstance(v, (bool, int, float)) else str(v)) for k, v in out.items()}


def _trail_doc(trail: Any) -> Any:
    if trail is None:
        return None
    if isinstance(trail, Unavailable):
        return _unknown(trail)
    return [trail_entry(event) for event in trail]


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("irsa-explorer")
    except metadata.PackageNotFoundError:
        from irsa_explorer import __version__

        return __version__


def _header(inventory: Inventory, kind: str, redact: Redactor) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "kind": kind,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "generated_by": f"irsa-explorer {_version()}",
        "context": inventory.context,
        "cluster": cluster_doc(inventory.cluster),
        "redacted": {"tokens": True, "access_keys": True, "secrets": True, "accounts": redact.accounts},
    }


def pod_document(
    inventory: Inventory, chain: IdentityChain, pod: Pod, *, live: Iterable[Any] = (), trail: Any = None,
    accounts: bool = False,
) -> dict[str, Any]:
    """One pod's triage document, redacted. `live`: the `w` runs in it; `trail`: its CloudTrail
    events (None: not looked up; Unavailable: could not be)."""
    redact = Redactor(secret_values(inventory), accounts=accounts)
    doc = {
        **_header(inventory, "pod", redact),
        "pod": pod_entry(inventory, pod, chain),
        "token": _token_doc(chain),
        "oidc_provider": _provider_doc(chain),
        "trust_evaluation": trust_evaluation_doc(chain.trust) if chain.trust else None,
        "live": live_doc(live),
        "cloudtrail": _trail_doc(trail),
    }
    return redact(doc)


def role_document(
    inventory: Inventory, chains: Mapping[str, IdentityChain], arn: str, *, assumers: Any = None,
    trail: Any = None, accounts: bool = False,
) -> dict[str, Any]:
    """One role's triage document, redacted: the role, its trust policy, the pods that mean to
    use it or really get it with their verdicts, each distinct trust decision made for them,
    their findings, and who can assume it (`assumers`: reverse.who_can_assume's answer, worked
    out here when not given)."""
    redact = Redactor(secret_values(inventory), accounts=accounts)
    role = inventory.roles.get(arn)
    pods, decisions, findings = [], {}, {}
    for pod in sorted(inventory.pods.values(), key=lambda p: (p.namespace, p.name)):
        chain = chains.get(pod.uid)
        if chain is None:
            continue
        intends = chain.intended_role_arn == arn
        gets = chain.effective is not None and chain.effective.arn is not None and bool(same_role(chain.effective.arn, arn))
        if not (intends or gets):
            continue
        pods.append({"namespace": pod.namespace, "name": pod.name, "service_account": pod.service_account,
                     "mechanism": str(chain.mechanism), "verdict": str(chain.verdict), "intends": intends,
                     "gets": gets, "findings": [f.code for f in chain.findings]})
        if chain.trust is not None and chain.trust.role_arn == arn:
            decisions.setdefault(id(chain.trust), (chain.trust, []))[1].append(f"{pod.namespace}/{pod.name}")
        for finding in chain.findings:
            findings.setdefault((finding.code, finding.fix), (finding, []))[1].append(f"{pod.namespace}/{pod.name}")
    if assumers is None and isinstance(role, Role):
        from irsa_explorer.analysis.reverse import who_can_assume

        assumers = who_can_assume(role, inventory)
    doc = {
        **_header(inventory, "role", redact),
        "role": _role_doc(arn, role),
        "verdict": _worst([p["verdict"] for p in pods]) if pods else ("unknown" if not isinstance(role, Role) else "ok"),
        "pods": pods,
        "trust_evaluations": [{**trust_evaluation_doc(trust), "pods": names} for trust, names in decisions.values()],
        "findings": [{**_finding_doc(f), "pods": names} for f, names in findings.values()],
        "who_can_assume": _assumers_doc(assumers),
        "cloudtrail": _trail_doc(trail),
    }
    return redact(doc)


def _role_doc(arn: str, role: Role | Unavailable | None) -> dict[str, Any]:
    if isinstance(role, Role):
        return {"arn": role.arn, "name": role.name, "account": role.account, "path": role.path,
                "trust_policy": role.trust_policy, "max_session_duration": role.max_session_duration,
                "permissions_boundary": role.permissions_boundary}
    out: dict[str, Any] = {"arn": arn, "name": role_name_of(arn)}
    out["status"] = _unknown(role) if isinstance(role, Unavailable) else {"unknown": True, "reason": "not read"}
    return out


def _finding_doc(f: Any) -> dict[str, Any]:
    return {"code": f.code, "severity": str(f.severity), "title": f.title, "explanation": f.explanation, "fix": f.fix,
            "evidence": [{"object": str(e.ref), "field": e.field, "value": e.value} for e in f.evidence]}


def _assumers_doc(assumers: Any) -> Any:
    if assumers is None:
        return None
    if isinstance(assumers, Unavailable):
        return _unknown(assumers)
    return [{"mechanism": str(m.mechanism), "service_account": str(m.service_account) if m.service_account else None,
             "decision": str(m.decision), "reason": m.reason, "annotated": m.annotated,
             "pods": [f"{p.namespace}/{p.name}" for p in m.pods]} for m in assumers]


_ORDER = [Verdict.BROKEN.value, Verdict.UNKNOWN.value, Verdict.WARNING.value, Verdict.OK.value]


def _worst(verdicts: Sequence[str]) -> str:
    return min(verdicts, key=lambda v: _ORDER.index(v) if v in _ORDER else 0)


def exit_code_for(doc: Mapping[str, Any], fail_on: str = "broken") -> int:
    """As the report's: 1 when the pod (or a pod of the role) is broken or unknown — or, with
    `fail_on="warning"`, a warning — else 0."""
    verdict = doc["pod"]["verdict"] if doc["kind"] == "pod" else doc["verdict"]
    failing = {Verdict.BROKEN.value, Verdict.UNKNOWN.value} | ({Verdict.WARNING.value} if fail_on == "warning" else set())
    return EXIT_NOT_OK if verdict in failing else EXIT_OK


# --- Markdown ------------------------------------------------------------------------------------

_MARK = {"ok": "✓", "allow": "✓", "matched": "✓", "broken": "✗", "failed": "✗", "deny": "✗", "not-allowed": "✗",
         "error": "✗", "unknown": "?", "warning": "!", "skipped": "–"}


def _status(value: Any) -> str:
    text = str(value or "unknown")
    return f"{_MARK.get(text, '?')} {md.text(text)}"


def _redaction_line(doc: Mapping[str, Any]) -> str:
    said = "whole tokens (signatures included), access key ids, secret keys and the pod specs' secrets"
    return said + (", account IDs" if doc["redacted"]["accounts"] else "")


def _head(doc: Mapping[str, Any], title: str, verdict: str) -> list[str]:
    cluster = doc["cluster"]
    if not cluster:
        where = "—"
    elif cluster.get("unknown"):
        where = "unknown: " + md.text(cluster["reason"])
    else:
        where = f"{md.code(cluster['name'])} ({md.text(cluster['region'])}, account {md.code(cluster['account'])})"
    return [
        f"# {title}", "", verdict, "",
        f"- Context: {md.code(doc['context'])}",
        f"- Cluster: {where}",
        f"- Generated: {md.text(doc['generated_at'])} by {md.text(doc['generated_by'])}",
        f"- Redacted: {_redaction_line(doc)}",
    ]


def render_markdown(doc: Mapping[str, Any]) -> str:
    """The triage as Markdown for a ticket."""
    lines = _pod_markdown(doc) if doc["kind"] == "pod" else _role_markdown(doc)
    return no_token_left("\n".join(lines) + "\n")


def _pod_markdown(doc: Mapping[str, Any]) -> list[str]:
    p = doc["pod"]
    verdict = (f"**Verdict: {md.text(p['verdict'])}** — {md.text(p['mechanism'])}, "
               f"identity {md.code(p['effective_identity'] or 'unknown')}")
    lines = _head(doc, f"IRSA triage: pod {md.code(p['namespace'] + '/' + p['name'])}", verdict)
    lines += [
        f"- Pod: {md.code(p['namespace'] + '/' + p['name'])} · {md.text(p['status'])} · node {md.code(p['node'])}",
        f"- Service account: {md.code(p['service_account'])}",
        f"- Intended role: {md.code(p['intended_role_arn']) if p['intended_role_arn'] else 'none'}",
        "", "## Identity chain", "",
        "| Step | Status | Link | Detail |", "|---|---|---|---|",
    ]
    lines += [f"| {md.cell(link['step'])} | {_status(link['status'])} | {md.code_cell(link['label'])} | {md.cell(link['detail'])} |"
              for link in p["chain"]]
    lines += _effective_markdown(p.get("effective"))
    lines += _token_markdown(doc.get("token"), doc.get("oidc_provider"))
    lines += ["", "## Findings"]
    if not p["findings"]:
        lines += ["", "No findings."]
    for f in p["findings"]:
        lines += finding_markdown("### ", f)
    lines += ["", "## Trust evaluation", ""]
    lines += _trust_markdown(doc["trust_evaluation"]) if doc["trust_evaluation"] else [
        "No trust policy is evaluated for this pod's mechanism (see the chain)."]
    lines += _live_markdown(doc["live"])
    lines += _trail_markdown(doc["cloudtrail"])
    return lines


def _effective_markdown(effective: Mapping[str, Any] | None) -> list[str]:
    if not effective:
        return []
    lines = ["", "## Effective identity", "",
             f"- {_status(effective['status'])}: {md.code(effective['arn'] or effective['label'])}",
             f"- Credentials from: {md.text(effective['source'])}",
             f"- Why: {md.text(effective['why'])}"]
    if effective.get("node"):
        lines.append(f"- Node: {md.code(effective['node'])}")
    if effective.get("key_source"):
        lines.append(f"- Keys set in: {md.text(effective['key_source'])}")
    if effective.get("sts_endpoint"):
        sts = effective["sts_endpoint"]
        lines.append(f"- STS endpoint: {md.code(sts['endpoint'] or sts['scope'])} — {md.text(sts['reason'])}")
    if effective.get("access"):
        lines.append(f"- Reaches {md.text(effective['access']['kind'])}: {_status(effective['access']['status'])} — "
                     f"{md.text(effective['access']['reason'])}")
    return lines


def _token_markdown(token: Mapping[str, Any] | None, provider: Mapping[str, Any] | None) -> list[str]:
    lines = []
    if token:
        lines += ["", "## Token (claims from the pod spec; no token is exported)", "",
                  f"- iss: {md.code(token['issuer'] or 'unknown')}",
                  f"- sub: {md.code(token['subject'])}",
                  f"- aud: {', '.join(md.code(a) for a in token['audiences']) or '—'}",
                  f"- file: {md.code(token['file'])}"]
    if provider:
        lines += ["", "## OIDC provider", "",
                  f"- {_status(provider['status'])} — {md.text(provider['reason'])}",
                  f"- STS looks up: {md.code(provider['expected_arn'] or 'unknown')}"]
    return lines


def _trust_markdown(trust: Mapping[str, Any]) -> list[str]:
    lines = [f"Role {md.code(trust['role_arn'])}: **{_status(trust['decision'])}** — {md.text(trust['reason'])}", "",
             f"Evaluated for: {md.text(trust['evaluated_for'])}"]
    for request in trust["requests"]:
        lines += ["", f"### {md.text(request['action'])}: {_status(request['decision'])}", "", md.paragraph(request["reason"]), ""]
        for s in request["statements"]:
            name = f"Statement {s['index']}" + (f" ({md.text(s['sid'])})" if s["sid"] else "")
            lines.append(f"- {name} · {md.text(s['effect'] or 'no Effect')} · applies {_status(s['applies'])} — {md.text(s['why'])}")
            for check in s["checks"]:
                what = md.text(check["kind"]) + (f" {md.code(check['operator'])}" if check["operator"] else "")
                lines.append(f"  - {what}: {_status(check['status'])} — {md.text(check['why'])}")
            lines += [f"  - not understood: {md.text(problem)}" for problem in s["problems"]]
    return lines


def _live_markdown(live: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["", "## Live identity (`sts get-caller-identity` in the pod)", ""]
    if not live:
        return lines + ["Not run (`w` in the explorer runs it)."]
    lines += ["| When | Container | Answer | Intended role | Engine agrees |", "|---|---|---|---|---|"]
    for run in live:
        if run.get("ok"):
            answer = "✓ " + md.code_cell(run.get("arn"))
        else:
            code = f"{run['error_code']}: " if run.get("error_code") else ""
            answer = "✗ " + md.cell(code + (run.get("error") or "failed")) + (
                f" (exit {run['exit_code']})" if run.get("exit_code") is not None else "")
        lines.append(f"| {md.cell(run['at'])} | {md.code_cell(run.get('container'))} | {answer} "
                     f"| {_yes_no(run.get('matches_intended'))} | {_yes_no(run.get('agrees_with_engine'))} |")
    return lines


def _yes_no(value: Any) -> str:
    return {True: "✓ yes", False: "✗ no"}.get(value, "—")


def _trail_markdown(trail: Any) -> list[str]:
    lines = ["", "## CloudTrail", ""]
    if trail is None:
        return lines + ["Not looked up for this export."]
    if isinstance(trail, Mapping):
        return lines + [f"unknown: {md.text(trail['reason'])}" + (f" (needs {md.code(trail['permission'])})" if trail.get("permission") else "")]
    if not trail:
        return lines + ["No events (CloudTrail delivers events within about 5 minutes)."]
    lines += ["| Time | Event | Identity | Session / subject | Error |", "|---|---|---|---|---|"]
    for e in trail:
        error = md.cell(f"{e['error_code']}: {e['error_message'] or ''}") if e.get("error_code") else "—"
        lines.append(f"| {md.cell(e['time'])} | {md.code_cell(e['event'])} | {md.code_cell(e['identity'])} "
                     f"| {md.code_cell(e['subject'])} | {error} |")
    return lines


def _role_markdown(doc: Mapping[str, Any]) -> list[str]:
    role = doc["role"]
    verdict = f"**Verdict: {md.text(doc['verdict'])}** (the worst of its pods')"
    lines = _head(doc, f"IRSA triage: role {md.code(role['name'] or role['arn'])}", verdict)
    lines += [f"- Role: {md.code(role['arn'])}"]
    status = role.get("status")
    if status:
        lines.append(f"- Role read: unknown — {md.text(status['reason'])}"
                     + (f" (needs {md.code(status['permission'])})" if status.get("permission") else ""))
    lines += ["", "## Pods", ""]
    if not doc["pods"]:
        lines.append("No pod means to use this role or gets it.")
    else:
        lines += ["| Pod | Service account | Mechanism | Verdict | Means to use it | Gets it | Findings |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {md.code_cell(p['namespace'] + '/' + p['name'])} | {md.code_cell(p['service_account'])} "
                  f"| {md.cell(p['mechanism'])} | {_status(p['verdict'])} | {_yes_no(p['intends'])} | {_yes_no(p['gets'])} "
                  f"| {', '.join(md.code_cell(c) for c in p['findings']) or '—'} |" for p in doc["pods"]]
    lines += ["", "## Trust evaluation"]
    for trust in doc["trust_evaluations"]:
        lines += ["", f"For {', '.join(md.code(n) for n in trust['pods'])}:", ""] + _trust_markdown(trust)
    if not doc["trust_evaluations"]:
        lines += ["", "No pod's chain evaluates this role's trust policy."]
    if "trust_policy" in role:
        document = role["trust_policy"]
        text = document if isinstance(document, str) else json.dumps(document, indent=2)
        lines += ["", "### Trust policy document", "", *md.block(text, "json")]
    lines += ["", "## Findings"]
    if not doc["findings"]:
        lines += ["", "No findings."]
    for f in doc["findings"]:
        lines += finding_markdown("### ", f)
        lines += ["", f"Pods: {', '.join(md.code(n) for n in f['pods'])}"]
    lines += ["", "## Who can assume it", ""]
    assumers = doc["who_can_assume"]
    if assumers is None:
        lines.append("Not worked out (the role was not read).")
    elif isinstance(assumers, Mapping):
        lines.append(f"unknown: {md.text(assumers['reason'])}")
    elif not assumers:
        lines.append("None: the trust accepts no service account's token, and no Pod Identity association names it.")
    else:
        lines += [f"- {md.code(a['service_account'] or 'unknown')} ({md.text(a['mechanism'])}"
                  f"{', annotated' if a['annotated'] else ''}): {_status(a['decision'])} — {md.text(a['reason'])}"
                  for a in assumers]
    lines += _trail_markdown(doc["cloudtrail"])
    return lines


def render(doc: Mapping[str, Any], fmt: str) -> str:
    """"json", or Markdown for any other format (a triage has no table form)."""
    if fmt == "json":
        return no_token_left(json.dumps(doc, indent=2, default=str)) + "\n"
    return render_markdown(doc)


# --- finding the object, writing the file, running headless --------------------------------------


def find_pod(inventory: Inventory, name: str) -> Pod:
    """`NS/NAME` (or `NAME` in the inventory's namespace, else `default`). Raises CannotRun."""
    namespace, _, pod_name = name.rpartition("/")
    namespace = namespace or inventory.namespace or "default"
    for pod in inventory.pods.values():
        if pod.namespace == namespace and pod.name == pod_name:
            return pod
    near = sorted(p.name for p in inventory.pods.values() if p.namespace == namespace)[:10]
    listed = f" (pods there: {', '.join(near)})" if near else ""
    raise CannotRun(f"no pod {namespace}/{pod_name}{listed}")


def find_role(inventory: Inventory, chains: Mapping[str, IdentityChain], name: str) -> str:
    """A role's ARN from its ARN or its name, among the roles the cluster's pods point at or
    get. Raises CannotRun."""
    known = set(inventory.roles)
    for chain in chains.values():
        known.update(a for a in (chain.intended_role_arn, chain.effective.arn if chain.effective else None) if a)
    if name in known:
        return name
    matches = sorted(a for a in known if role_name_of(a) == name or (":role/" in a and a.rsplit("/", 1)[-1] == name))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CannotRun(f"role {name!r} names several roles: {', '.join(matches)}; give its ARN")
    raise CannotRun(f"no pod of the cluster means to use or gets a role {name!r}")


def write_private(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path`, readable by its owner only (0600, whatever umask says), never
    through a symbolic link. Returns the absolute path."""
    target = Path(path).expanduser().absolute()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(target, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode otherwise
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            descriptor = -1
            out.write(text)
    finally:
        if descriptor != -1:
            os.close(descriptor)
    return target


def main(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None,
         sources: tuple[Any, Any] | None = None) -> int:
    """`report --pod NS/NAME` / `report --role ARN_OR_NAME` (report.main hands over)."""
    from botocore.exceptions import BotoCoreError

    from irsa_explorer.report import load
    from irsa_explorer.sources.kube import ClusterError

    out, err = stdout or sys.stdout, stderr or sys.stderr
    accounts = bool(getattr(args, "redact_accounts", False))
    try:
        if getattr(args, "pod", None):
            namespace = args.pod.rpartition("/")[0] or None
            inventory, chains = load(args, sources, namespace=namespace)
            pod = find_pod(inventory, args.pod)
            chain = chains.get(pod.uid)
            if chain is None:
                raise CannotRun(f"no identity chain for {pod.namespace}/{pod.name}")
            doc = pod_document(inventory, chain, pod, accounts=accounts)
        else:
            inventory, chains = load(args, sources)
            doc = role_document(inventory, chains, find_role(inventory, chains, args.role), accounts=accounts)
    except (CannotRun, ClusterError, BotoCoreError) as error:
        print(f"irsa-explorer report: cannot run: {no_token_left(str(error))}", file=err)
        return EXIT_CANNOT_RUN
    except Exception as error:  # a bug must still end with a reason, not a traceback
        print(f"irsa-explorer report: cannot run: unexpected {type(error).__name__}: {no_token_left(str(error))}", file=err)
        return EXIT_CANNOT_RUN
    fmt = getattr(args, "format", None) or ("markdown" if out.isatty() or getattr(args, "output", None) else "json")
    text = render(doc, fmt)
    if getattr(args, "output", None):
        try:
            written = write_private(args.output, text)
        except OSError as error:
            print(f"irsa-explorer report: cannot write {args.output}: {error.strerror or error}", file=err)
            return EXIT_CANNOT_RUN
        print(f"triage written to {written}", file=err)
    else:
        out.write(text)
        out.flush()
    return exit_code_for(doc, getattr(args, "fail_on", "broken"))
