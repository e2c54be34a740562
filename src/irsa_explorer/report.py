"""`irsa-explorer report`: the same diagnosis as the TUI, without it (table, JSON, Markdown).

Exit codes: 0 every pod is ok; 1 at least one pod is not (broken, warning or unknown);
2 the report could not run (the reason on stderr, no traceback). The JSON shape is
documented in docs/report.md. No token is ever part of the output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from datetime import datetime, timezone
from typing import Any, Iterator, TextIO

from irsa_explorer import markdown_safe as md
from irsa_explorer.model import (
    Cluster,
    EffectiveIdentity,
    IdentityChain,
    Inventory,
    IssuerInfo,
    Pod,
    TrustCheck,
    Unavailable,
    Verdict,
)

SCHEMA = "irsa-explorer.report/v1"
EXIT_OK, EXIT_NOT_OK, EXIT_CANNOT_RUN = 0, 1, 2


class CannotRun(Exception):
    """Something stops the report from running at all; the message is for the user."""


# --- building the report document ------------------------------------------------------


_SECRET_ENV = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE", re.IGNORECASE)
# Variables that name where a secret lives, not the secret: AWS_WEB_IDENTITY_TOKEN_FILE,
# AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE. Their values are paths the report must show as is.
_LOCATION_ENV = re.compile(r"_(FILE|PATH|FILENAME|DIR)$", re.IGNORECASE)
_REDACTED = "<secret redacted>"


def secret_values(inventory: Inventory) -> frozenset[str]:
    """Literal values of secret-looking env vars (AWS_SECRET_ACCESS_KEY, …) in pod specs.

    A pod spec may carry a secret in clear (the static-keys failure); the analysis may quote
    env values as evidence, so the report redacts these exact strings wherever they appear.
    Variables naming a secret's location (…_TOKEN_FILE) are not secrets.
    """
    found = set()
    for pod in inventory.pods.values():
        for container in pod.containers:
            for var in container.env:
                if (
                    var.value
                    and len(var.value) >= 8
                    and _SECRET_ENV.search(var.name)
                    and not _LOCATION_ENV.search(var.name)
                ):
                    found.add(var.value)
    return frozenset(found)


class _Masker:
    """Redacts JWT-shaped text and the pod specs' literal secrets from report strings.

    The same strings recur across thousands of pods (links and findings shared per role and
    service account), so each distinct string is masked once; the secrets are one regex.
    """

    def __init__(self, secrets: frozenset[str]) -> None:
        # Longest first, so a secret containing another is redacted whole.
        ordered = sorted(secrets, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._done: dict[str, str] = {}

    def __call__(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        done = self._done.get(text)
        if done is None:
            done = self._done[text] = self._mask(text)
        return done

    def _mask(self, text: str) -> str:
        from irsa_explorer.analysis.tokens import mask_tokens

        if "eyJ" in text:  # every JWT starts so (base64 of '{"'): skip the regex otherwise
            text = mask_tokens(text)
        if self._secrets is not None:
            text = self._secrets.sub(_REDACTED, text)
        return text


def _mask(text: Any) -> Any:
    """Mask JWT-shaped text in one string (error messages)."""
    return _Masker(frozenset())(text)


def _unknown(value: Unavailable) -> dict[str, Any]:
    out: dict[str, Any] = {"unknown": True, "reason": value.reason}
    if value.permission:
        out["permission"] = value.permission
    if value.kind:
        out["kind"] = value.kind
    return out


def _cluster_doc(cluster: Cluster | Unavailable | None) -> dict[str, Any] | None:
    if cluster is None:
        return None
    if isinstance(cluster, Unavailable):
        return _unknown(cluster)
    return {
        "name": cluster.name,
        "arn": cluster.arn,
        "region": cluster.region,
        "account": cluster.account,
        "issuer": cluster.issuer,
        "version": cluster.version,
    }


def _effective_doc(effective: EffectiveIdentity, mask: _Masker) -> dict[str, Any]:
    return {
        "mechanism": str(effective.mechanism),
        "status": str(effective.status),
        "arn": mask(effective.arn),
        "label": mask(effective.label),
        "source": mask(effective.source),
        "why": mask(effective.why),
        "node": effective.node,
        "key_source": mask(effective.key_source),
        # static keys: whose (one lookup per distinct key); profile: the profile and the files it comes from
        "key_owner": None if effective.key_owner is None else {
            "account": effective.key_owner.account, "user": effective.key_owner.user_name, "arn": effective.key_owner.arn},
        "profile": None if effective.profile is None else {
            "name": mask(effective.profile.profile), "set_by": effective.profile.set_by,
            "files": [{"kind": f.kind, "path": mask(f.path), "set_by": f.set_by, "key": mask(f.key),
                       "from": mask(f.source.describe()) if f.source else None} for f in effective.profile.files]},
        # node role / Pod Identity: how the pod reaches its node's IMDS or Pod Identity agent
        "access": None if effective.access is None else {
            "kind": effective.access.kind, "node": effective.access.node, "status": str(effective.access.status),
            "reason": mask(effective.access.reason), "compute": effective.access.compute,
            "host_network": effective.access.host_network, "agents": list(effective.access.agents),
            "metadata_options": None if effective.access.metadata is None else {
                "instance_id": effective.access.metadata.instance_id,
                "http_tokens": effective.access.metadata.http_tokens,
                "hop_limit": effective.access.metadata.hop_limit,
                "http_endpoint": effective.access.metadata.http_endpoint}},
        # IRSA: the STS endpoint the SDK exchanges the token at
        "sts_endpoint": None if effective.sts_endpoint is None else {
            "setting": mask(effective.sts_endpoint.setting), "scope": effective.sts_endpoint.scope,
            "endpoint": effective.sts_endpoint.endpoint, "reason": mask(effective.sts_endpoint.reason)},
    }


def _trust_doc(trust: TrustCheck, mask: _Masker) -> dict[str, Any]:
    return {
        "role_arn": mask(trust.role_arn),
        "decision": str(trust.decision),
        "reason": mask(trust.evaluation.reason),
        "evaluated_for": mask(trust.made_by),
        "requests": [
            {"action": request.action, "decision": str(evaluation.decision), "reason": mask(evaluation.reason)}
            for request, evaluation in zip(trust.requests, trust.evaluations)
        ],
    }


class _SharedDocs:
    """The JSON of a chain's typed results, made once per result: thousands of pods share one
    role's trust decision and one node's identity (the chains share the objects)."""

    def __init__(self, mask: _Masker) -> None:
        self.mask = mask
        self._done: dict[int, Any] = {}

    def __call__(self, make: Any, value: Any) -> Any:
        if value is None:
            return None
        key = id(value)  # the chains hold the values while the report is built: ids stay theirs
        found = self._done.get(key)
        if found is None:
            found = self._done[key] = make(value, self.mask)
        return found


def _pod_doc(pod: Pod, chain: IdentityChain, mask: _Masker, shared: _SharedDocs) -> dict[str, Any]:
    return {
        # every string a cluster or an account wrote is masked (a JWT may sit in any annotation:
        # the role ARN's is `intended_role_arn`); the encoder escapes control characters
        "namespace": mask(pod.namespace),
        "name": mask(pod.name),
        "uid": mask(pod.uid),
        "status": mask(pod.status),
        "node": mask(pod.node_name),
        "service_account": mask(pod.service_account),
        "mechanism": str(chain.mechanism),
        "verdict": str(chain.verdict),
        "intended_role_arn": mask(chain.intended_role_arn),
        "effective_identity": mask(chain.effective_identity),
        "effective": shared(_effective_doc, chain.effective),
        "trust": shared(_trust_doc, chain.trust),
        "chain": [
            {
                "step": link.step,
                "label": mask(link.label),
                "status": str(link.status),
                "detail": mask(link.detail),
            }
            for link in chain.links
        ],
        "findings": [
            {
                "code": f.code,
                "severity": str(f.severity),
                "title": mask(f.title),
                "explanation": mask(f.explanation),
                "fix": mask(f.fix),
                "evidence": [
                    {"object": mask(str(e.ref)), "field": mask(e.field), "value": mask(e.value)}
                    for e in f.evidence
                ],
            }
            for f in chain.findings
        ],
    }


def pod_entry(inventory: Inventory, pod: Pod, chain: IdentityChain) -> dict[str, Any]:
    """One pod's entry of the report document, masked as the report masks (triage.py)."""
    mask = _Masker(secret_values(inventory))
    return _pod_doc(pod, chain, mask, _SharedDocs(mask))


