"""The lab's Kubernetes API server: HTTPS, bearer auth, REST, watch, Table, admission, exec.

Real clients (kubectl, the `kubernetes` Python client) talk to it over the real wire
protocol; see /work/shared/reference/wire-notes.md for what they send.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import ssl
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import jwt
import yaml
from aiohttp import web

from ..spec import LabCluster
from ..tokens import API_SERVER_AUDIENCE, TokenSigner
from . import discovery, openapi
from .admission import AdmissionError, PodIdentityLookup, PodIdentityWebhook, admit_service_account, \
    apply_pod_defaults, random_suffix
from .certs import make_serving_certificate
from .exec_ws import serve_exec
from .spdy_exec import is_spdy_upgrade, serve_exec_spdy
from .lifecycle import PodRunner, RuntimeLike
from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from .protobuf import ProtobufError, decode_token_request
from .resources import RESOURCES
from .selectors import SelectorError, parse_field_selector, parse_label_selector
from .store import Store, StoreError, StoredObject, WatchEvent, clone, decode_continue, now_rfc3339
from .table import to_table, wants_table
from .validation import prune_unknown_fields

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Paths EKS serves without authentication (service-account issuer discovery, health).
PUBLIC_PATHS = frozenset({"/.well-known/openid-configuration", "/openid/v1/jwks", "/healthz", "/livez",
                          "/readyz", "/version"})
# Pod spec fields that may change after creation (apiserver's pod update validation).
MUTABLE_POD_SPEC = frozenset({"activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"})
DEFAULT_WATCH_TIMEOUT_S = 1800
IDENTITY = web.RequestKey("identity", str)
WARNINGS = web.RequestKey("warnings", list)


class ApiError(Exception):
    """Becomes a `Status` response."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                        content_type="application/json")


def _raw_json(raw: bytes, status: int = 200) -> web.Response:
    return web.Response(body=raw, status=status, content_type="application/json")


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})


