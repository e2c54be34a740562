"""Instance metadata per node: IMDSv2 tokens and the node's instance-profile role credentials.

moto's own IMDS hands every caller the same fixed keys; a pod that falls back to the node
role must instead get `assumed-role/<node role>/<instance id>`, as EC2 issues them.
Each node is served under its own base URL, standing in for 169.254.169.254 as seen from
that node: `.../_lab/imds/<node>/pod` from a pod's network namespace (one hop further than the
node itself), `.../_lab/imds/<node>/host` from the node or a hostNetwork pod. The hop matters:
with the instance's HttpPutResponseHopLimit at 1 the IMDSv2 token answer never reaches a pod
(failure-catalogue E.17), and when tokens are required the pod then gets no credentials.
With HttpEndpoint=disabled IMDS answers 403 to everything, as EC2's does. The settings are the
instance's MetadataOptions as moto keeps them (RunInstances, its launch template,
ModifyInstanceMetadataOptions: ec2_metadata.py makes moto keep them as EC2 does).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

from irsa_explorer.lab.aws import ec2_metadata
from irsa_explorer.lab.aws import moto_backends as aws_moto
from irsa_explorer.lab.aws.wire import Response

PREFIX = "/_lab/imds/"
VANTAGE_HOPS = {"host": 1, "pod": 2}
_TEXT = {"Content-Type": "text/plain"}
# EC2 refreshes instance credentials well before they expire; the lab re-mints at 15 minutes left.
_REFRESH_BEFORE = timedelta(minutes=15)


def _text(status: int, body: str) -> Response:
    return status, dict(_TEXT), body.encode()


class InstanceMetadata:
    """Serves `/latest/...` for every registered node of one lab account."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self._lock = threading.Lock()
        self._nodes: dict[str, str] = {}  # node name → instance id
        self._tokens: dict[str, float] = {}  # IMDSv2 token → expiry (monotonic)
        self._credentials: dict[str, aws_moto.Credentials] = {}  # instance id → current creds
        ec2_metadata.install()

    def register_node(self, node_name: str, instance_id: str) -> None:
        with self._lock:
            self._nodes[node_name] = instance_id

    def instance_for(self, node_name: str) -> str | None:
        with self._lock:
            known = self._nodes.get(node_name)
        return known or aws_moto.find_instance_by_node_name(self.account, self.region, node_name)

    def handle(self, method: str, path: str, headers: dict[str, str]) -> Response:
        """`path` is the request path after PREFIX: `<node>/<pod|host>/latest/...`."""
        node, _, rest = path.partition("/")
        node = unquote(node)
        vantage, _, rest = rest.partition("/")
        if vantage not in VANTAGE_HOPS:
            return _text(404, "Not Found")
        rest = "/" + rest
        instance_id = self.instance_for(node)
        if instance_id is None:
            return _text(404, "Not Found")
        instance = aws_moto.find_instance(self.account, self.region, instance_id)
        if instance is None:
            return _text(404, "Not Found")
        if instance.http_endpoint == "disabled":
            return _text(403, "Forbidden")  # IMDS turned off for the instance

        if rest == "/latest/api/token":
            if method != "PUT":
                return _text(405, "Method Not Allowed")
            try:
                ttl = int(headers.get("x-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                return _text(400, "Bad Request")
            if not 1 <= ttl <= 21600:
                return _text(400, "Bad Request")
            if VANTAGE_HOPS[vantage] > instance.hop_limit:
                # The answer's IP TTL runs out before it reaches the pod. botocore treats a
                # lost token answer like a refused one and falls back to IMDSv1.
                return _text(403, "Forbidden")
            token = secrets.token_urlsafe(32)
            with self._lock:
                self._tokens[token] = time.monotonic() + ttl
            return 200, {"Content-Type": "text/plain", "X-aws-ec2-metadata-token-ttl-seconds": str(ttl)}, token.encode()

        token = headers.get("x-aws-ec2-metadata-token")
        if token is not None or instance.http_tokens == "required":
            with self._lock:
                expiry = self._tokens.get(token or "")
            if expiry is None or expiry < time.monotonic():
                return _text(401, "Unauthorized")
        if method != "GET":
            return _text(405, "Method Not Allowed")
        return self._metadata(instance, rest)

    def _metadata(self, instance: aws_moto.InstanceInfo, rest: str) -> Response:
        meta = "/latest/meta-data/"
        if rest == meta + "instance-id":
            return _text(200, instance.instance_id)
        if rest == meta + "placement/availability-zone":
            return _text(200, instance.availability_zone)
        if rest == meta + "placement/region":
            return _text(200, self.region)
        if rest == "/latest/dynamic/instance-identity/document":
            document = {
                "accountId": self.account,
                "instanceId": instance.instance_id,
                "region": self.region,
                "availabilityZone": instance.availability_zone,
            }
            return _text(200, json.dumps(document, indent=2))
        creds_path = meta + "iam/security-credentials/"
        if rest.rstrip("/") + "/" == creds_path:
            # No instance profile: EC2 answers 404 here, and the SDK finds no credentials.
            return _text(200, instance.role_name) if instance.role_name else _text(404, "Not Found")
        if rest.startswith(creds_path) and instance.role_name and rest[len(creds_path):].rstrip("/") == instance.role_name:
            return self._role_credentials(instance)
        if rest == meta + "iam/info" and instance.role_arn:
            profile = {"Code": "Success", "InstanceProfileArn": instance.role_arn.replace(":role/", ":instance-profile/")}
            return _text(200, json.dumps(profile, indent=2))
        return _text(404, "Not Found")

    def _role_credentials(self, instance: aws_moto.InstanceInfo) -> Response:
        assert instance.role_arn is not None
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        with self._lock:
            current = self._credentials.get(instance.instance_id)
            if (
                current is None
                or current.expiration - now < _REFRESH_BEFORE
                or not current.assumed_role_arn.split("/")[1] == instance.role_name
            ):
                # EC2 names the session after the instance: assumed-role/<role>/i-….
                current = aws_moto.assume(instance.role_arn, instance.instance_id, self.region, 6 * 3600)
                self._credentials[instance.instance_id] = current
        body = {
            "Code": "Success",
            "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Type": "AWS-HMAC",
            "AccessKeyId": current.access_key_id,
            "SecretAccessKey": current.secret_access_key,
            "Token": current.session_token,
            "Expiration": current.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return _text(200, json.dumps(body, indent=2))
