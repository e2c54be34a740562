"""Lab scenarios: a YAML history of Kubernetes and AWS changes, replayed through the real APIs.

A scenario is what a trainer writes to set up a lab: a `cluster:` header (defaults are the
walkthrough's cluster) and `steps:` applied in order, so history matters — a pod created before
its service account was annotated keeps no IRSA env, exactly as on EKS. The format is described
in docs/scenarios.md.

Everything is checked before anything is applied (`load_scenario` raises `ScenarioError` naming
the file, the step, the key path and the line), so a typo never leaves a half-built lab.
Kubernetes steps go through the official `kubernetes` client and AWS steps through boto3, over
the same wire protocols kubectl and the aws CLI use.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from irsa_explorer.lab.spec import LabCluster

BUILTIN_FOLDER = "scenarios"  # next to this module, shipped as package data
DEFAULT_SCENARIO = "walkthrough"

# Kinds the lab's API server serves, with how to reach them through the typed client.
# (kind → (namespaced, CoreV1Api method suffix))
KUBE_KINDS: dict[str, tuple[bool, str]] = {
    "Namespace": (False, "namespace"),
    "Node": (False, "node"),
    "ServiceAccount": (True, "namespaced_service_account"),
    "Pod": (True, "namespaced_pod"),
    "Secret": (True, "namespaced_secret"),
    "ConfigMap": (True, "namespaced_config_map"),
}

# ${name} is a variable; $${…} stays a literal ${…} (e.g. a shell command in a container's args).
_VARIABLE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_DOLLAR_BRACE = re.compile(r"(?<!\$)\$\{([^}]*)\}?")
_STEP_KINDS = ("kube", "aws", "wait", "include")
_WAIT_KEYS = {"pod", "namespace", "phase", "timeout"}
_POD_PHASES = {"Pending", "Running", "Succeeded", "Failed", "Unknown"}


# --- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario file, with where it is."""

    source: str  # the file (or "<text>")
    where: str  # e.g. "steps[3].params.RoleName"
    message: str
    line: int | None = None

    def __str__(self) -> str:
        line = f", line {self.line}" if self.line else ""
        return f"{self.source}{line}: {self.where}: {self.message}"


class ScenarioError(Exception):
    """A scenario file that cannot be used. Raised before anything is applied."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = "invalid scenario" if len(problems) == 1 else f"invalid scenario ({len(problems)} problems)"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in problems))


class ScenarioApplyError(Exception):
    """A step the lab refused while applying (the file itself was valid)."""

    def __init__(self, step: Step, cause: BaseException, what: str | None = None):
        self.step = step
        self.cause = cause
        super().__init__(f"{step.place}: {what or step.describe()} failed: {_cause_text(cause)}")


def _cause_text(cause: BaseException) -> str:
    """The API's own words: a Kubernetes Status message, an AWS error code and message."""
    body = getattr(cause, "body", None)
    if body:
        try:
            status = json.loads(body)
            return f"{status.get('reason') or getattr(cause, 'status', '')}: {status.get('message')}"
        except (ValueError, AttributeError):
            pass
    return _model_error(cause) if hasattr(cause, "errors") else str(cause)


# --- the parsed scenario ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    source: str
    index: int  # position in its own file
    line: int | None
    included_from: str | None  # "file step N" when pulled in by `include:`

    @property
    def place(self) -> str:
        line = f", line {self.line}" if self.line else ""
        origin = f" (included from {self.included_from})" if self.included_from else ""
        return f"{self.source}{line}: steps[{self.index}]{origin}"

    def describe(self) -> str:  # pragma: no cover - overridden
        return "step"


@dataclass(frozen=True)
class KubeStep(Step):
    """Create a Kubernetes object, or merge-patch it when it already exists (like kubectl apply)."""

    manifest: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        meta = self.manifest.get("metadata", {})
        ns = meta.get("namespace")
        return f"{self.manifest.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


@dataclass(frozen=True)
class AwsStep(Step):
    """One AWS API call, named as boto3 names it: `iam.create_role` with the API's params."""

    service: str = ""
    operation: str = ""  # boto3's snake_case method name
    params: dict[str, Any] = field(default_factory=dict)
    save: dict[str, str] = field(default_factory=dict)  # variable → JMESPath into the response

    def describe(self) -> str:
        return f"aws {self.service}.{self.operation}"


