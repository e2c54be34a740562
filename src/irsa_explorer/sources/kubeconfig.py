"""The kubeconfig as kubectl reads it, with failures that name the file and the context, and
the user's exec credential plugin (`aws eks get-token`) run by us.

Files: `--kubeconfig FILE`, else every file of $KUBECONFIG (merged, the first file to name a
context, cluster or user wins), else ~/.kube/config — read with the kubernetes client's own
merger, so relative certificate paths resolve as the client resolves them.

Why the exec plugin is run here and not by the kubernetes client: the client hands the
plugin our terminal when stdout is one (its stderr would draw over the TUI), logs a failure
instead of raising it (the request then fails with an unrelated 401 or connection error), and
waits for the plugin forever. Here the plugin never sees a terminal, a failure is one line with
the plugin's own stderr (summarised), said once per source, and a hung plugin times out. The
ExecCredential protocol is small and stable (client.authentication.k8s.io v1 and v1beta1).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import yaml
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

from irsa_explorer.sources.kube_tls import TlsDataError, keep_in_memory

DEFAULT_KUBECONFIG = "~/.kube/config"
EXEC_REFRESH_MARGIN_S = 60  # run the plugin again this long before its token expires
EXEC_STDERR_CHARS = 400  # a summary, not the plugin's whole output


class KubeconfigError(Exception):
    """The kubeconfig cannot be used; the message names the file and the context."""


class ExecPluginError(KubeconfigError):
    """The context's exec credential plugin failed; the message carries its stderr."""


def kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    """The files kubectl would read, in order (existing or not)."""
    spec = kubeconfig or os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    return [os.path.expanduser(p) for p in spec.split(os.pathsep) if p]


def _named(paths: list[str]) -> str:
    return paths[0] if len(paths) == 1 else "$KUBECONFIG (" + ", ".join(paths) + ")"


@dataclass
class ContextChoice:
    """One context of a kubeconfig and what it points at."""

    files: str  # the file(s), as said in messages
    name: str
    context: dict[str, Any]
    cluster: dict[str, Any]
    user_name: str
    user: dict[str, Any]
    contexts: list[str] = field(default_factory=list)
    merged: Any = field(default=None, repr=False)  # the client's merged config (ConfigNode)

    @property
    def server(self) -> str:
        return str(self.cluster.get("server") or "")

    @property
    def exec_config(self) -> dict[str, Any] | None:
        value = self.user.get("exec")
        return value if isinstance(value, dict) else None

    def exec_env(self, name: str) -> str | None:
        """A variable the exec plugin's `env:` sets (e.g. AWS_PROFILE from update-kubeconfig --profile)."""
        for item in (self.exec_config or {}).get("env") or []:
            if isinstance(item, dict) and item.get("name") == name:
                return str(item.get("value") or "") or None
        return None