class KubeApiServer:
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
        self.store = Store()
        self._certs = make_serving_certificate()
        self.ca_pem: bytes = self._certs.ca_pem
        self.webhook = PodIdentityWebhook(cluster, pod_identity_lookup)
        self.runner = PodRunner(self.store, runtime, signer, self.ca_pem, start_delay_s=pod_start_delay_s)
        self._counters: Counter[str] = Counter()
        self._counter_lock = threading.Lock()
        self._node_cursor = 0
        self._runner: web.AppRunner | None = None
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

    def kubeconfig(self, context_name: str, user: str) -> dict[str, Any]:
        """A kubeconfig (as a dict, dump it as YAML) for the admin user of this lab."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context_name, "cluster": {
                "server": self.url, "certificate-authority-data": base64.b64encode(self.ca_pem).decode()}}],
            "users": [{"name": user, "user": {"token": self.admin_token}}],
            "contexts": [{"name": context_name, "context": {"cluster": context_name, "user": user}}],
            "current-context": context_name,
            "preferences": {},
        }

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on HTTPS; `port=0` picks a free port (read `.url` afterwards)."""
        app = web.Application(middlewares=[self._middleware], client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=self._ssl_context())
        await site.start()
        self._host = host
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self.runner.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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
        obj.setdefault("apiVersion", "v1")
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
            _default_node(obj, self.cluster)
        if dry_run:
            return self._dry_run_create(resource, obj)
        return self.store.create(resource, obj, owned=True)

    def _dry_run_create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """What a create would return, without storing (no resourceVersion, as upstream)."""
        meta = obj["metadata"]
        if not meta.get("name"):
            raise StoreError(422, "Invalid", f"{RESOURCES[resource].kind} \"\" is invalid: metadata.name: Required value")
        if self.store.get(resource, meta.get("namespace"), meta["name"]) is not None:
            raise StoreError(409, "AlreadyExists", f'{resource} "{meta["name"]}" already exists', resource, meta["name"])
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = meta.get("creationTimestamp") or now_rfc3339()
        return obj

    def delete_object(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        """Delete as the API would (a namespace takes everything in it along). Thread-safe."""
        if resource == "namespaces":
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
            node = self._next_node()
            if node:
                pod["spec"]["nodeName"] = node
        pod["status"] = self.runner.pending_status(pod)
        if running and pod["spec"].get("nodeName"):
            pod["status"] = self.runner.running_status(pod, now_rfc3339())
        if dry_run:
            return self._dry_run_create("pods", pod)
        created = self.store.create("pods", pod, owned=True)
        if start and not running:
            self.runner.start(created)
        return created

    def _next_node(self) -> str | None:
        nodes = [n["metadata"]["name"] for n in self.store.items("nodes")
                 if not n.get("spec", {}).get("unschedulable")]
        if not nodes:
            return None
        with self._counter_lock:
            name = nodes[self._node_cursor % len(nodes)]
            self._node_cursor += 1
        return name

    # --- HTTP plumbing -------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # load_cert_chain only reads files: write the lab's throw-away key briefly, then remove it.
        with tempfile.TemporaryDirectory(prefix="lab-kube-tls-") as tmp:
            cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
            with open(cert, "wb") as f:
                f.write(self._certs.cert_pem)
            fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(self._certs.key_pem)
            ctx.load_cert_chain(cert, key)
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
                request[IDENTITY] = self._authenticate(request)
            request[WARNINGS] = []
            response = await handler(request)
            if request[WARNINGS] and not response.prepared:
                for warning in request[WARNINGS]:
                    response.headers.add("Warning", f'299 - "{warning}"')
            return response
        except ApiError as err:
            return _json(status_body(err.code, err.reason, err.message, err.details), err.code)
        except StoreError as err:
            details = {"name": err.name, "kind": err.resource} if err.name else None
            return _json(status_body(err.code, err.reason, err.message, details), err.code)
        except AdmissionError as err:
            return _json(status_body(err.code, err.reason, err.message), err.code)

    def _authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if token and hmac.compare_digest(token, self.admin_token):
            return "admin"
        if token:
            try:
                claims = self.signer.verify(token, API_SERVER_AUDIENCE)
                return str(claims["sub"])
            except jwt.InvalidTokenError:
                pass
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def _require_write(self, request: web.Request) -> None:
        identity = request.get(IDENTITY, "admin")
        if identity != "admin":
            raise ApiError(403, "Forbidden",
                           f'User "{identity}" cannot {request.method.lower()} this resource: '
                           "the lab grants service accounts read-only access")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path == "/version":
            self._count("discovery")
            return _json(discovery.version(self.cluster.version))
        if path == "/api":
            self._count("discovery")
            return _json(discovery.api_versions())
        if path == "/apis":
            self._count("discovery")
            return _json(discovery.api_groups())
        if path == "/api/v1" and request.method == "GET":
            self._count("discovery")
            return _json(discovery.core_v1_resources())
        if path == "/openapi/v3":
            self._count("openapi")
            return _json(self._openapi_index)
        if path == "/openapi/v2":
            self._count("openapi")
            return web.Response(body=self._openapi_v2, headers={
                "Content-Type": "application/octet-stream"})
        if path == "/openapi/v3/api/v1":
            self._count("openapi")
            return _raw_json(self._openapi_core)
        if path == "/.well-known/openid-configuration":
            self._count("get openid-configuration")
            return _json(self.signer.openid_configuration())
        if path == "/openid/v1/jwks":
            self._count("get jwks")
            return web.Response(body=json.dumps(self.signer.jwks()).encode(),
                                content_type="application/jwk-set+json")
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/_lab/stats":
            return _json({"counters": self.counters, "resourceVersion": self.store.resource_version,
                          "objects": {r: self.store.count(r) for r in RESOURCES}})
        if path.startswith("/api/v1/"):
            return await self._core(request, path[len("/api/v1/"):].split("/"))
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    async def _core(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        ns: str | None = None
        if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] in RESOURCES:
            ns, parts = parts[1], parts[2:]
        resource = parts[0]
        info = RESOURCES.get(resource)
        if info is None or (ns is not None and not info.namespaced) or len(parts) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        method = request.method
        if info.namespaced and name is not None and ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub is not None:
            return await self._subresource(request, resource, ns, name, sub)  # type: ignore[arg-type]
        if name is None:
            if method == "GET":
                if _truthy(request.query.get("watch")):
                    self._count(f"watch {resource}")
                    return await self._watch(request, resource, ns)
                self._count(f"list {resource}")
                return self._list(request, resource, ns)
            if method == "POST":
                self._require_write(request)
                self._count(f"create {info.singular}")
                return await self._create(request, resource, ns)
            if method == "DELETE":
                self._require_write(request)
                self._count(f"deletecollection {resource}")
                return self._delete_collection(request, resource, ns)
        else:
            if method == "GET":
                self._count(f"get {info.singular}")
                return self._get(request, resource, ns, name)
            if method == "PATCH":
                self._require_write(request)
                self._count(f"patch {info.singular}")
                return await self._patch(request, resource, ns, name)
            if method == "PUT":
                self._require_write(request)
                self._count(f"update {info.singular}")
                return await self._update(request, resource, ns, name)
            if method == "DELETE":
                self._require_write(request)
                self._count(f"delete {info.singular}")
                final = self.delete_object(resource, ns, name)
                return _json(final)
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")

    # --- reads ---------------------------------------------------------------------------

    def _get_stored(self, resource: str, ns: str | None, name: str) -> StoredObject:
        stored = self.store.get_stored(resource, ns, name)
        if stored is None:
            raise not_found(resource, name)
        return stored

    def _get(self, request: web.Request, resource: str, ns: str | None, name: str) -> web.Response:
        stored = self._get_stored(resource, ns, name)
        if wants_table(request.headers.get("Accept")):
            return _json(to_table(resource, [stored.obj], resource_version=str(stored.resource_version),
                                  include_object=request.query.get("includeObject", "Metadata")))
        return _raw_json(stored.raw)

    def _matcher(self, request: web.Request, resource: str) -> Callable[[dict[str, Any]], bool]:
        try:
            labels = parse_label_selector(request.query.get("labelSelector"))
            fields = parse_field_selector(request.query.get("fieldSelector"), resource)
        except SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        return lambda obj: labels(obj) and fields(obj)

    def _list(self, request: web.Request, resource: str, ns: str | None) -> web.Response:
        matches = self._matcher(request, resource)
        try:
            limit = int(request.query.get("limit") or 0) or None
        except ValueError as exc:
            raise ApiError(400, "BadRequest", "limit must be an integer") from exc
        after = None
        if request.query.get("continue"):
            try:
                after = decode_continue(request.query["continue"])
            except ValueError as exc:
                raise ApiError(400, "BadRequest", str(exc)) from exc
        page = self.store.list(resource, ns, matches, limit, after)
        if wants_table(request.headers.get("Accept")):
            return _json(to_table(resource, (s.obj for s in page.items), resource_version=page.resource_version,
                                  continue_token=page.continue_token,
                                  include_object=request.query.get("includeObject", "Metadata")))
        meta: dict[str, Any] = {"resourceVersion": page.resource_version}
        if page.continue_token:
            meta["continue"] = page.continue_token
        head = json.dumps({"kind": RESOURCES[resource].kind + "List", "apiVersion": "v1", "metadata": meta},
                          separators=(",", ":")).encode()
        body = head[:-1] + b',"items":[' + b",".join(s.raw for s in page.items) + b"]}"
        return _raw_json(body)

    async def _watch(self, request: web.Request, resource: str, ns: str | None) -> web.StreamResponse:
        matches = self._matcher(request, resource)
        table = wants_table(request.headers.get("Accept"))
        rv_param = request.query.get("resourceVersion", "")
        try:
            since = int(rv_param) if rv_param not in ("", "0") else None
        except ValueError as exc:
            raise ApiError(400, "BadRequest", f"invalid resourceVersion {rv_param!r}") from exc
        timeout = float(request.query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_S)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()

        def listener(event: WatchEvent) -> None:  # runs under the store lock, on any thread
            if event.resource == resource:
                loop.call_soon_threadsafe(queue.put_nowait, event)

        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            with self.store.lock:
                backlog = self.store.subscribe(listener, since, resource)
                if since is None:  # no resourceVersion: current state first, as ADDED events
                    rv = self.store.resource_version
                    initial = [WatchEvent("ADDED", resource, rv, s)
                               for s in self.store.list(resource, ns, lambda o: True).items]
                    backlog = initial
        except StoreError as err:
            if err.code != 410:
                raise
            await response.prepare(request)
            event = {"type": "ERROR", "object": status_body(410, "Expired", err.message)}
            await response.write(json.dumps(event).encode() + b"\n")
            await response.write_eof()
            return response
        try:
            await response.prepare(request)
            deadline = time.monotonic() + timeout
            for event in backlog:
                await self._send_event(response, event, ns, matches, resource, table)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    event = await asyncio.wait_for(queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                await self._send_event(response, event, ns, matches, resource, table)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unsubscribe(listener)
        return response

    async def _send_event(self, response: web.StreamResponse, event: WatchEvent, ns: str | None,
                          matches: Callable[[dict[str, Any]], bool], resource: str, table: bool) -> None:
        obj = event.stored.obj
        if ns is not None and obj["metadata"].get("namespace") != ns:
            return
        kind = event.type
        if kind == "MODIFIED" and event.previous is not None:
            # An object entering or leaving the selector is ADDED/DELETED for this watcher, as upstream.
            now, before = matches(obj), matches(event.previous.obj)
            if not now and not before:
                return
            kind = "MODIFIED" if now and before else ("ADDED" if now else "DELETED")
        elif not matches(obj):
            return
        if table:
            payload = json.dumps(to_table(resource, [obj], resource_version=str(event.rv)),
                                 separators=(",", ":")).encode()
        else:
            payload = event.stored.raw
        await response.write(b'{"type":"' + kind.encode() + b'","object":' + payload + b"}\n")

    # --- writes --------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        ctype = request.content_type
        try:
            if "yaml" in ctype:
                return yaml.safe_load(raw)
            return json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"the body of the request was in an unknown format: {exc}") from exc

    def _checked_fields(self, request: web.Request, resource: str, obj: Any) -> Any:
        """Apply `fieldValidation`: Strict rejects unknown fields, Warn/Ignore drop them."""
        if not isinstance(obj, dict):
            return obj
        pruned, unknown = prune_unknown_fields(resource, obj)
        if not unknown:
            return obj
        kind = RESOURCES[resource].kind
        mode = request.query.get("fieldValidation", "Warn")
        if mode == "Strict":
            fields = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise ApiError(400, "BadRequest",
                           f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: {fields}')
        if mode != "Ignore":
            request[WARNINGS].extend(f'unknown field \\"{path}\\"' for path in unknown)
        return pruned

    async def _create(self, request: web.Request, resource: str, ns: str | None) -> web.Response:
        obj = self._checked_fields(request, resource, await self._body(request))
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be an object")
        meta = obj.setdefault("metadata", {})
        if ns is not None:
            if meta.get("namespace") not in (None, "", ns):
                raise ApiError(400, "BadRequest",
                               "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = ns
        created = self.create_object(resource, obj, dry_run=_dry_run(request))
        return _json(created, 201)

    def _delete_collection(self, request: web.Request, resource: str, ns: str | None) -> web.Response:
        matches = self._matcher(request, resource)
        deleted = []
        for stored in self.store.list(resource, ns, matches).items:
            meta = stored.obj["metadata"]
            try:
                deleted.append(self.delete_object(resource, meta.get("namespace"), meta["name"]))
            except StoreError:
                continue
        return _json({"kind": RESOURCES[resource].kind + "List", "apiVersion": "v1",
                      "metadata": {"resourceVersion": str(self.store.resource_version)}, "items": deleted})

    def _store_update(self, resource: str, current: dict[str, Any], updated: dict[str, Any],
                      dry_run: bool = False) -> dict[str, Any]:
        """Validate an update of `current` into `updated` and store it."""
        if not isinstance(updated, dict):
            raise ApiError(422, "Invalid", "the object must be a JSON object")
        meta = updated.setdefault("metadata", {})
        old_meta = current["metadata"]
        for key in ("name", "namespace"):
            if meta.get(key) != old_meta.get(key):
                if key == "namespace" and not RESOURCES[resource].namespaced and not meta.get(key):
                    continue
                raise ApiError(400, "BadRequest", f"metadata.{key} may not be changed")
        if resource in ("pods", "nodes", "namespaces") and "status" in current:
            updated["status"] = current["status"]  # status is a subresource
        if resource == "pods":
            _validate_pod_update(current, updated)
        updated["apiVersion"] = current.get("apiVersion", "v1")
        updated["kind"] = current.get("kind")
        if dry_run:
            updated["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return updated
        return self.store.replace(resource, updated)

    async def _patch(self, request: web.Request, resource: str, ns: str | None, name: str) -> web.Response:
        patch = await self._body(request)
        ctype = request.content_type
        with self.store.lock:
            if ctype == "application/apply-patch+yaml" and self.store.get(resource, ns, name) is None:
                # Server-side apply of a new object is a create.
                if not isinstance(patch, dict):
                    raise ApiError(400, "BadRequest", "the body of the request must be an object")
                patch.setdefault("metadata", {})["name"] = name
                if ns is not None:
                    patch["metadata"]["namespace"] = ns
                return _json(self.create_object(resource, patch, dry_run=_dry_run(request)), 201)
            current = self._get_stored(resource, ns, name).obj
            try:
                if ctype == "application/apply-patch+yaml":
                    # Field ownership is not tracked: apply merges like a strategic merge patch.
                    updated = strategic_merge_patch(current, patch)
                elif ctype == "application/merge-patch+json":
                    updated = merge_patch(current, patch)
                elif ctype == "application/strategic-merge-patch+json":
                    updated = strategic_merge_patch(current, patch)
                elif ctype == "application/json-patch+json":
                    if not isinstance(patch, list):
                        raise PatchError("a JSON patch must be a list of operations")
                    updated = json_patch(current, patch)
                else:
                    raise ApiError(415, "UnsupportedMediaType", f"the media type {ctype!r} is not supported")
            except PatchError as exc:
                raise ApiError(422, "Invalid", str(exc)) from exc
            updated = self._checked_fields(request, resource, clone(updated))
            wanted_rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise _conflict(resource, name)
            stored = self._store_update(resource, current, updated, _dry_run(request))
        return _json(stored)

    async def _update(self, request: web.Request, resource: str, ns: str | None, name: str) -> web.Response:
        body = self._checked_fields(request, resource, await self._body(request))
        with self.store.lock:
            current = self._get_stored(resource, ns, name).obj
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request must be an object")
            wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise _conflict(resource, name)
            if ns is not None:
                body.setdefault("metadata", {}).setdefault("namespace", ns)
            stored = self._store_update(resource, current, body, _dry_run(request))
        return _json(stored)

    # --- subresources --------------------------------------------------------------------

    async def _subresource(self, request: web.Request, resource: str, ns: str | None, name: str,
                           sub: str) -> web.StreamResponse:
        if resource == "serviceaccounts" and sub == "token" and request.method == "POST":
            self._require_write(request)
            self._count("create token")
            return await self._token_request(request, ns or "", name)
        if resource == "pods" and sub == "log" and request.method == "GET":
            self._count("log pod")
            return await self._pod_log(request, ns or "", name)
        if resource == "pods" and sub == "exec" and request.method in ("GET", "POST"):
            self._require_write(request)
            self._count("exec pod")
            return await self._pod_exec(request, ns or "", name)
        if sub == "status" and request.method == "GET":
            self._count(f"get {RESOURCES[resource].singular} status")
            return self._get(request, resource, ns, name)
        if sub == "status" and request.method in ("PATCH", "PUT"):
            self._require_write(request)
            self._count(f"update {RESOURCES[resource].singular} status")
            return await self._update_status(request, resource, ns, name)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    async def _update_status(self, request: web.Request, resource: str, ns: str | None, name: str) -> web.Response:
        body = await self._body(request)
        with self.store.lock:
            current = self._get_stored(resource, ns, name).obj
            if request.method == "PUT":
                new_status = (body or {}).get("status", {})
            elif request.content_type == "application/json-patch+json":
                new_status = json_patch(current, body).get("status", {})
            elif request.content_type == "application/strategic-merge-patch+json":
                new_status = strategic_merge_patch(current, body).get("status", {})
            else:
                new_status = merge_patch(current, body).get("status", {})
            updated = clone(current)
            updated["status"] = new_status
            stored = self.store.replace(resource, updated)
        return _json(stored)

    async def _token_request(self, request: web.Request, ns: str, sa_name: str) -> web.Response:
        raw = await request.read()
        if request.content_type == "application/vnd.kubernetes.protobuf":
            try:
                body = decode_token_request(raw)
            except ProtobufError as exc:
                raise ApiError(400, "BadRequest", f"cannot decode TokenRequest: {exc}") from exc
        else:
            try:
                body = json.loads(raw or b"{}")
            except ValueError as exc:
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format") from exc
        spec = dict(body.get("spec") or {})
        sa = self.store.get("serviceaccounts", ns, sa_name)
        if sa is None:
            raise not_found("serviceaccounts", sa_name)
        audiences = list(spec.get("audiences") or []) or [API_SERVER_AUDIENCE]
        expiration = int(spec.get("expirationSeconds") or 3600)
        if expiration < 600:
            raise ApiError(422, "Invalid", f'TokenRequest.authentication.k8s.io "{sa_name}" is invalid: '
                           f"spec.expirationSeconds: Invalid value: {expiration}: "
                           "may not specify a duration less than 10 minutes")
        if expiration > 2**32:
            raise ApiError(422, "Invalid", f'TokenRequest.authentication.k8s.io "{sa_name}" is invalid: '
                           f"spec.expirationSeconds: Invalid value: {expiration}: "
                           "may not specify a duration larger than 2^32 seconds")
        pod_ref = node_ref = None
        bound = spec.get("boundObjectRef") or None
        if bound and bound.get("kind") == "Pod":
            pod = self.store.get("pods", ns, bound.get("name", ""))
            if pod is None or (bound.get("uid") and bound["uid"] != pod["metadata"]["uid"]):
                raise not_found("pods", bound.get("name", ""))
            if pod["spec"].get("serviceAccountName") != sa_name:
                raise ApiError(400, "BadRequest", f'cannot bind token for serviceaccount "{sa_name}" to pod '
                               f'running with different serviceaccount name.')
            pod_ref = (pod["metadata"]["name"], pod["metadata"]["uid"])
            node_name = pod["spec"].get("nodeName")
            node = self.store.get("nodes", None, node_name) if node_name else None
            if node:
                node_ref = (node_name, node["metadata"]["uid"])
        now = int(time.time())
        token = self.signer.mint(f"system:serviceaccount:{ns}:{sa_name}", audiences, expiration, ns, sa_name,
                                 sa["metadata"]["uid"], pod=pod_ref, node=node_ref, now=now)
        expires = datetime.fromtimestamp(now + expiration, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        result = {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": sa_name, "namespace": ns, "creationTimestamp": None},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": bound},
            "status": {"token": token, "expirationTimestamp": expires},
        }
        return _json(result, 201)

    def _pick_container(self, pod: dict[str, Any], wanted: str | None) -> dict[str, Any]:
        containers = pod["spec"]["containers"]
        name = pod["metadata"]["name"]
        if not wanted:
            if len(containers) == 1:
                return containers[0]
            names = " ".join(c["name"] for c in containers)
            raise ApiError(400, "BadRequest",
                           f"a container name must be specified for pod {name}, choose one of: [{names}]")
        for c in containers + list(pod["spec"].get("initContainers") or []):
            if c["name"] == wanted:
                return c
        raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {name}")

    async def _pod_log(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        pod = self._get_stored("pods", ns, name).obj
        container = self._pick_container(pod, request.query.get("container"))
        statuses = {cs["name"]: cs for cs in (pod.get("status") or {}).get("containerStatuses") or []}
        state = (statuses.get(container["name"]) or {}).get("state") or {}
        waiting = state.get("waiting")
        if waiting and waiting.get("reason") == "ContainerCreating" or not statuses:
            raise ApiError(400, "BadRequest", f'container "{container["name"]}" in pod "{name}" is waiting to '
                           f'start: {(waiting or {}).get("reason", "ContainerCreating")}')
        if _truthy(request.query.get("follow")) and "running" in state:
            return await self._follow_log(request, pod, container["name"])
        text = self.runner.logs(pod["metadata"]["uid"], container["name"])
        tail = request.query.get("tailLines")
        if tail and tail.isdigit():
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(tail):]) if int(tail) else ""
        return web.Response(text=text, content_type="text/plain")

    async def _follow_log(self, request: web.Request, pod: dict[str, Any], container: str) -> web.StreamResponse:
        """`logs -f` of a running container: the output arrives when the command ends (simulated
        commands produce it at once); a long-running one keeps the stream open like kubelet."""
        uid = pod["metadata"]["uid"]
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def listener(event: WatchEvent) -> None:
            if event.resource == "pods" and event.stored.obj["metadata"].get("uid") == uid:
                loop.call_soon_threadsafe(changed.set)

        self.store.subscribe(listener)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while True:
                current = self.store.get("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
                if current is None or current["metadata"]["uid"] != uid:
                    break
                statuses = {cs["name"]: cs for cs in (current.get("status") or {}).get("containerStatuses") or []}
                if "running" not in ((statuses.get(container) or {}).get("state") or {}):
                    break
                changed.clear()
                await changed.wait()
            text = self.runner.logs(uid, container)
            if text:
                await response.write(text.encode())
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unsubscribe(listener)
        return response

    async def _pod_exec(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        pod = self._get_stored("pods", ns, name).obj
        container = self._pick_container(pod, request.query.get("container"))
        argv = request.query.getall("command", [])
        if not argv:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise ApiError(400, "BadRequest",
                           f"cannot exec into a container in a completed pod; current phase is {phase}")
        statuses = {cs["name"]: cs for cs in (pod.get("status") or {}).get("containerStatuses") or []}
        if "running" not in ((statuses.get(container["name"]) or {}).get("state") or {}):
            raise ApiError(400, "BadRequest", f'unable to upgrade connection: container not found ("{container["name"]}")')
        if self.runtime is None:
            raise ApiError(500, "InternalError", "the lab has no container runtime")
        runtime = self.runtime
        ctx = self.runner.context(pod, container)
        if is_spdy_upgrade(request):
            return await serve_exec_spdy(request, lambda: runtime.run(ctx, argv), argv)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise ApiError(400, "BadRequest", "Upgrade request required")
        return await serve_exec(request, lambda: runtime.run(ctx, argv), argv)


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    if any(v != "All" for v in values):
        raise ApiError(400, "BadRequest", f"Invalid dry run value: {values}; only All is supported")
    return bool(values)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _conflict(resource: str, name: str) -> ApiError:
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                    {"name": name, "kind": resource})


def _validate_pod_update(current: dict[str, Any], updated: dict[str, Any]) -> None:
    """Pods are immutable except images and a few fields, as upstream validation says."""
    old_spec, new_spec = current.get("spec") or {}, clone(updated.get("spec") or {})
    for key in ("containers", "initContainers"):
        old_list = old_spec.get(key) or []
        for i, c in enumerate(new_spec.get(key) or []):
            if i < len(old_list) and "image" in c:
                c["image"] = old_list[i].get("image")
    comparable_old = {k: v for k, v in old_spec.items() if k not in MUTABLE_POD_SPEC}
    comparable_new = {k: v for k, v in new_spec.items() if k not in MUTABLE_POD_SPEC}
    if comparable_old != comparable_new:
        name = current["metadata"]["name"]
        raise ApiError(422, "Invalid",
                       f'Pod "{name}" is invalid: spec: Forbidden: pod updates may not change fields other than '
                       "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                       "`spec.tolerations` (only additions to existing tolerations),"
                       "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")


def _default_node(node: dict[str, Any], cluster: LabCluster) -> None:
    """Fill what a kubelet would register for a node the scenario describes briefly."""
    meta = node["metadata"]
    labels = meta.setdefault("labels", {})
    labels.setdefault("kubernetes.io/hostname", meta.get("name", ""))
    labels.setdefault("kubernetes.io/os", "linux")
    labels.setdefault("kubernetes.io/arch", "amd64")
    labels.setdefault("topology.kubernetes.io/region", cluster.region)
    status = node.setdefault("status", {})
    now = now_rfc3339()
    if not status.get("conditions"):
        status["conditions"] = [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                 "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                                 "lastTransitionTime": now}]
    if not status.get("addresses"):
        status["addresses"] = [{"type": "InternalIP", "address": _ip_from_node_name(meta.get("name", ""))},
                               {"type": "Hostname", "address": meta.get("name", "")}]
    info = status.setdefault("nodeInfo", {})
    info.setdefault("kubeletVersion", f"v{cluster.version}.9-eks-5e0fdde")
    info.setdefault("osImage", "Amazon Linux 2")
    info.setdefault("kernelVersion", "5.10.210-201.852.amzn2.x86_64")
    info.setdefault("containerRuntimeVersion", "containerd://1.7.11")
    info.setdefault("operatingSystem", "linux")
    info.setdefault("architecture", "amd64")
    # IDs a kubelet reports; clients with strict models require them.
    digest = hashlib.sha256(meta.get("name", "").encode()).hexdigest()
    info.setdefault("machineID", digest[:32])
    info.setdefault("systemUUID", f"ec2{digest[3:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}")
    info.setdefault("bootID", str(uuid.UUID(digest[32:64])))
    info.setdefault("kubeProxyVersion", info["kubeletVersion"])
    status.setdefault("daemonEndpoints", {"kubeletEndpoint": {"Port": 10250}})


def _ip_from_node_name(name: str) -> str:
    """EKS node names carry their IP: ip-192-168-53-243.us-east-2.compute.internal."""
    head = name.split(".", 1)[0]
    if head.startswith("ip-"):
        parts = head[3:].split("-")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            return ".".join(parts)
    return "192.168.0.10"