@dataclass(frozen=True)
class WaitStep(Step):
    """Wait until a pod reaches one of `phases` (e.g. the walkthrough's pod ends Failed)."""

    pod: str = ""
    namespace: str = "default"
    phases: tuple[str, ...] = ()
    timeout: float = 30.0

    def describe(self) -> str:
        return f"wait for pod {self.namespace}/{self.pod} to be {'|'.join(self.phases)}"


@dataclass(frozen=True)
class LabUser:
    """A restricted kubeconfig user the lab creates (header `users:`): reads everything, or only
    in `namespaces`; `write` adds create/update/delete; `cluster_read` names cluster-scoped
    resources (only "namespaces" or "nodes") a namespace user may still read."""

    name: str
    namespaces: tuple[str, ...] | None = None  # None: every namespace and cluster scope
    write: bool = False
    cluster_read: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    cluster: LabCluster
    description: str
    steps: tuple[Step, ...]
    users: tuple[LabUser, ...] = ()

    def variables(self) -> dict[str, str]:
        """The built-in variables every step can use."""
        return builtin_variables(self.cluster)


def builtin_variables(cluster: LabCluster) -> dict[str, str]:
    return {
        "account": cluster.account,
        "region": cluster.region,
        "cluster": cluster.name,
        "cluster_arn": cluster.arn,
        "issuer": cluster.issuer,
        "issuer_host": cluster.issuer_host_path,
        "oidc_provider_arn": cluster.oidc_provider_arn,
        "version": cluster.version,
    }


# --- finding scenario files -------------------------------------------------------------------


def _builtin_folder():
    return resources.files("irsa_explorer.lab").joinpath(BUILTIN_FOLDER)


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with the lab (files starting with `_` are building blocks)."""
    folder = _builtin_folder()
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and not entry.name.startswith("_")
    )


def scenario_path(name_or_file: str | Path, relative_to: Path | None = None) -> Path:
    """A built-in scenario's file, or the given file. Raises ScenarioError when neither exists."""
    text = str(name_or_file)
    candidate = Path(text).expanduser()
    if relative_to is not None and not candidate.is_absolute():
        near = relative_to.parent / candidate
        if near.is_file():
            return near
    if candidate.is_file():
        return candidate.resolve()
    if "/" not in text:
        builtin = Path(str(_builtin_folder().joinpath(text.removesuffix(".yaml") + ".yaml")))
        if builtin.is_file():
            return builtin
    known = ", ".join(builtin_scenarios())
    raise ScenarioError(
        [Problem(text, "scenario", f"no such file and no built-in scenario of that name (built in: {known})")]
    )


# --- loading and validation -------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader whose mappings remember the line each key starts on (for error messages)."""


class _Located(dict):
    """A mapping from a scenario file that knows the line of each key (1-based)."""

    lines: dict[str, int]
    line: int


def _construct_located(loader: _LineLoader, node: yaml.MappingNode) -> _Located:
    mapping = _Located(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {
        str(key.value): key.start_mark.line + 1 for key, _ in node.value if isinstance(key, yaml.ScalarNode)
    }
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_located)


def _line_of(mapping: Any, key: str | None = None) -> int | None:
    if isinstance(mapping, _Located):
        return mapping.lines.get(key, mapping.line) if key is not None else mapping.line
    return None


