"""Listing Kubernetes objects page by page, as raw JSON.

`CoreV1Lists` sends the generated client's list requests without importing the generated API
module (its models cost ~0.4 s of CPU we never use); `page_bodies` asks for each next page as
soon as the previous one's continue token is read from the head of its JSON (`list_metadata`).
"""

from __future__ import annotations

import json
import queue
import re
import threading
from typing import Any, Callable, Iterator

from kubernetes import client
from kubernetes.client.rest import ApiException

PAGE_SIZE = 500  # what kubectl asks for; the API server caps pages anyway


# --- the core API, lists first ------------------------------------------------------------


class CoreV1Lists:
    """`CoreV1Api`'s list calls as raw JSON, without importing `CoreV1Api` up front.

    Importing the generated `core_v1_api` module builds ~250 pydantic models: ~0.4 s of CPU
    before the first request, for models our raw-JSON lists never use. The list methods here
    send the very request the generated ones send (same path, query, Accept header and
    BearerToken auth, through the same `ApiClient`) and return the raw response, as the
    generated ones do with `_preload_content=False`. Anything else — watches, exec, token
    requests, preloaded content — goes to a real `CoreV1Api`, created on first use.
    """

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self._full: Any = None
        self._full_lock = threading.Lock()

    def full(self) -> Any:
        """The generated CoreV1Api on the same ApiClient."""
        with self._full_lock:
            if self._full is None:
                self._full = client.CoreV1Api(self.api_client)
            return self._full

    def __getattr__(self, name: str) -> Any:
        return getattr(self.full(), name)

    def list_pod_for_all_namespaces(self, **kwargs: Any) -> Any:
        return self._list("list_pod_for_all_namespaces", "/api/v1/pods", None, kwargs)

    def list_namespaced_pod(self, namespace: str, **kwargs: Any) -> Any:
        return self._list("list_namespaced_pod", "/api/v1/namespaces/{namespace}/pods", namespace, kwargs)

    def list_service_account_for_all_namespaces(self, **kwargs: Any) -> Any:
        return self._list(
            "list_service_account_for_all_namespaces", "/api/v1/serviceaccounts", None, kwargs
        )

    def list_namespaced_service_account(self, namespace: str, **kwargs: Any) -> Any:
        return self._list(
            "list_namespaced_service_account",
            "/api/v1/namespaces/{namespace}/serviceaccounts",
            namespace,
            kwargs,
        )

    def list_node(self, **kwargs: Any) -> Any:
        return self._list("list_node", "/api/v1/nodes", None, kwargs)

    def list_namespace(self, **kwargs: Any) -> Any:
        return self._list("list_namespace", "/api/v1/namespaces", None, kwargs)

    _QUERY = {"_continue": "continue", "limit": "limit", "label_selector": "labelSelector",
              "field_selector": "fieldSelector", "resource_version": "resourceVersion"}  # fmt: skip

    def _list(self, name: str, path: str, namespace: str | None, kwargs: dict[str, Any]) -> Any:
        raw = kwargs.get("_preload_content") is False and set(kwargs) <= {"_preload_content", *self._QUERY}
        if not raw:  # watches, deserialised models, options we do not translate
            method = getattr(self.full(), name)
            return method(namespace, **kwargs) if namespace is not None else method(**kwargs)
        query = [(self._QUERY[k], v) for k, v in kwargs.items() if k in self._QUERY and v is not None]
        request = self.api_client.param_serialize(
            method="GET",
            resource_path=path,
            path_params={"namespace": namespace} if namespace is not None else {},
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(*request)
        if not 200 <= response.status <= 299:
            response.read()
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return response.response



# --- paging ---------------------------------------------------------------------------------

_JSON = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
LIST_HEAD_BYTES = 8192  # a list's metadata (resourceVersion, continue token) fits many times over


def list_metadata(data: bytes) -> dict[str, Any] | None:
    """A list's `metadata` read from the first bytes of its JSON, before its items are parsed.

    API servers write a list as {"kind", "apiVersion", "metadata", "items"} in that order (Go
    encodes struct fields in declaration order), so the continue token sits in the first few
    hundred bytes of a page of megabytes. None when the head does not hold it (another order,
    an unexpected shape): the caller then parses the whole page.
    """
    head = data[:LIST_HEAD_BYTES].decode("utf-8", "replace")
    try:
        at = _SPACE.match(head).end()
        if head[at] != "{":
            return None
        at += 1
        while True:
            key, at = _JSON.raw_decode(head, _SPACE.match(head, at).end())
            at = _SPACE.match(head, at).end()
            if not isinstance(key, str) or key == "items" or head[at] != ":":
                return None
            value, at = _JSON.raw_decode(head, _SPACE.match(head, at + 1).end())
            if key == "metadata":
                return value if isinstance(value, dict) else None
            at = _SPACE.match(head, at).end()
            if head[at] != ",":
                return None
            at += 1
    except (ValueError, IndexError):  # cut off by the head's end, or not JSON at all
        return None


PAGE_TRIES = 5  # a page answered with a 5xx, garbage or a dropped connection is asked for again, up to this often
PAGE_BACKOFF = (0.5, 4.0)  # seconds before the second try, doubling up to the second figure


class GaveUp(Exception):
    """A page failed `tries` times for reasons that may pass (5xx, garbage, a dropped
    connection); `error` is the last of them."""

    def __init__(self, error: BaseException, tries: int) -> None:
        super().__init__(str(error))
        self.error, self.tries = error, tries


def passing(error: BaseException) -> bool:
    """Whether asking again may get an answer: a 429 or 5xx, a connection dropped before or
    during the answer, a body that is not the JSON asked for. Not a timeout (it waited the
    whole timeout already, as kubectl does not ask again), not a refused connection (urllib3
    tried again already), not TLS, not a 4xx."""
    import urllib3

    if isinstance(error, ApiException):
        return error.status == 429 or 500 <= (error.status or 0) <= 599
    if isinstance(error, urllib3.exceptions.MaxRetryError):
        return isinstance(error.reason, urllib3.exceptions.ProtocolError)
    if isinstance(error, (urllib3.exceptions.ProtocolError, ConnectionResetError)):
        return True
    return isinstance(error, ValueError)  # not JSON, not UTF-8


def fetch_page(call: Callable[..., Any], page_kwargs: dict[str, Any], stop: threading.Event | None = None,
               tries: int | None = None, backoff: tuple[float, float] | None = None) -> tuple[bytes, str | None]:
    """One page's raw JSON and its continue token, asked for again with backoff (up to `tries`
    times in all, PAGE_TRIES) while it fails for a reason that may pass; then GaveUp. Other
    errors at once."""
    tries, backoff = tries or PAGE_TRIES, backoff or PAGE_BACKOFF
    for attempt in range(1, tries + 1):
        try:
            data = call(**page_kwargs).data
            metadata = list_metadata(data)
            if metadata is None:  # not at the head: parse the whole page to find it
                metadata = json.loads(data).get("metadata") or {}
            if not isinstance(metadata, dict):
                raise ValueError("a list whose metadata is not an object")
            return data, metadata.get("continue") or None
        except Exception as error:
            if not passing(error):
                raise
            if attempt == tries or (stop is not None and stop.is_set()):
                raise GaveUp(error, attempt) from error
            wait = min(backoff[0] * 2 ** (attempt - 1), backoff[1])
            if stop is not None:
                stop.wait(wait)
            else:
                threading.Event().wait(wait)
    raise AssertionError("unreachable")


def page_bodies(call: Callable[..., Any], kwargs: dict[str, Any]) -> Iterator[tuple[bytes, str | None]]:
    """(raw JSON, continue token) of each page of a list call, in order.

    A thread asks for the pages one after the other, and sends the next request as soon as
    the previous page's continue token is read from the head of its JSON: neither parsing
    the page nor converting its objects delays the next request, so paging goes at the
    speed of the network however slow the consumer is. Pages wait in memory as raw bytes
    (far smaller than their parsed dicts). An error is raised in the consumer's thread, in
    order, after the pages that came before it. Closing the generator stops the thread
    after the request in flight. A page that fails for a reason that may pass is asked for
    again (`fetch_page`): one 500 or dropped connection does not cost the whole list.
    """
    arrived: queue.SimpleQueue[tuple[bytes, str | None] | BaseException] = queue.SimpleQueue()
    stop = threading.Event()

    def fetch_in_turn() -> None:
        token: str | None = None
        try:
            while not stop.is_set():
                page_kwargs = dict(kwargs, limit=PAGE_SIZE, _preload_content=False)
                if token:
                    page_kwargs["_continue"] = token
                data, token = fetch_page(call, page_kwargs, stop)
                arrived.put((data, token))
                if token is None:
                    return
        except BaseException as error:  # raised again in the consumer's thread
            arrived.put(error)

    threading.Thread(target=fetch_in_turn, name="kube-pages", daemon=True).start()
    try:
        while True:
            page = arrived.get()
            if isinstance(page, BaseException):
                raise page
            yield page
            if page[1] is None:
                return
    finally:
        stop.set()


