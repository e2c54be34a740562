"""EKS Pod Identity, which moto lacks: associations (EKS API), EKS Auth
`AssumeRoleForPodIdentity`, and the node agent's `GET /v1/credentials`.

The wire shapes follow the EKS and EKS Auth REST-JSON models, so boto3's
`eks.create/list/describe/delete_pod_identity_association` and `eks-auth` work unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, unquote

from irsa_explorer.lab.aws import moto_backends as aws_moto
from irsa_explorer.lab.determinism import id_random
from irsa_explorer.lab.aws.sts import (
    IssuerKeys,
    StsRejection,
    audiences,
    check_expiry,
    trust_document,
    unverified_claims,
    verify_signature,
)
from irsa_explorer.lab.aws.wire import AwsRequest, Response, json_error, json_response
from irsa_explorer.model import POD_IDENTITY_AUDIENCE

AGENT_PREFIX = "/_lab/pod-identity"
_ASSOCIATIONS_PATH = re.compile(r"^/clusters/([^/]+)/pod-identity-associations(?:/([^/]+))?/?$")
_EKS_AUTH_PATH = re.compile(r"^/clusters/([^/]+)/assume-role-for-pod-identity/?$")
_SUBJECT = re.compile(r"^system:serviceaccount:([^:]+):([^:]+)$")
UNAUTHORIZED = "Unauthorized Exception! EKS does not have permissions to assume the associated role."
MAX_RESULTS = 100  # ListPodIdentityAssociations: maxResults 1..100, 100 when not given


@dataclass
class Association:
    cluster_name: str
    namespace: str
    service_account: str
    role_arn: str
    association_id: str
    association_arn: str
    created_at: datetime
    modified_at: datetime
    tags: dict[str, str] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        """The `association` object as EKS returns it."""
        return {
            "clusterName": self.cluster_name,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "roleArn": self.role_arn,
            "associationArn": self.association_arn,
            "associationId": self.association_id,
            "tags": self.tags,
            "createdAt": self.created_at.timestamp(),
            "modifiedAt": self.modified_at.timestamp(),
        }

    def summary(self) -> dict[str, Any]:
        """The shorter form ListPodIdentityAssociations returns (no roleArn, as in AWS)."""
        return {
            "clusterName": self.cluster_name,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "associationArn": self.association_arn,
            "associationId": self.association_id,
        }


def _page_key(association: Association) -> tuple[float, str]:
    """Listing order: oldest first, the id breaking ties."""
    return association.created_at.timestamp(), association.association_id


class PageTokens:
    """Opaque, tamper-evident `nextToken`s, as EKS asks clients to treat them.

    A token names where its page stopped and which listing it belongs to, signed with a key of
    this lab: a made-up, edited or truncated token, one from another lab, or one reused with
    other filters is refused (HTTP 400) instead of paging from a guess.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:16]

    def issue(self, after: tuple[float, str], scope: list[str | None]) -> str:
        body = json.dumps({"after": list(after), "scope": scope}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self._mac(body) + body).decode().rstrip("=")

    def read(self, token: str, scope: list[str | None]) -> tuple[float, str] | None:
        """Where the page stopped, or None when the token is not one this lab issued for `scope`."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        mac, body = raw[:16], raw[16:]
        if len(mac) < 16 or not hmac.compare_digest(mac, self._mac(body)):
            return None
        content = json.loads(body)  # ours, as the signature shows
        if content.get("scope") != scope:
            return None
        timestamp, association_id = content["after"]
        return float(timestamp), str(association_id)


def _new_association_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "a-" + "".join(id_random().choice(alphabet) for _ in range(17))  # moto's: `lab serve --seed` seeds it


class PodIdentity:
    """Associations of one lab account plus the credential exchange built on them."""

    def __init__(self, account: str, region: str, keys: IssuerKeys, cluster_issuer: dict[str, str]) -> None:
        self.account = account
        self.region = region
        self.keys = keys
        self.cluster_issuer = cluster_issuer  # cluster name → issuer URL (what EKS reports)
        self._lock = threading.Lock()
        self._associations: dict[str, Association] = {}  # by id
        self._pages = PageTokens()

    # --- lookups used by the Kubernetes side (admission) and the agent ---------------------

    def role_for(self, cluster: str, namespace: str, service_account: str) -> str | None:
        association = self._find(cluster, namespace, service_account)
        return association.role_arn if association else None

    def _find(self, cluster: str, namespace: str, service_account: str) -> Association | None:
        with self._lock:
            for association in self._associations.values():
                if (association.cluster_name, association.namespace, association.service_account) == (
                    cluster,
                    namespace,
                    service_account,
                ):
                    return association
        return None

    # --- EKS API --------------------------------------------------------------------------

    def handles(self, request: AwsRequest) -> bool:
        if request.service == "eks":
            return bool(_ASSOCIATIONS_PATH.match(request.path))
        return request.service == "eks-auth" and bool(_EKS_AUTH_PATH.match(request.path))

    def handle(self, request: AwsRequest) -> Response:
        if request.service == "eks-auth":
            cluster = unquote(_EKS_AUTH_PATH.match(request.path).group(1))  # type: ignore[union-attr]
            return self.assume_role_for_pod_identity(cluster, str(request.json_body().get("token", "")))
        match = _ASSOCIATIONS_PATH.match(request.path)
        assert match is not None
        cluster, association_id = unquote(match.group(1)), match.group(2)
        if cluster not in self.cluster_issuer:
            return json_error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.")
        if association_id is None:
            if request.method == "POST":
                return self._create(cluster, request.json_body())
            if request.method == "GET":
                return self._list(cluster, parse_qs(request.query))
        else:
            association_id = unquote(association_id)
            with self._lock:
                association = self._associations.get(association_id)
            if association is None or association.cluster_name != cluster:
                return json_error(
                    404,
                    "ResourceNotFoundException",
                    f"Pod Identity Association {association_id} not found in cluster {cluster}",
                )
            if request.method == "GET":
                return json_response({"association": association.wire()})
            if request.method == "DELETE":
                with self._lock:
                    self._associations.pop(association_id, None)
                return json_response({"association": association.wire()})
            if request.method == "POST":
                return self._update(association, request.json_body())
        return json_error(405, "InvalidRequestException", f"{request.method} not supported here")

    def _create(self, cluster: str, body: dict[str, Any]) -> Response:
        namespace = body.get("namespace")
        service_account = body.get("serviceAccount")
        role_arn = body.get("roleArn")
        if not (namespace and service_account and role_arn):
            return json_error(400, "InvalidParameterException", "namespace, serviceAccount and roleArn are required")
        existing = self._find(cluster, namespace, service_account)
        if existing is not None:
            return json_error(409, "ResourceInUseException", f"Association already exists: {existing.association_id}")
        problem = self._role_problem(role_arn)
        if problem:
            return json_error(400, "InvalidParameterException", problem)
        now = datetime.now(timezone.utc)
        association_id = _new_association_id()
        association = Association(
            cluster_name=cluster,
            namespace=namespace,
            service_account=service_account,
            role_arn=role_arn,
            association_id=association_id,
            association_arn=f"arn:aws:eks:{self.region}:{self.account}:podidentityassociation/{cluster}/{association_id}",
            created_at=now,
            modified_at=now,
            tags=dict(body.get("tags") or {}),
        )
        with self._lock:
            self._associations[association_id] = association
        return json_response({"association": association.wire()})

    def _update(self, association: Association, body: dict[str, Any]) -> Response:
        role_arn = body.get("roleArn")
        if role_arn:
            problem = self._role_problem(role_arn)
            if problem:
                return json_error(400, "InvalidParameterException", problem)
            with self._lock:
                association.role_arn = role_arn
                association.modified_at = datetime.now(timezone.utc)
        return json_response({"association": association.wire()})

    def _list(self, cluster: str, query: dict[str, list[str]]) -> Response:
        namespace = query.get("namespace", [None])[0]
        service_account = query.get("serviceAccount", [None])[0]
        raw_max = query.get("maxResults", [str(MAX_RESULTS)])[0]
        try:
            max_results = int(raw_max)
        except ValueError:
            max_results = 0
        if not 1 <= max_results <= MAX_RESULTS:
            return json_error(
                400, "InvalidParameterException", f"maxResults must be between 1 and {MAX_RESULTS}, not {raw_max!r}"
            )
        # the token belongs to one listing: the same cluster and filters, as AWS checks
        scope = [cluster, namespace, service_account]
        after = None
        if "nextToken" in query:
            after = self._pages.read(query["nextToken"][0], scope)
            if after is None:
                return json_error(400, "InvalidParameterException", "The nextToken provided is not valid.")
        with self._lock:
            matching = sorted(
                (
                    a
                    for a in self._associations.values()
                    if a.cluster_name == cluster
                    and (namespace is None or a.namespace == namespace)
                    and (service_account is None or a.service_account == service_account)
                ),
                key=_page_key,
            )
        # resume after the last association shown, not at an offset: one deleted between two
        # pages then shifts nothing (none skipped, none repeated)
        if after is not None:
            matching = [a for a in matching if _page_key(a) > after]
        page = matching[:max_results]
        payload: dict[str, Any] = {"associations": [a.summary() for a in page]}
        if len(matching) > max_results:
            payload["nextToken"] = self._pages.issue(_page_key(page[-1]), scope)
        return json_response(payload)

    def _role_problem(self, role_arn: str) -> str | None:
        """Why EKS would refuse this role for Pod Identity, or None (failure-catalogue F.19)."""
        role = aws_moto.find_role(role_arn) if role_arn.count(":") >= 5 else None
        if role is None:
            return f"Role provided does not exist: {role_arn}"
        if not self._trust_allows(_without_conditions(trust_document(role)), {"account": self.account}):
            return "Trust policy of the role provided is invalid"
        return None

    def _trust_allows(self, document: Any, session: dict[str, str]) -> bool:
        """Both sts:AssumeRole and sts:TagSession allowed for pods.eks.amazonaws.com, with the
        session tags EKS Auth sets as condition context (the shared evaluator's requests)."""
        from irsa_explorer.analysis import trust

        return all(
            trust.evaluate_trust(document, request).decision == trust.Decision.ALLOW
            for request in trust.pod_identity_requests(**session)
        )

    # --- EKS Auth -------------------------------------------------------------------------

    def assume_role_for_pod_identity(self, cluster: str, token: str) -> Response:
        """EKS Auth: exchange a pod-identity service-account token for the associated role."""
        issuer = self.cluster_issuer.get(cluster)
        if issuer is None:
            return json_error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.")
        try:
            claims = unverified_claims(token)
            if claims["iss"] != issuer:
                raise StsRejection("InvalidTokenException", "Token issuer does not match the cluster's issuer")
            verify_signature(token, self.keys.get(issuer))
            if POD_IDENTITY_AUDIENCE not in audiences(claims):
                raise StsRejection("InvalidTokenException", "Token audience is invalid")
            check_expiry(claims)
        except StsRejection as rejection:
            code = "ExpiredTokenException" if rejection.code == "ExpiredTokenException" else "InvalidTokenException"
            return json_error(400, code, rejection.message)

        subject = _SUBJECT.match(str(claims.get("sub", "")))
        if subject is None:
            return json_error(400, "InvalidTokenException", "Token subject is not a service account")
        namespace, service_account = subject.groups()
        association = self._find(cluster, namespace, service_account)
        if association is None:
            return json_error(
                404,
                "ResourceNotFoundException",
                f"No Pod Identity Association found for service account {namespace}/{service_account}",
            )
        role = aws_moto.find_role(association.role_arn)
        kube = claims.get("kubernetes.io") or {}
        pod = kube.get("pod") or {}
        cluster_arn = f"arn:aws:eks:{self.region}:{self.account}:cluster/{cluster}"
        session = {
            "cluster_arn": cluster_arn,
            "cluster_name": cluster,
            "namespace": namespace,
            "service_account": service_account,
            "pod_name": str(pod.get("name", "")),
            "pod_uid": str(pod.get("uid", "")),
            "account": self.account,
        }
        if role is None or not self._trust_allows(trust_document(role), session):
            return json_error(403, "AccessDeniedException", UNAUTHORIZED)

        session_name = f"eks-{cluster}-{pod.get('name', service_account)}-{uuid.uuid4()}"[:64]
        credentials = aws_moto.assume(association.role_arn, session_name, self.region, 6 * 3600)
        return json_response(
            {
                "subject": {"namespace": namespace, "serviceAccount": service_account},
                "audience": POD_IDENTITY_AUDIENCE,
                "podIdentityAssociation": {
                    "associationArn": association.association_arn,
                    "associationId": association.association_id,
                },
                "assumedRoleUser": {
                    "arn": credentials.assumed_role_arn,
                    "assumeRoleId": credentials.assumed_role_id,
                },
                "credentials": {
                    "sessionToken": credentials.session_token,
                    "secretAccessKey": credentials.secret_access_key,
                    "accessKeyId": credentials.access_key_id,
                    "expiration": credentials.expiration.replace(tzinfo=timezone.utc).timestamp(),
                },
            }
        )

    # --- the node agent ---------------------------------------------------------------------

    def agent(self, cluster: str, method: str, path: str, headers: dict[str, str]) -> Response:
        """`GET /v1/credentials` of eks-pod-identity-agent: the container-credentials JSON."""
        if path.rstrip("/") != "/v1/credentials" or method != "GET":
            return 404, {"Content-Type": "text/plain"}, b"404 page not found\n"
        token = headers.get("authorization", "").strip()
        if not token:
            return _agent_error(400, "Service account token cannot be empty")
        status, _, body = self.assume_role_for_pod_identity(cluster, token)
        answer = json.loads(body)
        if status != 200:
            return _agent_error(status, answer.get("message", "error"))
        creds = answer["credentials"]
        expiration = datetime.fromtimestamp(creds["expiration"], timezone.utc)
        payload = {
            "AccessKeyId": creds["accessKeyId"],
            "SecretAccessKey": creds["secretAccessKey"],
            "Token": creds["sessionToken"],
            "AccountId": self.account,
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _without_conditions(document: Any) -> Any:
    """The trust policy's Allow statements minus their conditions.

    At association time EKS checks that the role trusts pods.eks.amazonaws.com for
    sts:AssumeRole and sts:TagSession; conditions on session tags are checked when a pod
    asks, since only then are the tags known.
    """
    if not isinstance(document, dict):
        return document
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return document
    kept = [
        {key: value for key, value in statement.items() if key != "Condition"}
        for statement in statements
        if isinstance(statement, dict) and statement.get("Effect") == "Allow"
    ]
    return {**document, "Statement": kept}


def _agent_error(status: int, message: str) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()


