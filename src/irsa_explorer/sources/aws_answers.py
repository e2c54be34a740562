"""AWS answers that are not what AWS sends (a proxy's HTML page, a body cut short, bytes of
nothing) asked for again, as a 5xx is.

botocore retries 5xx answers and dropped connections, but a `200` whose body does not parse
ends the call at once (`ResponseParserError`, "Further retries may succeed"): one garbled
answer to GetCallerIdentity would leave the whole account unknown for the run. botocore has no
setting for this; its retry handlers do see an `HTTPClientError` raised while a request is
sent. So each client sends its requests itself (`before-send`, through botocore's own HTTP
session: the same proxies, timeouts and TLS), looks at the first and last bytes of a successful
answer — XML starts with `<` and ends with `>`, JSON with `{`/`[` and `}`/`]` — and raises
`GarbledAnswer` for one that cannot be what was asked for. The whole body is not parsed here
(a ListRoles page is megabytes; botocore parses it once, after).
"""

from __future__ import annotations

from typing import Any, Callable

from botocore.exceptions import HTTPClientError

_XML = ("query", "ec2", "rest-xml")
_JSON = ("json", "rest-json", "smithy-rpc-v2-cbor")


class GarbledAnswer(HTTPClientError):
    """A successful answer whose body is not the XML or JSON the protocol sends."""

    fmt = "{endpoint_url} answered with something that is not the {what} AWS sends"


def checked_sender(client: Any) -> Callable[..., Any]:
    """A `before-send` handler for `client`: sends the request and raises GarbledAnswer for a
    successful answer whose body cannot be what the service's protocol sends."""
    protocol = client.meta.service_model.protocol
    session = client._endpoint.http_session  # botocore's own sender (what Endpoint._send uses)
    what = "XML" if protocol in _XML else "JSON" if protocol in _JSON else None

    def send(request: Any = None, **_: Any) -> Any:
        if what is None or request is None or getattr(request, "stream_output", False):
            return None  # botocore sends it
        response = session.send(request)
        if 200 <= response.status_code < 300 and not _looks_like(response.content, what):
            raise GarbledAnswer(endpoint_url=request.url.split("?", 1)[0], what=what, request=request,
                                response=response, error="garbled")
        return response

    return send


def _looks_like(body: bytes, what: str) -> bool:
    text = body.strip()
    if not text:
        return True  # an empty answer is what some calls send
    if what == "XML":
        return text[:1] == b"<" and text[-1:] == b">"
    return text[:1] in (b"{", b"[") and text[-1:] in (b"}", b"]")
