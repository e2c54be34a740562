"""The REST verbs on resources: get, list (selectors, paging, Table), watch, create, patch,
update, delete — with the API server's validation and error wording."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import yaml
from aiohttp import web

from .admission import apply_secret_defaults
from .daemonsets import daemonset_update
from .errors import ApiError, conflict, json_response, not_found, raw_json_response, status_body
from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from .protobuf import ProtobufError
from .protobuf_objects import decode_object
from .resources import RESOURCES
from .selectors import SelectorError, parse_field_selector, parse_label_selector
from .store import StoreError, StoredObject, WatchEvent, clone, decode_continue
from .table import to_table, wants_table
from .validation import prune_unknown_fields

# Pod spec fields that may change after creation (apiserver's pod update validation).
MUTABLE_POD_SPEC = frozenset({"activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"})
DEFAULT_WATCH_TIMEOUT_S = 1800
PROTOBUF = "application/vnd.kubernetes.protobuf"
WARNINGS = web.RequestKey("warnings", list)  # Warning headers for the response


class RestHandlers:
    """Mixed into KubeApiServer: uses its `store`, `create_object`, `delete_object`."""

    # --- reads ---------------------------------------------------------------------------

    def _get_stored(self, resource: str, ns: str | None, name: str) -> StoredObject:
        stored = self.store.get_stored(resource, ns, name)
        if stored is None:
            raise not_found(resource, name)
        return stored

    def _get(self, request: web.Request, resource: str, ns: str | None, name: str) -> web.Response:
        stored = self._get_stored(resource, ns, name)
        if wants_table(request.headers.get("Accept")):
            table = to_table(resource, [stored.obj], resource_version=str(stored.resource_version),
                             include_object=request.query.get("includeObject", "Metadata"))
            return json_response(table)
        return raw_json_response(stored.raw)

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
            # as kube-apiserver: a limit of 0 or less means no limit, not an empty page
            limit = max(int(request.query.get("limit") or 0), 0) or None
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
            table = to_table(resource, (s.obj for s in page.items), resource_version=page.resource_version,
                             continue_token=page.continue_token,
                             include_object=request.query.get("includeObject", "Metadata"))
            return json_response(table)
        meta: dict[str, Any] = {"resourceVersion": page.resource_version}
        if page.continue_token:
            meta["continue"] = page.continue_token
        head = json.dumps({"kind": RESOURCES[resource].kind + "List", "apiVersion": RESOURCES[resource].api_version,
                           "metadata": meta},
                          separators=(",", ":")).encode()
        body = head[:-1] + b',"items":[' + b",".join(s.raw for s in page.items) + b"]}"
        return raw_json_response(body)

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
        if ctype == PROTOBUF:
            # kubectl 1.32 (not 1.27) sends typed objects (create sa/ns/secret/configmap) as protobuf.
            try:
                return decode_object(raw)
            except ProtobufError as exc:
                raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {exc}") from exc
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
        expected = RESOURCES[resource].kind
        if obj.get("kind") not in (None, "", expected):
            # Else a Secret posted to /configmaps would be stored there as is.
            raise ApiError(400, "BadRequest",
                           f"the kind in the data ({obj['kind']}) does not match the expected kind ({expected})")
        meta = obj.setdefault("metadata", {})
        if ns is not None:
            if meta.get("namespace") not in (None, "", ns):
                raise ApiError(400, "BadRequest",
                               "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = ns
        created = self.create_object(resource, obj, dry_run=dry_run_requested(request))
        return json_response(created, 201)

    def _delete_collection(self, request: web.Request, resource: str, ns: str | None) -> web.Response:
        matches = self._matcher(request, resource)
        deleted = []
        for stored in self.store.list(resource, ns, matches).items:
            meta = stored.obj["metadata"]
            try:
                deleted.append(self.delete_object(resource, meta.get("namespace"), meta["name"]))
            except StoreError:
                continue
        return json_response({"kind": RESOURCES[resource].kind + "List", "apiVersion": RESOURCES[resource].api_version,
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
        if resource in ("pods", "nodes", "namespaces", "daemonsets") and "status" in current:
            updated["status"] = current["status"]  # status is a subresource
        if resource == "daemonsets":
            daemonset_update(current, updated)
        if resource == "pods":
            validate_pod_update(current, updated)
        if resource == "secrets":
            apply_secret_defaults(updated)
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
                return json_response(self.create_object(resource, patch, dry_run=dry_run_requested(request)), 201)
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
                raise conflict(resource, name)
            stored = self._store_update(resource, current, updated, dry_run_requested(request))
        return json_response(stored)

    async def _update(self, request: web.Request, resource: str, ns: str | None, name: str) -> web.Response:
        body = self._checked_fields(request, resource, await self._body(request))
        with self.store.lock:
            current = self._get_stored(resource, ns, name).obj
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request must be an object")
            wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise conflict(resource, name)
            if ns is not None:
                body.setdefault("metadata", {}).setdefault("namespace", ns)
            stored = self._store_update(resource, current, body, dry_run_requested(request))
        return json_response(stored)


def dry_run_requested(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    if any(v != "All" for v in values):
        raise ApiError(400, "BadRequest", f"Invalid dry run value: {values}; only All is supported")
    return bool(values)


def truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def validate_pod_update(current: dict[str, Any], updated: dict[str, Any]) -> None:
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
