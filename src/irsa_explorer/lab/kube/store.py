"""The API server's object store: resource versions, sorted keys for paging, watch history.

Objects are plain dicts that are never mutated once stored (copy on write), so a list can
hand out cached JSON bytes without copying, and watchers can share one event object.
Every mutation happens under one lock and is numbered by a cluster-wide resourceVersion.
"""

from __future__ import annotations

import base64
import bisect
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .resources import RESOURCES, qualified

Key = tuple[str, str]  # (namespace or "", name)


def clone(value: Any) -> Any:
    """Copy a JSON-shaped value (dicts, lists, scalars): several times faster than deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


FROZEN_NOW: str | None = None  # `lab serve --seed`: every timestamp is this one (lab/determinism.py)


def now_rfc3339() -> str:
    return FROZEN_NOW or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_continue(rv: str, last: Key) -> str:
    """An opaque continue token: where the previous page stopped."""
    raw = json.dumps({"v": "lab/1", "rv": rv, "start": list(last)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> Key:
    """The key to continue after; ValueError when the token is not one of ours."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        ns, name = data["start"]
        return (str(ns), str(name))
    except Exception as exc:  # any garbage is a 400 for the client
        raise ValueError("continue key is not valid") from exc


class StoreError(Exception):
    """A failed store operation; `code`/`reason` map to a Kubernetes Status."""

    def __init__(self, code: int, reason: str, message: str, resource: str = "", name: str = ""):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.resource = resource
        self.name = name


class StoredObject:
    """One stored version of an object, with its JSON encoded at most once."""

    __slots__ = ("obj", "_raw")

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self._raw: bytes | None = None

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = json.dumps(self.obj, separators=(",", ":")).encode()
        return self._raw

    @property
    def resource_version(self) -> int:
        return int(self.obj["metadata"]["resourceVersion"])


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    rv: int
    stored: StoredObject
    previous: StoredObject | None = None  # the version a MODIFIED replaced (selector transitions)


@dataclass
class ListPage:
    items: list[StoredObject]
    resource_version: str
    continue_token: str | None = None


@dataclass
class _Table:
    objects: dict[Key, StoredObject] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)  # sorted, for paging


