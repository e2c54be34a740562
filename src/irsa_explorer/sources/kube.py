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
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from irsa_explorer.model import (
    POD_IDENTITY_AGENT_NAMESPACE,
    POD_IDENTITY_AGENT_SELECTOR,
    AgentPod,
    IssuerInfo,
    Node,
    Pod,
    ServiceAccount,
    Unavailable,
)
from irsa_explorer.sources.kube_convert import node_from_dict, pod_from_dict, service_account_from_dict
from irsa_explorer.sources.kube_paging import CoreV1Lists, GaveUp, page_bodies
from irsa_explorer.sources.kube_tls import data_to_files, files_to_data
from irsa_explorer.sources.kubeconfig import (
    ExecPlugin,
    ExecPluginError,
    KubeconfigError,
    choose_context,
    load_configuration,
)

T = TypeVar("T")


class ClusterError(Exception):
    """The cluster could not be asked at all (unreachable, not authenticated, bad kubeconfig).

    Distinct from a forbidden lookup, which is an `Unavailable` value inside a result.
    """


class WatchForbidden(ClusterError):
    """The API server refused a watch (403): the caller may watch less instead."""


DEFAULT_REQUEST_TIMEOUT = 10.0  # seconds; `--request-timeout`, as kubectl's (0: none)
WATCH_BACKOFF = (1.0, 30.0)  # a lost watch reconnects after 1 s, doubling up to 30 s


@dataclass(frozen=True)
class WatchStatus:
    """How a watch is doing, for a UI to show: "reconnecting" (the watch was lost; the next try
    is `retry_in` seconds away, `attempt` counts the tries since it was last up), "watching"
    (it is up again after being lost) or "forbidden" (the API server refuses to let us watch
    `resource` at all; what was listed stays as listed)."""

    state: str  # "reconnecting" | "watching" | "forbidden"
    reason: str  # why it was lost or refused, one line ("" once watching again)
    attempt: int = 0
    retry_in: float = 0.0
    resource: str = "pods"  # "pods", "serviceaccounts", "nodes"

    def __str__(self) -> str:
        if self.state == "watching":
            return f"watching {self.resource} again"
        if self.state == "forbidden":
            return f"watching {self.resource} is forbidden ({self.reason}): changes to them are not seen"
        return f"watch lost: {self.reason}; reconnecting in {self.retry_in:g} s (attempt {self.attempt})"


