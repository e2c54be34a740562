"""The declarative checks a lesson step names, and what each decides on the lab as observed.

A check never decides an identity, a trust or a verdict itself: it reads the engine's results
(`IdentityChain`s from `analysis.identity`, `analysis.reverse.who_can_assume` for a role's trust)
and the facts the sources read (`Inventory`, a role's attached policies), and compares them
with what the step asks for. Each check's arguments are checked when the file is read
(`argument_problems`), so a typo is found before the lab starts.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from dataclasses import dataclass, field
from typing import Any

from irsa_explorer.analysis.credentials import inventory_issuer
from irsa_explorer.analysis.reverse import who_can_assume
from irsa_explorer.analysis.trust import Decision, evaluate_trust, issuer_host_path, web_identity_request
from irsa_explorer.model import (
    AUDIENCE_ANNOTATION, DEFAULT_AUDIENCE, IdentityChain, Inventory, Mechanism, Pod, Role, RolePolicies, Unavailable, Verdict,
    service_account_subject,
)

from .format import Check

POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")


@dataclass(frozen=True)
class LabView:
    """What `observe` read of the lab at one moment: the inventory, every pod's chain (the
    engine's), the attached policies of the roles a `role_has_policy` check names, and of the
    IAM users a `user_has_policy` check names."""

    inventory: Inventory
    chains: dict[str, IdentityChain]  # by pod uid
    role_policies: dict[str, RolePolicies | Unavailable] = field(default_factory=dict)  # by role ARN
    account: str | None = None  # the lab's account (for a role named without its ARN)
    # by user name; a user's attached and inline policies in RolePolicies' shape (its ARN in role_arn)
    user_policies: dict[str, RolePolicies | Unavailable] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    passed: bool | None  # None: cannot tell yet (a fact is unknown)
    why: str  # in words, for the panel and progress.json


# -- arguments -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One argument of a check: its kind of value, and whether it must be given."""

    kind: str  # "text", "bool", "object" (namespace/name), "phase", "mechanism", "verdict", "texts"
    required: bool = False
    help: str = ""


def _object_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "a name, or namespace/name"
    if value.count("/") > 1 or value.startswith("/") or value.endswith("/"):
        return "namespace/name (one slash at most)"
    return None


def _value_problem(arg: Arg, value: Any) -> str | None:
    if arg.kind == "bool":
        return None if isinstance(value, bool) else "true or false"
    if arg.kind == "object":
        return _object_name(value)
    if arg.kind == "phase":
        values = value if isinstance(value, list) else [value]
        return None if values and all(v in POD_PHASES for v in values) else f"a pod phase or a list of them: {', '.join(POD_PHASES)}"
    if arg.kind == "mechanism":
        return None if value in {m.value for m in Mechanism} else f"one of {', '.join(m.value for m in Mechanism)}"
    if arg.kind == "texts":
        values = value if isinstance(value, list) else [value]
        return None if all(_object_name(v) is None for v in values) else "namespace/name, or a list of them"
    if arg.kind == "verdict":
        return None if value in {v.value for v in Verdict} else f"one of {', '.join(v.value for v in Verdict)}"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return "a string"
    return None


@dataclass(frozen=True)
class CheckKind:
    name: str
    args: dict[str, Arg]
    evaluate: Callable[[dict[str, Any], LabView], CheckResult]
    summary: str
    one_of: tuple[str, ...] = ()  # at least one of these arguments


def argument_problems(kind: CheckKind, args: Any) -> list[tuple[str | None, str]]:
    """What is wrong with a check's arguments: (the argument or None, what) pairs."""
    if not isinstance(args, dict):
        keys = ", ".join(kind.args)
        return [(None, f"write its arguments as a mapping: {{{keys}}}")]
    problems: list[tuple[str | None, str]] = []
    for key, value in args.items():
        arg = kind.args.get(str(key))
        if arg is None:
            problems.append((str(key), f"{kind.name} takes no argument {key!r} (it takes: {', '.join(kind.args)})"))
        elif (why := _value_problem(arg, value)) is not None:
            problems.append((str(key), f"{key}: {why}"))
    for key, arg in kind.args.items():
        if arg.required and key not in args:
            problems.append((None, f"{kind.name} needs {key}: {arg.help}".rstrip(": ")))
    if kind.one_of and not any(k in args for k in kind.one_of):
        problems.append((None, f"{kind.name} needs one of {', '.join(kind.one_of)}"))
    return problems