cluster_doc = _cluster_doc  # the report's "cluster" (triage.py)


def build_report(inventory: Inventory, chains: dict[str, IdentityChain]) -> dict[str, Any]:
    """The report document (docs/report.md) from an inventory and its identity chains."""
    return _build(inventory, chains, _Masker(secret_values(inventory)))


def _build(inventory: Inventory, chains: dict[str, IdentityChain], mask: _Masker) -> dict[str, Any]:
    pods = []
    shared = _SharedDocs(mask)
    for pod in sorted(inventory.pods.values(), key=lambda p: (p.namespace, p.name)):
        chain = chains.get(pod.uid)
        if chain is not None:
            pods.append(_pod_doc(pod, chain, mask, shared))
    verdicts = {v.value: 0 for v in Verdict}
    mechanisms: dict[str, int] = {}
    for doc in pods:
        verdicts[doc["verdict"]] = verdicts.get(doc["verdict"], 0) + 1
        mechanisms[doc["mechanism"]] = mechanisms.get(doc["mechanism"], 0) + 1
    issuer = inventory.issuer
    if issuer is None and isinstance(inventory.cluster, Cluster) and inventory.cluster.issuer:
        # EKS's DescribeCluster named the issuer, so discovery was not needed (see inventory).
        issuer = IssuerInfo(issuer=inventory.cluster.issuer, jwks={})
    return {
        "schema": SCHEMA,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "context": inventory.context,
        "namespace": inventory.namespace,
        "cluster": _cluster_doc(inventory.cluster),
        "issuer": issuer.issuer
        if isinstance(issuer, IssuerInfo)
        else (_unknown(issuer) if isinstance(issuer, Unavailable) else None),
        "notes": [mask(n) for n in inventory.notes],
        "summary": {
            "pods": len(pods),
            **verdicts,
            "by_mechanism": mechanisms,
            "findings": sum(len(p["findings"]) for p in pods),
        },
        "pods": pods,
    }


