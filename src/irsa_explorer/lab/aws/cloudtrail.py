"""CloudTrail for the lab: every AWS call it answers becomes an event, and `LookupEvents`
serves them as AWS's event history does.

moto has a CloudTrail backend (trails, selectors, tags) but no event history: `LookupEvents`
raises NotImplementedError (a 500), and moto records nothing of the calls it serves — nor
could it see the calls the lab answers itself (AssumeRoleWithWebIdentity, IMDS, the Pod
Identity agent). So the middleware records here, with what it knows about each request
before and after it is served, and answers LookupEvents itself (the JSON protocol,
`CloudTrail_20131101.LookupEvents`).

Each event carries the fields of a CloudTrail record (eventVersion 1.09): eventTime,
eventSource, eventName, awsRegion, sourceIPAddress, userAgent, errorCode/errorMessage,
userIdentity (IAMUser, AssumedRole with its sessionContext, WebIdentityUser with the token's
`sub` as userName and the provider, AWSService for EC2 and EKS Pod Identity), requestParameters
(secrets left out: tokens, SAML assertions, passwords), responseElements (credentials without
secret key or session token), resources, requestID, eventID, readOnly, eventType,
recipientAccountId. What the lab leaves out: calls refused for their signature (AWS logs few
of them), S3 object-level calls (data events, not in the event history), TLS details.
Events are kept in memory, newest last, up to `capacity`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from xml.etree import ElementTree

from irsa_explorer.lab.aws import moto_backends as aws_moto
from irsa_explorer.lab.aws.wire import AwsRequest, Response, json_response, request_id

EVENT_VERSION = "1.09"
MAX_RESULTS = 50  # LookupEvents: 1..50, 50 when not given
CAPACITY = 20_000  # about 30 MB of records; a lab's explorer refreshing 500 roles makes ~1,000 a minute
LOOKUP_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId")
# Refused before anyone was identified: AWS logs few of these, the lab none.
_UNAUTHENTICATED = {"InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken",
                    "IncompleteSignature", "UnrecognizedClientException", "InvalidAccessKeyId", "InvalidToken"}
# Never in requestParameters: what would let a reader act as the caller.
_SECRET_PARAMETERS = {"webidentitytoken", "samlassertion", "password", "newpassword", "oldpassword",
                      "secretaccesskey", "sessiontoken", "token", "privatekey"}
_READ_PREFIXES = ("Get", "List", "Describe", "Lookup", "Head", "AssumeRole", "Decode", "Simulate")
_S3_DATA_EVENTS = {"ListObjects", "ListObjectsV2", "ListObjectVersions"}
_MEMBER = re.compile(r"^(.+?)\.member\.(\d+)$")
_VALUE_LIMIT = 1024


def _now_iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _VALUE_LIMIT:
        return value[:_VALUE_LIMIT] + "…"
    if isinstance(value, dict):
        return {str(k)[:200]: _bounded(v) for k, v in list(value.items())[:100]}
    if isinstance(value, list):
        return [_bounded(v) for v in value[:100]]
    return value


class Event:
    """One recorded event: the CloudTrail record and what LookupEvents filters on."""

    __slots__ = ("seq", "at", "record", "account", "username", "access_key_id", "resources")

    def __init__(self, seq: int, at: float, record: dict[str, Any], account: str, username: str | None,
                 access_key_id: str | None, resources: list[tuple[str, str]]) -> None:
        self.seq, self.at, self.record, self.account = seq, at, record, account
        self.username, self.access_key_id, self.resources = username, access_key_id, resources

    def matches(self, key: str, value: str) -> bool:
        record = self.record
        if key == "EventId":
            return record["eventID"] == value
        if key == "EventName":
            return record["eventName"] == value
        if key == "EventSource":
            return record["eventSource"] == value
        if key == "ReadOnly":
            return str(record["readOnly"]).lower() == value.lower()
        if key == "Username":
            return self.username == value
        if key == "AccessKeyId":
            return self.access_key_id == value
        if key == "ResourceName":
            return any(name == value for _, name in self.resources)
        if key == "ResourceType":
            return any(kind == value for kind, _ in self.resources)
        return False

    def wire(self) -> dict[str, Any]:
        """The `Event` of a LookupEvents answer."""
        answer: dict[str, Any] = {
            "EventId": self.record["eventID"],
            "EventName": self.record["eventName"],
            "ReadOnly": "true" if self.record["readOnly"] else "false",
            "EventTime": self.at,
            "EventSource": self.record["eventSource"],
            "Resources": [{"ResourceType": kind, "ResourceName": name} for kind, name in self.resources],
            "CloudTrailEvent": json.dumps(self.record),
        }
        if self.access_key_id:
            answer["AccessKeyId"] = self.access_key_id
        if self.username:
            answer["Username"] = self.username
        return answer


class CloudTrail:
    """The lab's event history: `record` after each AWS call, `lookup` for LookupEvents."""

    def __init__(self, account: str, region: str, *, clock: Callable[[], float] = time.time,
                 capacity: int = CAPACITY) -> None:
        self.account = account
        self.region = region
        self.clock = clock
        self._lock = threading.Lock()
        self._events: deque[Event] = deque(maxlen=capacity)
        self._seq = 0
        self._key = secrets.token_bytes(32)
        # access key → how its session began (creation time, web identity provider, EC2)
        self._sessions: dict[str, dict[str, Any]] = {}

    # --- recording -------------------------------------------------------------------------

    def wanted(self, request: AwsRequest) -> bool:
        """Whether a call of this kind is a management event the event history shows."""
        if request.service in ("unknown", "") or request.kind == "cloudtrail:LookupEvents" and not request.signed:
            return False
        if request.service == "s3":
            key = request.path.lstrip("/").partition("/")[2]
            return not key and request.action not in _S3_DATA_EVENTS
        return True

    def record(self, request: AwsRequest, environ: dict[str, Any], status: int, headers: dict[str, str],
               body: bytes) -> None:
        """The event of one answered call (never raises: a recording failure must not fail the call)."""
        try:
            self._record(request, environ, status, headers, body)
        except Exception:  # the call was answered; its event is the lab's own bookkeeping
            pass

    def _record(self, request: AwsRequest, environ: dict[str, Any], status: int, headers: dict[str, str],
                body: bytes) -> None:
        error = _error_of(request, status, headers, body) if status >= 400 else None
        if error is not None and error[0] in _UNAUTHENTICATED:
            return
        action = request.action
        web_identity = request.kind == "sts:AssumeRoleWithWebIdentity"
        role_arn = request.form.get("RoleArn", "") if request.service == "sts" else ""
        if web_identity:
            from irsa_explorer.analysis.arns import account_of_arn

            account = account_of_arn(role_arn) or self.account
            identity, claims = _web_identity_user(request.form.get("WebIdentityToken", ""), account)
            key = None
        else:
            account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or self.account
            key = request.access_key_id
            identity = self._identity(account, key or "") if key else None
            if identity is None:
                return  # no lab principal signed it: nothing AWS would attribute
            claims = {}
        parameters = _request_parameters(request)
        response_elements = None
        resources: list[tuple[str, str]] = []
        if role_arn:
            resources.append(("AWS::IAM::Role", role_arn))
        if error is None and request.service == "sts" and action.startswith("AssumeRole"):
            response_elements = _assume_response(body)
            new_key = (response_elements or {}).get("credentials", {}).get("accessKeyId")
            if new_key:
                self._sessions[new_key] = {
                    "created": self.clock(),
                    "provider": identity.get("identityProvider") if web_identity else None,
                }
                resources.append(("AWS::IAM::AccessKey", new_key))
            assumed = (response_elements or {}).get("assumedRoleUser", {}).get("arn")
            if assumed:
                resources.append(("AWS::STS::AssumedRole", assumed))
        elif request.service == "iam" and "RoleName" in request.form:
            resources.append(("AWS::IAM::Role", request.form["RoleName"]))
        elif request.service == "iam" and "UserName" in request.form:
            resources.append(("AWS::IAM::User", request.form["UserName"]))
        region = request.region or self.region
        record = self._base(account, identity, request.service, action, region)
        record.update({
            "sourceIPAddress": environ.get("REMOTE_ADDR") or "127.0.0.1",
            "userAgent": _bounded(request.headers.get("user-agent", "")),
            "requestParameters": parameters,
            "responseElements": response_elements,
            "requestID": headers.get("x-amzn-RequestId") or headers.get("x-amz-request-id") or request_id(),
            "readOnly": action.startswith(_READ_PREFIXES),
        })
        if web_identity and claims:
            record["additionalEventData"] = {"identityProviderConnectionVerificationMethod": "IAMTrustStore"}
        if error is not None:
            record["errorCode"], record["errorMessage"] = error
        if resources:
            record["resources"] = [{"accountId": account, "type": kind, "ARN": name} for kind, name in resources]
        self._add(record, account, _username(identity), key, resources)

    def handed_out(self, invoked_by: str, account: str, access_key_id: str, *,
                   tags: dict[str, str] | None = None) -> None:
        """Credentials a service got for a role on a pod's or node's behalf (EC2 for IMDS, EKS
        Pod Identity for the agent): its `AssumeRole`, once per session."""
        try:
            with self._lock:
                if access_key_id in self._sessions:
                    return
                self._sessions[access_key_id] = {"created": self.clock(), "ec2": invoked_by == "ec2.amazonaws.com"}
            session = _sts_session(account, access_key_id)
            if session is None:
                return
            self._service_assume(invoked_by, account, session.role_arn, session.session_name, tags,
                                 access_key_id=access_key_id, assumed_arn=session.arn,
                                 assumed_id=session.user_id, expiration=session.expiration)
        except Exception:
            pass

    def credentials_served(self, invoked_by: str, account: str, response: Response) -> None:
        """IMDS or the Pod Identity agent answered with credentials: their AssumeRole, once."""
        status, _, body = response
        if status != 200:
            return
        try:
            key = json.loads(body).get("AccessKeyId")
        except (ValueError, AttributeError):
            return
        if isinstance(key, str):
            self.handed_out(invoked_by, account, key)

    def agent_answered(self, cluster: str, headers: dict[str, str], response: Response,
                       role_for: Callable[[str, str, str], str | None]) -> None:
        """The Pod Identity agent's exchange: EKS's AssumeRole with the pod's session tags,
        allowed (once per session) or refused by the role's trust policy."""
        token = headers.get("authorization", "").strip()
        tags = pod_identity_tags(token, cluster, self.region, self.account) if token else {}
        status, _, body = response
        if status == 200:
            try:
                key = json.loads(body).get("AccessKeyId")
            except (ValueError, AttributeError):
                key = None
            if isinstance(key, str):
                self.handed_out("pods.eks.amazonaws.com", self.account, key, tags=tags)
            return
        role_arn = role_for(cluster, tags.get("kubernetes-namespace", ""), tags.get("kubernetes-service-account", ""))
        if status == 403 and role_arn:
            session = f"eks-{cluster}-{tags.get('kubernetes-pod-name', '')}"[:64]
            self.refused("pods.eks.amazonaws.com", self.account, role_arn, session, "AccessDenied",
                         f"Not authorized to perform sts:AssumeRole on resource: {role_arn}", tags=tags)

    def refused(self, invoked_by: str, account: str, role_arn: str, session_name: str, code: str, message: str,
                *, tags: dict[str, str] | None = None) -> None:
        """A service's AssumeRole for a pod that the role's trust policy refused."""
        try:
            self._service_assume(invoked_by, account, role_arn, session_name, tags, error=(code, message))
        except Exception:
            pass

    def _service_assume(self, invoked_by: str, account: str, role_arn: str, session_name: str,
                        tags: dict[str, str] | None, *, access_key_id: str | None = None,
                        assumed_arn: str | None = None, assumed_id: str | None = None,
                        expiration: datetime | None = None, error: tuple[str, str] | None = None) -> None:
        identity = {"type": "AWSService", "invokedBy": invoked_by}
        record = self._base(account, identity, "sts", "AssumeRole", self.region)
        parameters: dict[str, Any] = {"roleArn": role_arn, "roleSessionName": session_name}
        if tags:
            parameters["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        resources = [("AWS::IAM::Role", role_arn)]
        response = None
        if error is None and access_key_id:
            response = {"credentials": {"accessKeyId": access_key_id,
                                        "expiration": _format_time(expiration)},
                        "assumedRoleUser": {"assumedRoleId": assumed_id, "arn": assumed_arn}}
            resources += [("AWS::IAM::AccessKey", access_key_id), ("AWS::STS::AssumedRole", assumed_arn or "")]
        record.update({
            "sourceIPAddress": invoked_by,
            "userAgent": invoked_by,
            "requestParameters": _bounded(parameters),
            "responseElements": response,
            "requestID": request_id(),
            "readOnly": True,
            "resources": [{"accountId": account, "type": kind, "ARN": name} for kind, name in resources],
        })
        if error is not None:
            record["errorCode"], record["errorMessage"] = error
        self._add(record, account, None, None, resources)

    def _base(self, account: str, identity: dict[str, Any], service: str, action: str, region: str) -> dict[str, Any]:
        return {
            "eventVersion": EVENT_VERSION,
            "userIdentity": identity,
            "eventTime": "",  # set when added (the same clock reading as its place in the history)
            "eventSource": f"{service}.amazonaws.com",
            "eventName": action,
            "awsRegion": region,
            "eventID": str(uuid.uuid4()),
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        }

    def _add(self, record: dict[str, Any], account: str, username: str | None, access_key_id: str | None,
             resources: list[tuple[str, str]]) -> None:
        with self._lock:
            at = self.clock()
            record["eventTime"] = _now_iso(at)
            self._seq += 1
            self._events.append(Event(self._seq, at, record, account, username, access_key_id, resources))

    def _identity(self, account: str, access_key_id: str) -> dict[str, Any] | None:
        """userIdentity of a signed request, from the key's owner in moto's IAM or STS."""
        try:
            user = aws_moto.iam(account).get_user_from_access_key_id(access_key_id)
        except Exception:
            user = None
        if user is not None:
            return {"type": "IAMUser", "principalId": user.id, "arn": user.arn, "accountId": account,
                    "accessKeyId": access_key_id, "userName": user.name}
        session = _sts_session(account, access_key_id)
        if session is None:
            return None
        role_id = session.user_id.split(":", 1)[0]
        begun = self._sessions.get(access_key_id, {})
        attributes = {"mfaAuthenticated": "false"}
        if begun.get("created"):
            attributes["creationDate"] = _now_iso(begun["created"])
        context: dict[str, Any] = {
            "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": session.role_arn,
                              "accountId": account, "userName": session.role_arn.rsplit("/", 1)[-1]},
            "attributes": attributes,
        }
        if begun.get("provider"):
            context["webIdFederationData"] = {"federatedProvider": begun["provider"], "attributes": {}}
        if begun.get("ec2"):
            context["ec2RoleDelivery"] = "2.0"
        return {"type": "AssumedRole", "principalId": session.user_id, "arn": session.arn, "accountId": account,
                "accessKeyId": access_key_id, "sessionContext": context}

    # --- LookupEvents ------------------------------------------------------------------------

    def lookup(self, request: AwsRequest, account: str) -> Response:
        """`LookupEvents` as AWS answers it: one lookup attribute at most, a time range,
        1..50 events a page, newest first, a NextToken bound to the same query."""
        body = request.json_body()
        attributes = body.get("LookupAttributes") or []
        if not isinstance(attributes, list) or len(attributes) > 1:
            return _error("InvalidLookupAttributesException", "You can only specify one lookup attribute.")
        wanted: tuple[str, str] | None = None
        if attributes:
            attribute = attributes[0] if isinstance(attributes[0], dict) else {}
            key, value = attribute.get("AttributeKey"), attribute.get("AttributeValue")
            if key not in LOOKUP_KEYS:
                return _error("InvalidLookupAttributesException",
                              f"Lookup attribute key {key!r} is not valid; valid keys: {', '.join(LOOKUP_KEYS)}.")
            if not isinstance(value, str) or not 1 <= len(value) <= 2000:
                return _error("InvalidLookupAttributesException", "Lookup attribute value must be 1 to 2000 characters.")
            wanted = (key, value)
        try:
            start = float(body["StartTime"]) if body.get("StartTime") is not None else None
            end = float(body["EndTime"]) if body.get("EndTime") is not None else None
        except (TypeError, ValueError):
            return _error("InvalidTimeRangeException", "The time range is not valid.")
        if start is not None and end is not None and start > end:
            return _error("InvalidTimeRangeException", "Start time must be before or equal to the end time.")
        max_results = body.get("MaxResults", MAX_RESULTS)
        if not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
            return _error("InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}.")
        if body.get("EventCategory") not in (None, "insight"):
            return _error("InvalidEventCategoryException", "EventCategory must be insight.")
        scope = [account, list(wanted) if wanted else None, start, end, body.get("EventCategory")]
        before = None
        if body.get("NextToken") is not None:
            before = self._read_token(str(body["NextToken"]), scope)
            if before is None:
                return _error("InvalidNextTokenException", "Invalid NextToken.")
        if body.get("EventCategory") == "insight":
            return json_response({"Events": []})  # the lab has no Insights events
        with self._lock:
            events = list(self._events)
        page: list[Event] = []
        more = False
        for event in reversed(events):  # newest first
            if before is not None and event.seq >= before:
                continue
            if event.account != account or (start is not None and event.at < start) or (end is not None and event.at > end):
                continue
            if wanted is not None and not event.matches(*wanted):
                continue
            if len(page) == max_results:
                more = True
                break
            page.append(event)
        answer: dict[str, Any] = {"Events": [event.wire() for event in page]}
        if more:
            answer["NextToken"] = self._issue_token(page[-1].seq, scope)
        return json_response(answer)

    def _issue_token(self, seq: int, scope: list[Any]) -> str:
        body = json.dumps({"before": seq, "scope": scope}, separators=(",", ":")).encode()
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")

    def _read_token(self, token: str, scope: list[Any]) -> int | None:
        """Where the last page stopped, or None for a token this lab did not issue for this query."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        mac, body = raw[:16], raw[16:]
        if len(mac) < 16 or not hmac.compare_digest(mac, hmac.new(self._key, body, hashlib.sha256).digest()[:16]):
            return None
        content = json.loads(body)
        return int(content["before"]) if content.get("scope") == json.loads(json.dumps(scope)) else None

    def events(self) -> list[dict[str, Any]]:
        """Every record kept, oldest first (tests, `/_lab/` tools)."""
        with self._lock:
            return [event.record for event in self._events]


# --- pieces of a record ----------------------------------------------------------------------


def _error(code: str, message: str) -> Response:
    rid = request_id()
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": rid}
    return 400, headers, json.dumps({"__type": code, "message": message}).encode()


def _format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.strftime("%b %d, %Y, %I:%M:%S %p")  # as CloudTrail writes an expiration


def _username(identity: dict[str, Any]) -> str | None:
    """What LookupEvents calls the user: an IAM user's name, a role session's name, the web
    identity's subject; none for a service."""
    kind = identity.get("type")
    if kind in ("IAMUser", "WebIdentityUser"):
        return identity.get("userName") or None
    if kind == "AssumedRole":
        return str(identity.get("arn", "")).rsplit("/", 1)[-1] or None
    return None