# -- helpers -------------------------------------------------------------------------------------


def split_name(value: str, default_namespace: str = "default") -> tuple[str, str]:
    namespace, _, name = str(value).rpartition("/")
    return namespace or default_namespace, name


def _find_pod(view: LabView, value: str) -> Pod | None:
    key = split_name(value)
    return next((p for p in view.inventory.pods.values() if p.key == key), None)


def _role_arn(view: LabView, value: str) -> str:
    """A role named by ARN, or by name in the lab's account."""
    if value.startswith("arn:"):
        return value
    account = view.account or "?"
    return f"arn:aws:iam::{account}:role/{value}"


def _role_name(arn: str | None) -> str:
    return (arn or "").rsplit("/", 1)[-1]


def _annotated_role(view: LabView, service_account: str) -> tuple[str | None, str | None]:
    """(the role ARN a service account's annotation names, or None and why not)."""
    key = split_name(service_account)
    sa = view.inventory.service_accounts.get(key)
    if sa is None:
        return None, f"service account {key[0]}/{key[1]} does not exist"
    if not sa.role_arn:
        return None, f"service account {key[0]}/{key[1]} has no eks.amazonaws.com/role-arn annotation"
    return sa.role_arn, None


def _node_role(view: LabView) -> tuple[str | None, str | None]:
    """The nodes' role (the instance profile's, as the sources read it); the first of several."""
    arns = sorted(arn for arn in view.inventory.node_roles.values() if isinstance(arn, str))
    return (arns[0], None) if arns else (None, "the nodes' role is not known")


def _role_from(view: LabView, args: dict[str, Any]) -> tuple[str | None, str | None]:
    if "role" in args:
        if str(args["role"]) == "node":
            return _node_role(view)
        return _role_arn(view, str(args["role"])), None
    return _annotated_role(view, str(args["service_account"]))


def _matches_role(wanted: str, arn: str | None, view: LabView) -> bool:
    if not arn:
        return False
    return arn == wanted if wanted.startswith("arn:") else _role_name(arn) == wanted


# -- the checks ------------------------------------------------------------------------------------


def _pod(args: dict[str, Any], view: LabView) -> CheckResult:
    name = str(args["name"])
    ns, short = split_name(name)
    pod = _find_pod(view, name)
    want_exists = args.get("exists", True)
    if pod is None:
        return CheckResult(not want_exists, f"pod {ns}/{short} does not exist" + ("" if want_exists else " (as wanted)"))
    if not want_exists:
        return CheckResult(False, f"pod {ns}/{short} still exists")
    said: list[str] = []
    if "phase" in args:
        phases = args["phase"] if isinstance(args["phase"], list) else [args["phase"]]
        if pod.phase not in phases:
            return CheckResult(False, f"pod {ns}/{short} is {pod.phase}, not {' or '.join(phases)}")
        said.append(pod.phase)
    if "service_account" in args and pod.service_account != split_name(str(args["service_account"]), ns)[1]:
        return CheckResult(False, f"pod {ns}/{short} runs as service account {pod.service_account}, not {args['service_account']}")
    needs_chain = any(k in args for k in ("mechanism", "effective_role", "verdict", "finding", "no_finding", "key_source"))
    if not needs_chain:
        return CheckResult(True, f"pod {ns}/{short} exists" + (f" ({', '.join(said)})" if said else ""))
    chain = view.chains.get(pod.uid)
    if chain is None:
        return CheckResult(None, f"pod {ns}/{short}: its identity chain is not worked out yet")
    effective = chain.effective
    if "mechanism" in args and chain.mechanism.value != args["mechanism"]:
        return CheckResult(False, f"pod {ns}/{short} gets its identity through {chain.mechanism.value}, not {args['mechanism']}")
    if "effective_role" in args:
        wanted = str(args["effective_role"])
        arn = effective.arn if effective is not None else chain.effective_identity
        if wanted == "node":
            ok = chain.mechanism is Mechanism.NODE_ROLE and bool(arn)
            expected = "the node's role"
        elif wanted == "annotated":
            sa_role, why = _annotated_role(view, f"{ns}/{pod.service_account}")
            ok, expected = bool(sa_role) and arn == sa_role, (f"the role its service account names ({_role_name(sa_role)})" if sa_role else why or "")
        else:
            ok, expected = _matches_role(wanted, arn, view), wanted
        if not ok:
            got = _role_name(arn) if arn else (effective.label if effective is not None else "unknown")
            return CheckResult(False if chain.verdict is not Verdict.UNKNOWN else None,
                               f"pod {ns}/{short} gets {got}, not {expected}")
        said.append(f"gets {_role_name(arn)}")
    if "key_source" in args:  # where the engine found the static keys it says the pod uses
        source = effective.key_source if effective is not None else None
        if not source or not fnmatchcase(source, str(args["key_source"])):
            return CheckResult(False, f"pod {ns}/{short}'s keys come from {source or 'nowhere'}, not {args['key_source']}")
        said.append(f"keys from {source}")
    if "verdict" in args and chain.verdict.value != args["verdict"]:
        return CheckResult(False if chain.verdict is not Verdict.UNKNOWN else None,
                           f"pod {ns}/{short}'s verdict is {chain.verdict.value}, not {args['verdict']}")
    codes = {f.code for f in chain.findings}
    if "finding" in args and str(args["finding"]) not in codes:
        return CheckResult(False, f"pod {ns}/{short} has no finding {args['finding']}")
    if "no_finding" in args and str(args["no_finding"]) in codes:
        return CheckResult(False, f"pod {ns}/{short} still has finding {args['no_finding']}")
    return CheckResult(True, f"pod {ns}/{short}: " + ", ".join([*said, f"{chain.mechanism.value}, {chain.verdict.value}"]))