def exit_code_for(report: dict[str, Any], fail_on: str = "broken") -> int:
    """1 when any pod is broken — or unknown, which cannot be shown not to be — else 0.

    With `fail_on="warning"`, warnings (e.g. a pod sharing its node's role) fail too.
    """
    if not report["pods"] and report["notes"]:
        return EXIT_NOT_OK  # nothing could be read (e.g. every list forbidden): not "all is well"
    failing = {Verdict.BROKEN, Verdict.UNKNOWN}
    if fail_on == "warning":
        failing.add(Verdict.WARNING)
    return EXIT_NOT_OK if any(p["verdict"] in failing for p in report["pods"]) else EXIT_OK


# --- rendering -------------------------------------------------------------------------


def _cluster_line(report: dict[str, Any]) -> str:
    cluster = report["cluster"]
    if not cluster:
        return "cluster: -"
    if cluster.get("unknown"):
        return f"cluster: unknown ({cluster['reason']})"
    return f"cluster: {cluster['name']} ({cluster['region']}, account {cluster['account']})"


def _summary_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    pods, findings = s["pods"], s["findings"]
    return (
        f"{pods} pod{'' if pods == 1 else 's'}: {s['ok']} ok, {s['warning']} warning, {s['broken']} broken, "
        f"{s['unknown']} unknown; {findings} finding{'' if findings == 1 else 's'}"
    )


def render_table(report: dict[str, Any]) -> str:
    """Plain-text columns for a terminal, then each finding with its fix. Every value is
    written through `md.visible` (the text reports' one sanitiser): a control character or an
    escape sequence in it is shown (`\\x1b`), never sent to the reader's terminal, and a
    newline cannot break a row."""

    def v(value: Any) -> str:  # printable and short (nearly every value): as it is, without a pass per character
        return value if isinstance(value, str) and value.isprintable() and len(value) <= md.LIMIT else md.visible(value)

    headers = ("NAMESPACE", "POD", "SERVICE ACCOUNT", "MECHANISM", "VERDICT", "IDENTITY", "FINDINGS")
    rows = [
        (
            v(p["namespace"]),
            v(p["name"]),
            v(p["service_account"]),
            p["mechanism"],
            p["verdict"],
            v(p["effective_identity"] or "unknown"),
            ",".join(v(f["code"]) for f in p["findings"]) or "-",
        )
        for p in report["pods"]
    ]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = [f"context: {v(report['context'])}    {v(_cluster_line(report))}"]
    for note in report["notes"]:
        lines.append(f"note: {v(note)}")
    lines.append("")
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    findings = [(p, f) for p in report["pods"] for f in p["findings"]]
    if findings:
        lines.append("")
        for pod, finding in findings:
            lines.append(
                v(f"{pod['namespace']}/{pod['name']}: [{finding['severity']}] {finding['code']} — {finding['title']}")
            )
            for i, fix_line in enumerate((finding["fix"] or "").splitlines()):
                lines.append(("    fix: " if i == 0 else "         ") + v(fix_line))
    lines.append("")
    lines.append(_summary_line(report))
    return "\n".join(lines) + "\n"