def _plain(value: Any) -> Any:
    """Strip the line bookkeeping so manifests and params are ordinary dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_scenario(name_or_file: str | Path = DEFAULT_SCENARIO) -> Scenario:
    """Read and fully validate a scenario (built-in name or file). Raises ScenarioError."""
    path = scenario_path(name_or_file)
    return parse_scenario(path.read_text(encoding="utf-8"), source=str(path), path=path)


def parse_scenario(text: str, source: str = "<text>", path: Path | None = None) -> Scenario:
    """Parse and validate scenario text. All problems are collected and raised together."""
    problems: list[Problem] = []
    document = _read_yaml(text, source, problems)
    if document is None:
        raise ScenarioError(problems)
    cluster = _parse_cluster(document.get("cluster"), source, problems, _line_of(document, "cluster"))
    for key in document:
        if key not in ("cluster", "steps", "description", "name", "users"):
            problems.append(
                Problem(source, str(key), "unknown top-level key (expected cluster, users, steps, description)", _line_of(document, str(key)))
            )
    users = _parse_users(document.get("users"), source, problems, _line_of(document, "users"))
    steps = _parse_steps(document, source, path, cluster, problems, included_from=None, seen=())
    if problems:
        raise ScenarioError(problems)
    name = str(document.get("name") or (path.stem if path else source))
    return Scenario(name, source, cluster, str(document.get("description") or "").strip(), tuple(steps), users)


def _read_yaml(text: str, source: str, problems: list[Problem]) -> _Located | None:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(
            Problem(source, "yaml", f"not valid YAML: {getattr(exc, 'problem', None) or exc}", mark.line + 1 if mark else None)
        )
        return None
    if not isinstance(document, dict):
        problems.append(Problem(source, "document", "a scenario is a mapping with `cluster:` and `steps:`"))
        return None
    return document


def _parse_cluster(raw: Any, source: str, problems: list[Problem], line: int | None) -> LabCluster:
    if raw is None:
        return LabCluster()
    if not isinstance(raw, dict):
        problems.append(Problem(source, "cluster", "must be a mapping (name, region, account, issuer_id, version)", line))
        return LabCluster()
    known = {f.name for f in fields(LabCluster)}
    values: dict[str, str] = {}
    for key, value in raw.items():
        if key not in known:
            problems.append(
                Problem(source, f"cluster.{key}", f"unknown key (expected one of {', '.join(sorted(known))})", _line_of(raw, key))
            )
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            problems.append(Problem(source, f"cluster.{key}", "must be a string", _line_of(raw, key)))
        else:
            values[key] = str(value)
    account = values.get("account", LabCluster.account)
    if not re.fullmatch(r"\d{12}", account):
        problems.append(Problem(source, "cluster.account", f"an AWS account id is 12 digits, got {account!r}", _line_of(raw, "account")))
    return LabCluster(**values)


_USER_KEYS = {"name", "namespaces", "write", "cluster_read"}
_CLUSTER_READABLE = ("namespaces", "nodes")
# A kubeconfig user name becomes part of a context name (NAME@cluster.region.eksctl.io).
_USER_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?")
_NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _parse_users(raw: Any, source: str, problems: list[Problem], line: int | None) -> tuple[LabUser, ...]:
    """The `users:` header: restricted kubeconfig users, each checked like a step."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(Problem(source, "users", "a list of users, e.g. `- {name: dev, namespaces: [default]}`", line))
        return ()
    users: list[LabUser] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"users[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(source, where, "a mapping with name (and namespaces, write, cluster_read)", line))
            continue
        at = _line_of(entry) or line
        before = len(problems)
        _check_keys(entry, _USER_KEYS, where, source, problems)
        name = entry.get("name")
        if not isinstance(name, str) or not _USER_NAME.fullmatch(name) or name == "lab":
            problems.append(Problem(source, f"{where}.name", "a lower-case name like `dev` (not `lab`, the admin's)", _line_of(entry, "name") or at))
        elif name in seen:
            problems.append(Problem(source, f"{where}.name", f"user {name!r} is defined twice", _line_of(entry, "name") or at))
        namespaces = entry.get("namespaces")
        if namespaces is not None and (
            not isinstance(namespaces, list) or not namespaces
            or not all(isinstance(ns, str) and _NAMESPACE_NAME.fullmatch(ns) for ns in namespaces)
        ):
            problems.append(Problem(source, f"{where}.namespaces", "a non-empty list of namespace names (omit it for cluster-wide access)", _line_of(entry, "namespaces") or at))
        write = entry.get("write", False)
        if not isinstance(write, bool):
            problems.append(Problem(source, f"{where}.write", "true or false", _line_of(entry, "write") or at))
        cluster_read = entry.get("cluster_read", [])
        if not isinstance(cluster_read, list) or not all(r in _CLUSTER_READABLE for r in cluster_read):
            problems.append(Problem(source, f"{where}.cluster_read", f"a list of {' and/or '.join(_CLUSTER_READABLE)}", _line_of(entry, "cluster_read") or at))
        elif cluster_read and namespaces is None:
            problems.append(Problem(source, f"{where}.cluster_read", "only for a user limited to `namespaces` (the others read everything)", _line_of(entry, "cluster_read") or at))
        if len(problems) == before:
            seen.add(name)
            users.append(LabUser(name, tuple(namespaces) if namespaces is not None else None, write, tuple(cluster_read)))
    return tuple(users)


