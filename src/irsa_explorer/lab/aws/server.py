"""The lab's AWS account: moto in server mode behind a WSGI middleware that adds what moto lacks.

One HTTP endpoint on 127.0.0.1 serves every service (boto3 `endpoint_url`). moto answers
IAM, STS, EC2, EKS and S3. The middleware in front of it:
- enforces IAM: every request must be signed by real lab credentials whose policies allow
  it (aws_auth, with moto's own checker), except the calls AWS accepts unsigned;
- counts requests by `service:Action`, adds per-service latency, answers `Throttling`
  beyond a per-service rate (`GET /_lab/stats` shows the counters);
- answers STS AssumeRoleWithWebIdentity with AWS's checks (aws_sts);
- serves instance metadata per node (aws_imds) and EKS Pod Identity (aws_pod_identity);
- makes EKS report the lab's OIDC issuer instead of moto's random one.

moto keeps its state in process-wide backends, so one AwsLab runs per process at a time;
`start()` resets moto's state.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from irsa_explorer.lab.aws import auth as aws_auth
from irsa_explorer.lab.aws import moto_backends as aws_moto  # it sets MOTO_IAM_LOAD_MANAGED_POLICIES before moto loads
from irsa_explorer.lab.aws.cloudtrail import CloudTrail
from irsa_explorer.lab.aws.imds import PREFIX as IMDS_PREFIX
from irsa_explorer.lab.aws.imds import InstanceMetadata
from irsa_explorer.lab.aws.pod_identity import AGENT_PREFIX, PodIdentity
from irsa_explorer.lab.aws.sts import IssuerKeys, WebIdentitySts
from irsa_explorer.lab.aws.traffic import Traffic
from irsa_explorer.lab.aws.wire import AwsRequest, Response, error_for, json_error, read_request
from irsa_explorer.lab.spec import LabCluster

ADMIN_USER = "lab-admin"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
# What AWS Organizations creates in every account it creates: a role the management account
# assumes, with AdministratorAccess. A lab's member accounts are reached the same way.
MEMBER_ACCESS_ROLE = "OrganizationAccountAccessRole"
_STATS_PATH = "/_lab/stats"
# Requests the lab answers without a signature, as AWS does.
_UNSIGNED_OK = {"sts:AssumeRoleWithWebIdentity"}

StartResponse = Callable[..., Any]


class AwsLab:
    """The simulated AWS account of one lab cluster. `start()` it, then point boto3 at
    `endpoint_url` with `admin_credentials`."""

    def __init__(
        self,
        cluster: LabCluster,
        *,
        latency: dict[str, float] | None = None,
        throttle: dict[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cluster = cluster
        self.account = cluster.account
        self.region = cluster.region
        self.traffic = Traffic(latency, throttle, clock)  # clock: when the throttle's buckets refill
        self.keys = IssuerKeys()
        self.sts = WebIdentitySts(self.keys, self.region)
        self.imds = InstanceMetadata(self.account, self.region)
        self.cluster_issuers: dict[str, str] = {cluster.name: cluster.issuer}
        self.pod_identity = PodIdentity(self.account, self.region, self.keys, self.cluster_issuers)
        self.cloudtrail = CloudTrail(self.account, self.region)  # every call answered, as events (LookupEvents)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._moto_app: Any = None
        self._admin: tuple[str, str] | None = None
        self._enforcing = False
        self.member_accounts: list[str] = []  # other accounts of the lab (add_account)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on a free 127.0.0.1 port, create the admin user and the EKS cluster (named and
        with the issuer of LabCluster), then turn IAM enforcement on. About half a second on an
        idle machine, most of it moto loading the AWS-managed policies."""
        from werkzeug.serving import make_server

        aws_moto.forget_all_state()
        self._moto_app = aws_moto.moto_app()  # the lab host's warmed app in a forked lab
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_QuietHandler)
        # A short poll interval: stop() waits for the serving loop to notice the shutdown.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="aws-lab", daemon=True
        )
        self._thread.start()

        self._bootstrap()
        # From here on every request needs a valid signature and a policy that allows it.
        self._enforcing = True
        self.traffic.reset()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._enforcing = False

    def __enter__(self) -> AwsLab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bootstrap(self) -> None:
        """The admin user and the EKS cluster, made in moto's backends directly: the lab's own
        setup is not API traffic, and skipping HTTP and client creation keeps start fast."""
        from moto.eks.models import eks_backends

        iam = aws_moto.iam(self.account)
        iam.create_user(region_name=self.region, user_name=ADMIN_USER)
        iam.attach_user_policy(policy_arn=ADMINISTRATOR_ACCESS, user_name=ADMIN_USER)
        key = iam.create_access_key(user_name=ADMIN_USER)
        self._admin = (key.access_key_id, key.secret_access_key)
        eks_backends[self.account][self.region].create_cluster(
            name=self.cluster.name,
            role_arn=f"arn:aws:iam::{self.account}:role/{self.cluster.name}-cluster-role",
            resources_vpc_config={"subnetIds": []},
            version=self.cluster.version,
        )
        self._pin_issuer(self.cluster.name)

    def add_account(self, account: str) -> str:
        """Another AWS account in the lab, as AWS Organizations makes a member account: its
        role OrganizationAccountAccessRole trusts the lab's account (`:root`) and has
        AdministratorAccess. Returns that role's ARN; the lab's admin assumes it (sts:AssumeRole)
        to act in the account. Requests are served in the account of the key that signs them.
        """
        role_arn = f"arn:aws:iam::{account}:role/{MEMBER_ACCESS_ROLE}"
        if account == self.account or account in self.member_accounts:
            return role_arn
        iam = aws_moto.iam(account)
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                           "Action": "sts:AssumeRole"}],
        }
        iam.create_role(role_name=MEMBER_ACCESS_ROLE, assume_role_policy_document=json.dumps(trust), path="/",
                        permissions_boundary=None, description="Lab member account access", tags=[],
                        max_session_duration="3600")
        iam.attach_role_policy(policy_arn=ADMINISTRATOR_ACCESS, role_name=MEMBER_ACCESS_ROLE)
        self.member_accounts.append(account)
        return role_arn

    def _pin_issuer(self, name: str) -> None:
        """moto gives each cluster a random issuer; the lab's tokens carry LabCluster.issuer."""
        from moto.eks.models import eks_backends

        cluster = eks_backends[self.account][self.region].clusters.get(name)
        if cluster is not None and name in self.cluster_issuers:
            cluster.identity = {"oidc": {"issuer": self.cluster_issuers[name]}}

    # --- public API -----------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """One URL for every service (boto3 `endpoint_url`, aws CLI `--endpoint-url`)."""
        if self._server is None:
            raise RuntimeError("AwsLab is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def admin_credentials(self) -> tuple[str, str]:
        """(access key id, secret) of an IAM user with AdministratorAccess in the lab account."""
        if self._admin is None:
            raise RuntimeError("AwsLab is not started")
        return self._admin

    def register_issuer(self, issuer_url: str, jwks: dict[str, Any]) -> None:
        """Make STS and EKS Auth trust tokens of `issuer_url` signed by these keys (AWS would
        fetch them from the issuer's discovery document)."""
        self.keys.register(issuer_url, jwks)

    def register_node(self, node_name: str, instance_id: str) -> None:
        """Tie a Kubernetes node to its EC2 instance (the node's providerID). Without it, IMDS
        looks for an instance whose private DNS name or Name tag is the node name."""
        self.imds.register_node(node_name, instance_id)

    def imds_url(self, node_name: str, *, host_network: bool = False) -> str:
        """Base URL of the instance metadata service as seen from a pod on `node_name` (or,
        with host_network, from the node itself); the SDK appends /latest/...."""
        vantage = "host" if host_network else "pod"
        return f"{self.endpoint_url}{IMDS_PREFIX}{quote(node_name, safe='')}/{vantage}"

    @property
    def pod_identity_agent_url(self) -> str:
        """Base URL standing in for http://169.254.170.23 (the SDK calls .../v1/credentials)."""
        return f"{self.endpoint_url}{AGENT_PREFIX}"

    def pod_identity_role(self, namespace: str, service_account: str) -> str | None:
        """The role ARN of the lab cluster's Pod Identity association for this SA, if any."""
        return self.pod_identity.role_for(self.cluster.name, namespace, service_account)

    @property
    def counters(self) -> dict[str, int]:
        """Requests received by `service:Action` since start (throttled ones included)."""
        return self.traffic.counters()

    def reset_counters(self) -> None:
        self.traffic.reset()

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_lab/"):
            return _respond(start_response, self._lab_route(environ, path))

        request = read_request(environ)
        if not self.cloudtrail.wanted(request):
            return self._serve(request, environ, start_response)
        # answered in full first, so its event is in the history before the caller has the answer
        status, headers, body = _call(lambda env, respond: self._serve(request, env, respond), environ)
        self.cloudtrail.record(request, environ, int(status.split(" ", 1)[0]), dict(headers), body)
        start_response(status, headers)
        return [body]

    def _serve(self, request: AwsRequest, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        admitted = self.traffic.admit(request.service, request.kind)
        self.traffic.delay(request.service)
        if not admitted:
            if request.service == "s3":  # S3 has its own word for it
                return _respond(start_response, error_for(request, 503, "SlowDown", "Please reduce your request rate."))
            return _respond(start_response, error_for(request, 400, "Throttling", "Rate exceeded"))
        # Served in the account the signing key belongs to (a lab may hold member accounts);
        # moto would otherwise put unsigned and unknown-key requests in its default account.
        account = self.account
        if request.access_key_id and self.member_accounts:
            account = aws_moto.account_of_key(request.access_key_id) or self.account
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = account

        if request.kind == "sts:AssumeRoleWithWebIdentity":
            return _respond(start_response, self.sts.handle(request))
        if self._enforcing and request.kind not in _UNSIGNED_OK:
            if not request.signed:
                return _respond(
                    start_response, error_for(request, 403, "MissingAuthenticationToken", "Missing Authentication Token")
                )
            refused = aws_auth.check(request, environ, account)
            if refused is not None:
                return _respond(start_response, refused)
        if request.kind == "cloudtrail:LookupEvents":
            return _respond(start_response, self.cloudtrail.lookup(request, account))
        if self.pod_identity.handles(request):
            return _respond(start_response, self.pod_identity.handle(request))
        if request.kind == "eks:CreateCluster":
            return self._create_cluster(environ, start_response, request)
        try:
            return self._moto_app(environ, start_response)
        except (ValueError, KeyError, IndexError):
            # moto reads pagination tokens as its own offsets or names and fails on any other
            # string (a 500); AWS answers a made-up token with the caller's error
            refusal = _invalid_token(request)
            if refusal is None:
                raise
            return _respond(start_response, refusal)

    def _create_cluster(self, environ: dict[str, Any], start_response: StartResponse, request: AwsRequest) -> Iterable[bytes]:
        status, headers, body = _call(self._moto_app, environ)
        if status.startswith("200"):
            name = request.json_body().get("name")
            if name == self.cluster.name:
                self._pin_issuer(name)
                payload = json.loads(body)
                payload["cluster"]["identity"] = {"oidc": {"issuer": self.cluster.issuer}}
                body = json.dumps(payload).encode()
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def _lab_route(self, environ: dict[str, Any], path: str) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if path == _STATS_PATH:
            if method == "DELETE":
                self.traffic.reset()
            stats = {
                "counters": self.traffic.counters(),
                "throttled": self.traffic.throttled(),
                "delayed_seconds": self.traffic.delayed(),
            }
            return 200, {"Content-Type": "application/json"}, json.dumps(stats, indent=2).encode()
        if path.startswith(IMDS_PREFIX):
            rest = path[len(IMDS_PREFIX):]
            kind = "imds:GetToken" if rest.endswith("/latest/api/token") else (
                "imds:GetCredentials" if "/security-credentials/" in rest and not rest.endswith("/") else "imds:GetMetadata"
            )
            admitted = self.traffic.admit("imds", kind)
            self.traffic.delay("imds")
            if not admitted:
                return 429, {"Content-Type": "text/plain"}, b"Too Many Requests"
            answer = self.imds.handle(method, rest, headers)
            if kind == "imds:GetCredentials":
                self.cloudtrail.credentials_served("ec2.amazonaws.com", self.account, answer)
            return answer
        if path.startswith(AGENT_PREFIX + "/") or path == AGENT_PREFIX:
            self.traffic.admit("pod-identity-agent", "pod-identity-agent:GetCredentials")
            admitted = self.traffic.admit("eks-auth", "eks-auth:AssumeRoleForPodIdentity")
            self.traffic.delay("eks-auth")
            if not admitted:
                return json_error(400, "ThrottlingException", "Rate exceeded")
            answer = self.pod_identity.agent(self.cluster.name, method, path[len(AGENT_PREFIX):], headers)
            self.cloudtrail.agent_answered(self.cluster.name, headers, answer, self.pod_identity.role_for)
            return answer
        return 404, {"Content-Type": "text/plain"}, b"Not Found"


# service → (pagination parameter as sent, error code, message) for the APIs moto pages
_TOKEN_ERRORS = {
    "iam": ("Marker", "ValidationError", "Invalid Marker."),
    "ec2": ("NextToken", "InvalidParameterValue", "The NextToken is invalid."),
    "eks": ("nextToken", "InvalidParameterException", "The nextToken provided is not valid."),
}


def _invalid_token(request: AwsRequest) -> Response | None:
    """The 400 for a request whose pagination token moto could not read, None if it had none."""
    known = _TOKEN_ERRORS.get(request.service)
    if known is None:
        return None
    name, code, message = known
    return error_for(request, 400, code, message) if request.form.get(name) else None


def _respond(start_response: StartResponse, response: Response) -> Iterable[bytes]:
    status, headers, body = response
    headers = dict(headers)
    headers["Content-Length"] = str(len(body))
    start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
    return [body]


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app and collect its whole answer (to adjust it before sending)."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured["status"], list(captured["headers"]), body


def _quiet_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietHandler(MotoRequestHandler):
        """moto's handler without the per-request access log on stderr."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

        def log(self, *args: Any, **kwargs: Any) -> None:
            pass

    return QuietHandler


_QuietHandler = _quiet_handler()

__all__ = ["ADMIN_USER", "AwsLab"]
