"""Pods come alive: scheduled → Running → (for commands that end) Succeeded or Failed.

Containers are simulated by the lab Runtime (docs/architecture.md). Each container gets a
ContainerContext whose `files` serve the pod's projected volumes, minting service-account
tokens on read with the pod's, SA's and node's UIDs — so a command that reads the IRSA
token file gets a real, verifiable token, exactly as in a kubelet-managed pod.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from irsa_explorer.model import (
    COMPUTE_TYPE_LABEL,
    POD_IDENTITY_AGENT_NAMESPACE,
    POD_IDENTITY_AGENT_SELECTOR,
    service_account_subject,
)

from ..runtime.containers import ContainerContext
from ..tokens import API_SERVER_AUDIENCE, TokenSigner
from .pod_logs import ContainerLogs
from .store import Store, StoreError, clone, now_rfc3339

log = logging.getLogger(__name__)

_AGENT_LABEL, _AGENT_NAME = POD_IDENTITY_AGENT_SELECTOR.split("=")
KUBERNETES_SERVICE_ENV = {
    "KUBERNETES_SERVICE_HOST": "10.100.0.1",
    "KUBERNETES_SERVICE_PORT": "443",
    "KUBERNETES_SERVICE_PORT_HTTPS": "443",
    "KUBERNETES_PORT": "tcp://10.100.0.1:443",
    "KUBERNETES_PORT_443_TCP": "tcp://10.100.0.1:443",
    "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
    "KUBERNETES_PORT_443_TCP_PORT": "443",
    "KUBERNETES_PORT_443_TCP_ADDR": "10.100.0.1",
}


class RuntimeLike(Protocol):
    def entrypoint(self, image: str) -> list[str]: ...
    def run(self, ctx: Any, argv: list[str]) -> Any: ...
    def is_long_running(self, argv: list[str]) -> bool: ...


def container_argv(container: dict[str, Any], runtime: RuntimeLike) -> list[str]:
    """What the container executes: command+args, or the image's ENTRYPOINT + args."""
    command = list(container.get("command") or [])
    args = list(container.get("args") or [])
    if command:
        return command + args
    return list(runtime.entrypoint(container.get("image", ""))) + args


class ProjectedFiles(Mapping[str, str]):
    """path → content of a container's projected volumes; tokens are minted on each read."""

    def __init__(self, readers: dict[str, Callable[[], str]]) -> None:
        self._readers = readers

    def __getitem__(self, path: str) -> str:
        return self._readers[path]()

    def __iter__(self) -> Iterator[str]:
        return iter(self._readers)

    def __len__(self) -> int:
        return len(self._readers)

    def __repr__(self) -> str:  # never show token contents
        return f"ProjectedFiles({sorted(self._readers)})"