class _Retry(urllib3.Retry):
    """urllib3's retries, except for timeouts: a request that waited the whole timeout is not
    sent again (kubectl does not either), so "no answer in N s" means N seconds, not N times
    the attempts. Refused or reset connections and 429/503 answers are retried with backoff."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # type: ignore[override]
        timed_out = isinstance(error, urllib3.exceptions.ReadTimeoutError) or (
            isinstance(error, urllib3.exceptions.ConnectTimeoutError)
            and not isinstance(error, urllib3.exceptions.NewConnectionError)  # refused: retry
        )
        if timed_out:
            raise urllib3.exceptions.MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _retries() -> urllib3.Retry:
    # Three tries for a refused connection (after 0.5 s and 1 s), two more after a 429 or 503
    # (honouring Retry-After); reads are not retried (a list page is asked again by the caller).
    return _Retry(
        total=3, connect=2, read=0, status=2, backoff_factor=0.5, backoff_max=8,
        status_forcelist=(429, 503), respect_retry_after_header=True, raise_on_status=False,
    )


class _TimedApiClient(client.ApiClient):
    """An ApiClient whose every request has connect and read timeouts unless the call names its
    own (the generated client sends none by default: a silent server would hang it forever)."""

    def __init__(self, configuration: client.Configuration, timeout: float | None) -> None:
        super().__init__(configuration)
        self.request_timeout = timeout or None

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):  # type: ignore[override]
        if _request_timeout is None and self.request_timeout:
            _request_timeout = (self.request_timeout, self.request_timeout)
        return super().call_api(method, url, header_params, body, post_params, _request_timeout)


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
        self,
        context: str | None = None,
        kubeconfig: str | None = None,
        *,
        settings: dict[str, Any] | None = None,
        request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        """Reads the kubeconfig at once (raises ClusterError naming the file and the context);
        an exec plugin (`aws eks get-token`) runs on the first request, in the caller's worker.

        `settings`: the client settings another KubeSource resolved (`handover()`), used instead
        of resolving the context's user again (no second run of an exec plugin).
        `request_timeout`: seconds each request may wait to connect and between bytes (0/None:
        no limit), as kubectl's --request-timeout."""
        try:
            choice = choose_context(kubeconfig, context)
        except KubeconfigError as error:
            raise ClusterError(str(error)) from None
        self._choice = choice
        self.context: str = choice.name
        self._context_entry: dict[str, Any] = choice.context
        self.kubeconfig = kubeconfig  # the file named (None: $KUBECONFIG or ~/.kube/config)
        self.request_timeout = request_timeout or None
        self._exec: ExecPlugin | None = None
        configuration = client.Configuration()
        if settings is not None:
            for name, value in data_to_files(settings).items():
                setattr(configuration, name, value)
        else:
            try:
                load_configuration(choice, configuration)
            except KubeconfigError as error:
                raise ClusterError(str(error)) from None
            if choice.exec_config is not None:
                # three request timeouts: the plugin (`aws eks get-token`) may resolve an SSO or
                # assume-role session, then sign its token, before it answers
                self._exec = ExecPlugin(choice, 3 * self.request_timeout if self.request_timeout else None)
                configuration.refresh_api_key_hook = self._exec.refresh
                # the client asks the hook only for a key it has: a placeholder, replaced by
                # the plugin's token before the first request goes out
                configuration.api_key["BearerToken"] = "Bearer "
        configuration.retries = _retries()
        self.server: str = configuration.host
        self._api_client = _TimedApiClient(configuration, self.request_timeout)
        self._user_exec_args = self._exec.command[1:] if self._exec else [
            str(a) for a in ((choice.exec_config or {}).get("args") or [])
        ]
        self.core = CoreV1Lists(self._api_client)
        self._issuer: IssuerInfo | None = None
        self._issuer_lock = threading.Lock()

    # -- kubeconfig facts ----------------------------------------------------------------

    def aws_profile(self) -> str | None:
        """The AWS profile the context's exec plugin uses (`aws eks update-kubeconfig --profile P`
        writes AWS_PROFILE into its env; `--profile P` in its args works too)."""
        return self._choice.exec_env("AWS_PROFILE") or _exec_arg(self._user_exec_args, "--profile")

    def contexts(self) -> list[str]:
        """Every context name of the kubeconfig."""
        return list(self._choice.contexts)

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
        return (
            _exec_arg(self._user_exec_args, "--region")
            or self._choice.exec_env("AWS_REGION")
            or self._choice.exec_env("AWS_DEFAULT_REGION")
        )

    # -- failures in words ---------------------------------------------------------------------

    def failure(self, what: str, error: BaseException) -> ClusterError:
        """One line for a request that failed: the API server's answer, or what the connection
        did ("no answer from https://… in 10 s"), naming the context; the exec plugin's own
        words when it is what failed."""
        if isinstance(error, ClusterError):
            return error
        if isinstance(error, GaveUp):  # a page that failed every time it was asked for
            return ClusterError(f"{self.failure(what, error.error)} (asked {error.tries} times)")
        if isinstance(error, ExecPluginError):
            return ClusterError(str(error))
        if isinstance(error, ApiException) and error.status:
            found = _cluster_error(what, error)
            if error.status == 401:
                hint = (
                    f" — check that `{self._exec.shown}` works and that your IAM principal may use the cluster"
                    if self._exec is not None
                    else " — the context's credentials are not accepted; refresh them"
                )
                return ClusterError(f"{what}: the API server {self.server} refused the credentials of context "
                                    f"{self.context!r} (HTTP 401){hint}")
            return found
        said = transport_problem(error, self.server, self.request_timeout)
        return ClusterError(f"{said} ({what}, context {self.context!r})")

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
        except Exception as error:  # the API server's answer, connection and TLS errors, the exec plugin
            raise self.failure(f"list {kind}", error) from None

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
        readable = self.readable_namespaces()
        if isinstance(readable, Unavailable):
            namespaces = [self.default_namespace]
            why = "listing namespaces is forbidden too" if readable.kind == "forbidden" else str(readable)
            notes.append(f"{why}: showing only the context's namespace {self.default_namespace!r}")
        else:
            namespaces = readable
            notes.append(f"showing the {len(namespaces)} namespaces that could be read one by one")
        items: list[T] = []
        versions: list[str] = []
        failed: list[BaseException] = []
        for ns in namespaces:
            try:
                converted, version = self._paged(ns_call, convert, on_page, namespace=ns, **kwargs)
            except ApiException as error:
                if error.status != 403:
                    raise
                notes.append(f"listing {kind} in namespace {ns!r} is forbidden: not shown")
                continue
            except GaveUp as error:  # one namespace that keeps failing: the others are still shown
                failed.append(error)
                notes.append(f"{self.failure(f'list {kind} in namespace {ns!r}', error)}: not shown")
                continue
            items.extend(converted)
            versions.append(version)
        if failed and not versions:  # none could be listed: nothing to show
            raise failed[0]
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
            return Unavailable(str(self.failure("list namespaces", error)))
        except Exception as error:  # after its retries: the caller falls back to the context's namespace
            return Unavailable(str(self.failure("list namespaces", error)))
        return [str((o.get("metadata") or {}).get("name")) for o in raw if isinstance(o, dict)]

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
        """Every node, or Unavailable when the user may not list nodes (common for namespace
        users) or the list failed after its retries: what depends on nodes is then unknown,
        and the rest goes on (the pod list says when the cluster cannot be asked at all)."""
        try:
            nodes, _ = self._paged(self.core.list_node, node_from_dict)
        except ApiException as error:
            if error.status == 403:
                return Unavailable("listing nodes is forbidden", "list nodes", "forbidden")
            return Unavailable(str(self.failure("list nodes", error)))
        except Exception as error:
            return Unavailable(str(self.failure("list nodes", error)))
        return nodes

    def pod_identity_agents(self) -> tuple[AgentPod, ...] | Unavailable:
        """The EKS Pod Identity agent's pods (kube-system, the add-on's label): one list call."""
        what = f"list pods in {POD_IDENTITY_AGENT_NAMESPACE}"
        try:
            pods, _ = self._paged(self.core.list_namespaced_pod, pod_from_dict, namespace=POD_IDENTITY_AGENT_NAMESPACE,
                                  label_selector=POD_IDENTITY_AGENT_SELECTOR)
        except ApiException as error:
            if error.status == 403:
                return Unavailable(f"listing pods in {POD_IDENTITY_AGENT_NAMESPACE} is forbidden", what, "forbidden")
            return Unavailable(str(self.failure(what, error)))
        except Exception as error:  # an auxiliary list: the pod list itself says when the cluster is gone
            return Unavailable(str(self.failure(what, error)))
        return tuple(AgentPod(p.name, p.namespace, p.node_name, p.phase, p.status) for p in pods)

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
            if error.status:
                return Unavailable(f"issuer discovery failed: HTTP {error.status} {error.reason}")
            return Unavailable(f"issuer discovery failed: {self.failure('issuer discovery', error)}")
        except ValueError as error:  # not JSON
            return Unavailable(f"issuer discovery failed: the answer is not JSON ({error})")
        except Exception as error:  # no answer, connection cut, the exec plugin
            return Unavailable(f"issuer discovery failed: {self.failure('issuer discovery', error)}")
        issuer = discovery.get("issuer")
        if not issuer:
            return Unavailable("the discovery document names no issuer")
        return IssuerInfo(issuer=issuer, jwks=jwks)

    # -- watch (sources/kube_watch.py) -----------------------------------------------------

    def watch(
        self,
        resource: str,
        namespace: str | None,
        resource_version: str,
        stop: threading.Event,
        poll_seconds: int = 5,
        on_status: Callable[[WatchStatus], None] | None = None,
        backoff: tuple[float, float] = WATCH_BACKOFF,
        known: Iterable[Any] = (),
    ) -> Iterator[tuple[str, Any]]:
        """Yield ("ADDED"|"MODIFIED"|"DELETED", object) of `resource` ("pods",
        "serviceaccounts", "nodes") until `stop` is set: `kube_watch.watch`, which says how a
        lost watch reconnects, what `on_status` hears and what a forbidden watch does."""
        from irsa_explorer.sources.kube_watch import watch

        return watch(self, resource, namespace, resource_version, stop, poll_seconds, on_status, backoff, known)

    def watch_pods(
        self,
        namespace: str | None,
        resource_version: str,
        stop: threading.Event,
        poll_seconds: int = 5,
        on_status: Callable[[WatchStatus], None] | None = None,
        backoff: tuple[float, float] = WATCH_BACKOFF,
    ) -> Iterator[tuple[str, Pod]]:
        """`watch("pods", …)`: pods as they change, from `resource_version` until `stop` is set."""
        return self.watch("pods", namespace, resource_version, stop, poll_seconds, on_status, backoff)

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
        if self.request_timeout:
            # websocket-client has no per-call connect timeout: its default is the only one
            import websocket

            websocket.setdefaulttimeout(self.request_timeout)
        try:
            ws = stream(api.connect_get_namespaced_pod_exec, pod, namespace, **kwargs)
        except ExecPluginError as error:
            raise ClusterError(str(error)) from None
        except (TimeoutError, OSError) as error:  # no answer, refused (websocket-client's own errors)
            said = transport_problem(error, self.server, self.request_timeout)
            raise ClusterError(f"exec in pod {namespace}/{pod}: {said}") from None
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
        except Exception as error:
            raise self.failure(f"create token for {namespace}/{sa}", error) from None
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
        "no_proxy", "proxy_headers", "connection_pool_maxsize",
    )

    def handover(self) -> dict[str, Any]:
        """`KubeSource(**handover())` in another process reads the same cluster as the same user.

        It carries the client settings as resolved here (the bearer token an exec plugin such as
        `aws eks get-token` produced, certificate file paths — or, for the kubeconfig's own
        certificates, which live in this process's memory, their content), so the other process
        does not run the plugin again. In memory only: never written anywhere.
        """
        configuration = self._api_client.configuration
        if self._exec is not None:
            try:
                self._exec.refresh(configuration)  # the plugin's token, run here if not yet
            except ExecPluginError as error:
                raise ClusterError(str(error)) from None
        settings = {name: getattr(configuration, name) for name in self._HANDED_OVER if hasattr(configuration, name)}
        return {"context": self.context, "kubeconfig": self.kubeconfig, "settings": files_to_data(settings),
                "request_timeout": self.request_timeout}


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    out = {}
    if label_selector:
        out["label_selector"] = label_selector
    if field_selector:
        out["field_selector"] = field_selector
    return out


