"""Kubernetes JSON → model objects: only the fields the analysis reads, never a secret's value."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Callable

from irsa_explorer.model import Container, ContainerExit, EnvVar, Node, Pod, ProjectedToken, ServiceAccount, VolumeSource


def _s(value: Any) -> Any:
    """One copy of a string many pods repeat (a namespace, a node, an image, a mount path, a
    label): `json.loads` makes a new one for every pod, and 10,000 pods held 12 MB of equal
    strings — in the loader process, in the TUI (a pickle shares what is one object) and in a
    report. Interned strings are freed like others once nothing holds them. Not a string
    (a cluster may send anything): as it is."""
    return sys.intern(value) if type(value) is str else value


def _strings(mapping: Any) -> dict:
    """A labels or annotations mapping with its keys and values through `_s`."""
    return {_s(k): _s(v) for k, v in mapping.items()} if isinstance(mapping, dict) else dict(mapping or {})


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _describe_value_from(source: dict) -> str:
    """valueFrom in words, e.g. "secret aws-creds/key" — never the value itself."""
    if ref := source.get("secretKeyRef"):
        return f"secret {ref.get('name')}/{ref.get('key')}"
    if ref := source.get("configMapKeyRef"):
        return f"configMap {ref.get('name')}/{ref.get('key')}"
    if ref := source.get("fieldRef"):
        return f"field {ref.get('fieldPath')}"
    if ref := source.get("resourceFieldRef"):
        return f"resource {ref.get('resource')}"
    return "valueFrom " + ",".join(sorted(source))


def _describe_env_from(source: dict) -> str:
    prefix = f" (prefix {source['prefix']})" if source.get("prefix") else ""
    if ref := source.get("secretRef"):
        return f"secret {ref.get('name')}{prefix}"
    if ref := source.get("configMapRef"):
        return f"configMap {ref.get('name')}{prefix}"
    return "envFrom " + ",".join(sorted(source))


# Replicas carry the very same env and envFrom. Converting each distinct one once and handing
# every replica the same tuple saves the EnvVar objects of all but one of them, and lets the
# analysis recognise identical specs by identity (`identity.resolve_all` keys its caches on
# it) instead of hashing every variable of every pod. Bounded, so a long-running watch cannot
# grow it without end; a miss only costs a fresh (equal) tuple.
_SHARED_LIMIT = 50_000
_shared_env: dict[tuple[tuple[str, str | None, str | None], ...], tuple[EnvVar, ...]] = {}
_shared_env_from: dict[tuple[str, ...], tuple[str, ...]] = {}
_shared_volumes: dict[tuple[VolumeSource, ...], tuple[VolumeSource, ...]] = {}  # replicas mount the same


def _shared(table: dict[Any, Any], key: Any, make: Callable[[Any], Any]) -> Any:
    found = table.get(key)
    if found is None:
        if len(table) >= _SHARED_LIMIT:
            table.clear()
        found = table[key] = make(key)
    return found


def _env_vars(fields: tuple[tuple[str, str | None, str | None], ...]) -> tuple[EnvVar, ...]:
    return tuple(EnvVar(name, value, value_from) for name, value, value_from in fields)


def _container(raw: dict, init: bool) -> Container:
    env: tuple[EnvVar, ...] = ()
    if raw_env := raw.get("env"):
        fields = tuple(
            (_s(e.get("name", "")), None, _s(_describe_value_from(e["valueFrom"])))
            if "valueFrom" in e
            else (_s(e.get("name", "")), _s(e.get("value")), None)
            for e in raw_env
        )
        env = _shared(_shared_env, fields, _env_vars)
    env_from: tuple[str, ...] = ()
    if raw_env_from := raw.get("envFrom"):
        env_from = _shared(_shared_env_from, tuple(_describe_env_from(s) for s in raw_env_from), tuple)
    return Container(
        name=_s(raw.get("name", "")),
        image=_s(raw.get("image", "")),
        env=env,
        env_from=env_from,
        volume_mounts=tuple(
            (_s(m.get("name", "")), _s(m.get("mountPath", ""))) for m in raw.get("volumeMounts") or []
        ),
        init=init,
        sub_paths=tuple(
            (_s(m.get("name", "")), _s(m.get("mountPath", "")), _s(m["subPath"]))
            for m in raw.get("volumeMounts") or () if m.get("subPath")
        ),
    )


_KEYED = {"secret": "secretName", "configMap": "name"}


def _volume_sources(spec: dict) -> tuple[VolumeSource, ...]:
    """What each volume holds (a Secret's or ConfigMap's keys, never their values; else its
    type), for the files the SDK may read. Token volumes (kube-api-access-*, aws-iam-token) are
    the projected tokens' business and left out."""
    out = []
    for volume in spec.get("volumes") or ():
        name = volume.get("name", "")
        projected = volume.get("projected")
        if projected is not None:
            sources = projected.get("sources") or ()
            if any("serviceAccountToken" in s for s in sources):
                continue
            for source in sources:
                for kind in _KEYED:
                    if kind in source:
                        out.append(_keyed(name, kind, source[kind], "name"))
            continue
        for kind, name_key in _KEYED.items():
            if kind in volume:
                out.append(_keyed(name, kind, volume[kind] or {}, name_key))
                break
        else:
            kind = next((k for k in volume if k != "name"), "unknown")
            out.append(VolumeSource(name, kind))
    # one tuple for the replicas that mount the same (as env): less memory in both processes
    # and on the pipe between them; the pods without such volumes (most) share ()
    return _shared(_shared_volumes, tuple(out), lambda found: found) if out else ()