class PodRunner:
    """Drives pod status and runs containers through the runtime on worker threads."""

    def __init__(self, store: Store, runtime: RuntimeLike | None, signer: TokenSigner, ca_pem: bytes,
                 start_delay_s: float = 0.05, max_workers: int = 32) -> None:
        self.store = store
        self.runtime = runtime
        self.signer = signer
        self.ca_pem = ca_pem
        self.start_delay_s = start_delay_s
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lab-pod")
        self.container_logs = ContainerLogs()  # pod uid → container → its runs (pod_logs.py)
        self._lock = threading.Lock()
        self._ip_counter = 0

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- what a container sees -----------------------------------------------------------

    def container_env(self, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
        """Resolved env: envFrom first, then env (literal values, secret/configMap refs)."""
        ns = pod["metadata"]["namespace"]
        # kubelet's service links for the `kubernetes` service (EKS's default service CIDR).
        env: dict[str, str] = dict(KUBERNETES_SERVICE_ENV)
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "secretRef" in source:
                data = self._secret_data(ns, source["secretRef"].get("name", ""))
            elif "configMapRef" in source:
                data = self._configmap_data(ns, source["configMapRef"].get("name", ""))
            else:
                data = {}
            for key, value in data.items():
                env[prefix + key] = value
        for var in container.get("env") or []:
            name = var.get("name")
            if "value" in var:
                env[name] = str(var.get("value") or "")
                continue
            source = var.get("valueFrom") or {}
            value = None
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                value = self._secret_data(ns, ref.get("name", "")).get(ref.get("key", ""))
            elif "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                value = self._configmap_data(ns, ref.get("name", "")).get(ref.get("key", ""))
            elif "fieldRef" in source:
                path = source["fieldRef"].get("fieldPath", "")
                value = {"metadata.name": pod["metadata"]["name"], "metadata.namespace": ns,
                         "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
                         "spec.nodeName": pod["spec"].get("nodeName", ""),
                         "status.podIP": (pod.get("status") or {}).get("podIP", "")}.get(path)
            if value is not None:
                env[name] = value
        return env

    def _secret_data(self, ns: str, name: str) -> dict[str, str]:
        secret = self.store.get("secrets", ns, name) or {}
        data = {k: base64.b64decode(v).decode(errors="replace") for k, v in (secret.get("data") or {}).items()}
        data.update(secret.get("stringData") or {})
        return data

    def _configmap_data(self, ns: str, name: str) -> dict[str, str]:
        return dict((self.store.get("configmaps", ns, name) or {}).get("data") or {})

    def container_files(self, pod: dict[str, Any], container: dict[str, Any]) -> ProjectedFiles:
        """The projected volume files mounted into `container`, read lazily."""
        meta, spec = pod["metadata"], pod["spec"]
        ns = meta["namespace"]
        volumes = {v.get("name"): v for v in spec.get("volumes") or []}
        readers: dict[str, Callable[[], str]] = {}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount.get("name"))
            if volume and ("secret" in volume or "configMap" in volume):
                readers.update(self._keyed_volume_files(ns, volume, mount))
                continue
            if not volume or "projected" not in volume:
                continue
            base = mount.get("mountPath", "").rstrip("/")
            for source in volume["projected"].get("sources") or []:
                if "serviceAccountToken" in source:
                    tok = source["serviceAccountToken"]
                    readers[f"{base}/{tok.get('path', 'token')}"] = self._token_reader(
                        pod, tok.get("audience"), int(tok.get("expirationSeconds") or 3600)
                    )
                if "configMap" in source:
                    cm_name = source["configMap"].get("name", "")
                    for item in source["configMap"].get("items") or []:
                        key = item.get("key")
                        readers[f"{base}/{item.get('path', key)}"] = (
                            lambda cm=cm_name, key=key: self._configmap_data(ns, cm).get(key, "")
                        )
                if "downwardAPI" in source:
                    for item in source["downwardAPI"].get("items") or []:
                        field_path = (item.get("fieldRef") or {}).get("fieldPath", "")
                        value = {"metadata.namespace": ns, "metadata.name": meta["name"],
                                 "metadata.uid": meta.get("uid", "")}.get(field_path, "")
                        readers[f"{base}/{item.get('path')}"] = lambda value=value: value
        return ProjectedFiles(readers)

    def _keyed_volume_files(self, ns: str, volume: dict[str, Any], mount: dict[str, Any]) -> dict[str, Callable[[], str]]:
        """The files of a Secret or ConfigMap volume as kubelet lays them out: one file per key
        (or per `items` entry, at its `path`) under the mount path; with `subPath`, that one file
        at the mount path. Read when the program reads them (a later change shows, as kubelet's
        sync does)."""
        if "secret" in volume:
            name, read = volume["secret"].get("secretName", ""), self._secret_data
            items = volume["secret"].get("items")
        else:
            name, read = volume["configMap"].get("name", ""), self._configmap_data
            items = volume["configMap"].get("items")
        paths = {item.get("path", item.get("key")): item.get("key") for item in items or []} or {
            key: key for key in read(ns, name)
        }
        base = mount.get("mountPath", "").rstrip("/")
        sub_path = mount.get("subPath")
        files: dict[str, Callable[[], str]] = {}
        for path, key in paths.items():
            if sub_path and path != sub_path:
                continue
            where = base if sub_path else f"{base}/{path}"
            files[where] = lambda key=key: read(ns, name).get(key, "")
        return files

    def _token_reader(self, pod: dict[str, Any], audience: str | None, expiration: int) -> Callable[[], str]:
        meta, spec = pod["metadata"], pod["spec"]
        ns, sa_name = meta["namespace"], spec.get("serviceAccountName", "default")

        def read() -> str:
            sa = self.store.get("serviceaccounts", ns, sa_name)
            current = self.store.get("pods", ns, meta["name"]) or pod
            node_name = current["spec"].get("nodeName")
            node = self.store.get("nodes", None, node_name) if node_name else None
            return self.signer.mint(
                service_account_subject(ns, sa_name),
                [audience] if audience else [API_SERVER_AUDIENCE],
                expiration,
                ns,
                sa_name,
                sa["metadata"]["uid"] if sa else "",
                pod=(meta["name"], meta.get("uid", "")),
                node=(node_name, node["metadata"]["uid"]) if node else None,
            )

        return read

    def context(self, pod: dict[str, Any], container: dict[str, Any]) -> Any:
        """The runtime's view of one container of a pod."""
        meta, spec = pod["metadata"], pod["spec"]
        return ContainerContext(
            namespace=meta["namespace"],
            pod_name=meta["name"],
            pod_uid=meta.get("uid", ""),
            container=container.get("name", ""),
            image=container.get("image", ""),
            node_name=spec.get("nodeName"),
            service_account=spec.get("serviceAccountName", "default"),
            env=self.container_env(pod, container),
            files=self.container_files(pod, container),
            # hostNetwork pods reach IMDS even at hop limit 1 (failure catalogue E.17).
            host_network=bool(spec.get("hostNetwork")),
            pod_identity_agent=self.pod_identity_agent_on(spec.get("nodeName")),
        )

    def pod_identity_agent_on(self, node: str | None) -> bool:
        """Whether an EKS Pod Identity agent pod (kube-system, the add-on's label) is Running on
        `node`: only then does 169.254.170.23 answer there (failure catalogue F.18)."""
        if not node:
            return False
        for pod in self.store.items("pods", POD_IDENTITY_AGENT_NAMESPACE):
            labels = pod["metadata"].get("labels") or {}
            status = pod.get("status") or {}
            if (labels.get(_AGENT_LABEL) == _AGENT_NAME and pod["spec"].get("nodeName") == node
                    and status.get("phase") == "Running"
                    and all("running" in (cs.get("state") or {}) for cs in status.get("containerStatuses") or [{}])):
                return True  # a crash-looping agent (phase Running, container waiting) answers nothing
        return False

    # --- logs --------------------------------------------------------------------------

    def logs(self, pod_uid: str, container: str) -> str:
        return self.container_logs.latest(pod_uid, container)

    def forget(self, pod_uid: str) -> None:
        self.container_logs.forget(pod_uid)

    # --- status ------------------------------------------------------------------------

    def pending_status(self, pod: dict[str, Any]) -> dict[str, Any]:
        """Status right after admission: scheduled (when a node was found), containers creating."""
        now = now_rfc3339()
        scheduled = bool(pod["spec"].get("nodeName"))
        cond = {"type": "PodScheduled", "status": "True" if scheduled else "False",
                "lastProbeTime": None, "lastTransitionTime": now}
        if not scheduled:
            cond.update(reason="Unschedulable", message="0/0 nodes are available: no nodes registered.")
        status: dict[str, Any] = {"phase": "Pending", "conditions": [cond], "qosClass": qos_class(pod)}
        if scheduled:
            status["hostIP"] = self._host_ip(pod["spec"]["nodeName"])
            status["startTime"] = now
            status["containerStatuses"] = [
                {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                 "restartCount": 0, "started": False, "lastState": {},
                 "state": {"waiting": {"reason": "ContainerCreating"}}}
                for c in pod["spec"]["containers"]
            ]
        return status

    def _host_ip(self, node_name: str) -> str:
        node = self.store.get("nodes", None, node_name) or {}
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return addr.get("address", "")
        return "192.168.0.10"

    def _pod_ip(self, pod: dict[str, Any], host_ip: str) -> str:
        """hostNetwork pods, and Fargate's (one pod per node), have their node's IP."""
        if pod["spec"].get("hostNetwork"):
            return host_ip
        node = self.store.get("nodes", None, pod["spec"].get("nodeName", "")) or {}
        if ((node.get("metadata") or {}).get("labels") or {}).get(COMPUTE_TYPE_LABEL) == "fargate":
            return host_ip
        return self._next_pod_ip()

    def _next_pod_ip(self) -> str:
        with self._lock:
            self._ip_counter += 1
            n = self._ip_counter
        return f"192.168.{96 + (n // 250) % 64}.{n % 250 + 2}"

    def start(self, pod: dict[str, Any]) -> None:
        """Bring a freshly created pod up in the background (no-op when not scheduled)."""
        if pod["spec"].get("nodeName"):
            self._pool.submit(self._run_pod, pod["metadata"]["namespace"], pod["metadata"]["name"],
                              pod["metadata"]["uid"])

    def running_status(self, pod: dict[str, Any], started: str) -> dict[str, Any]:
        """Status of a pod whose containers all run (used for instant seeding too)."""
        status = clone(pod.get("status") or self.pending_status(pod))
        status["phase"] = "Running"
        status.setdefault("hostIP", self._host_ip(pod["spec"].get("nodeName", "")))
        status["podIP"] = status.get("podIP") or self._pod_ip(pod, status["hostIP"])
        status["podIPs"] = [{"ip": status["podIP"]}]
        status.setdefault("startTime", started)
        status["conditions"] = [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]
        status["containerStatuses"] = [
            {"name": c["name"], "image": _qualified(c.get("image", "")), "imageID": _image_id(c.get("image", "")),
             "containerID": f"containerd://{_container_id(pod, c)}", "ready": True, "restartCount": 0,
             "started": True, "lastState": {}, "state": {"running": {"startedAt": started}}}
            for c in pod["spec"]["containers"]
        ]
        if pod["spec"].get("initContainers"):
            status["initContainerStatuses"] = [
                {"name": c["name"], "image": _qualified(c.get("image", "")), "imageID": _image_id(c.get("image", "")),
                 "ready": True, "restartCount": 0, "started": False, "lastState": {},
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                          "finishedAt": started}}}
                for c in pod["spec"]["initContainers"]
            ]
        return status

    def _update(self, ns: str, name: str, uid: str, change: Callable[[dict[str, Any]], None]) -> bool:
        def guarded(obj: dict[str, Any]) -> None:
            if obj["metadata"].get("uid") != uid:
                raise StoreError(409, "Conflict", "pod was replaced")
            change(obj)

        try:
            self.store.mutate("pods", ns, name, guarded)
            return True
        except StoreError:
            return False  # deleted or replaced meanwhile: nothing left to update

    def _run_pod(self, ns: str, name: str, uid: str) -> None:
        try:
            self._run_pod_inner(ns, name, uid)
        except Exception:  # a runtime bug must not kill the worker silently
            log.exception("pod %s/%s failed in the lab runtime", ns, name)

    def record_event(self, obj: dict[str, Any], reason: str, message: str, component: str,
                     host: str | None = None, event_type: str = "Normal") -> None:
        """An Event about `obj`, as the scheduler and kubelet write them (`kubectl describe` shows them)."""
        meta = obj["metadata"]
        now = now_rfc3339()
        source = {"component": component, **({"host": host} if host else {})}
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"namespace": meta.get("namespace", "default")},
            "involvedObject": {"kind": obj.get("kind", "Pod"), "namespace": meta.get("namespace"),
                               "name": meta["name"], "uid": meta.get("uid"), "apiVersion": obj.get("apiVersion", "v1"),
                               "resourceVersion": meta.get("resourceVersion")},
            "reason": reason, "message": message, "source": source, "type": event_type,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "eventTime": None,
            "reportingComponent": component, "reportingInstance": host or "",
        }
        # Named like client-go's recorder: object name + UnixNano in hex (so they sort by time).
        stamp = time.time_ns()
        for attempt in range(5):
            event["metadata"]["name"] = f"{meta['name']}.{stamp + attempt:x}"
            try:
                self.store.create("events", event)
                return
            except StoreError as err:
                if err.code != 409:
                    raise

    def _run_init_containers(self, ns: str, name: str, uid: str, pod: dict[str, Any]) -> bool:
        """Run init containers in order, as kubelet does before starting the pod's containers.
        False when one fails or never ends: the pod then stays in Init (or fails with Never)."""
        inits = pod["spec"].get("initContainers") or []
        if not inits or self.runtime is None:
            return True
        restart = pod["spec"].get("restartPolicy", "Always")
        for index, container in enumerate(inits):
            argv = container_argv(container, self.runtime)
            started = now_rfc3339()
            running = {"running": {"startedAt": started}}
            if not self._update(ns, name, uid, lambda p, i=index, st=running: _init_state(p, i, st)):
                return False
            if self.runtime.is_long_running(argv):
                return False  # an init container that never ends keeps the pod in Init:i/n
            result = self.runtime.run(self.context(pod, container), argv)
            self.container_logs.record(uid, container["name"], (result.stdout or "") + (result.stderr or ""))
            code = int(result.exit_code)
            terminated = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                         "startedAt": started, "finishedAt": now_rfc3339()}}
            if code == 0:
                self._update(ns, name, uid, lambda p, i=index, st=terminated: _init_state(p, i, st))
                continue

            def failed(p: dict[str, Any], i: int = index, st: dict[str, Any] = terminated) -> None:
                if restart == "Never":
                    _init_state(p, i, st)
                    p["status"]["phase"] = "Failed"
                else:
                    back_off = {"waiting": {"reason": "CrashLoopBackOff"}}
                    _init_state(p, i, back_off, restart_count=1, last=st)

            self._update(ns, name, uid, failed)
            return False
        return True

    def _run_pod_inner(self, ns: str, name: str, uid: str) -> None:
        pod = self.store.get("pods", ns, name)
        if pod is None:
            return
        node = pod["spec"].get("nodeName")
        self.record_event(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {node}", "default-scheduler")
        for container in pod["spec"]["containers"]:
            image = container.get("image", "")
            self.record_event(pod, "Pulling", f'Pulling image "{image}"', "kubelet", node)
            self.record_event(pod, "Pulled", f'Successfully pulled image "{image}" in 1.032s (1.032s including '
                              "waiting)", "kubelet", node)
            self.record_event(pod, "Created", f"Created container {container['name']}", "kubelet", node)
            self.record_event(pod, "Started", f"Started container {container['name']}", "kubelet", node)
        time.sleep(self.start_delay_s)
        if not self._run_init_containers(ns, name, uid, pod):
            return
        started = now_rfc3339()
        if not self._update(ns, name, uid, lambda p: p.__setitem__("status", self.running_status(p, started))):
            return
        pod = self.store.get("pods", ns, name)
        if pod is None or self.runtime is None:
            return
        restart = pod["spec"].get("restartPolicy", "Always")
        for index, container in enumerate(pod["spec"]["containers"]):
            argv = container_argv(container, self.runtime)
            if self.runtime.is_long_running(argv):
                continue
            result = self.runtime.run(self.context(pod, container), argv)
            output = (result.stdout or "") + (result.stderr or "")
            self.container_logs.record(uid, container["name"], output)
            finished = now_rfc3339()
            code = int(result.exit_code)
            terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                          "startedAt": started, "finishedAt": finished,
                          "containerID": f"containerd://{_container_id(pod, container)}"}
            self._update(ns, name, uid, lambda p, i=index, t=terminated: _container_exited(p, i, t, restart))
        self._update(ns, name, uid, _settle_phase)


