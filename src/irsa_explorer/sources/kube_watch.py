"""Watches: pods, service accounts and nodes as they change, so a view need not go stale.

One watch loop for every resource (`watch`): it resumes from the last resource version after a
lost connection (with backoff, told to `on_status`), lists again and yields the differences
when that version is too old (410 Gone), and ends only on what retrying cannot mend (a 404, a
failed exec plugin). Where a cluster-wide watch of a namespaced resource is forbidden, the
namespaces that can be read are watched one by one (the fallback the lists make); a forbidden
watch of a cluster-scoped resource (nodes, for a namespace user) is said once as a
`WatchStatus("forbidden")` and the watch ends without an error: the caller keeps working with
what it listed.

The kubernetes client's `watch.Watch` does the streaming; events keep their raw JSON and are
converted by the same functions as the lists (kube_convert.py).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import urllib3
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException

from irsa_explorer.model import Unavailable
from irsa_explorer.sources.kube import (
    WATCH_BACKOFF,
    ClusterError,
    KubeSource,
    WatchForbidden,
    WatchStatus,
)
from irsa_explorer.sources.kube_convert import node_from_dict, pod_from_dict, service_account_from_dict
from irsa_explorer.sources.kubeconfig import ExecPluginError

__all__ = ["NODES", "PODS", "RESOURCES", "SERVICE_ACCOUNTS", "Resource", "WatchStatus", "watch"]

Event = tuple[str, Any]  # ("ADDED" | "MODIFIED" | "DELETED", the model object)
OnStatus = Callable[[WatchStatus], None]


@dataclass(frozen=True)
class Resource:
    """A kind of object that can be watched: how it is asked for and converted."""

    plural: str  # as in the API path and in what is said: "pods", "serviceaccounts", "nodes"
    namespaced: bool
    convert: Callable[[dict], Any]  # raw JSON → model object (with a `uid`)
    all_call: str  # the CoreV1Lists method that lists (and, with watch=True, watches) every object
    ns_call: str | None = None  # … those of one namespace


PODS = Resource("pods", True, pod_from_dict, "list_pod_for_all_namespaces", "list_namespaced_pod")
SERVICE_ACCOUNTS = Resource("serviceaccounts", True, service_account_from_dict,
                            "list_service_account_for_all_namespaces", "list_namespaced_service_account")
NODES = Resource("nodes", False, node_from_dict, "list_node")
RESOURCES = {spec.plural: spec for spec in (PODS, SERVICE_ACCOUNTS, NODES)}


def watch(
    kube: KubeSource,
    resource: str | Resource,
    namespace: str | None,
    resource_version: str,
    stop: threading.Event,
    poll_seconds: int = 5,
    on_status: OnStatus | None = None,
    backoff: tuple[float, float] = WATCH_BACKOFF,
    known: Iterable[Any] = (),
) -> Iterator[Event]:
    """Yield ("ADDED"|"MODIFIED"|"DELETED", object) from `resource_version` until `stop` is set.

    `resource`: "pods", "serviceaccounts" or "nodes" (or its `Resource`); `namespace` None: all
    (ignored for nodes). An empty `resource_version` starts with every current object as ADDED.
    `known`: the objects the caller has as of `resource_version`, so that a list made after a
    410 also says which of them are gone.

    The server-side timeout is short (`poll_seconds`) so `stop` is noticed in time; each
    reconnect resumes from the last version seen. A lost watch (no answer, connection refused
    or cut, 429/5xx, an expired token) reconnects with backoff (`backoff` = first and longest
    wait, doubling) while `stop` is not set; `on_status` hears each loss
    (WatchStatus "reconnecting": reason, attempt, wait) and the recovery ("watching"), in the
    watching thread. Only what retrying cannot mend raises ClusterError (404, a failed exec
    plugin).
    """
    spec = RESOURCES[resource] if isinstance(resource, str) else resource
    loop = _WatchLoop(kube, spec, stop, poll_seconds, on_status, backoff)
    if not spec.namespaced:
        try:
            yield from loop.run(None, resource_version, known)
        except WatchForbidden as forbidden:
            if on_status is not None:  # said once; what was listed stays as it is
                on_status(WatchStatus("forbidden", str(forbidden), resource=spec.plural))
        return
    if namespace:
        yield from loop.run(namespace, resource_version, known)
        return
    try:
        yield from loop.run(None, resource_version, known)
        return
    except WatchForbidden:
        pass
    namespaces = kube.readable_namespaces()
    if isinstance(namespaces, Unavailable):
        namespaces = [kube.default_namespace]
    yield from _watch_each(loop, namespaces, resource_version, list(known), stop, poll_seconds)


def _watch_each(
    loop: _WatchLoop, namespaces: list[str], resource_version: str, known: list[Any], stop: threading.Event,
    poll_seconds: int,
) -> Iterator[Event]:
    """One watch per namespace, each in a thread, their events merged in arrival order."""
    events: queue.SimpleQueue[Event | BaseException | None] = queue.SimpleQueue()

    def run(ns: str) -> None:
        mine = [obj for obj in known if getattr(obj, "namespace", None) == ns]
        try:
            for event in loop.run(ns, resource_version, mine):
                events.put(event)
        except WatchForbidden:
            pass  # not readable: not shown by the list either
        except BaseException as error:  # raised again in the consumer's thread
            events.put(error)
        finally:
            events.put(None)

    for ns in namespaces:
        threading.Thread(target=run, args=(ns,), name=f"watch-{loop.spec.plural}-{ns}", daemon=True).start()
    running = len(namespaces)
    while running and not stop.is_set():
        try:
            item = events.get(timeout=poll_seconds)
        except queue.Empty:
            continue
        if item is None:
            running -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


class _WatchLoop:
    """The reconnecting watch of one resource, in one namespace or all."""

    def __init__(self, kube: KubeSource, spec: Resource, stop: threading.Event, poll_seconds: int,
                 on_status: OnStatus | None, backoff: tuple[float, float]) -> None:
        self.kube, self.spec, self.stop = kube, spec, stop
        self.poll_seconds, self.on_status, self.backoff = poll_seconds, on_status, backoff
        self.what = f"watch {spec.plural}"

    def _call(self, namespace: str | None) -> tuple[Callable[..., Any], dict[str, Any]]:
        core = self.kube.core
        if namespace and self.spec.ns_call:
            return getattr(core, self.spec.ns_call), {"namespace": namespace}
        return getattr(core, self.spec.all_call), {}

    def run(self, namespace: str | None, resource_version: str, known: Iterable[Any]) -> Iterator[Event]:
        kube, stop, spec = self.kube, self.stop, self.spec
        seen: dict[str, Any] = {obj.uid: obj for obj in known}
        version = resource_version
        lost = 0  # failed tries since the watch was last up
        while not stop.is_set():
            # return_type "object": events keep the raw JSON; the generated models validate
            # every field (pydantic) and would reject objects we only need a few fields of.
            watcher = k8s_watch.Watch(return_type="object")
            read = self.poll_seconds + (kube.request_timeout or 10)
            call, kwargs = self._call(namespace)
            kwargs.update({
                "resource_version": version,
                "timeout_seconds": self.poll_seconds,
                "allow_watch_bookmarks": True,
                "_request_timeout": (kube.request_timeout, read) if kube.request_timeout else read,
            })
            expired = False
            problem: str | None = None
            began, events = time.monotonic(), 0
            try:
                for event in watcher.stream(call, **kwargs):
                    if stop.is_set():
                        watcher.stop()
                        return
                    if not _is_event(event):  # the client hands on a line that is no JSON object as it is
                        problem = f"{kube.server} sent something that is not a watch event"
                        break
                    events += 1
                    lost = self._up(lost)
                    kind, raw = event["type"], event["raw_object"]
                    if kind == "ERROR":
                        code = raw.get("code")
                        if code == 410:
                            expired = True
                            break
                        if isinstance(code, int) and (code == 429 or code >= 500):
                            problem = f"HTTP {code} {raw.get('message') or ''}".strip()
                            break
                        raise ClusterError(f"{self.what} failed: {raw.get('message')}")
                    version = (raw.get("metadata") or {}).get("resourceVersion") or version
                    if kind == "BOOKMARK":
                        continue
                    obj = spec.convert(raw)
                    if kind == "DELETED":
                        seen.pop(obj.uid, None)
                    else:
                        seen[obj.uid] = obj
                    yield kind, obj
                else:
                    if events or time.monotonic() - began >= self.poll_seconds / 2:
                        lost = self._up(lost)  # the server ended a quiet watch when asked to: it is up
                    else:  # ended at once, with no event: asking again at once would spin
                        problem = f"{kube.server} ended the watch at once, with no event"
            except ApiException as error:
                if error.status == 403:
                    raise WatchForbidden(_forbidden(error)) from error
                if error.status == 410:
                    expired = True
                elif error.status in (401, 429) or error.status >= 500 or error.status == 0:
                    problem = str(kube.failure(self.what, error))
                else:
                    raise kube.failure(self.what, error) from None
            except ExecPluginError as error:  # the plugin failed; trying again will not mend it
                raise ClusterError(str(error)) from None
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                # no answer, refused, cut mid-stream (a truncated event is a ValueError)
                problem = str(kube.failure(self.what, error))
            except (KeyError, TypeError, AttributeError):  # an event whose object has an odd shape
                problem = f"{kube.server} sent a {spec.plural} event that could not be read"
            finally:
                watcher.stop()
            if problem is not None and not stop.is_set():
                lost = self._lost(lost, problem)
                continue
            if expired and not stop.is_set():
                try:
                    current, version = self._relist(namespace)
                except ClusterError as error:
                    lost = self._lost(lost, str(error))
                    continue  # the version is still too old: listed again on the next try
                lost = self._up(lost)
                for uid, obj in list(seen.items()):
                    if uid not in current:
                        yield "DELETED", obj
                for uid, obj in current.items():
                    yield ("MODIFIED" if uid in seen else "ADDED"), obj
                seen = current

    def _relist(self, namespace: str | None) -> tuple[dict[str, Any], str]:
        """Every object now, by uid, and the version to watch on from (after a 410)."""
        call, kwargs = self._call(namespace)
        try:
            items, version = self.kube._paged(call, self.spec.convert, **kwargs)
        except Exception as error:
            raise self.kube.failure(f"list {self.spec.plural}", error) from None
        return {obj.uid: obj for obj in items}, version

    def _lost(self, lost: int, problem: str) -> int:
        """Say the watch is lost, wait the backoff; the new count of failed tries."""
        lost += 1
        wait = min(self.backoff[0] * 2 ** (lost - 1), self.backoff[1])
        if self.on_status is not None:
            self.on_status(WatchStatus("reconnecting", problem, lost, wait, resource=self.spec.plural))
        self.stop.wait(wait)
        return lost

    def _up(self, lost: int) -> int:
        """The watch answered: say so once if it had been lost. Returns the new loss count (0)."""
        if lost and self.on_status is not None:
            self.on_status(WatchStatus("watching", "", resource=self.spec.plural))
        return 0


def _is_event(event: Any) -> bool:
    return (isinstance(event, dict) and isinstance(event.get("type"), str)
            and isinstance(event.get("raw_object"), dict))


def _forbidden(error: ApiException) -> str:
    """The API server's words for a refused watch: "HTTP 403: nodes is forbidden: …"."""
    message = error.reason or "forbidden"
    try:
        message = json.loads(error.body).get("message") or message
    except Exception:
        pass
    return f"HTTP 403: {message}"
