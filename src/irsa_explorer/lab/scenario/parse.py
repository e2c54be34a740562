"""Reading a scenario file and checking all of it before anything is applied.

`load_scenario` raises `ScenarioError` naming the file, the step, the key path and the line of
every problem at once, so a typo never leaves a half-built lab. Checked: YAML syntax, the keys,
the `cluster:` and `users:` headers, each AWS call against botocore's service model, each
manifest against the kubernetes client's model, variables defined before use, `wait:` values,
`include:` targets and cycles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from irsa_explorer.lab.scenario.builtin import DEFAULT_SCENARIO, scenario_path
from irsa_explorer.lab.scenario.errors import Problem, ScenarioError, model_error
from irsa_explorer.lab.scenario.format import (
    ANY_DOLLAR_BRACE,
    KUBE_API_VERSIONS,
    KUBE_KINDS,
    AwsStep,
    KubeStep,
    LabUser,
    Scenario,
    Step,
    WaitStep,
    builtin_variables,
)
from irsa_explorer.lab.spec import LabCluster

_STEP_KINDS = ("kube", "aws", "wait", "include")
_WAIT_KEYS = {"pod", "namespace", "phase", "timeout"}
_POD_PHASES = {"Pending", "Running", "Succeeded", "Failed", "Unknown"}


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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([Problem(str(path), "file", "not text (a scenario is UTF-8 YAML)")]) from None
    except OSError as error:
        raise ScenarioError([Problem(str(path), "file", f"cannot be read: {error.strerror or error}")]) from None
    return parse_scenario(text, source=str(path), path=path)


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
    except RecursionError:  # PyYAML composes nested nodes recursively
        problems.append(Problem(source, "yaml", f"nested too deeply (a scenario needs at most {MAX_DEPTH} levels)"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(
            Problem(source, "yaml", f"not valid YAML: {getattr(exc, 'problem', None) or exc}", mark.line + 1 if mark else None)
        )
        return None
    if not isinstance(document, dict):
        problems.append(Problem(source, "document", "a scenario is a mapping with `cluster:` and `steps:`"))
        return None
    if _depth(document) > MAX_DEPTH:  # later steps (JSON of policies, manifests) recurse too
        problems.append(Problem(source, "yaml", f"nested too deeply (a scenario needs at most {MAX_DEPTH} levels)"))
        return None
    return document


MAX_DEPTH = 64  # levels of nesting: manifests and policies need a dozen


def _depth(value: Any) -> int:
    """How deeply mappings and lists nest (without recursion: any depth is measured)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


# What each `cluster:` value may be: the lab builds ARNs, URLs and moto backends from them.
_CLUSTER_VALUES = {
    "name": (re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}"), "an EKS cluster name (letters, digits, - and _, up to 100)"),
    "issuer_id": (re.compile(r"[0-9A-Fa-f]{32}"), "32 hexadecimal digits, as EKS's issuer ids are"),
    "version": (re.compile(r"1\.\d{1,2}"), "a Kubernetes version such as 1.29"),
}


def _region_problem(region: str) -> str | None:
    """None for a region the lab's AWS (moto, botocore's endpoints) knows, else why not."""
    import botocore.session

    known = set(botocore.session.get_session().get_available_regions("eks"))
    if region in known:
        return None
    shown = ", ".join(sorted(r for r in known if r.startswith("us-")))
    return f"not an AWS region the lab knows, got {region[:60]!r} (e.g. {shown})"


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
    for key, (pattern, what) in _CLUSTER_VALUES.items():
        if key in values and not pattern.fullmatch(values[key]):
            problems.append(Problem(source, f"cluster.{key}", f"must be {what}, got {values[key][:60]!r}", _line_of(raw, key)))
            del values[key]
    if "region" in values:
        problem = _region_problem(values["region"])
        if problem:
            problems.append(Problem(source, "cluster.region", problem, _line_of(raw, "region")))
            del values["region"]
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
        for match in ANY_DOLLAR_BRACE.finditer(text):
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
        elif manifest.get("apiVersion") not in (None, KUBE_API_VERSIONS.get(kind, "v1")):
            problems.append(Problem(source, f"{at}.apiVersion", f"{kind} is apiVersion {KUBE_API_VERSIONS.get(kind, 'v1')}, not {manifest.get('apiVersion')!r}", _line_of(manifest, "apiVersion")))
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
        problems.append(Problem(source, at, f"not a valid {manifest['kind']}: {model_error(exc)}", line))
        return False
    if manifest["kind"] == "Pod" and not (manifest.get("spec") or {}).get("containers"):
        problems.append(Problem(source, f"{at}.spec.containers", "a Pod needs at least one container", line))
        return False
    return True


def _parse_aws(raw: dict, where: str, base: dict, problems: list[Problem], defined: set[str]) -> AwsStep | None:
    source, line = base["source"], base["line"]
    _check_keys(raw, {"aws", "params", "save", "account"}, where, source, problems)
    account = raw.get("account")
    if account is not None:
        account = str(account) if isinstance(account, int) and not isinstance(account, bool) else account
        if not isinstance(account, str) or not re.fullmatch(r"\d{12}", account):
            problems.append(Problem(source, f"{where}.account", f"an AWS account id is 12 digits (quote it), got {account!r}",
                                    _line_of(raw, "account")))
            account = None
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
    return AwsStep(**base, service=service, operation=operation, params=params, save=checked_save, account=account)


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
                # A ${variable}'s length is known only when applied (botocore checks it then).
                length = re.match(r"Invalid length for parameter (\w+),", error_line.strip())
                if length and "${" in str(params.get(length.group(1), "")):
                    continue
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