def _service_account(args: dict[str, Any], view: LabView) -> CheckResult:
    ns, name = split_name(str(args["name"]))
    exists = (ns, name) in view.inventory.service_accounts
    want = args.get("exists", True)
    return CheckResult(exists == want, f"service account {ns}/{name} {'exists' if exists else 'does not exist'}")


def _service_account_annotated(args: dict[str, Any], view: LabView) -> CheckResult:
    arn, why = _annotated_role(view, str(args["name"]))
    if arn is None:
        return CheckResult(False, why or "")
    wanted = str(args.get("role", "any"))
    if wanted != "any" and not _matches_role(wanted, arn, view):
        return CheckResult(False, f"{args['name']} names role {_role_name(arn)}, not {wanted}")
    return CheckResult(True, f"{args['name']} names role {arn}")


def _oidc_provider_exists(args: dict[str, Any], view: LabView) -> CheckResult:
    providers = view.inventory.oidc_providers
    if isinstance(providers, Unavailable):
        return CheckResult(None, f"the IAM OIDC providers are unknown: {providers.reason}")
    if providers is None:
        return CheckResult(None, "the IAM OIDC providers were not read yet")
    wanted = str(args.get("issuer", "cluster"))
    issuer = inventory_issuer(view.inventory) if wanted == "cluster" else wanted
    if issuer is None:
        return CheckResult(None, "the cluster's OIDC issuer is not known yet")
    url = issuer_host_path(issuer)
    # IAM keeps the URL as the provider was made for the issuer (what STS looks up)
    match = next((p for p in providers if p.url.removeprefix("https://").lower() == url.lower()), None)
    if match is None:
        return CheckResult(False, f"no IAM OIDC provider for {url}")
    client_id = args.get("client_id")
    if client_id and str(client_id) not in match.client_ids:
        return CheckResult(False, f"the provider for {url} has client IDs {', '.join(match.client_ids) or '(none)'}, not {client_id}")
    return CheckResult(True, f"{match.arn} (client IDs {', '.join(match.client_ids)})")


def _role_trusts(args: dict[str, Any], view: LabView) -> CheckResult:
    arn, why = _role_from(view, args)
    if arn is None:
        return CheckResult(False, why or "")
    role = view.inventory.roles.get(arn)
    if isinstance(role, Unavailable):
        return CheckResult(False if role.kind == "not-found" else None,
                           f"role {_role_name(arn)}: {role.reason}")
    if not isinstance(role, Role):
        return CheckResult(None, f"role {_role_name(arn)} was not read (the explorer reads the roles service accounts, "
                                 "associations and nodes name)")
    ns, name = split_name(str(args["service_account"]))
    for match in who_can_assume(role, view.inventory):  # the engine's answer, not ours
        ref = match.service_account
        if ref is not None and (ref.namespace, ref.name) == (ns, name) and match.mechanism is Mechanism.IRSA:
            if match.decision is Decision.ALLOW:
                return CheckResult(True, f"role {role.name} trusts {ns}/{name}'s tokens: {match.reason}")
            return CheckResult(None, f"role {role.name} may trust {ns}/{name}: {match.reason}")
    return CheckResult(False, f"role {role.name}'s trust policy does not accept {ns}/{name}'s tokens")


