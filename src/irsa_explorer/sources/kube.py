"""The Kubernetes side: pods, service accounts, nodes and the token issuer, as model objects.

Only the official `kubernetes` client is used, so whatever the user's kubeconfig does to
authenticate (the `aws eks get-token` exec plugin on EKS, client certificates, bearer tokens)
works exactly as it does for the client everywhere else. Each `KubeSource` owns its own
`ApiClient`; nothing touches the client's global default configuration, because one process
may talk to several clusters (tests run several labs at once).

List responses are read as raw JSON (`_preload_content=False`) and converted straight into
model objects: the generated client's deserialisation of every field of every pod costs more
than the whole request on large clusters, and we need only a handful of fields.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar

import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from irsa_explorer.model import IssuerInfo, Node, Pod, ServiceAccount, Unavailable
from irsa_explorer.sources.kube_convert import node_from_dict, pod_from_dict, service_account_from_dict
from irsa_explorer.sources.kube_paging import CoreV1Lists, page_bodies

T = TypeVar("T")


class ClusterError(Exception):
    """The cluster could not be asked at all (unreachable, not authenticated, bad kubeconfig).

    Distinct from a forbidden lookup, which is an `Unavailable` value inside a result.
    """


class WatchForbidden(ClusterError):
    """The API server refused a watch (403): the caller may watch less instead."""


@dataclass
class Listing(Generic[T]):
    """One list of objects, with the version to resume a watch from and notes for the user."""

    items: list[T]
    resource_version: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExecResult:
    """What a command run inside a container printed, and how it exited."""

    stdout: str
    stderr: str
    exit_code: int | None  # None: the API server sent no exit status (connection cut, timeout)


# --- kubeconfig ---------------------------------------------------------------------------

_ESKCTL_CONTEXT = re.compile(r"^[^@]+@(?P<name>[^.]+)\.(?P<region>[a-z0-9-]+)\.eksctl\.io$")
_EKS_CLUSTER_ARN = re.compile(
    r"^arn:aws[a-z-]*:eks:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):cluster/(?P<name>[^/]+)$"
)


def parse_eks_context(context_name: str | None) -> tuple[str | None, str | None]:
    """(cluster name, region) read from an eksctl or `aws eks update-kubeconfig` context name."""
    if not context_name:
        return None, None
    for pattern in (_ESKCTL_CONTEXT, _EKS_CLUSTER_ARN):
        match = pattern.match(context_name)
        if match:
            return match.group("name"), match.group("region")
    return None, None


def _exec_arg(args: list[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


class KubeSource:
    """Reads one cluster through one kubeconfig context."""

    def __init__(
        self, context: str | None = None, kubeconfig: str | None = None, *, settings: dict[str, Any] | None = None
    ) -> None:
        """`settings`: the client settings another KubeSource resolved (`handover()`), used instead
        of resolving the context's user again (no second run of an exec plugin)."""
        try:
            contexts, active = config.list_kube_config_contexts(kubeconfig)
        except (config.ConfigException, OSError) as error:
            raise ClusterError(f"cannot read kubeconfig: {error}") from error
        self._contexts = contexts or []
        chosen = context or (active or {}).get("name")
        entry = next((c for c in self._contexts if c.get("name") == chosen), None)
        if entry is None:
            raise ClusterError(f"context {chosen!r} not found in kubeconfig")
        self.context: str = chosen
        self._context_entry: dict[str, Any] = entry.get("context") or {}
        self.kubeconfig = kubeconfig  # the file named (None: $KUBECONFIG or ~/.kube/config)
        try:
            if settings is not None:
                configuration = client.Configuration()
                for name, value in settings.items():
                    setattr(configuration, name, value)
                self._api_client = client.ApiClient(configuration)
            else:
                # persist_config=False: a refreshed token must never be written back to disk.
                self._api_client = config.new_client_from_config(
                    config_file=kubeconfig, context=chosen, persist_config=False
                )
        except (config.ConfigException, OSError) as error:
            raise ClusterError(f"cannot use context {chosen!r}: {error}") from error
        self._user_exec_args = self._read_exec_args(kubeconfig, self._context_entry.get("user"))
        self.core = CoreV1Lists(self._api_client)
        self._issuer: IssuerInfo | None = None
        self._issuer_lock = threading.Lock()

    # -- kubeconfig facts ----------------------------------------------------------------

    @staticmethod
    def _read_exec_args(kubeconfig: str | None, user_name: str | None) -> list[str]:
        """The exec plugin's args of the context's user (`aws eks get-token --cluster-name X`)."""
        paths = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        for path in paths.split(os.pathsep):
            try:
                with open(os.path.expanduser(path), encoding="utf-8") as handle:
                    document = yaml.safe_load(handle) or {}
            except (OSError, yaml.YAMLError):
                continue  # only a hint for naming the cluster; never fatal
            for user in document.get("users") or []:
                if user.get("name") == user_name:
                    exec_cfg = (user.get("user") or {}).get("exec") or {}
                    return [str(a) for a in exec_cfg.get("args") or []]
        return []

    def contexts(self) -> list[str]:
        """Every context name of the kubeconfig."""
        return [c["name"] for c in self._contexts if c.get("name")]

    @property
    def default_namespace(self) -> str:
        """The context's namespace, as kubectl uses it when none is given."""
        return self._context_entry.get("namespace") or "default"

    def default_cluster_name(self) -> str | None:
        """The EKS cluster name guessed from the context (eksctl / aws-cli forms, exec args)."""
        for candidate in (self.context, self._context_entry.get("cluster")):
            name, _ = parse_eks_context(candidate)
            if name:
                return name
        return _exec_arg(self._user_exec_args, "--cluster-name")

    def default_region(self) -> str | None:
        """The AWS region guessed from the context, its cluster entry or the exec plugin args."""
        for candidate in (self.context, self._context_entry.get("cluster")):
            _, region = parse_eks_context(candidate)
            if region:
                return region
        return _exec_arg(self._user_exec_args, "--region")

    # -- lists -----------------------------------------------------------------------------

    def _paged(
        self,
        call: Callable[..., Any],
        convert: Callable[[dict], Any] = lambda o: o,
        on_page: Callable[[list[Any]], None] | None = None,
        **kwargs: Any,
    ) -> tuple[list[Any], str]:
        """Every item of a list call, following `continue` tokens page by page, each converted
        as its page arrives (10,000 raw pod dicts at once would cost far more memory).
        `on_page` gets each page's converted items as soon as they are ready.

        Pages are fetched by `page_bodies`, which asks for the next page as soon as this
        one's continue token is known, so the requests follow each other at network speed
        and converting never delays them.

        A continue token expires (410 Gone) when paging outlives etcd's compaction window on a
        busy cluster; the list then starts over once, as a consistent snapshot is the point.
        """
        for attempt in (1, 2):
            items: list[Any] = []
            token: str | None = None
            resource_version = ""
            pages = page_bodies(call, kwargs)
            try:
                for data, token in pages:
                    body = json.loads(data)
                    metadata = body.get("metadata") or {}
                    if (metadata.get("continue") or None) != token:
                        # Only a list whose JSON names `metadata` twice could get here.
                        raise ClusterError("the API server's list page contradicts itself (two continue tokens)")
                    resource_version = metadata.get("resourceVersion") or resource_version
                    page = [convert(o) for o in body.get("items") or []]
                    del body, data  # this page's JSON is garbage once converted
                    items.extend(page)
                    if on_page is not None:
                        on_page(page)
                return items, resource_version
            except ApiException as error:
                if error.status != 410 or not token or attempt == 2:
                    raise
            finally:
                pages.close()
        raise AssertionError("unreachable")

    def _list(
        self,
        kind: str,
        all_call: Callable[..., Any],
        ns_call: Callable[..., Any],
        namespace: str | None,
        convert: Callable[[dict], T],
        on_page: Callable[[list[T]], None] | None = None,
        **kwargs: Any,
    ) -> Listing[T]:
        try:
            if namespace:
                return Listing(*self._paged(ns_call, convert, on_page, namespace=namespace, **kwargs))
            try:
                return Listing(*self._paged(all_call, convert, on_page, **kwargs))
            except ApiException as error:
                if error.status != 403:
                    raise
            return self._list_per_namespace(kind, ns_call, convert, on_page, **kwargs)
        except ApiException as error:
            raise _cluster_error(f"list {kind}", error) from error
        except Exception as error:  # urllib3 connection errors, TLS errors, exec plugin failures
            if isinstance(error, ClusterError):
                raise
            raise ClusterError(f"cannot list {kind}: {error}") from error

    def _list_per_namespace(
        self,
        kind: str,
        ns_call: Callable[..., Any],
        convert: Callable[[dict], T],
        on_page: Callable[[list[T]], None] | None = None,
        **kwargs: Any,
    ) -> Listing[T]:
        """Cluster-wide list forbidden: gather what the user may read, and say so."""
        notes = [f"listing {kind} in all namespaces is forbidden"]
        namespaces = self.readable_namespaces()
        if isinstance(namespaces, Unavailable):
            namespaces = [self.default_namespace]
            notes.append(
                f"listing namespaces is forbidden too: showing only the context's namespace "
                f"{self.default_namespace!r}"
            )
        else:
            notes.append(f"showing the {len(namespaces)} namespaces that could be read one by one")
        items: list[T] = []
        versions: list[str] = []
        for ns in namespaces:
            try:
                converted, version = self._paged(ns_call, convert, on_page, namespace=ns, **kwargs)
            except ApiException as error:
                if error.status != 403:
                    raise
                notes.append(f"listing {kind} in namespace {ns!r} is forbidden: not shown")
                continue
            items.extend(converted)
            versions.append(version)
        # Resource versions are opaque, but on every real API server they are etcd revisions:
        # the highest one is where a watch of these namespaces can resume.
        newest = max(versions, key=lambda v: int(v) if v.isdigit() else -1, default="")
        return Listing(items, newest, notes)

    def readable_namespaces(self) -> list[str] | Unavailable:
        """Namespace names, or Unavailable when listing namespaces is forbidden."""
        try:
            raw, _ = self._paged(self.core.list_namespace)
        except ApiException as error:
            if error.status == 403:
                return Unavailable("listing namespaces is forbidden", "list namespaces", "forbidden")
            raise
        return [o["metadata"]["name"] for o in raw]

    def list_pods(
        self,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        on_page: Callable[[list[Pod]], None] | None = None,
    ) -> Listing[Pod]:
        """Pods of one namespace, or of all (None), paginated; falls back to readable namespaces.

        `on_page(pods)` is called with each page's pods as soon as they are converted (in the
        calling thread), so a UI can show rows before the list is complete; the listing
        returned still holds every pod.
        """
        return self._list(
            "pods",
            self.core.list_pod_for_all_namespaces,
            self.core.list_namespaced_pod,
            namespace,
            pod_from_dict,
            on_page,
            **_selectors(label_selector, field_selector),
        )

    def list_service_accounts(
        self, namespace: str | None, label_selector: str | None = None
    ) -> Listing[ServiceAccount]:
        """Service accounts of one namespace, or of all (None), paginated."""
        return self._list(
            "serviceaccounts",
            self.core.list_service_account_for_all_namespaces,
            self.core.list_namespaced_service_account,
            namespace,
            service_account_from_dict,
            **_selectors(label_selector, None),
        )

    def list_nodes(self) -> list[Node] | Unavailable:
        """Every node, or Unavailable when the user may not list nodes (common for namespace users)."""
        try:
            nodes, _ = self._paged(self.core.list_node, node_from_dict)
        except ApiException as error:
            if error.status == 403:
                return Unavailable("listing nodes is forbidden", "list nodes", "forbidden")
            raise _cluster_error("list nodes", error) from error
        except Exception as error:
            raise ClusterError(f"cannot list nodes: {error}") from error
        return nodes

    # -- issuer ----------------------------------------------------------------------------

    def issuer(self) -> IssuerInfo | Unavailable:
        """The service-account token issuer and its signing keys (OIDC discovery + JWKS).

        Fetched on first use and kept: the report takes the issuer from EKS's DescribeCluster
        and never needs this, a token pane asks for it each time it verifies a signature.
        A failure is not kept, so a later call tries again.
        """
        with self._issuer_lock:
            if self._issuer is None:
                found = self._discover_issuer()
                if isinstance(found, IssuerInfo):
                    self._issuer = found
                return found
            return self._issuer

    def _discover_issuer(self) -> IssuerInfo | Unavailable:
        try:
            discovery = json.loads(
                client.WellKnownApi(
                    self._api_client
                ).get_service_account_issuer_open_id_configuration(_preload_content=False).data
            )
            jwks = json.loads(
                client.OpenidApi(self._api_client)
                .get_service_account_issuer_open_id_keyset(_preload_content=False)
                .data
            )
        except ApiException as error:
            if error.status in (401, 403):
                return Unavailable(
                    "reading the issuer discovery document is forbidden",
                    "get /.well-known/openid-configuration",
                )
            return Unavailable(f"issuer discovery failed: HTTP {error.status} {error.reason}")
        except Exception as error:  # bad JSON, connection cut
            return Unavailable(f"issuer discovery failed: {error}")
        issuer = discovery.get("issuer")
        if not issuer:
            return Unavailable("the discovery document names no issuer")
        return IssuerInfo(issuer=issuer, jwks=jwks)

    # -- watch -----------------------------------------------------------------------------

    def watch_pods(
        self,
        namespace: str | None,
        resource_version: str,
        stop: threading.Event,
        poll_seconds: int = 5,
    ) -> Iterator[tuple[str, Pod]]:
        """Yield ("ADDED"|"MODIFIED"|"DELETED", pod) from `resource_version` until `stop` is set.

        The server-side timeout is short so `stop` is noticed within `poll_seconds`; each
        reconnect resumes from the last version seen. When that version is too old (410 Gone)
        the pods are listed again and the differences are yielded as events.

        When watching every namespace is forbidden, the namespaces that can be read are watched
        one by one instead (the fallback the lists make); those forbidden too are left out.
        """
        if namespace:
            yield from self._watch_pods(namespace, resource_version, stop, poll_seconds)
            return
        try:
            yield from self._watch_pods(None, resource_version, stop, poll_seconds)
            return
        except WatchForbidden:
            pass
        namespaces = self.readable_namespaces()
        if isinstance(namespaces, Unavailable):
            namespaces = [self.default_namespace]
        yield from self._watch_each(namespaces, resource_version, stop, poll_seconds)

    def _watch_each(
        self, namespaces: list[str], resource_version: str, stop: threading.Event, poll_seconds: int
    ) -> Iterator[tuple[str, Pod]]:
        """One watch per namespace, each in a thread, their events merged in arrival order."""
        events: queue.SimpleQueue[tuple[str, Pod] | BaseException | None] = queue.SimpleQueue()

        def run(ns: str) -> None:
            try:
                for event in self._watch_pods(ns, resource_version, stop, poll_seconds):
                    events.put(event)
            except WatchForbidden:
                pass  # not readable: not shown by the list either
            except BaseException as error:  # raised again in the consumer's thread
                events.put(error)
            finally:
                events.put(None)

        for ns in namespaces:
            threading.Thread(target=run, args=(ns,), name=f"watch-{ns}", daemon=True).start()
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

    def _watch_pods(
        self, namespace: str | None, resource_version: str, stop: threading.Event, poll_seconds: int
    ) -> Iterator[tuple[str, Pod]]:
        known: dict[str, Pod] = {}
        version = resource_version
        while not stop.is_set():
            # return_type "object": events keep the raw JSON; the generated models validate
            # every field (pydantic) and would reject objects we only need a few fields of.
            watcher = watch.Watch(return_type="object")
            kwargs: dict[str, Any] = {
                "resource_version": version,
                "timeout_seconds": poll_seconds,
                "allow_watch_bookmarks": True,
                "_request_timeout": poll_seconds + 10,
            }
            if namespace:
                call, kwargs["namespace"] = self.core.list_namespaced_pod, namespace
            else:
                call = self.core.list_pod_for_all_namespaces
            expired = False
            try:
                for event in watcher.stream(call, **kwargs):
                    if stop.is_set():
                        watcher.stop()
                        return
                    kind, raw = event["type"], event["raw_object"]
                    if kind == "ERROR":
                        if raw.get("code") == 410:
                            expired = True
                            break
                        raise ClusterError(f"watch pods failed: {raw.get('message')}")
                    version = (raw.get("metadata") or {}).get("resourceVersion") or version
                    if kind == "BOOKMARK":
                        continue
                    pod = pod_from_dict(raw)
                    if kind == "DELETED":
                        known.pop(pod.uid, None)
                    else:
                        known[pod.uid] = pod
                    yield kind, pod
            except ApiException as error:
                if error.status == 403:
                    raise WatchForbidden(str(_cluster_error("watch pods", error))) from error
                if error.status != 410:
                    raise _cluster_error("watch pods", error) from error
                expired = True
            finally:
                watcher.stop()
            if expired and not stop.is_set():
                listing = self.list_pods(namespace)
                current = {p.uid: p for p in listing.items}
                for uid, pod in list(known.items()):
                    if uid not in current:
                        yield "DELETED", pod
                for pod in listing.items:
                    yield ("MODIFIED" if pod.uid in known else "ADDED"), pod
                known, version = current, listing.resource_version

    # -- writes and exec (explicit user actions only) ----------------------------------------

    def exec(
        self, namespace: str, pod: str, container: str | None, argv: list[str], timeout: float = 30
    ) -> ExecResult:
        """Run argv (a list, never a shell string) in a container; stdout, stderr, exit code."""
        # stream() swaps call_api on the ApiClient it is given: use a private one so concurrent
        # lists on this source are not routed through the websocket transport.
        api = client.CoreV1Api(client.ApiClient(self._api_client.configuration))
        kwargs: dict[str, Any] = {
            "command": list(argv),
            "stderr": True,
            "stdin": False,
            "stdout": True,
            "tty": False,
            "_preload_content": False,
        }
        if container:
            kwargs["container"] = container
        try:
            ws = stream(api.connect_get_namespaced_pod_exec, pod, namespace, **kwargs)
        except Exception as error:  # the websocket handshake was refused (pod gone, not running)
            raise ClusterError(
                f"exec in pod {namespace}/{pod}: {_handshake_message(error)}"
            ) from error
        try:
            ws.run_forever(timeout=timeout)
            stdout, stderr = ws.read_stdout() or "", ws.read_stderr() or ""
            status_text = ws.read_channel(3)
        finally:
            ws.close()
        return ExecResult(stdout, stderr, _exit_code(status_text))

    def create_token(
        self, namespace: str, sa: str, audience: str, expiration_seconds: int = 600
    ) -> str:
        """Mint a service-account token (TokenRequest). Writes to the cluster: explicit action only."""
        body = {"spec": {"audiences": [audience], "expirationSeconds": expiration_seconds}}
        try:
            response = self.core.create_namespaced_service_account_token(
                sa, namespace, body, _preload_content=False
            )
        except ApiException as error:
            raise _cluster_error(f"create token for {namespace}/{sa}", error) from error
        token = (json.loads(response.data).get("status") or {}).get("token")
        if not token:
            raise ClusterError(f"the API server returned no token for {namespace}/{sa}")
        return token

    def close(self) -> None:
        """Release the connection pool."""
        self._api_client.close()

    # What another process needs to read the cluster as this source does, without its connections.
    _HANDED_OVER = (
        "host", "api_key", "api_key_prefix", "username", "password", "verify_ssl", "ssl_ca_cert",
        "ca_cert_data", "cert_file", "key_file", "assert_hostname", "tls_server_name", "proxy",
        "no_proxy", "proxy_headers", "connection_pool_maxsize", "retries",
    )

    def handover(self) -> dict[str, Any]:
        """`KubeSource(**handover())` in another process reads the same cluster as the same user.

        It carries the client settings as resolved here (the bearer token an exec plugin such as
        `aws eks get-token` produced, certificate file paths), so the other process does not run
        the plugin again. In memory only: never written anywhere.
        """
        configuration = self._api_client.configuration
        settings = {name: getattr(configuration, name) for name in self._HANDED_OVER if hasattr(configuration, name)}
        return {"context": self.context, "kubeconfig": self.kubeconfig, "settings": settings}


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    out = {}
    if label_selector:
        out["label_selector"] = label_selector
    if field_selector:
        out["field_selector"] = field_selector
    return out


def _cluster_error(what: str, error: ApiException) -> ClusterError:
    reason = error.reason or ""
    try:
        reason = json.loads(error.body).get("message") or reason
    except Exception:
        pass
    return ClusterError(f"{what}: HTTP {error.status} {reason}".strip())


def _handshake_message(error: Exception) -> str:
    """The API server's own words from a refused websocket upgrade.

    The client reports it as "Handshake status 400 Bad Request -+-+- {headers} -+-+- {body}";
    the body is a Status object whose message says why (e.g. "cannot exec into a container in
    a completed pod; current phase is Failed").
    """
    text = str(getattr(error, "reason", None) or error)
    body = text.rsplit("-+-+-", 1)[-1].strip()
    try:
        status = json.loads(body)
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
    except ValueError:
        pass
    return text.split("-+-+-", 1)[0].strip() or type(error).__name__


def _exit_code(status_text: str | None) -> int | None:
    """The exit code from the channel-3 Status object (`Success`, or causes[ExitCode].message)."""
    if not status_text:
        return None
    try:
        status = json.loads(status_text)
    except ValueError:
        return None
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message"))
            except (TypeError, ValueError):
                return None
    return None