def _web_identity_user(token: str, account: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The WebIdentityUser of an AssumeRoleWithWebIdentity: the token's claims read without
    checks (the token itself is never recorded)."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        claims = {}
    if not isinstance(claims, dict):
        claims = {}
    issuer = str(claims.get("iss", "")) if isinstance(claims.get("iss"), str) else ""
    sub = claims.get("sub") if isinstance(claims.get("sub"), str) else ""
    aud = claims.get("aud")
    audience = aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud and isinstance(aud[0], str) else "")
    provider = f"arn:aws:iam::{account}:oidc-provider/{issuer.removeprefix('https://')}" if issuer else ""
    identity = {
        "type": "WebIdentityUser",
        "principalId": _bounded(f"{provider}:{audience}:{sub}" if provider else ""),
        "userName": _bounded(sub),
        "identityProvider": _bounded(provider),
    }
    return identity, claims


def _request_parameters(request: AwsRequest) -> dict[str, Any] | None:
    """The call's parameters as CloudTrail words them (lowerCamelCase), secrets left out."""
    parameters: dict[str, Any] = {}
    if request.service == "s3":
        parameters["Host"] = request.headers.get("host", "")
        bucket = request.path.lstrip("/").split("/", 1)[0]
        if bucket:
            parameters["bucketName"] = bucket
        return parameters
    if request.form:
        for name, value in request.form.items():
            if name in ("Action", "Version") or name.lower() in _SECRET_PARAMETERS:
                continue
            member = _MEMBER.match(name)
            if member:
                parameters.setdefault(_lower_first(member.group(1)), []).append(value)
                continue
            parameters[_lower_first(name)] = value
    else:
        for name, value in request.json_body().items():
            if name.lower() not in _SECRET_PARAMETERS:
                parameters[_lower_first(name)] = value
    return _bounded(parameters) or None