def choose_context(kubeconfig: str | None, context: str | None) -> ContextChoice:
    """The context to use (the named one, else the current one). Raises KubeconfigError."""
    paths = kubeconfig_paths(kubeconfig)
    files = _named(paths)
    existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        where = "--kubeconfig" if kubeconfig else ("$KUBECONFIG" if os.environ.get("KUBECONFIG") else "")
        said = f"{files} ({where})" if where else files
        raise KubeconfigError(
            f"no kubeconfig: {said} does not exist — run `aws eks update-kubeconfig --name CLUSTER "
            f"--region REGION`, or pass --kubeconfig FILE"
        )
    for path in existing:
        try:
            with open(path, encoding="utf-8") as handle:
                document = yaml.safe_load(handle)
        except OSError as error:
            raise KubeconfigError(f"cannot read kubeconfig {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise KubeconfigError(f"kubeconfig {path} is not text (UTF-8 YAML)") from None
        except RecursionError:
            raise KubeconfigError(f"kubeconfig {path} is nested too deeply to be a kubeconfig") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise KubeconfigError(f"kubeconfig {path} is not valid YAML{where}") from None
        if document is not None and not isinstance(document, dict):
            raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig (a YAML mapping)")
        problem = shape_problem(document or {})
        if problem:
            raise KubeconfigError(f"kubeconfig {path}: {problem}")
    try:
        merged = KubeConfigMerger(os.pathsep.join(existing)).config
    except ConfigException as error:  # an empty file
        if "is empty" in str(error):
            raise KubeconfigError(f"kubeconfig {files} is empty") from None
        raise KubeconfigError(f"kubeconfig {files}: {error}") from None
    if merged is None or not merged.value:
        raise KubeconfigError(f"kubeconfig {files} is empty")
    value = merged.value
    entries = {kind: {str(n.value.get("name")): n.value for n in value.get(kind) or [] if isinstance(n.value, dict)}
               for kind in ("contexts", "clusters", "users")}
    names = list(entries["contexts"])
    if not names:
        raise KubeconfigError(
            f"kubeconfig {files} has no contexts — run `aws eks update-kubeconfig --name CLUSTER --region REGION`"
        )
    chosen = context or value.get("current-context")
    if not chosen:
        raise KubeconfigError(
            f"kubeconfig {files} has no current context — pass --context NAME ({_listed(names)}) "
            f"or run `kubectl config use-context NAME`"
        )
    if chosen not in entries["contexts"]:
        raise KubeconfigError(f"context {chosen!r} is not in kubeconfig {files} ({_listed(names)})")
    settings = entries["contexts"][chosen].get("context") or {}
    cluster_name, user_name = str(settings.get("cluster") or ""), str(settings.get("user") or "")
    cluster = entries["clusters"].get(cluster_name)
    if cluster is None:
        raise KubeconfigError(
            f"context {chosen!r} of kubeconfig {files} names cluster {cluster_name!r}, which is not in the file"
        )
    user = entries["users"].get(user_name)
    if user is None and user_name:
        raise KubeconfigError(
            f"context {chosen!r} of kubeconfig {files} names user {user_name!r}, which is not in the file"
        )
    cluster_settings = cluster.get("cluster") or {}
    if not cluster_settings.get("server"):
        raise KubeconfigError(f"cluster {cluster_name!r} of kubeconfig {files} has no server")
    return ContextChoice(
        files=files, name=chosen, context=settings, cluster=cluster_settings, user_name=user_name,
        user=(user or {}).get("user") or {}, contexts=names, merged=merged,
    )


# What kubectl's kubeconfig schema says each field is; a value of another type is said as the
# file's place ("contexts[0].context.namespace is a list, not a string") rather than failing
# somewhere in the client.
_ENTRY = {"contexts": "context", "clusters": "cluster", "users": "user"}
_STRINGS = {
    "context": ("cluster", "user", "namespace"),
    "cluster": ("server", "certificate-authority", "certificate-authority-data", "tls-server-name", "proxy-url"),
    "user": ("token", "tokenFile", "username", "password", "client-certificate", "client-certificate-data",
             "client-key", "client-key-data"),
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "empty"}.get(type(value), "something else")


def shape_problem(document: dict[str, Any]) -> str | None:
    """Where a kubeconfig document is not shaped as kubectl reads it, in one phrase naming the
    place (`contexts[0].context`), or None."""
    current = document.get("current-context")
    if current is not None and not isinstance(current, str):
        return f"current-context is {_kind(current)}, not a context name"
    for section, inner in _ENTRY.items():
        entries = document.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            return f"{section} is {_kind(entries)}, not a list"
        for i, entry in enumerate(entries):
            place = f"{section}[{i}]"
            if not isinstance(entry, dict):
                return f"{place} is {_kind(entry)}, not a mapping with a name and a {inner}"
            if not isinstance(entry.get("name"), str) or not entry.get("name"):
                return f"{place} has no name"
            place = f"{place} ({entry['name']!r})"
            body = entry.get(inner)
            if body is None:
                continue
            if not isinstance(body, dict):
                return f"{place}.{inner} is {_kind(body)}, not a mapping"
            for key in _STRINGS[inner]:
                if key in body and not isinstance(body[key], str):
                    return f"{place}.{inner}.{key} is {_kind(body[key])}, not a string"
            if inner == "cluster" and "server" in body and not _is_url(body["server"]):
                return f"{place}.cluster.server {body['server'][:100]!r} is not an https:// URL"
            if inner == "cluster" and "proxy-url" in body and not _is_url(body["proxy-url"], proxy=True):
                return f"{place}.cluster.proxy-url {body['proxy-url'][:100]!r} is not a URL"
            if inner == "user" and "exec" in body:
                problem = _exec_problem(body["exec"])
                if problem:
                    return f"{place}.user.exec{problem}"
    return None


def _is_url(value: str, proxy: bool = False) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises for a port that is no number
    except ValueError:
        return False
    schemes = ("http", "https", "socks5", "socks5h") if proxy else ("http", "https")
    return parts.scheme in schemes and bool(parts.hostname)


def _exec_problem(plugin: Any) -> str | None:
    if not isinstance(plugin, dict):
        return f" is {_kind(plugin)}, not a mapping"
    if not isinstance(plugin.get("command"), str) or not plugin.get("command"):
        return ".command is not a program name"
    args = plugin.get("args")
    if args is not None and (not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args)):
        return ".args is not a list of strings"
    env = plugin.get("env")
    if env is not None:
        if not isinstance(env, list):
            return f".env is {_kind(env)}, not a list"
        for i, item in enumerate(env):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                return f".env[{i}] is not a mapping with a name and a value"
    return None


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:8]) + (f", … {len(names) - 8} more" if len(names) > 8 else "")
    return f"contexts: {shown}"