def _init_state(pod: dict[str, Any], index: int, state: dict[str, Any], restart_count: int = 0,
                last: dict[str, Any] | None = None) -> None:
    """Set init container `index`'s state; the ones before it are Completed, the rest waiting."""
    status = pod["status"]
    statuses = status.setdefault("initContainerStatuses", [
        {"name": c["name"], "image": _qualified(c.get("image", "")), "imageID": "", "ready": False,
         "restartCount": 0, "started": False, "lastState": {}, "state": {"waiting": {"reason": "PodInitializing"}}}
        for c in pod["spec"].get("initContainers") or []])
    statuses[index].update(state=state, restartCount=restart_count, lastState=last or {},
                           started="running" in state, ready="terminated" in state and
                           state["terminated"].get("exitCode") == 0)
    for cs in status.get("containerStatuses") or []:
        cs["state"] = {"waiting": {"reason": "PodInitializing"}}


def _container_exited(pod: dict[str, Any], index: int, terminated: dict[str, Any], restart: str) -> None:
    status = pod["status"]
    cs = status["containerStatuses"][index]
    cs["ready"] = False
    if restart == "Always" or (restart == "OnFailure" and terminated["exitCode"] != 0):
        # kubelet would restart it; the lab shows the back-off state after the first exit.
        cs["lastState"] = {"terminated": terminated}
        cs["restartCount"] = 1
        cs["started"] = False
        cs["state"] = {"waiting": {"reason": "CrashLoopBackOff",
                                   "message": f"back-off 10s restarting failed container={cs['name']}"}}
    else:
        cs["started"] = False
        cs["state"] = {"terminated": terminated}


