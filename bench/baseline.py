"""The manual way, timed: what a user does by hand with the walkthrough's tools.

1. `kubectl get pods -A -o json | jq …` — every pod with its service account;
2. `kubectl get sa -A -o json | jq …` — every service account with its role-arn annotation;
3. `aws eks list-pod-identity-associations` and `aws eks describe-pod-identity-association`
   for each association (the list does not carry the role);
4. `aws iam get-role --role-name R | jq …` for each distinct role, to read its trust policy.

Every command is a real process (real kubectl, jq and aws CLI against the lab). At full scale
step 3 and 4 are hundreds of CLI starts, so `sample` bounds them: that many calls are timed
and the rest extrapolated from their mean, and the result says so.
"""

from __future__ import annotations

import json
import random
import shlex
from dataclasses import dataclass, field

from measure import run_measured

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"

PODS_CMD = (
    "kubectl get pods -A -o json | "
    "jq -r '.items[] | [.metadata.namespace, .metadata.name, (.spec.serviceAccountName // \"default\")] | @tsv'"
)
SAS_CMD = (
    "kubectl get serviceaccounts -A -o json | "
    f"jq -r '.items[] | [.metadata.namespace, .metadata.name, (.metadata.annotations[\"{ROLE_ANNOTATION}\"] // \"\")] | @tsv'"
)


@dataclass
class Step:
    what: str
    calls: int  # how many it would take
    timed: int  # how many were run
    seconds: float  # measured (timed == calls) or extrapolated

    @property
    def extrapolated(self) -> bool:
        return self.timed < self.calls


@dataclass
class BaselineResult:
    seconds: float
    steps: list[Step]
    mapping: dict[tuple[str, str], str | None]  # (namespace, pod) → intended role ARN
    unresolved: set[tuple[str, str]] = field(default_factory=set)  # pods whose association was not sampled
    trust_policies: dict[str, object] = field(default_factory=dict)  # role ARN → document (or error)
    peak_rss_mb: float = 0.0

    @property
    def extrapolated(self) -> bool:
        return any(step.extrapolated for step in self.steps)


def run_baseline(env: dict[str, str], cluster: str, *, sample: int | None, seed: int = 1) -> BaselineResult:
    """Run the manual workflow; with `sample`, time at most that many per-object CLI calls."""
    steps: list[Step] = []
    peak = 0.0

    def shell(command: str, what: str) -> str:
        nonlocal peak
        measured = run_measured(["bash", "-o", "pipefail", "-c", command], env)
        peak = max(peak, measured.peak_rss_mb)
        if measured.exit_code != 0:
            raise RuntimeError(f"baseline step failed ({what}): {command}\n{measured.stderr.strip()[-2000:]}")
        steps.append(Step(what, 1, 1, measured.wall_s))
        return measured.stdout

    pods = [line.split("\t") for line in shell(PODS_CMD, "kubectl get pods -A | jq").splitlines() if line]
    sas = [line.split("\t") for line in shell(SAS_CMD, "kubectl get sa -A | jq").splitlines() if line]
    annotation = {(ns, name): (arn or None) for ns, name, arn in (row + [""] * (3 - len(row)) for row in sas)}

    listed = json.loads(
        shell(
            f"aws eks list-pod-identity-associations --cluster-name {shlex.quote(cluster)} --output json",
            "aws eks list-pod-identity-associations",
        )
        or "{}"
    )
    associations = listed.get("associations", [])
    rng = random.Random(seed)
    chosen = _sample(rng, associations, sample)
    association_role: dict[tuple[str, str], str] = {}
    total = 0.0
    for assoc in chosen:
        command = (
            f"aws eks describe-pod-identity-association --cluster-name {shlex.quote(cluster)} "
            f"--association-id {shlex.quote(assoc['associationId'])} --output json "
            "| jq -r .association.roleArn"
        )
        measured = run_measured(["bash", "-o", "pipefail", "-c", command], env)
        peak = max(peak, measured.peak_rss_mb)
        total += measured.wall_s
        if measured.exit_code == 0:
            association_role[(assoc["namespace"], assoc["serviceAccount"])] = measured.stdout.strip()
    if associations:
        steps.append(_scaled("aws eks describe-pod-identity-association (each)", len(associations), len(chosen), total))
    sampled_keys = {(a["namespace"], a["serviceAccount"]) for a in chosen}
    all_assoc_keys = {(a["namespace"], a["serviceAccount"]) for a in associations}

    # The mapping a user builds: Pod Identity first (EKS prefers it), else the annotation.
    mapping: dict[tuple[str, str], str | None] = {}
    unresolved: set[tuple[str, str]] = set()
    for row in pods:
        namespace, name, sa = (row + ["default"] * (3 - len(row)))[:3]
        key = (namespace, sa)
        if key in all_assoc_keys and key not in sampled_keys:
            unresolved.add((namespace, name))
            continue
        mapping[(namespace, name)] = association_role.get(key) or annotation.get(key)

    roles = sorted({arn for arn in annotation.values() if arn} | set(association_role.values()))
    chosen_roles = _sample(rng, roles, sample)
    trust: dict[str, object] = {}
    total = 0.0
    for arn in chosen_roles:
        role_name = arn.rsplit("/", 1)[-1]
        command = (
            f"aws iam get-role --role-name {shlex.quote(role_name)} --output json "
            "| jq -c .Role.AssumeRolePolicyDocument"
        )
        measured = run_measured(["bash", "-o", "pipefail", "-c", command], env)
        peak = max(peak, measured.peak_rss_mb)
        total += measured.wall_s
        trust[arn] = json.loads(measured.stdout) if measured.exit_code == 0 else measured.stderr.strip()
    if roles:
        steps.append(_scaled("aws iam get-role | jq (each distinct role)", len(roles), len(chosen_roles), total))

    return BaselineResult(
        seconds=sum(step.seconds for step in steps),
        steps=steps,
        mapping=mapping,
        unresolved=unresolved,
        trust_policies=trust,
        peak_rss_mb=peak,
    )


def _sample(rng: random.Random, items: list, size: int | None) -> list:
    if size is None or size >= len(items):
        return list(items)
    return rng.sample(items, size)


def _scaled(what: str, calls: int, timed: int, seconds: float) -> Step:
    estimate = seconds / timed * calls if timed else 0.0
    return Step(what, calls, timed, estimate)


def compare_mappings(
    report_pods: list[dict], baseline: BaselineResult
) -> tuple[int, list[str]]:
    """How many pods both ways map to the same intended role, and the disagreements (in words)."""
    agreed = 0
    disagreements: list[str] = []
    report_map = {(p["namespace"], p["name"]): p.get("intended_role_arn") for p in report_pods}
    for key, role in baseline.mapping.items():
        if key not in report_map:
            disagreements.append(f"{key[0]}/{key[1]}: listed by kubectl, missing from the report")
            continue
        if (report_map[key] or None) == (role or None):
            agreed += 1
        else:
            disagreements.append(f"{key[0]}/{key[1]}: report {report_map[key]!r}, by hand {role!r}")
    missing = set(report_map) - set(baseline.mapping) - baseline.unresolved
    for key in sorted(missing)[:20]:
        disagreements.append(f"{key[0]}/{key[1]}: in the report, not listed by kubectl")
    return agreed, disagreements