def _role_has_policy(args: dict[str, Any], view: LabView) -> CheckResult:
    arn, why = _role_from(view, args)
    if arn is None:
        return CheckResult(False, why or "")
    return _has_policy(f"role {_role_name(arn)}", view.role_policies.get(arn), str(args["policy"]))


def _user_has_policy(args: dict[str, Any], view: LabView) -> CheckResult:
    name = str(args["user"])
    return _has_policy(f"user {name}", view.user_policies.get(name), str(args["policy"]))


def _has_policy(who: str, policies: RolePolicies | Unavailable | None, wanted: str) -> CheckResult:
    """Whether a role's or a user's attached or inline policies include `wanted` (`*` matches any text)."""
    if policies is None:
        return CheckResult(None, f"{who}'s policies were not read yet")
    if isinstance(policies, Unavailable):
        return CheckResult(False if policies.kind == "not-found" else None, f"{who}: {policies.reason}")
    names = [p.arn if wanted.startswith("arn:") else p.name for p in policies.attached]
    found = [n for n in [*names, *policies.inline] if fnmatchcase(n, wanted)]  # `AmazonS3*`: any of them
    if found:
        return CheckResult(True, f"{who} has {', '.join(found)}")
    have = ", ".join([*(p.name for p in policies.attached), *policies.inline]) or "no policy"
    return CheckResult(False, f"{who} has {have}, not {wanted}")


# Made-up names no cluster has: a trust that accepts a service account of one of them accepts
# service accounts nobody named (a `*` in its sub, StringLike "*", no sub condition at all).
_NOBODY_NS, _NOBODY_SA = "zz-no-such-namespace-7f3a", "zz-no-such-sa-7f3a"


def _role_trusts_others(args: dict[str, Any], view: LabView) -> CheckResult:
    """The role's trust accepts IRSA tokens of service accounts beyond `only`: each one the
    cluster has, and made-up ones (any name in an allowed namespace, an allowed name in any
    namespace, anything at all) — decided by the engine's trust evaluation."""
    arn, why = _role_from(view, args)
    if arn is None:
        return CheckResult(False, why or "")
    role = view.inventory.roles.get(arn)
    if not isinstance(role, Role):
        reason = role.reason if isinstance(role, Unavailable) else "was not read"
        return CheckResult(None, f"role {_role_name(arn)}: {reason}")
    issuer = inventory_issuer(view.inventory)
    if issuer is None:
        return CheckResult(None, "the cluster's OIDC issuer is not known yet")
    only_raw = args.get("only", [])
    only = {split_name(str(v)) for v in (only_raw if isinstance(only_raw, list) else [only_raw])}
    audiences = {key: (sa.annotations.get(AUDIENCE_ANNOTATION) or DEFAULT_AUDIENCE)
                 for key, sa in view.inventory.service_accounts.items()}
    probes = {key: audiences[key] for key in audiences if key not in only}
    probes[(_NOBODY_NS, _NOBODY_SA)] = DEFAULT_AUDIENCE
    for ns, name in only:
        probes[(_NOBODY_NS, name)] = DEFAULT_AUDIENCE
        probes[(ns, _NOBODY_SA)] = DEFAULT_AUDIENCE
    unsure = None
    for (ns, name), audience in sorted(probes.items()):
        request = web_identity_request(issuer, service_account_subject(ns, name), [audience], role.account)
        evaluation = evaluate_trust(role.trust_policy, request)
        who = "any service account" if name == _NOBODY_SA and ns == _NOBODY_NS else (
            f"any service account in {ns}" if name == _NOBODY_SA else f"{name} in any namespace" if ns == _NOBODY_NS else f"{ns}/{name}")
        if evaluation.decision is Decision.ALLOW:
            return CheckResult(True, f"role {role.name}'s trust accepts {who}: {evaluation.reason}")
        if evaluation.decision is Decision.UNKNOWN and unsure is None:
            unsure = f"role {role.name} may trust {who}: {evaluation.reason}"
    if unsure:
        return CheckResult(None, unsure)
    named = ", ".join(f"{ns}/{name}" for ns, name in sorted(only)) or "no service account"
    return CheckResult(False, f"role {role.name}'s trust accepts {named} and no other")


