"""Subresources: TokenRequest (JSON and protobuf), pod logs (with follow), pod exec
(websocket v5/v4 and SPDY/3.1), and status."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from irsa_explorer.model import service_account_subject

from ..runtime.containers import ProcessResult
from ..tokens import API_SERVER_AUDIENCE
from .errors import ApiError, json_response, not_found
from .exec_ws import serve_exec
from .patch import json_patch, merge_patch, strategic_merge_patch
from .pod_logs import chosen_run, container_status, log_options, render
from .protobuf import ProtobufError, decode_token_request
from .resources import RESOURCES
from .rest import truthy
from .spdy_exec import is_spdy_upgrade, serve_exec_spdy
from .store import WatchEvent, clone


class SubresourceHandlers:
    """Mixed into KubeApiServer: uses its `store`, `signer`, `runner` and `runtime`."""

    # --- subresources --------------------------------------------------------------------

    async def _subresource(self, request: web.Request, resource: str, ns: str | None, name: str,
                           sub: str) -> web.StreamResponse:
        if resource == "serviceaccounts" and sub == "token" and request.method == "POST":
            self._count("create token")
            return await self._token_request(request, ns or "", name)
        if resource == "pods" and sub == "log" and request.method == "GET":
            self._count("log pod")
            return await self._pod_log(request, ns or "", name)
        if resource == "pods" and sub == "attach" and request.method in ("GET", "POST"):
            self._count("attach pod")
            return await self._pod_attach(request, ns or "", name)
        if resource == "pods" and sub == "exec" and request.method in ("GET", "POST"):
            self._count("exec pod")
            return await self._pod_exec(request, ns or "", name)
        if sub == "status" and request.method == "GET":
            self._count(f"get {RESOURCES[resource].singular} status")
            return self._get(request, resource, ns, name)
        if sub == "status" and request.method in ("PATCH", "PUT"):
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
        return json_response(stored)

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
        token = self.signer.mint(service_account_subject(ns, sa_name), audiences, expiration, ns, sa_name,
                                 sa["metadata"]["uid"], pod=pod_ref, node=node_ref, now=now)
        expires = datetime.fromtimestamp(now + expiration, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        result = {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": sa_name, "namespace": ns, "creationTimestamp": None},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": bound},
            "status": {"token": token, "expirationTimestamp": expires},
        }
        return json_response(result, 201)

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
        """`GET pods/NAME/log` as the kubelet answers it (pod_logs.py): the current or
        `previous` instance, `sinceSeconds`/`sinceTime`, `tailLines`, `timestamps`, `limitBytes`;
        `follow` on a running container keeps the stream open until it stops."""
        pod = self._get_stored("pods", ns, name).obj
        container = self._pick_container(pod, request.query.get("container"))
        options = log_options(request.query)
        previous = truthy(request.query.get("previous"))
        uid, cname = pod["metadata"]["uid"], container["name"]
        run = chosen_run(pod, cname, self.runner.container_logs.runs(uid, cname), previous)
        state = (container_status(pod, cname) or {}).get("state") or {}
        if truthy(request.query.get("follow")) and not previous and "running" in state:
            return await self._follow_log(request, pod, cname, options)
        return web.Response(body=render(run, options), content_type="text/plain")

    async def _follow_log(self, request: web.Request, pod: dict[str, Any], container: str,
                          options: dict[str, Any]) -> web.StreamResponse:
        """`logs -f` of a running container: the output arrives when the command ends (simulated
        commands produce it at once); a long-running one keeps the stream open like kubelet."""
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        uid, ns, name = pod["metadata"]["uid"], pod["metadata"]["namespace"], pod["metadata"]["name"]
        try:
            await self._until_container_stops(pod, container)
            # the run the container's instance wrote, once it stopped (the lab's commands print at their end)
            current = self.store.get("pods", ns, name)
            if current is not None and current["metadata"]["uid"] == uid:
                try:
                    run = chosen_run(current, container, self.runner.container_logs.runs(uid, container), False)
                except ApiError:
                    run = None
                if body := render(run, options):
                    await response.write(body)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
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
        return await self._stream(request, lambda: asyncio.to_thread(runtime.run, ctx, argv), argv)

    async def _stream(self, request: web.Request, produce, argv: list[str]) -> web.StreamResponse:
        if is_spdy_upgrade(request):
            return await serve_exec_spdy(request, produce, argv)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise ApiError(400, "BadRequest", "Upgrade request required")
        return await serve_exec(request, produce, argv)

    async def _pod_attach(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        """`kubectl run -it` / `attach`: the container's output once its command ends (simulated
        commands print everything at the end); a long-running container keeps the stream open."""
        pod = self._get_stored("pods", ns, name).obj
        container = self._pick_container(pod, request.query.get("container"))
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise ApiError(400, "BadRequest",
                           f"cannot attach to a container in a completed pod; current phase is {phase}")
        uid, cname = pod["metadata"]["uid"], container["name"]

        async def produce() -> ProcessResult:
            await self._until_container_stops(pod, cname)
            # Attach carries no exit status: kubectl reads it from the pod afterwards.
            return ProcessResult(self.runner.logs(uid, cname), "", 0)

        return await self._stream(request, produce, [])

    async def _until_container_stops(self, pod: dict[str, Any], container: str) -> None:
        """Return once `container` of this pod (same uid) is no longer running, or the pod is gone."""
        uid, ns, name = pod["metadata"]["uid"], pod["metadata"]["namespace"], pod["metadata"]["name"]
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def listener(event: WatchEvent) -> None:
            if event.resource == "pods" and event.stored.obj["metadata"].get("uid") == uid:
                loop.call_soon_threadsafe(changed.set)

        self.store.subscribe(listener)
        try:
            while True:
                changed.clear()
                current = self.store.get("pods", ns, name)
                if current is None or current["metadata"]["uid"] != uid:
                    return
                statuses = {cs["name"]: cs for cs in (current.get("status") or {}).get("containerStatuses") or []}
                if "running" not in ((statuses.get(container) or {}).get("state") or {}):
                    return
                await changed.wait()
        finally:
            self.store.unsubscribe(listener)