def load_configuration(choice: ContextChoice, configuration: Any) -> None:
    """Fill a `kubernetes.client.Configuration` from the context, as the client would — except
    that an exec plugin is not run here (see `ExecPlugin`). Raises KubeconfigError."""
    for node in choice.merged.value.get("users") or []:
        if isinstance(node.value, dict) and node.value.get("name") == choice.user_name:
            user = dict(node.value.get("user") or {})
            if user.pop("exec", None) is not None:
                node.value = dict(node.value, user=user)  # the merged copy only, never the file
    try:  # the CA, client certificate and key in memory only (kube_tls.py), never in temp files
        keep_in_memory(choice.merged, choice.files, str(choice.context.get("cluster") or ""), choice.user_name)
    except TlsDataError as error:
        raise KubeconfigError(f"{error} (context {choice.name!r})") from None
    try:
        KubeConfigLoader(config_dict=choice.merged, active_context=choice.name, config_base_path=None).load_and_set(
            configuration
        )
    except (ConfigException, OSError, ValueError) as error:
        raise KubeconfigError(f"cannot use context {choice.name!r} of kubeconfig {choice.files}: {error}") from None


class ExecPlugin:
    """The context's exec credential plugin: run on first use and again before its token
    expires, its token set on the client configuration (`refresh_api_key_hook`).

    A failure is kept: every request of the source fails with the same one line, and the plugin
    is not run again for each of them (an expired SSO session would otherwise be asked about
    once per request).
    """

    def __init__(self, choice: ContextChoice, timeout: float | None) -> None:
        exec_config = choice.exec_config or {}
        self.command = [str(exec_config.get("command") or "")] + [str(a) for a in exec_config.get("args") or []]
        self.api_version = str(exec_config.get("apiVersion") or "client.authentication.k8s.io/v1beta1")
        self.env = {str(i.get("name")): str(i.get("value") or "") for i in exec_config.get("env") or [] if isinstance(i, dict)}
        self.provide_cluster = bool(exec_config.get("provideClusterInfo"))
        self.choice = choice
        self.timeout = timeout
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires: float | None = None  # time.time() seconds
        self._failure: ExecPluginError | None = None

    @property
    def shown(self) -> str:
        """The command as a user would type it."""
        return shlex.join(self.command)

    def refresh(self, configuration: Any) -> None:
        """`Configuration.refresh_api_key_hook`: a valid token on the configuration, or raise."""
        configuration.api_key["BearerToken"] = "Bearer " + self.token()

    def token(self) -> str:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            fresh = self._token is not None and (
                self._expires is None or time.time() < self._expires - EXEC_REFRESH_MARGIN_S
            )
            if not fresh:
                try:
                    self._token, self._expires = self._run()
                except ExecPluginError as failure:
                    self._failure = failure
                    raise
            assert self._token is not None
            return self._token

    def _run(self) -> tuple[str, float | None]:
        where = f"context {self.choice.name!r}"
        if not self.command[0]:
            raise ExecPluginError(f"the exec plugin of {where} ({self.choice.files}) names no command")
        info: dict[str, Any] = {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        if self.provide_cluster:
            info["spec"]["cluster"] = {
                "server": self.choice.server,
                "certificate-authority-data": self.choice.cluster.get("certificate-authority-data"),
            }
        env = dict(os.environ, **self.env, KUBERNETES_EXEC_INFO=json.dumps(info))
        try:
            done = subprocess.run(
                self.command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=self.timeout or None,
            )
        except FileNotFoundError:
            hint = " — install the AWS CLI" if self.command[0] == "aws" else ""
            raise ExecPluginError(
                f"`{self.command[0]}`, the exec plugin of {where}, is not on PATH{hint}"
            ) from None
        except subprocess.TimeoutExpired:
            raise ExecPluginError(f"`{self.shown}` (exec plugin of {where}) gave no answer in {self.timeout:g} s") from None
        except OSError as error:
            raise ExecPluginError(f"`{self.shown}` (exec plugin of {where}) could not run: {error}") from None
        if done.returncode != 0:
            said = summarise(done.stderr) or summarise(done.stdout) or "no output"
            raise ExecPluginError(
                f"`{self.shown}` (exec plugin of {where}) failed with exit code {done.returncode}: {said}"
                + self._fix(done.stderr)
            )
        try:
            status = json.loads(done.stdout).get("status") or {}
        except (ValueError, AttributeError):
            raise ExecPluginError(f"`{self.shown}` (exec plugin of {where}) printed no ExecCredential JSON") from None
        token = status.get("token")
        if not token:
            raise ExecPluginError(
                f"`{self.shown}` (exec plugin of {where}) returned no token (client certificates from "
                f"exec plugins are not supported)"
            )
        return str(token), _expiry(status.get("expirationTimestamp"))

    def _fix(self, stderr: str) -> str:
        """The command that fixes what the AWS CLI said, when it is one we know."""
        profile = self.env.get("AWS_PROFILE") or _arg(self.command, "--profile") or os.environ.get("AWS_PROFILE")
        text = stderr.lower()
        if "sso" in text and ("expired" in text or "token" in text or "login" in text):
            return f" — run `aws sso login{f' --profile {profile}' if profile else ''}`"
        if "unable to locate credentials" in text:
            return " — run `aws configure` or set AWS_PROFILE"
        if "could not be found" in text and "profile" in text:
            return " — run `aws configure list-profiles` to see the profiles"
        return ""


def summarise(text: str | None) -> str:
    """A program's error output in one line: its last meaningful lines, masked, shortened."""
    from irsa_explorer.logfile import mask

    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    # Python tracebacks end with the error itself; other tools put it last too
    lines = [line for line in lines if not line.startswith(("Traceback", "File \"", "^"))]
    said = " ".join(lines[-2:])
    said = mask(said)
    return said if len(said) <= EXEC_STDERR_CHARS else "…" + said[-EXEC_STDERR_CHARS:]


def _arg(args: list[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _expiry(stamp: Any) -> float | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