def _parse_steps(
    document: dict,
    source: str,
    path: Path | None,
    cluster: LabCluster,
    problems: list[Problem],
    included_from: str | None,
    seen: tuple[str, ...],
    defined: set[str] | None = None,
) -> list[Step]:
    raw_steps = document.get("steps")
    if raw_steps is None:
        problems.append(Problem(source, "steps", "missing: a scenario needs a list of steps", _line_of(document)))
        return []
    if not isinstance(raw_steps, list):
        problems.append(Problem(source, "steps", "must be a list", _line_of(document, "steps")))
        return []
    # Variables are checked in order: a step can only use what earlier steps saved.
    defined = defined if defined is not None else set(builtin_variables(cluster))
    steps: list[Step] = []
    for index, raw in enumerate(raw_steps):
        where = f"steps[{index}]"
        line = _line_of(raw)
        if not isinstance(raw, dict):
            problems.append(Problem(source, where, f"a step is a mapping with one of: {', '.join(_STEP_KINDS)}", None))
            continue
        kinds = [k for k in _STEP_KINDS if k in raw]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none of them"
            problems.append(Problem(source, where, f"a step needs exactly one of {', '.join(_STEP_KINDS)} (found {found})", line))
            continue
        kind = kinds[0]
        base = {"source": source, "index": index, "line": line, "included_from": included_from}
        if kind == "kube":
            steps.extend(_parse_kube(raw, where, base, problems, defined))
        elif kind == "aws":
            step = _parse_aws(raw, where, base, problems, defined)
            if step:
                steps.append(step)
        elif kind == "wait":
            step = _parse_wait(raw, where, base, problems, defined)
            if step:
                steps.append(step)
        else:
            steps.extend(_parse_include(raw, where, source, path, cluster, problems, seen, defined, line))
    return steps


def _check_keys(raw: dict, allowed: set[str], where: str, source: str, problems: list[Problem]) -> None:
    for key in raw:
        if key not in allowed:
            problems.append(
                Problem(source, f"{where}.{key}", f"unknown key (allowed here: {', '.join(sorted(allowed))})", _line_of(raw, key))
            )


def _check_variables(value: Any, where: str, source: str, line: int | None, defined: set[str], problems: list[Problem]) -> None:
    for path, text in _strings(value, where):
        for match in _ANY_DOLLAR_BRACE.finditer(text):
            name = match.group(1)
            if not match.group(0).endswith("}") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                problems.append(Problem(source, path, f"malformed variable {match.group(0)!r} (write ${{name}})", line))
            elif name not in defined:
                problems.append(
                    Problem(source, path, f"undefined variable ${{{name}}} (defined so far: {', '.join(sorted(defined))})", line)
                )


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield f"{where} (key)", key
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")


def _parse_kube(raw: dict, where: str, base: dict, problems: list[Problem], defined: set[str]) -> list[KubeStep]:
    source = base["source"]
    _check_keys(raw, {"kube"}, where, source, problems)
    body = raw["kube"]
    manifests = body if isinstance(body, list) else [body]
    steps = []
    for i, manifest in enumerate(manifests):
        at = f"{where}.kube" + (f"[{i}]" if isinstance(body, list) else "")
        line = _line_of(manifest) or base["line"]
        if isinstance(manifest, dict):
            _check_variables(manifest, at, source, line, defined, problems)
        if not _valid_manifest(manifest, at, source, line, problems):
            continue
        steps.append(KubeStep(**{**base, "line": line}, manifest=_plain(manifest)))
    return steps


def _valid_manifest(manifest: Any, at: str, source: str, line: int | None, problems: list[Problem]) -> bool:
    if not isinstance(manifest, dict):
        problems.append(Problem(source, at, "a Kubernetes manifest (mapping with apiVersion, kind, metadata)", line))
        return False
    ok = True
    for key in ("apiVersion", "kind"):
        if not isinstance(manifest.get(key), str) or not manifest.get(key):
            problems.append(Problem(source, f"{at}.{key}", "missing (every manifest needs apiVersion, kind and metadata.name)", line))
            ok = False
    meta = manifest.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        problems.append(Problem(source, f"{at}.metadata.name", "missing (every manifest needs a name)", _line_of(manifest, "metadata") or line))
        ok = False
    kind = manifest.get("kind")
    if isinstance(kind, str) and kind:
        if kind not in KUBE_KINDS:
            problems.append(
                Problem(source, f"{at}.kind", f"the lab does not serve kind {kind!r} (it serves {', '.join(KUBE_KINDS)})", _line_of(manifest, "kind"))
            )
            ok = False
        elif manifest.get("apiVersion") not in (None, "v1"):
            problems.append(Problem(source, f"{at}.apiVersion", f"{kind} is apiVersion v1, not {manifest.get('apiVersion')!r}", _line_of(manifest, "apiVersion")))
            ok = False
        elif not KUBE_KINDS[kind][0] and isinstance(meta, dict) and meta.get("namespace"):
            problems.append(Problem(source, f"{at}.metadata.namespace", f"{kind} is cluster-scoped: no namespace", line))
            ok = False
    if ok:
        ok = _check_manifest_schema(manifest, at, source, line, problems)
    return ok