_ROLE_ARGS = {
    "role": Arg("text", help="a role ARN or name, or `node` (the nodes' role)"),
    "service_account": Arg("object", help="namespace/name: the role its annotation names"),
}

CHECKS: dict[str, CheckKind] = {kind.name: kind for kind in (
    CheckKind("pod", {
        "name": Arg("object", True, "namespace/name of the pod"),
        "exists": Arg("bool"), "phase": Arg("phase"), "service_account": Arg("text"),
        "mechanism": Arg("mechanism"), "verdict": Arg("verdict"), "finding": Arg("text"), "no_finding": Arg("text"),
        "key_source": Arg("text", help="where its static keys come from, as the engine says it (`*` matches any text)"),
        "effective_role": Arg("text", help="a role ARN or name, `annotated` (its service account's) or `node`"),
    }, _pod, "a pod exists, in a phase, runs as a service account, and the engine's chain for it says so"),
    CheckKind("service_account", {"name": Arg("object", True, "namespace/name"), "exists": Arg("bool")},
              _service_account, "a service account exists (or not)"),
    CheckKind("service_account_annotated", {"name": Arg("object", True, "namespace/name"), "role": Arg("text")},
              _service_account_annotated, "a service account's eks.amazonaws.com/role-arn names a role (any, or that one)"),
    CheckKind("oidc_provider_exists", {"issuer": Arg("text"), "client_id": Arg("text")},
              _oidc_provider_exists, "an IAM OIDC provider exists for the cluster's issuer (or that URL)"),
    CheckKind("role_trusts", {**_ROLE_ARGS, "service_account": Arg("object", True, "namespace/name whose tokens it must accept")},
              _role_trusts, "a role's trust policy accepts a service account's IRSA tokens (analysis.reverse)"),
    CheckKind("role_has_policy", {**_ROLE_ARGS, "policy": Arg("text", True, "a policy name or ARN (`*` matches any text)")},
              _role_has_policy, "a role has a policy attached (or inline) by that name", one_of=("role", "service_account")),
    CheckKind("user_has_policy", {"user": Arg("text", True, "an IAM user's name, in the lab's account"),
                                  "policy": Arg("text", True, "a policy name or ARN (`*` matches any text)")},
              _user_has_policy, "an IAM user has a policy attached (or inline) by that name (a wrong way: a grant to a user "
                                "whose keys a pod holds)"),
    CheckKind("role_trusts_others", {**_ROLE_ARGS, "only": Arg("texts", help="the namespace/name service accounts it should accept")},
              _role_trusts_others, "a role's trust accepts IRSA tokens of service accounts beyond `only` (a wrong way)",
              one_of=("role", "service_account")),
)}


def evaluate(check: Check, view: LabView) -> CheckResult:
    """Decide one check on what was observed. A check that cannot be worked out is unknown."""
    kind = CHECKS[check.name]
    try:
        return kind.evaluate(check.args, view)
    except (KeyError, ValueError, TypeError, AttributeError) as error:  # never the lesson's crash
        return CheckResult(None, f"{check.name}: cannot evaluate ({type(error).__name__}: {error})")


def roles_for_policies(checks: list[Check], view: LabView) -> set[str]:
    """The role ARNs whose attached policies `role_has_policy` checks need (read by observe)."""
    arns: set[str] = set()
    for check in checks:
        if check.name == "role_has_policy":
            arn, _ = _role_from(view, check.args)
            if arn:
                arns.add(arn)
    return arns


def users_for_policies(checks: list[Check]) -> set[str]:
    """The IAM user names whose policies `user_has_policy` checks need (read by observe)."""
    return {str(check.args["user"]) for check in checks if check.name == "user_has_policy"}


def roles_named(checks: list[Check], view: LabView) -> set[str]:
    """The role ARNs `role_trusts` checks name (read by observe when the inventory has not)."""
    return {
        arn for check in checks if check.name in ("role_trusts", "role_trusts_others")
        for arn in [_role_from(view, check.args)[0]] if arn
    }
