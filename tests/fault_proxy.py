"""An HTTP proxy between the sources and the lab that turns chosen answers into faults: a 500,
a garbage body, a dropped or truncated connection, a hang, a watch that ends at once.

Deterministic: which request gets which fault depends only on the rules, the request's key
(method, path without the query, watch or not, the AWS action) and how many requests with that
key came before it — never on timing or on how threads interleave. A rule either lists the
faults for the 1st, 2nd, … matching request (`plan=["500", "ok", "drop"]`), or turns a seeded
fraction of them into one fault (`fraction=0.3, fault="500", seed=1`): each (key, occurrence)
draws from its own `random.Random`, so the n-th nodes list gets the same answer in every run.

The proxy listens on plain HTTP on 127.0.0.1 and forwards to the lab over HTTP or HTTPS (the
lab's own certificate is not checked: the proxy is the lab's test double, not a client). Point
a kubeconfig's `server` (`kubeconfig_through`) or AWS_ENDPOINT_URL (`aws_env_through`) at it.

    proxy = FaultProxy(lab.kube_url, [Rule(lists("nodes"), plan=["500"] * 3)])
    kube = KubeSource(kubeconfig=str(kubeconfig_through(lab, proxy, tmp_path)))
    …
    proxy.close()

Faults: "ok" (forwarded), "500" (an Internal error as each API says it: a Status JSON for
Kubernetes, an InternalFailure XML/JSON for AWS), "503", "garbage" (200 with bytes that are no
JSON or XML), "drop" (the request is read and the connection closed without a word),
"truncate" (the upstream answer's headers and half its body, then closed), "hang" (read, and
never answered until the proxy closes), "end" (a watch: 200, chunked, no event, ended at once).
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import parse_qs, urlsplit

import yaml

FAULTS = ("ok", "500", "503", "garbage", "drop", "truncate", "hang", "end")


@dataclass(frozen=True)
class Request:
    """What a rule sees of one request."""

    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    action: str  # the AWS action (Action= of a query API, X-Amz-Target, or "" for Kubernetes)
    n: int = 0  # how many requests with this key came before this one

    @property
    def watch(self) -> bool:
        return self.query.get("watch", [""])[0] in ("true", "1")

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}{' watch' if self.watch else ''} {self.action}".strip()


Match = Callable[[Request], bool]


def lists(*resources: str) -> Match:
    """Kubernetes list requests (not watches) of these resources ("pods", "nodes", …; none: any)."""

    def match(request: Request) -> bool:
        if request.method != "GET" or request.watch or request.action or not request.path.startswith("/api"):
            return False
        last = request.path.rstrip("/").rsplit("/", 1)[-1]
        return last in resources if resources else last in ("pods", "serviceaccounts", "nodes", "namespaces")

    return match


def watches(*resources: str) -> Match:
    """Kubernetes watch requests of these resources (none: any)."""

    def match(request: Request) -> bool:
        last = request.path.rstrip("/").rsplit("/", 1)[-1]
        return request.watch and (not resources or last in resources)

    return match


def actions(*names: str) -> Match:
    """AWS requests of these actions (GetRole, DescribeInstances, …; none: any AWS request)."""
    return lambda request: bool(request.action) and (not names or request.action in names)


def path_matches(pattern: str) -> Match:
    compiled = re.compile(pattern)
    return lambda request: bool(compiled.search(request.path))


@dataclass
class Rule:
    """Faults for the requests `match` accepts: by `plan` (the n-th matching request of a key
    gets plan[n], "ok" after its end; [] = none), or a seeded `fraction` of them get `fault`,
    or (neither given) every one gets `fault`."""

    match: Match
    plan: Sequence[str] | None = None
    fraction: float = 0.0
    fault: str = "500"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (*(self.plan or ()), self.fault):
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r} (one of {', '.join(FAULTS)})")

    def decide(self, request: Request) -> str | None:
        if not self.match(request):
            return None
        if self.plan is not None:
            return self.plan[request.n] if request.n < len(self.plan) else "ok"
        if self.fraction:
            draw = random.Random(f"{self.seed}:{request.key}:{request.n}").random()
            return self.fault if draw < self.fraction else "ok"
        return self.fault


@dataclass
class Seen:
    """One request as the proxy handled it."""

    key: str
    n: int
    fault: str
    path: str = ""
    query: dict[str, list[str]] = field(default_factory=dict)


class FaultProxy:
    """The proxy: `url` to point clients at, `seen` what it did with each request."""

    def __init__(self, upstream: str, rules: Sequence[Rule] = ()) -> None:
        parts = urlsplit(upstream)
        self.upstream_https = parts.scheme == "https"
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or (443 if self.upstream_https else 80)
        self.rules = list(rules)
        self.seen: list[Seen] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.answered = threading.Condition(self.lock)  # notified after each request is decided
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True).start()

    def decide(self, method: str, path: str, query: dict[str, list[str]], action: str) -> tuple[str, int]:
        probe = Request(method, path, query, action)
        with self.lock:
            n = self.counts.get(probe.key, 0)
            self.counts[probe.key] = n + 1
            request = Request(method, path, query, action, n)
            fault = "ok"
            for rule in self.rules:
                chosen = rule.decide(request)
                if chosen is not None:
                    fault = chosen
                    break
            self.seen.append(Seen(request.key, n, fault, path, query))
            self.answered.notify_all()
        return fault, n

    def faults(self, name: str | None = None) -> list[Seen]:
        """The requests answered with a fault (this one, or any but "ok")."""
        with self.lock:
            return [s for s in self.seen if (s.fault == name if name else s.fault != "ok")]

    def wait_for(self, condition: Callable[[list[Seen]], bool], timeout: float = 120) -> bool:
        """Until `condition(seen)` holds (a hang guard, not a timing window)."""
        with self.lock:
            return self.answered.wait_for(lambda: condition(self.seen), timeout)

    def upstream(self) -> http.client.HTTPConnection:
        if self.upstream_https:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.upstream_host, self.upstream_port, context=context, timeout=120)
        return http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "host",
        "content-length"}  # Host: set again below


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        proxy = self.owner
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        action = _aws_action(self.headers, body, parts.path)
        fault, _ = proxy.decide(self.command, parts.path, query, action)
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "hang":
            proxy.closing.wait()
            self.close_connection = True
            return
        if fault in ("500", "503"):
            self._error(int(fault), action)
            return
        if fault == "garbage":
            self._send(200, {"Content-Type": "application/json"}, b"\x00\xff<html>not what was asked for\x1b[2J")
            return
        if fault == "end":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"0\r\n\r\n")
            return
        self._forward(body, truncate=fault == "truncate")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def _forward(self, body: bytes, truncate: bool) -> None:
        connection = self.owner.upstream()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        headers["Host"] = self.headers.get("Host") or f"{self.owner.upstream_host}:{self.owner.upstream_port}"  # signed by SigV4
        try:
            connection.request(self.command, self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
        except OSError:
            self.close_connection = True
            return
        out = {k: v for k, v in answer.getheaders() if k.lower() not in _HOP}
        if answer.getheader("Content-Length") is not None or self.command == "HEAD":
            data = answer.read()
            if truncate:
                self.send_response(answer.status)
                for k, v in out.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(answer.status, out, data)
            connection.close()
            return
        # streamed (a watch, a chunked list): relayed chunk by chunk as it comes
        self.send_response(answer.status)
        for k, v in out.items():
            self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            while not self.owner.closing.is_set():
                chunk = answer.read1(65536)
                if not chunk:
                    break
                if truncate and sent:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        finally:
            connection.close()

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, action: str) -> None:
        reason = "Internal Server Error" if status == 500 else "Service Unavailable"
        if not action:  # Kubernetes: a Status object, as the API server writes one
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "message": f"injected {status}", "reason": "InternalError", "code": status}).encode()
            self._send(status, {"Content-Type": "application/json"}, body)
        elif self.headers.get("X-Amz-Target") or "json" in (self.headers.get("Content-Type") or ""):
            body = json.dumps({"__type": "InternalFailure", "message": f"injected {status}"}).encode()
            self._send(status, {"Content-Type": "application/x-amz-json-1.1"}, body)
        else:
            code = "InternalFailure" if status == 500 else "ServiceUnavailable"
            body = (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>injected {status}"
                    f"</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
            self._send(status, {"Content-Type": "text/xml"}, body)
        _ = reason


def _aws_action(headers: Any, body: bytes, path: str) -> str:
    """The AWS action of a request, "" for anything that is no AWS request (Kubernetes)."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    authorization = headers.get("Authorization") or ""
    if not authorization.startswith("AWS4-HMAC-SHA256"):
        return ""
    if body and b"Action=" in body:
        found = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if found:
            return found[0]
    service = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", authorization)
    name = service.group(1) if service else "aws"
    return f"{name}:{path}"  # a REST API (EKS): the service and its path