class Store:
    """Thread-safe store of every lab object, keyed by resource and (namespace, name)."""

    HISTORY = 200_000  # events kept for watch resume; older resourceVersions get 410 Gone

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._rv = 1
        self._tables: dict[str, _Table] = {name: _Table() for name in RESOURCES}
        self._history: deque[WatchEvent] = deque(maxlen=self.HISTORY)
        self._listeners: list[Callable[[WatchEvent], None]] = []

    # --- reads -------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object (do not mutate it: copy first), or None."""
        stored = self.get_stored(resource, namespace, name)
        return stored.obj if stored else None

    def get_stored(self, resource: str, namespace: str | None, name: str) -> StoredObject | None:
        return self._tables[resource].objects.get((namespace or "", name))

    def count(self, resource: str) -> int:
        return len(self._tables[resource].objects)

    def items(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """All objects of a resource (in one namespace when given), sorted by key."""
        with self.lock:
            return [s.obj for s in self._range(resource, namespace, None)]

    def _range(self, resource: str, namespace: str | None, after: Key | None) -> Iterable[StoredObject]:
        table = self._tables[resource]
        keys = table.keys
        if after is not None:
            start = bisect.bisect_right(keys, after)
        elif namespace:
            start = bisect.bisect_left(keys, (namespace, ""))
        else:
            start = 0
        objects = table.objects
        for i in range(start, len(keys)):
            key = keys[i]
            if namespace and key[0] != namespace:
                break
            yield objects[key]

    def list(
        self,
        resource: str,
        namespace: str | None,
        matches: Callable[[dict[str, Any]], bool],
        limit: int | None = None,
        after: Key | None = None,
    ) -> ListPage:
        """One page of matching objects in key order; `after` continues from a previous page."""
        with self.lock:
            rv = str(self._rv)
            items: list[StoredObject] = []
            last: Key | None = None
            more = False
            for stored in self._range(resource, namespace, after):
                if not matches(stored.obj):
                    continue
                if limit and len(items) >= limit:
                    more = True
                    break
                items.append(stored)
                meta = stored.obj["metadata"]
                last = (meta.get("namespace", ""), meta["name"])
            token = None
            if more and last is not None:
                token = encode_continue(rv, last)
            return ListPage(items, rv, token)

    # --- writes ------------------------------------------------------------------------

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _emit(self, event: WatchEvent) -> None:
        self._history.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except RuntimeError:
                # A watcher whose event loop has closed (server stopping) must not fail the write.
                self._listeners.remove(listener)

    def create(self, resource: str, obj: dict[str, Any], *, owned: bool = False,
               encode: bool = False) -> dict[str, Any]:
        """Store a new object: assigns uid, creationTimestamp and resourceVersion.

        `owned=True`: the caller hands over a fresh dict it will not touch again (no copy).
        `encode=True`: encode its JSON now (bulk seeding), not on the first list.
        """
        if not owned:
            obj = clone(obj)
        meta = obj.setdefault("metadata", {})
        info = RESOURCES[resource]
        name = meta.get("name")
        if not name:
            raise StoreError(422, "Invalid", f"{info.kind} \"\" is invalid: metadata.name: Required value", resource)
        key = (meta.get("namespace", "") if info.namespaced else "", name)
        with self.lock:
            table = self._tables[resource]
            if key in table.objects:
                raise StoreError(
                    409, "AlreadyExists", f'{qualified(resource)} "{name}" already exists', resource, name
                )
            # Clients send `creationTimestamp: null` (kubectl run does); the server owns these fields.
            meta["uid"] = meta.get("uid") or str(uuid.uuid4())
            meta["creationTimestamp"] = meta.get("creationTimestamp") or now_rfc3339()
            rv = self._next_rv()
            meta["resourceVersion"] = str(rv)
            stored = StoredObject(obj)
            if encode:
                stored.raw  # noqa: B018 - computes and caches the JSON
            table.objects[key] = stored
            bisect.insort(table.keys, key)
            self._emit(WatchEvent("ADDED", resource, rv, stored))
            return obj

    def replace(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of an existing object (caller passes a fresh dict)."""
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if RESOURCES[resource].namespaced else "", meta["name"])
        with self.lock:
            table = self._tables[resource]
            old = table.objects.get(key)
            if old is None:
                raise StoreError(404, "NotFound", f'{qualified(resource)} "{meta["name"]}" not found', resource, meta["name"])
            meta["uid"] = old.obj["metadata"]["uid"]
            meta["creationTimestamp"] = old.obj["metadata"].get("creationTimestamp")
            rv = self._next_rv()
            meta["resourceVersion"] = str(rv)
            stored = StoredObject(obj)
            table.objects[key] = stored
            self._emit(WatchEvent("MODIFIED", resource, rv, stored, old))
            return obj

    def mutate(
        self, resource: str, namespace: str | None, name: str, change: Callable[[dict[str, Any]], Any]
    ) -> dict[str, Any]:
        """Apply `change` to a copy of the object and store it atomically; returns the new object."""
        with self.lock:
            current = self.get(resource, namespace, name)
            if current is None:
                raise StoreError(404, "NotFound", f'{qualified(resource)} "{name}" not found', resource, name)
            updated = clone(current)
            change(updated)
            return self.replace(resource, updated)

    def delete(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        key = ((namespace or "") if RESOURCES[resource].namespaced else "", name)
        with self.lock:
            table = self._tables[resource]
            old = table.objects.pop(key, None)
            if old is None:
                raise StoreError(404, "NotFound", f'{qualified(resource)} "{name}" not found', resource, name)
            del table.keys[bisect.bisect_left(table.keys, key)]
            rv = self._next_rv()
            # The DELETED event carries the final state with a new resourceVersion, as upstream.
            final = clone(old.obj)
            final["metadata"]["resourceVersion"] = str(rv)
            stored = StoredObject(final)
            self._emit(WatchEvent("DELETED", resource, rv, stored))
            return final

    # --- watch -------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[WatchEvent], None], since: int | None = None,
                  resource: str | None = None) -> list[WatchEvent]:
        """Register a listener (called under the store lock) and return the backlog after `since`.

        Raises StoreError 410 when `since` is older than the kept history.
        """
        with self.lock:
            backlog: list[WatchEvent] = []
            if since is not None and since < self._rv:
                oldest = self._history[0].rv if self._history else self._rv + 1
                if len(self._history) == self._history.maxlen and since < oldest - 1:
                    raise StoreError(410, "Expired", f"too old resource version: {since} ({oldest - 1})")
                # History is ordered by rv: walk back from the end to the first newer event.
                for event in reversed(self._history):
                    if event.rv <= since:
                        break
                    if resource is None or event.resource == resource:
                        backlog.append(event)
                backlog.reverse()
            self._listeners.append(listener)
            return backlog

    def unsubscribe(self, listener: Callable[[WatchEvent], None]) -> None:
        with self.lock:
            try:
                self._listeners.remove(listener)
            except ValueError:
                pass