def transport_problem(error: BaseException, server: str, timeout: float | None) -> str:
    """What a connection-level failure means, in words: "no answer from URL in N s",
    "cannot connect to URL: connection refused", a TLS failure…"""
    seen: BaseException = error
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        seen = error.reason
    exc = urllib3.exceptions
    # NewConnectionError subclasses ConnectTimeoutError in urllib3: ask for it first
    if isinstance(seen, exc.NameResolutionError):
        return f"cannot connect to {server}: its host name does not resolve"
    if isinstance(seen, exc.NewConnectionError) or isinstance(seen, ConnectionRefusedError):
        if "refused" in str(seen).lower():
            return f"cannot connect to {server}: connection refused"
        return f"cannot connect to {server}: {_last_words(seen)}"
    if isinstance(seen, (exc.ReadTimeoutError, exc.ConnectTimeoutError, TimeoutError)):
        return f"no answer from {server} in {timeout:g} s" if timeout else f"no answer from {server}"
    if isinstance(seen, exc.SSLError) or (isinstance(error, ApiException) and "SSLError" in str(error.reason)):
        return f"TLS with {server} failed: {_last_words(seen if not isinstance(error, ApiException) else error.reason)}"
    if isinstance(seen, (exc.ProtocolError, ConnectionError)):
        return f"{server} closed the connection: {_last_words(seen)}"
    if isinstance(error, ApiException):
        return f"{server}: {_last_words(error.reason)}"
    if isinstance(error, ValueError):  # a body that is not the JSON asked for (or not UTF-8)
        return f"{server} answered with something that is not the JSON asked for"
    return f"{server}: {_last_words(error)}"


def _last_words(error: Any) -> str:
    """The innermost reason of an exception's text (urllib3 nests them: "…(Caused by X(…: why))")."""
    text = str(error).strip().splitlines()[-1] if str(error).strip() else "no reason given"
    text = re.sub(r"^<[^>]*>:\s*", "", text)
    match = re.search(r"\(([^()]*)\)+\s*$", text)
    inner = match.group(1) if match else text
    inner = re.sub(r"^\[(?:Errno|SSL[^\]]*)[^\]]*\]\s*", "", inner)
    inner = re.sub(r"\b[A-Za-z_.]*(?:Error|Exception)\b:?\s*", "", inner).strip() or inner  # no class names
    return inner[:200] or text[:200]


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
    return text.split("-+-+-", 1)[0].strip() or "the API server refused the connection upgrade"


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