def _keyed(volume: str, kind: str, raw: dict, name_key: str) -> VolumeSource:
    items = tuple((i.get("key", ""), i.get("path", i.get("key", ""))) for i in raw.get("items") or ())
    return VolumeSource(volume, kind, raw.get(name_key), items)


def _projected_tokens(spec: dict) -> tuple[ProjectedToken, ...]:
    """Every projected serviceAccountToken source; `path` is the file's path inside its volume."""
    tokens = []
    for volume in spec.get("volumes") or []:
        for source in (volume.get("projected") or {}).get("sources") or []:
            sat = source.get("serviceAccountToken")
            if sat is not None:
                tokens.append(
                    ProjectedToken(
                        volume=_s(volume.get("name", "")),
                        audience=_s(sat.get("audience")),
                        expiration_seconds=sat.get("expirationSeconds"),
                        path=_s(sat.get("path", "")),
                    )
                )
    return tuple(tokens)


def pod_status_text(raw: dict) -> str:
    """The STATUS column of `kubectl get pods`, following kubectl's printPod rules."""
    status = raw.get("status") or {}
    spec = raw.get("spec") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode')}"
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or init_statuses)}"
        initializing = True
        break

    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{terminated.get('exitCode')}"
            elif state.get("running") and cs.get("ready"):
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running"

    if (raw.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _tail(message: Any) -> str | None:
    """A termination message's last 4 KiB (what the kubelet keeps), or None."""
    return str(message)[-4096:] if message else None


def container_exits(raw: dict) -> tuple[ContainerExit, ...]:
    """The containers whose state, or else last state, is terminated with a non-zero exit code."""
    status = raw.get("status") or {}
    out = []
    for statuses, init in ((status.get("initContainerStatuses") or [], True), (status.get("containerStatuses") or [], False)):
        for cs in statuses:
            for state, last in ((cs.get("state") or {}, False), (cs.get("lastState") or {}, True)):
                terminated = state.get("terminated")
                if terminated and terminated.get("exitCode") not in (0, None):
                    code = terminated.get("exitCode")
                    out.append(ContainerExit(str(cs.get("name") or "")[:253], code if isinstance(code, int) else None,
                                             str(terminated["reason"])[:64] if terminated.get("reason") else None,
                                             last, init, _tail(terminated.get("message"))))
                    break
    return tuple(out)


def pod_from_dict(raw: dict) -> Pod:
    """A model Pod from the API's JSON for one pod."""
    metadata, spec = raw.get("metadata") or {}, raw.get("spec") or {}
    security = spec.get("securityContext") or {}
    containers = tuple(_container(c, True) for c in spec.get("initContainers") or []) + tuple(
        _container(c, False) for c in spec.get("containers") or []
    )
    return Pod(
        uid=metadata.get("uid", ""),
        namespace=_s(metadata.get("namespace", "")),
        name=metadata.get("name", ""),
        service_account=_s(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"),
        node_name=_s(spec.get("nodeName")),
        phase=_s((raw.get("status") or {}).get("phase") or "Unknown"),
        status=_s(pod_status_text(raw)),
        created=_time(metadata.get("creationTimestamp")),
        containers=containers,
        projected_tokens=_projected_tokens(spec),
        volume_sources=_volume_sources(spec),
        labels=_strings(metadata.get("labels")),
        annotations=_strings(metadata.get("annotations")),
        host_network=bool(spec.get("hostNetwork")),
        fs_group=security.get("fsGroup"),
        run_as_user=security.get("runAsUser"),
        resource_version=metadata.get("resourceVersion", ""),
        restarts=sum(int(cs.get("restartCount") or 0) for cs in (raw.get("status") or {}).get("containerStatuses") or []),
        exits=container_exits(raw),
    )


def service_account_from_dict(raw: dict) -> ServiceAccount:
    """A model ServiceAccount from the API's JSON."""
    metadata = raw.get("metadata") or {}
    return ServiceAccount(
        uid=metadata.get("uid", ""),
        namespace=metadata.get("namespace", ""),
        name=metadata.get("name", ""),
        annotations=dict(metadata.get("annotations") or {}),
        labels=dict(metadata.get("labels") or {}),
        automount_token=raw.get("automountServiceAccountToken"),
        created=_time(metadata.get("creationTimestamp")),
    )


def node_from_dict(raw: dict) -> Node:
    """A model Node from the API's JSON."""
    metadata = raw.get("metadata") or {}
    return Node(
        uid=metadata.get("uid", ""),
        name=metadata.get("name", ""),
        provider_id=(raw.get("spec") or {}).get("providerID"),
        created=_time(metadata.get("creationTimestamp")),
        labels=dict(metadata.get("labels") or {}),
    )