def _error_of(request: AwsRequest, status: int, headers: dict[str, str], body: bytes) -> tuple[str, str]:
    """(errorCode, errorMessage) from an error answer in its protocol's shape."""
    lowered = {k.lower(): v for k, v in headers.items()}
    text = body.decode("utf-8", "replace")
    if text.lstrip().startswith("<"):
        try:
            root = ElementTree.fromstring(text)
            code = next((e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Code"), None)
            message = next((e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Message"), None)
            return _bounded(code or str(status)), _bounded(message or "")
        except ElementTree.ParseError:
            pass
    code = lowered.get("x-amzn-errortype", "").split(":", 1)[0]
    message = ""
    try:
        payload = json.loads(text or "{}")
        if isinstance(payload, dict):
            code = code or str(payload.get("__type", "")).rsplit("#", 1)[-1]
            message = str(payload.get("message") or payload.get("Message") or "")
    except ValueError:
        message = text[:200]
    return _bounded(code or str(status)), _bounded(message)


def _assume_response(body: bytes) -> dict[str, Any] | None:
    """responseElements of a successful AssumeRole*: the session, the access key id and the
    expiry — never the secret key or the session token."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None

    def find(name: str) -> str | None:
        for element in root.iter():
            if element.tag.rsplit("}", 1)[-1] == name:
                return element.text
        return None

    elements: dict[str, Any] = {
        "credentials": {"accessKeyId": find("AccessKeyId"), "expiration": find("Expiration")},
        "assumedRoleUser": {"assumedRoleId": find("AssumedRoleId"), "arn": find("Arn")},
    }
    for name in ("SubjectFromWebIdentityToken", "Audience", "Provider"):
        value = find(name)
        if value is not None:
            elements[_lower_first(name)] = value
    return elements


def _sts_session(account: str, access_key_id: str) -> Any | None:
    """moto's record of an STS session by its access key (role ARN, session name, expiry)."""
    try:
        return aws_moto.sts_backends[account][aws_moto.PARTITION].get_assumed_role_from_access_key(access_key_id)
    except Exception:
        return None


def pod_identity_tags(token: str, cluster: str, region: str, account: str) -> dict[str, str]:
    """The session tags EKS Pod Identity sets, from the pod's token (read without checks)."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        return {}
    kube = claims.get("kubernetes.io") if isinstance(claims, dict) else None
    kube = kube if isinstance(kube, dict) else {}
    pod = kube.get("pod") if isinstance(kube.get("pod"), dict) else {}
    account_sa = kube.get("serviceaccount") if isinstance(kube.get("serviceaccount"), dict) else {}
    return {k: str(v)[:256] for k, v in {
        "eks-cluster-arn": f"arn:aws:eks:{region}:{account}:cluster/{cluster}",
        "eks-cluster-name": cluster,
        "kubernetes-namespace": kube.get("namespace", ""),
        "kubernetes-service-account": account_sa.get("name", ""),
        "kubernetes-pod-name": pod.get("name", ""),
        "kubernetes-pod-uid": pod.get("uid", ""),
    }.items()}