def _md_cell(text: str | None) -> str:
    return md.cell(text or "—")  # literal: Markdown, pipes, newlines and control characters


def render_markdown(report: dict[str, Any]) -> str:
    """Markdown for a ticket: summary, one table, then each finding with explanation and fix."""
    lines = [
        f"## IRSA report — {_md_cell(report['context'])}",
        "",
        f"- {md.text(_cluster_line(report))}",
        f"- namespace: {md.text(report['namespace'] or 'all')}",
        f"- {_summary_line(report)}",
    ]
    lines += [f"- note: {_md_cell(n)}" for n in report["notes"]]
    lines += [
        "",
        "| Namespace | Pod | Service account | Mechanism | Verdict | Identity | Findings |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in report["pods"]:
        codes = ", ".join(md.code(f["code"]) for f in p["findings"]) or "—"
        lines.append(
            f"| {_md_cell(p['namespace'])} | {_md_cell(p['name'])} | {_md_cell(p['service_account'])} "
            f"| {p['mechanism']} | **{p['verdict']}** | {_md_cell(p['effective_identity'] or 'unknown')} | {codes} |"
        )
    for p in report["pods"]:
        for f in p["findings"]:
            lines += finding_markdown(f"### {md.text(p['namespace'] + '/' + p['name'])}: ", f)
    return "\n".join(lines) + "\n"


def finding_markdown(heading: str, finding: dict[str, Any]) -> list[str]:
    """One finding of a report document as Markdown lines (the report and a triage,
    triage.py): `heading` (already Markdown) then its code and severity, title, explanation,
    evidence and fix — every value written literally (markdown_safe)."""
    f = finding
    lines = ["", f"{heading}{md.code(f['code'])} ({md.text(f['severity'])})", "", md.paragraph(f["title"])]
    if f["explanation"]:
        lines += ["", md.paragraph(f["explanation"])]
    if f["evidence"]:
        lines.append("")
        lines += [
            f"- {md.text(e['object'])} {md.code(e['field'])}" + (f" = {md.code(e['value'])}" if e["value"] else "")
            for e in f["evidence"]
        ]
    if f["fix"]:
        lines += ["", "Fix:", "", *md.block(f["fix"])]
    return lines


def write_json(report: dict[str, Any], out: TextIO, batch: int = 200) -> None:
    """`render(report, "json", pretty=False)` written to `out` a few pods at a time: the same
    text, without the whole of it (40 MB at 10,000 pods, and as much again encoded for the
    stream) in memory at once. Each piece is made by json's C encoder."""
    encode = json.JSONEncoder(separators=(",", ":")).encode
    out.write("{")
    for number, (key, value) in enumerate(report.items()):
        out.write(("," if number else "") + encode(key) + ":")
        if key != "pods":
            out.write(encode(value))
            continue
        out.write("[")
        for start in range(0, len(value), batch):
            out.write(("," if start else "") + ",".join(encode(pod) for pod in value[start:start + batch]))
        out.write("]")
    out.write("}\n")


def render(report: dict[str, Any], fmt: str, pretty: bool = True) -> str:
    """The report as text: "json", "markdown" or "table". `pretty=False` writes compact JSON
    (json's C encoder only runs without indent: several times faster on large clusters)."""
    if fmt == "json":
        if pretty:
            return json.dumps(report, indent=2) + "\n"
        return json.dumps(report, separators=(",", ":")) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_table(report)


# --- running ---------------------------------------------------------------------------


@contextlib.contextmanager
def _sources(args: argparse.Namespace) -> Iterator[tuple[Any, Any]]:
    """KubeSource and AwsSource for the options, on the embedded lab when --lab is given."""
    from irsa_explorer.sources.connect import Target, for_lab, from_options

    target = Target(
        args.context, getattr(args, "kubeconfig", None), args.profile, args.region,
        request_timeout=getattr(args, "request_timeout", 10.0),
        account_profiles=tuple(getattr(args, "account_profile", None) or ()),
    )
    if getattr(args, "lab", None):
        from irsa_explorer.lab.launcher import missing_lab_extra, start_lab
        from irsa_explorer.lab.scenario.builtin import scenario_path
        from irsa_explorer.lab.scenario.errors import ScenarioError

        missing = missing_lab_extra()
        if missing:
            raise CannotRun(missing)
        try:
            scenario_path(args.lab)
        except ScenarioError as problem:
            raise CannotRun(str(problem)) from None
        try:
            lab = start_lab(args.lab)
        except Exception as error:
            raise CannotRun(f"the lab did not start: {error}") from error
        try:
            sources = for_lab(lab, target)
        except BaseException:
            lab.stop()
            raise
    else:
        sources = from_options(target)
    try:
        yield sources.kube, sources.aws
    finally:
        sources.close()


def run_report(args: argparse.Namespace, sources: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Load, analyse and build the report document. Raises CannotRun (or ClusterError).

    `sources` = (KubeSource, AwsSource) to use instead of those the options describe.
    """
    from irsa_explorer.sources.inventory import without_cycle_collection

    with without_cycle_collection():  # the report's dicts too: millions of objects, no cycles
        inventory, chains = load(args, sources)
        return build_report(inventory, chains)


def load(
    args: argparse.Namespace, sources: tuple[Any, Any] | None = None, namespace: str | None = None
) -> tuple[Inventory, dict[str, IdentityChain]]:
    """The inventory and its chains for the options (`namespace` over theirs: a triage of one
    pod reads its namespace only). Raises CannotRun (or ClusterError)."""
    from irsa_explorer.sources.inventory import load_and_resolve, without_cycle_collection

    with without_cycle_collection():
        with contextlib.nullcontext(sources) if sources else _sources(args) as (kube, aws):
            # The issuer comes from DescribeCluster; discovery only when the cluster is unknown.
            # Pages are resolved as they arrive once AWS has answered (load_and_resolve).
            inventory, chains = load_and_resolve(
                kube, aws, namespace or args.namespace or None, cluster_name=args.cluster, discover_issuer=False
            )
            # AWS that cannot be asked at all is one line and exit 2, as a cluster that cannot
            # be read is: no credentials, no region, a profile that does not exist, an expired
            # SSO session, keys STS refused, an endpoint that did not answer. (Found while the
            # cluster was read: a cluster that cannot be read is said first.)
            _stop_on_aws_problem(aws)
    return inventory, chains


def _stop_on_aws_problem(aws: Any) -> None:
    problem = aws.problem() if hasattr(aws, "problem") else None
    if problem is not None:
        raise CannotRun(problem.reason + (f" (needs {problem.permission})" if problem.permission else ""))


def main(
    args: argparse.Namespace,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    sources: tuple[Any, Any] | None = None,
) -> int:
    """Entry point of `irsa-explorer report` (cli.py parses the options).

    `sources` lets a caller (tests, the TUI) hand in ready (KubeSource, AwsSource).
    """
    from botocore.exceptions import BotoCoreError

    from irsa_explorer.sources.kube import ClusterError

    if getattr(args, "pod", None) or getattr(args, "role", None):
        from irsa_explorer.triage import main as triage_main  # one pod's / one role's triage

        return triage_main(args, stdout, stderr, sources)
    out, err = stdout or sys.stdout, stderr or sys.stderr
    fmt = getattr(args, "format", None) or ("table" if out.isatty() else "json")
    try:
        report = run_report(args, sources)
    except (CannotRun, ClusterError, BotoCoreError) as error:
        print(f"irsa-explorer report: cannot run: {_mask(str(error))}", file=err)
        return EXIT_CANNOT_RUN
    except Exception as error:  # a bug must still end with a reason, not a traceback
        print(
            f"irsa-explorer report: cannot run: unexpected {type(error).__name__}: {_mask(str(error))}",
            file=err,
        )
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("irsa-explorer report: interrupted", file=err)
        return EXIT_CANNOT_RUN
    if getattr(args, "output", None):  # --output FILE: readable by its owner only
        from irsa_explorer.triage import write_private

        try:
            written = write_private(args.output, render(report, fmt, pretty=False))
        except OSError as error:
            print(f"irsa-explorer report: cannot write {args.output}: {error.strerror or error}", file=err)
            return EXIT_CANNOT_RUN
        print(f"report written to {written}", file=err)
        return exit_code_for(report, getattr(args, "fail_on", "broken"))
    # Indented JSON for people at a terminal; compact for pipes and files, which tools read.
    if fmt == "json" and not out.isatty():
        write_json(report, out)
    else:
        out.write(render(report, fmt, pretty=out.isatty()))
    out.flush()
    return exit_code_for(report, getattr(args, "fail_on", "broken"))
