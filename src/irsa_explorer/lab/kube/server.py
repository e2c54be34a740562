"""The lab's Kubernetes API server: HTTPS, bearer auth, REST, watch, Table, admission, exec.

Real clients (kubectl, the `kubernetes` Python client) talk to it over the real wire
protocol; see /work/shared/reference/wire-notes.md for what they send. This module holds the
server's life cycle, authentication, routing and the create/delete paths shared by the API
and direct seeding; the verbs live in rest.py and subresources.py.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import os
import secrets
import ssl
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import jwt
from aiohttp import web

from ..spec import LabCluster
from ..tokens import API_SERVER_AUDIENCE, TokenSigner
from . import discovery, openapi
from .authz import (ADMIN, ALL_VERBS, NO_VERBS, READ_VERBS, Grant, forbidden_message, grant_allows, impersonated,
                    request_verb)
from .admission import (AdmissionError, PodIdentityLookup, PodIdentityWebhook, admit_service_account,
                        apply_pod_defaults, apply_secret_defaults, random_suffix)
from .certs import make_serving_certificate
from .daemonsets import DaemonSetController, apply_daemonset_defaults
from .errors import ApiError, json_response, not_found, raw_json_response, status_body
from .lifecycle import PodRunner, RuntimeLike
from .nodes import apply_node_defaults
from .resources import RESOURCES, qualified
from .rest import WARNINGS, RestHandlers, truthy
from .reviews import ReviewHandlers
from .store import Store, StoreError, clone, now_rfc3339
from .subresources import SubresourceHandlers

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Paths EKS serves without authentication (service-account issuer discovery, health).
PUBLIC_PATHS = frozenset({"/.well-known/openid-configuration", "/openid/v1/jwks", "/healthz", "/livez",
                          "/readyz", "/version"})
IDENTITY = web.RequestKey("identity", Grant)


MEMORY_FILES = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


def load_chain_in_memory(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes, *, memory: bool | None = None) -> None:
    """`ctx.load_cert_chain` for a certificate and key held in memory: `ssl` reads them from paths
    only. On Linux each is an anonymous memory file (memfd, as sources/kube_tls.py keeps the
    clients' keys; the lab may not import sources), gone once loaded: nothing on disk. Where there
    are none (macOS), the key is written encrypted under a one-time password that stays in this
    process, so the file that exists for a moment holds no usable key."""
    if MEMORY_FILES if memory is None else memory:
        fds: list[int] = []
        try:
            for data in (cert_pem, key_pem):
                fds.append(os.memfd_create("lab-kube-tls", os.MFD_CLOEXEC))
                with open(f"/proc/self/fd/{fds[-1]}", "wb", closefd=True) as handle:  # a second descriptor: write it all
                    handle.write(data)
            ctx.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
        finally:
            for fd in fds:
                os.close(fd)
        return
    from cryptography.hazmat.primitives import serialization

    password = secrets.token_bytes(32)
    sealed = serialization.load_pem_private_key(key_pem, None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(password))
    with tempfile.TemporaryDirectory(prefix="lab-kube-tls-") as tmp:
        cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
        for path, data in ((cert, cert_pem), (key, sealed)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                handle.write(data)
        ctx.load_cert_chain(cert, key, password=password)


class KubeApiServer(RestHandlers, SubresourceHandlers, ReviewHandlers):
    """An EKS-like Kubernetes API server for one lab cluster.

    `runtime` implements the lab Runtime interface (entrypoint/run/is_long_running) or is None
    (pods then stay Running without executing anything). `pod_identity_lookup(namespace, sa)`
    returns the role of an EKS Pod Identity association, or None.
    """

    def __init__(self, cluster: LabCluster, runtime: RuntimeLike | None, signer: TokenSigner, *,
                 latency_s: float = 0.0, pod_identity_lookup: PodIdentityLookup | None = None,
                 admin_token: str | None = None, pod_start_delay_s: float = 0.05) -> None:
        self.cluster = cluster
        self.runtime = runtime
        self.signer = signer
        self.latency_s = latency_s
        self.admin_token = admin_token or secrets.token_urlsafe(32)
        self._users: dict[str, Grant] = {}
        self.store = Store()
        self._certs = make_serving_certificate()
        self.ca_pem: bytes = self._certs.ca_pem
        self.webhook = PodIdentityWebhook(cluster, pod_identity_lookup)
        self.runner = PodRunner(self.store, runtime, signer, self.ca_pem, start_delay_s=pod_start_delay_s)
        self.daemonsets = DaemonSetController(self)
        self._counters: Counter[str] = Counter()
        self._counter_lock = threading.Lock()
        self._node_cursor = 0
        self._app_runner: web.AppRunner | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._openapi_index, self._openapi_core = openapi.documents()
        self._openapi_v2 = openapi.core_v1_swagger_protobuf()
        for ns in SYSTEM_NAMESPACES:
            self.create_object("namespaces", {"metadata": {"name": ns}})

    # --- public API ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("server not started")
        return f"https://{self._host}:{self._port}"

    @property
    def counters(self) -> dict[str, int]:
        """Requests served, by kind: "list pods", "watch pods", "get pod", "create token", …"""
        with self._counter_lock:
            return dict(self._counters)

    def reset_counters(self) -> None:
        with self._counter_lock:
            self._counters.clear()

    def kubeconfig(self, context_name: str, user: str, token: str | None = None) -> dict[str, Any]:
        """A kubeconfig (as a dict, dump it as YAML) for the admin, or for the user of `token`."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context_name, "cluster": {
                "server": self.url, "certificate-authority-data": base64.b64encode(self.ca_pem).decode()}}],
            "users": [{"name": user, "user": {"token": token or self.admin_token}}],
            "contexts": [{"name": context_name, "context": {"cluster": context_name, "user": user}}],
            "current-context": context_name,
            "preferences": {},
        }

    def add_user(self, name: str, *, namespaces: list[str] | None = None, write: bool = False,
                 cluster_read: list[str] | None = None) -> str:
        """A bearer token for a user who may read (and with `write`, change) everything, or only
        in `namespaces` — a restricted kubeconfig. Use it with `kubeconfig(..., token=…)`.
        `cluster_read` names cluster-scoped resources (e.g. "namespaces") such a user may still read."""
        token = secrets.token_urlsafe(32)
        self._users[token] = Grant(name, ALL_VERBS if write else READ_VERBS,
                                   frozenset(namespaces) if namespaces is not None else None,
                                   cluster_read=frozenset(cluster_read or ()))
        return token

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on HTTPS; `port=0` picks a free port (read `.url` afterwards)."""
        app = web.Application(middlewares=[self._middleware], client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # Open watches and follows would otherwise hold shutdown for a minute.
        self._app_runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await self._app_runner.setup()
        site = web.TCPSite(self._app_runner, host, port, ssl_context=self._ssl_context())
        await site.start()
        self._host = host
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self.daemonsets.stop()
        self.runner.shutdown()
        if self._app_runner is not None:
            await self._app_runner.cleanup()
            self._app_runner = None

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Run the server on its own event loop in a daemon thread (for synchronous callers)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start(host, port))
            except BaseException as exc:  # surface start errors to the caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            # Let cancelled handlers (watches, follows) unwind before the loop goes away.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=main, name="lab-kube-api", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def stop_in_thread(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            self._thread = None

    def create_object(self, resource: str, obj: dict[str, Any], *, start: bool = True,
                      running: bool = False, dry_run: bool = False) -> dict[str, Any]:
        """Create an object as a POST would (admission included). Thread-safe, for seeding.

        For pods, `running=True` stores them already Running without executing anything
        (bulk seeding of large labs); `start=False` leaves them Pending. `dry_run` admits
        and returns the object without storing it (`?dryRun=All`).
        """
        obj = clone(obj)
        obj.setdefault("apiVersion", RESOURCES[resource].api_version)
        obj.setdefault("kind", RESOURCES[resource].kind)
        meta = obj.setdefault("metadata", {})
        if RESOURCES[resource].namespaced:
            meta.setdefault("namespace", "default")
            if self.store.get("namespaces", None, meta["namespace"]) is None:
                raise not_found("namespaces", meta["namespace"])
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix()
        if resource == "pods":
            return self._create_pod(obj, start=start, running=running, dry_run=dry_run)
        if resource == "namespaces":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
            if dry_run:
                return self._dry_run_create("namespaces", obj)
            created = self.store.create("namespaces", obj, owned=True)
            name = created["metadata"]["name"]
            self.store.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                  "metadata": {"name": "default", "namespace": name}})
            self.store.create("configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": name,
                             "annotations": {"kubernetes.io/description": (
                                 "Contains a CA bundle that can be used to verify the kube-apiserver "
                                 "when using internal endpoints such as the internal service IP or "
                                 "kubernetes.default.svc. No other usage is guaranteed across distributions "
                                 "of Kubernetes clusters.")}},
                "data": {"ca.crt": self.ca_pem.decode()}})
            return created
        if resource == "nodes":
            apply_node_defaults(obj, self.cluster)
        if resource == "secrets":
            apply_secret_defaults(obj)
        if resource == "daemonsets":
            apply_daemonset_defaults(obj)
        if dry_run:
            return self._dry_run_create(resource, obj)
        return self.store.create(resource, obj, owned=True)

    def _dry_run_create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """What a create would return, without storing (no resourceVersion, as upstream)."""
        meta = obj["metadata"]
        if not meta.get("name"):
            raise StoreError(422, "Invalid", f"{RESOURCES[resource].kind} \"\" is invalid: metadata.name: Required value")
        if self.store.get(resource, meta.get("namespace"), meta["name"]) is not None:
            raise StoreError(409, "AlreadyExists", f'{qualified(resource)} "{meta["name"]}" already exists', resource, meta["name"])
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = meta.get("creationTimestamp") or now_rfc3339()
        return obj

    def delete_object(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        """Delete as the API would (a namespace takes everything in it along). Thread-safe."""
        if resource == "namespaces":
            if name in SYSTEM_NAMESPACES:
                raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                               {"name": name, "kind": "namespaces"})
            with self.store.lock:
                for res in RESOURCES.values():
                    if res.namespaced:
                        for obj in self.store.items(res.plural, name):
                            self._delete_one(res.plural, name, obj["metadata"]["name"])
                return self.store.delete("namespaces", None, name)
        return self._delete_one(resource, namespace, name)

    def _delete_one(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        final = self.store.delete(resource, namespace, name)
        if resource == "pods":
            self.runner.forget(final["metadata"].get("uid", ""))
        return final

    # --- pods ----------------------------------------------------------------------------

    def _create_pod(self, pod: dict[str, Any], *, start: bool, running: bool, dry_run: bool = False) -> dict[str, Any]:
        ns = pod["metadata"]["namespace"]
        pod.pop("status", None)
        apply_pod_defaults(pod)
        sa_name = pod["spec"].get("serviceAccountName") or pod["spec"].get("serviceAccount") or "default"
        sa = self.store.get("serviceaccounts", ns, sa_name)
        admit_service_account(pod, sa)
        assert sa is not None
        self.webhook.mutate(pod, sa)
        if not pod["spec"].get("nodeName"):
            node = self._next_node(pod)
            if node:
                pod["spec"]["nodeName"] = node
        pod["status"] = self.runner.pending_status(pod)
        if running and pod["spec"].get("nodeName"):
            pod["status"] = self.runner.running_status(pod, now_rfc3339())
        if dry_run:
            return self._dry_run_create("pods", pod)
        # Bulk-seeded pods get their JSON encoded now, so a large lab's first list is fast.
        created = self.store.create("pods", pod, owned=True, encode=running)
        if start and not running:
            self.runner.start(created)
        return created

    def _next_node(self, pod: dict[str, Any]) -> str | None:
        """Round robin over the nodes the pod may run on: schedulable, and no NoSchedule taint it
        does not tolerate (Fargate nodes carry eks.amazonaws.com/compute-type=fargate:NoSchedule:
        only the Fargate scheduler places pods there, naming the node itself)."""
        tolerations = pod["spec"].get("tolerations") or []
        nodes = [n["metadata"]["name"] for n in self.store.items("nodes")
                 if not n.get("spec", {}).get("unschedulable")
                 and all(_tolerated(taint, tolerations) for taint in n.get("spec", {}).get("taints") or []
                         if taint.get("effect") in ("NoSchedule", "NoExecute"))]
        if not nodes:
            return None
        with self._counter_lock:
            name = nodes[self._node_cursor % len(nodes)]
            self._node_cursor += 1
        return name

    # --- HTTP plumbing -------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        load_chain_in_memory(ctx, self._certs.cert_pem, self._certs.key_pem)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def _count(self, kind: str) -> None:
        with self._counter_lock:
            self._counters[kind] += 1

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        try:
            if request.path not in PUBLIC_PATHS:
                request[IDENTITY] = self._impersonate(request, self._authenticate(request))
            request[WARNINGS] = []
            response = await handler(request)
            if request[WARNINGS] and not response.prepared:
                for warning in request[WARNINGS]:
                    response.headers.add("Warning", f'299 - "{warning}"')
            return response
        except ApiError as err:
            return json_response(status_body(err.code, err.reason, err.message, err.details), err.code)
        except StoreError as err:
            details = {"name": err.name, "kind": err.resource} if err.name else None
            return json_response(status_body(err.code, err.reason, err.message, details), err.code)
        except AdmissionError as err:
            return json_response(status_body(err.code, err.reason, err.message), err.code)

    def _authenticate(self, request: web.Request) -> Grant:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if token and hmac.compare_digest(token, self.admin_token):
            return ADMIN
        for user_token, grant in self._users.items():
            if token and hmac.compare_digest(token, user_token):
                return grant
        if token:
            try:
                claims = self.signer.verify(token, API_SERVER_AUDIENCE)
            except jwt.InvalidTokenError:
                claims = None
            if claims is not None and self._token_objects_exist(claims):
                return Grant(str(claims["sub"]), NO_VERBS)  # no RBAC binding, as on EKS
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def _impersonate(self, request: web.Request, requester: Grant) -> Grant:
        user = request.headers.get("Impersonate-User")
        if user is None:
            return requester
        grant = impersonated(requester, user, request.headers.getall("Impersonate-Group", []),
                             list(self._users.values()))
        if grant is None:
            raise ApiError(403, "Forbidden", f'users "{user}" is forbidden: User "{requester.user}" cannot '
                           'impersonate resource "users" in API group "" at the cluster scope',
                           {"name": user, "kind": "users"})
        return grant

    def _token_objects_exist(self, claims: dict[str, Any]) -> bool:
        """As kube-apiserver: a token dies with its service account (by uid) and its bound pod."""
        kube = claims.get("kubernetes.io") or {}
        ns = kube.get("namespace")
        sa_ref, pod_ref = kube.get("serviceaccount") or {}, kube.get("pod")
        sa = self.store.get("serviceaccounts", ns, sa_ref.get("name", ""))
        if sa is None or sa["metadata"]["uid"] != sa_ref.get("uid"):
            return False
        if pod_ref:
            pod = self.store.get("pods", ns, pod_ref.get("name", ""))
            return pod is not None and pod["metadata"]["uid"] == pod_ref.get("uid")
        return True

    def _authorize(self, request: web.Request, verb: str, resource: str, sub: str | None, name: str | None,
                   namespace: str | None) -> None:
        grant = request.get(IDENTITY, ADMIN)
        if not grant_allows(grant, verb, resource, name, namespace, RESOURCES[resource].namespaced):
            raise ApiError(403, "Forbidden", forbidden_message(grant.user, verb, resource, sub, name, namespace,
                                                                   RESOURCES[resource].group),
                           {"name": name, "kind": resource} if name else {"kind": resource})

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path == "/version":
            self._count("discovery")
            return json_response(discovery.version(self.cluster.version))
        if path == "/api":
            self._count("discovery")
            return json_response(discovery.api_versions())
        if path == "/apis":
            self._count("discovery")
            return json_response(discovery.api_groups())
        if path == "/api/v1" and request.method == "GET":
            self._count("discovery")
            return json_response(discovery.core_v1_resources())
        if path == "/openapi/v3":
            self._count("openapi")
            return json_response(self._openapi_index)
        if path == "/openapi/v2":
            self._count("openapi")
            return web.Response(body=self._openapi_v2, headers={
                "Content-Type": "application/octet-stream"})
        if path == "/openapi/v3/api/v1":
            self._count("openapi")
            return raw_json_response(self._openapi_core)
        if path == "/.well-known/openid-configuration":
            self._count("get openid-configuration")
            return json_response(self.signer.openid_configuration())
        if path == "/openid/v1/jwks":
            self._count("get jwks")
            return web.Response(body=json.dumps(self.signer.jwks()).encode(),
                                content_type="application/jwk-set+json")
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/_lab/stats":
            return json_response({"counters": self.counters, "resourceVersion": self.store.resource_version,
                                  "objects": {r: self.store.count(r) for r in RESOURCES}})
        if path.startswith("/api/v1/"):
            return await self._core(request, path[len("/api/v1/"):].split("/"))
        if path.startswith("/apis/"):
            return await self._named_group(request, path[len("/apis/"):].split("/"))
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    async def _named_group(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        group = parts[0]
        if group in discovery.GROUPS and request.method == "GET":
            if len(parts) == 1:
                self._count("discovery")
                return json_response(discovery.api_group(group))
            if len(parts) == 2 and parts[1] in discovery.GROUPS[group]:
                self._count("discovery")
                return json_response(discovery.group_resources(group, parts[1]))
        if group == "apps" and len(parts) > 2 and parts[1] == "v1":
            return await self._core(request, parts[2:], group)
        if len(parts) == 3:
            return await self._review(request, request.get(IDENTITY, ADMIN), *parts)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    async def _core(self, request: web.Request, parts: list[str], group: str = "") -> web.StreamResponse:
        ns: str | None = None
        if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] in RESOURCES:
            ns, parts = parts[1], parts[2:]
        resource = parts[0]
        info = RESOURCES.get(resource)
        if info is None or info.group != group or (ns is not None and not info.namespaced) or len(parts) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        method = request.method
        if info.namespaced and name is not None and ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        verb = request_verb(method, name is not None, truthy(request.query.get("watch")), sub)
        self._authorize(request, verb, resource, sub, name, ns)
        if sub is not None:
            return await self._subresource(request, resource, ns, name, sub)  # type: ignore[arg-type]
        if name is None:
            if method == "GET":
                if truthy(request.query.get("watch")):
                    self._count(f"watch {resource}")
                    return await self._watch(request, resource, ns)
                self._count(f"list {resource}")
                return self._list(request, resource, ns)
            if method == "POST":
                self._count(f"create {info.singular}")
                return await self._create(request, resource, ns)
            if method == "DELETE":
                self._count(f"deletecollection {resource}")
                return self._delete_collection(request, resource, ns)
        else:
            if method == "GET":
                self._count(f"get {info.singular}")
                return self._get(request, resource, ns, name)
            if method == "PATCH":
                self._count(f"patch {info.singular}")
                return await self._patch(request, resource, ns, name)
            if method == "PUT":
                self._count(f"update {info.singular}")
                return await self._update(request, resource, ns, name)
            if method == "DELETE":
                self._count(f"delete {info.singular}")
                final = self.delete_object(resource, ns, name)
                return json_response(final)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")



def _tolerated(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    """Whether one of the pod's tolerations matches the taint (Kubernetes' rules)."""
    for toleration in tolerations:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration["key"] == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False