def _check_manifest_schema(manifest: dict, at: str, source: str, line: int | None, problems: list[Problem]) -> bool:
    """Let the kubernetes client's models check required fields and types (e.g. a container without a name)."""
    from kubernetes.client import ApiClient

    try:
        # The public deserialize() changed signature across client versions; the model
        # builder behind it did not.
        ApiClient()._ApiClient__deserialize(_plain(manifest), "V1" + manifest["kind"])
    except (ValueError, TypeError, AttributeError) as exc:
        problems.append(Problem(source, at, f"not a valid {manifest['kind']}: {_model_error(exc)}", line))
        return False
    if manifest["kind"] == "Pod" and not (manifest.get("spec") or {}).get("containers"):
        problems.append(Problem(source, f"{at}.spec.containers", "a Pod needs at least one container", line))
        return False
    return True


def _model_error(exc: Exception) -> str:
    """One line from the client's model error (pydantic in recent clients, ValueError before)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        title = getattr(exc, "title", "")
        return "; ".join(
            f"{title} {'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg')}".strip()
            for error in errors()
        )
    return str(exc).splitlines()[0]


def _parse_aws(raw: dict, where: str, base: dict, problems: list[Problem], defined: set[str]) -> AwsStep | None:
    source, line = base["source"], base["line"]
    _check_keys(raw, {"aws", "params", "save"}, where, source, problems)
    action = raw["aws"]
    if not isinstance(action, str) or not re.fullmatch(r"[a-z0-9-]+\.[a-z0-9_]+", action):
        problems.append(Problem(source, f"{where}.aws", "write the call as service.operation, boto3-style: e.g. iam.create_role", _line_of(raw, "aws")))
        return None
    service, operation = action.split(".", 1)
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        problems.append(Problem(source, f"{where}.params", "must be a mapping of the API's parameters", _line_of(raw, "params")))
        return None
    _check_variables(params, f"{where}.params", source, line, defined, problems)
    operation_model = _operation_model(service, operation, where, source, _line_of(raw, "aws"), problems)
    params = _plain(params)
    if operation_model is not None:
        params = _encode_documents(params, operation_model)
        _validate_params(params, operation_model, where, source, _line_of(raw, "params") or line, problems)
    save = raw.get("save") or {}
    if not isinstance(save, dict):
        problems.append(Problem(source, f"{where}.save", "must map variable names to JMESPath expressions", _line_of(raw, "save")))
        save = {}
    checked_save = {}
    for name, expression in save.items():
        at = f"{where}.save.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
            problems.append(Problem(source, at, "a variable name is letters, digits and _", _line_of(save, name)))
            continue
        if not _valid_jmespath(expression):
            problems.append(Problem(source, at, f"not a JMESPath expression: {expression!r}", _line_of(save, name)))
            continue
        checked_save[str(name)] = str(expression)
    defined.update(checked_save)
    return AwsStep(**base, service=service, operation=operation, params=params, save=checked_save)


def _valid_jmespath(expression: Any) -> bool:
    import jmespath
    from jmespath.exceptions import JMESPathError

    if not isinstance(expression, str) or not expression:
        return False
    try:
        jmespath.compile(expression)
    except JMESPathError:
        return False
    return True


_SERVICE_MODELS: dict[str, Any] = {}
_BOTOCORE_SESSION: Any = None


def botocore_session():
    """One botocore session for validation and for applying: its loader parses each service
    model once (ec2's is megabytes), which keeps a lab's start fast."""
    global _BOTOCORE_SESSION
    if _BOTOCORE_SESSION is None:
        import botocore.session

        _BOTOCORE_SESSION = botocore.session.get_session()
    return _BOTOCORE_SESSION


def _operation_model(service: str, operation: str, where: str, source: str, line: int | None, problems: list[Problem]):
    from botocore.exceptions import UnknownServiceError
    from botocore import xform_name

    try:
        if service not in _SERVICE_MODELS:
            _SERVICE_MODELS[service] = botocore_session().get_service_model(service)
        model = _SERVICE_MODELS[service]
    except UnknownServiceError:
        problems.append(Problem(source, f"{where}.aws", f"unknown AWS service {service!r}", line))
        return None
    by_method = {xform_name(name): name for name in model.operation_names}
    if operation not in by_method:
        near = [m for m in by_method if operation.split("_")[-1] in m][:5]
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        problems.append(Problem(source, f"{where}.aws", f"{service} has no operation {operation!r}{hint}", line))
        return None
    return model.operation_model(by_method[operation])


def _encode_documents(params: dict, operation_model) -> dict:
    """Policy documents may be written as YAML mappings; the API takes them as JSON strings."""
    members = operation_model.input_shape.members if operation_model.input_shape else {}
    encoded = dict(params)
    for key, value in params.items():
        shape = members.get(key)
        if shape is not None and shape.type_name == "string" and isinstance(value, (dict, list)):
            encoded[key] = json.dumps(value)
    return encoded


def _validate_params(params: dict, operation_model, where: str, source: str, line: int | None, problems: list[Problem]) -> None:
    """botocore's own check of the parameters against the service model (names, required, types)."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(params, operation_model.input_shape)
    if report.has_errors():
        for error_line in report.generate_report().splitlines():
            if error_line.strip() and not error_line.startswith("Parameter validation failed"):
                problems.append(Problem(source, f"{where}.params", error_line.strip(), line))


def _parse_wait(raw: dict, where: str, base: dict, problems: list[Problem], defined: set[str]) -> WaitStep | None:
    source, line = base["source"], base["line"]
    _check_keys(raw, {"wait"}, where, source, problems)
    spec = raw["wait"]
    if not isinstance(spec, dict):
        problems.append(Problem(source, f"{where}.wait", "write wait: {pod: NAME, phase: Failed, timeout: 30}", line))
        return None
    _check_keys(spec, _WAIT_KEYS, f"{where}.wait", source, problems)
    _check_variables(spec, f"{where}.wait", source, line, defined, problems)
    ok = True
    if not isinstance(spec.get("pod"), str):
        problems.append(Problem(source, f"{where}.wait.pod", "missing: the pod to wait for", line))
        ok = False
    phases = spec.get("phase")
    phases = [phases] if isinstance(phases, str) else phases
    if not isinstance(phases, list) or not phases or any(p not in _POD_PHASES for p in phases):
        problems.append(
            Problem(source, f"{where}.wait.phase", f"one pod phase or a list of them: {', '.join(sorted(_POD_PHASES))}", _line_of(spec, "phase") or line)
        )
        ok = False
    timeout = spec.get("timeout", 30)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(Problem(source, f"{where}.wait.timeout", "seconds, a positive number", _line_of(spec, "timeout") or line))
        ok = False
    if not ok:
        return None
    return WaitStep(**base, pod=spec["pod"], namespace=str(spec.get("namespace", "default")), phases=tuple(phases), timeout=float(timeout))


def _parse_include(
    raw: dict,
    where: str,
    source: str,
    path: Path | None,
    cluster: LabCluster,
    problems: list[Problem],
    seen: tuple[str, ...],
    defined: set[str],
    line: int | None,
) -> list[Step]:
    _check_keys(raw, {"include"}, where, source, problems)
    target = raw["include"]
    if not isinstance(target, str):
        problems.append(Problem(source, f"{where}.include", "a built-in scenario name or a file path", line))
        return []
    try:
        included = scenario_path(target, relative_to=path)
    except ScenarioError as exc:
        problems.append(Problem(source, f"{where}.include", exc.problems[0].message, line))
        return []
    key = str(included.resolve())
    if key in seen or (path is not None and key == str(path.resolve())):
        problems.append(Problem(source, f"{where}.include", f"{target} includes itself (directly or not)", line))
        return []
    inner_problems: list[Problem] = []
    document = _read_yaml(included.read_text(encoding="utf-8"), str(included), inner_problems)
    if document is not None:
        # The including file's cluster header wins: an included file only contributes steps.
        # Its users are checked (a typo should not wait until the file is served alone), not used.
        _parse_users(document.get("users"), str(included), inner_problems, _line_of(document, "users"))
        origin = f"{source} {where}"
        steps = _parse_steps(document, str(included), included, cluster, inner_problems, origin, (*seen, key), defined)
    else:
        steps = []
    problems.extend(inner_problems)
    return steps


# --- applying ----------------------------------------------------------------------------------


def substitute(value: Any, variables: Mapping[str, str]) -> Any:
    """Replace ${name} in every string of `value` (validation already proved each name exists)."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: "${" + m.group(2) + "}" if m.group(1) else str(variables[m.group(2)]), value)
    if isinstance(value, dict):
        # Keys too: trust-policy condition keys and annotations carry ${issuer_host} and the like.
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value


def apply_scenario(
    scenario: Scenario,
    api_client,
    boto_session,
    *,
    endpoint_url: str | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> dict[str, str]:
    """Replay every step in order against a running lab. Returns the final variables.

    `api_client` is a configured `kubernetes.client.ApiClient`; `boto_session` a `boto3.Session`
    holding the lab's credentials. Raises ScenarioApplyError on the first refused step.
    """
    from kubernetes.client import CoreV1Api

    core = CoreV1Api(api_client)
    variables = dict(scenario.variables())
    clients: dict[str, Any] = {}
    for step in scenario.steps:
        if on_step:
            on_step(step)
        what = step.describe()
        try:
            if isinstance(step, KubeStep):
                manifest = substitute(step.manifest, variables)
                what = replace(step, manifest=manifest).describe()
                _apply_kube(core, manifest)
            elif isinstance(step, AwsStep):
                if step.service not in clients:
                    clients[step.service] = boto_session.client(
                        step.service, endpoint_url=endpoint_url, region_name=scenario.cluster.region
                    )
                variables.update(_apply_aws(clients[step.service], step, variables))
            elif isinstance(step, WaitStep):
                _wait_for_pod(core, step, variables)
        except ScenarioApplyError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the step that caused it
            raise ScenarioApplyError(step, exc, what) from exc
    return variables


def _apply_kube(core, manifest: dict[str, Any]) -> None:
    from kubernetes.client.exceptions import ApiException

    namespaced, suffix = KUBE_KINDS[manifest["kind"]]
    name = manifest["metadata"]["name"]
    ns_args: dict[str, str] = {}
    if namespaced:
        ns_args["namespace"] = manifest["metadata"].get("namespace") or "default"
        manifest = {**manifest, "metadata": {**manifest["metadata"], "namespace": ns_args["namespace"]}}
    # The answer is not needed, and not deserializing it keeps the step independent of how
    # strictly the client's models read every field the server fills in.
    try:
        getattr(core, f"create_{suffix}")(body=manifest, _preload_content=False, **ns_args).release_conn()
    except ApiException as exc:
        if exc.status != 409:
            raise
        # Already there: change it the way `kubectl annotate`/`apply` would, with a merge patch.
        getattr(core, f"patch_{suffix}")(
            name=name, body=manifest, _content_type="application/merge-patch+json", _preload_content=False, **ns_args
        ).release_conn()


def _apply_aws(client, step: AwsStep, variables: Mapping[str, str]) -> dict[str, str]:
    import jmespath

    response = getattr(client, step.operation)(**substitute(step.params, variables))
    saved = {}
    for name, expression in step.save.items():
        value = jmespath.search(expression, response)
        if value is None:
            raise ValueError(f"save.{name}: {expression!r} found nothing in the response")
        saved[name] = value if isinstance(value, str) else json.dumps(value, default=str)
    return saved


def _wait_for_pod(core, step: WaitStep, variables: Mapping[str, str]) -> None:
    name = substitute(step.pod, variables)
    namespace = substitute(step.namespace, variables)
    deadline = time.monotonic() + step.timeout
    phase = None
    while time.monotonic() < deadline:
        response = core.read_namespaced_pod(name, namespace, _preload_content=False)
        phase = json.loads(response.data).get("status", {}).get("phase")
        if phase in step.phases:
            return
        time.sleep(0.05)
    raise TimeoutError(f"pod {namespace}/{name} still {phase} after {step.timeout:g}s")
