"""What an incoming AWS request is (service, action) and how AWS words its errors on the wire.

The middleware around moto needs both before moto sees a request: counters, latency and
throttling are per service and per `service:Action`, and the APIs the lab answers itself
(STS web identity, Pod Identity, EKS Auth) must fail in each protocol's own error shape so
boto3 and the aws CLI print exactly what they print against AWS.
"""

from __future__ import annotations

import functools
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session

# Unsigned requests carry no credential scope: these are the ones AWS accepts without one.
_UNSIGNED_ACTIONS = {
    "AssumeRoleWithWebIdentity": "sts",
    "AssumeRoleWithSAML": "sts",
}
# The credential scope's signing name differs from the botocore service name for these.
_SIGNING_NAME_TO_SERVICE = {"eks-auth": "eks-auth", "monitoring": "cloudwatch"}
_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")

# Unsigned query-protocol requests name their API only by its version.
_QUERY_API_VERSIONS = {"2010-05-08": "iam", "2011-06-15": "sts", "2016-11-15": "ec2"}
# Query and EC2 protocol services answer errors as XML, the others as JSON.
_QUERY_SERVICES = {"iam", "sts", "ec2", "sqs", "sns", "cloudformation", "autoscaling"}


@dataclass
class AwsRequest:
    """One request as the middleware sees it, with the body already read."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    service: str
    action: str
    access_key_id: str | None = None
    region: str | None = None
    form: dict[str, str] = field(default_factory=dict)  # query-protocol parameters

    @property
    def kind(self) -> str:
        """The counter key: `service:Action`, as IAM names the permission."""
        return f"{self.service}:{self.action}"

    @property
    def signed(self) -> bool:
        return self.access_key_id is not None

    def json_body(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def read_request(environ: dict[str, Any]) -> AwsRequest:
    """Classify a WSGI request, leaving `wsgi.input` readable again for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        body = environ["wsgi.input"].read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked upload: the server de-chunks to EOF
        body = environ["wsgi.input"].read()
        environ["CONTENT_LENGTH"] = str(len(body))
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    query = environ.get("QUERY_STRING", "")

    form: dict[str, str] = {}
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    for key, values in parse_qs(query).items():
        form.setdefault(key, values[0])

    access_key_id = region = None
    service = ""
    scope = _SCOPE.search(headers.get("authorization", ""))
    if scope:
        access_key_id, _, region, signing_name = scope.groups()
        service = _SIGNING_NAME_TO_SERVICE.get(signing_name, signing_name)
    elif form.get("Action") in _UNSIGNED_ACTIONS:
        service = _UNSIGNED_ACTIONS[form["Action"]]
    elif form.get("Version") in _QUERY_API_VERSIONS:
        service = _QUERY_API_VERSIONS[form["Version"]]

    action = form.get("Action", "")
    if not action and headers.get("x-amz-target"):
        action = headers["x-amz-target"].rsplit(".", 1)[-1]
    if not action and service:
        action = _rest_operation(service, method, path, query) or f"{method} {path}"
    return AwsRequest(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        service=service or "unknown",
        action=action or f"{method} {path}",
        access_key_id=access_key_id,
        region=region,
        form=form,
    )


@functools.lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], tuple[str, ...], int, str]]:
    """(method, path regex, required query keys, specificity, operation) from botocore's model."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:  # unknown service name: no REST routes
        return []
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/")
        path_part, _, query_part = uri.partition("?")
        pattern = ""
        literal = 0
        for piece in re.split(r"(\{[^}]+\})", path_part):
            if piece.startswith("{"):
                # {Key+} is greedy (S3 keys contain slashes); {Name} is one segment.
                pattern += ".+" if piece.endswith("+}") else "[^/]+"
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        query_keys = tuple(q.split("=")[0] for q in query_part.split("&") if q)
        routes.append(
            (http.get("method", "GET"), re.compile(f"^{pattern}/?$"), query_keys, literal + 100 * len(query_keys), name)
        )
    return routes


def _rest_operation(service: str, method: str, path: str, query: str) -> str | None:
    present = set(parse_qs(query, keep_blank_values=True))
    best: tuple[int, str] | None = None
    for route_method, regex, query_keys, specificity, name in _rest_routes(service):
        if route_method == method and regex.match(path) and set(query_keys) <= present:
            if best is None or specificity > best[0]:
                best = (specificity, name)
    return best[1] if best else None


# --- error responses ----------------------------------------------------------------------

Response = tuple[int, dict[str, str], bytes]

_STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
_IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def request_id() -> str:
    return str(uuid.uuid4())


def query_error(service: str, status: int, code: str, message: str, *, sender: bool = True) -> Response:
    """An error in the query protocol's XML shape (IAM, STS; EC2 has its own wrapper)."""
    rid = request_id()
    if service == "ec2":
        body = (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>"
        )
    else:
        namespace = _STS_NAMESPACE if service == "sts" else _IAM_NAMESPACE
        body = (
            f'<ErrorResponse xmlns="{namespace}">\n  <Error>\n'
            f"    <Type>{'Sender' if sender else 'Receiver'}</Type>\n"
            f"    <Code>{escape(code)}</Code>\n    <Message>{escape(message)}</Message>\n"
            f"  </Error>\n  <RequestId>{rid}</RequestId>\n</ErrorResponse>\n"
        )
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, body.encode()


def json_error(status: int, code: str, message: str) -> Response:
    """An error in the REST-JSON shape (EKS, EKS Auth): the code travels in x-amzn-ErrorType."""
    rid = request_id()
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": code,
        "x-amzn-RequestId": rid,
    }
    return status, headers, json.dumps({"message": message}).encode()


def s3_error(status: int, code: str, message: str) -> Response:
    rid = request_id()
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message><RequestId>{rid}</RequestId></Error>"
    )
    return status, {"Content-Type": "application/xml", "x-amz-request-id": rid}, body.encode()


def error_for(request: AwsRequest, status: int, code: str, message: str) -> Response:
    """The error in whatever shape the request's service speaks."""
    if request.service in _QUERY_SERVICES:
        return query_error(request.service, status, code, message)
    if request.service == "s3":
        return s3_error(status, code, message)
    if request.headers.get("x-amz-target"):  # the JSON 1.x protocol (CloudTrail…): botocore reads `__type`
        status, headers, _ = json_error(status, code, message)
        return status, headers, json.dumps({"__type": code, "message": message}).encode()
    return json_error(status, code, message)


def json_response(payload: Any, status: int = 200) -> Response:
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id()}
    return status, headers, json.dumps(payload, default=str).encode()