def kubeconfig_through(kubeconfig: Path, proxy: FaultProxy, directory: Path, name: str = "kubeconfig-proxied") -> Path:
    """A copy of `kubeconfig` whose cluster is reached through the proxy (plain HTTP)."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = proxy.url
        cluster["cluster"].pop("certificate-authority-data", None)
        cluster["cluster"].pop("certificate-authority", None)
    path = Path(directory) / name
    path.write_text(yaml.safe_dump(config))
    return path


def aws_env_through(aws_env: dict[str, str], proxy: FaultProxy) -> dict[str, str]:
    """The lab's AWS environment with its endpoint through the proxy."""
    return dict(aws_env, AWS_ENDPOINT_URL=proxy.url)


def main(argv: list[str] | None = None) -> int:
    """`python tests/fault_proxy.py UPSTREAM --rule match=lists,fault=500,fraction=0.3,seed=1
    [--kubeconfig IN OUT]`: the proxy on its own, for a check by hand with the real CLI.
    match: lists[:RESOURCE…], watches[:RESOURCE…], aws[:ACTION…]; fault: one of FAULTS;
    fraction+seed, or plan=500/ok/drop (the n-th matching request of a key)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("upstream")
    parser.add_argument("--rule", action="append", default=[])
    parser.add_argument("--kubeconfig", nargs=2, metavar=("IN", "OUT"))
    args = parser.parse_args(argv)
    rules = []
    for text in args.rule:
        fields = dict(part.split("=", 1) for part in text.split(","))
        kind, _, names = fields.pop("match", "lists").partition(":")
        chosen = {"lists": lists, "watches": watches, "aws": actions}[kind](*filter(None, names.split(":")))
        plan = fields.pop("plan", "")
        rules.append(Rule(chosen, plan=plan.split("/") if plan else None, fraction=float(fields.pop("fraction", 0)),
                          fault=fields.pop("fault", "500"), seed=int(fields.pop("seed", 0))))
    proxy = FaultProxy(args.upstream, rules)
    if args.kubeconfig:
        source, target = (Path(p) for p in args.kubeconfig)
        kubeconfig_through(source, proxy, target.parent, target.name)
    print(proxy.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        faults: dict[str, int] = {}
        for seen in proxy.faults():
            faults[f"{seen.fault} {seen.key}"] = faults.get(f"{seen.fault} {seen.key}", 0) + 1
        for what, count in sorted(faults.items()):
            print(f"{count:5} {what}")
        proxy.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