def _settle_phase(pod: dict[str, Any]) -> None:
    status = pod["status"]
    states = [cs.get("state") or {} for cs in status.get("containerStatuses") or []]
    not_ready = any("running" not in s for s in states)
    if not_ready:
        for cond in status.get("conditions") or []:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"
    if states and all("terminated" in s for s in states):
        failed = any(s["terminated"]["exitCode"] != 0 for s in states)
        status["phase"] = "Failed" if failed else "Succeeded"
        for cond in status.get("conditions") or []:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["reason"] = "PodFailed" if failed else "PodCompleted"


def _qualified(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" not in image:
        image = "library/" + image
    elif "." in first or ":" in first:
        return image
    return "docker.io/" + image


def _image_id(image: str) -> str:
    """The pulled image's digest reference, as containerd reports it (`kubectl describe`'s Image ID)."""
    repository = _qualified(image).split("@")[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return f"{repository}@sha256:{hashlib.sha256(repository.encode()).hexdigest()}"


def _container_id(pod: dict[str, Any], container: dict[str, Any]) -> str:
    return hashlib.sha256(f"{pod['metadata'].get('uid')}/{container.get('name')}".encode()).hexdigest()


def qos_class(pod: dict[str, Any]) -> str:
    """BestEffort without requests/limits, Guaranteed when every limit equals its request."""
    containers = pod["spec"].get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits = r.get("limits") or {}
        requests = r.get("requests") or limits  # requests default to the limits
        if not limits or set(limits) != {"cpu", "memory"} or requests != limits:
            return "Burstable"
    return "Guaranteed"
