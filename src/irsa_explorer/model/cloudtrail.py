"""CloudTrail events as the explorer reads them: who asked for which role, and what was refused.

`parse_event` reads one `Event` of a LookupEvents answer. Its `CloudTrailEvent` is JSON written
from what any caller sent (a session name, a user agent, a token's `sub`): it is untrusted —
any shape, any size. Every field is taken only when it has the type expected, strings are
bounded, and nothing here raises on garbage: a record that does not parse is still an event
with its id, name and time from the LookupEvents fields around it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "DENIED_CODES",
    "TrailEvent",
    "TrailPage",
    "TrailQuery",
    "TrailSubject",
    "parse_event",
]

MAX_TEXT = 512  # characters kept of any one string of a record
MAX_RECORD = 64_000  # characters of CloudTrailEvent parsed (AWS's records are a few KB)
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                          "Client.UnauthorizedOperation", "InvalidIdentityToken", "ExpiredTokenException",
                          "InvalidIdentityTokenException"})


@dataclass(frozen=True)
class TrailEvent:
    """One CloudTrail event, the fields the panes show and the lookups filter on."""

    event_id: str
    name: str  # eventName: AssumeRoleWithWebIdentity, AssumeRole, ListBuckets…
    source: str  # eventSource: sts.amazonaws.com…
    time: datetime | None
    identity_type: str  # userIdentity.type: AssumedRole, WebIdentityUser, IAMUser, AWSService…
    identity: str  # who, in one string: an ARN, the web identity's subject, the service
    subject: str | None = None  # WebIdentityUser: the token's `sub`; Pod Identity: namespace/service account
    role_arn: str | None = None  # the role asked for (requestParameters.roleArn) or the session's role
    session_name: str | None = None  # requestParameters.roleSessionName (an assumption)
    error_code: str | None = None
    error_message: str | None = None
    username: str | None = None  # LookupEvents' Username
    source_ip: str | None = None
    user_agent: str | None = None
    region: str | None = None
    invoked_by: str | None = None  # AWSService: the service acting for the pod (ec2, pods.eks)
    pod_name: str | None = None  # Pod Identity's session tag kubernetes-pod-name

    @property
    def denied(self) -> bool:
        return self.error_code is not None and (self.error_code in DENIED_CODES or "denied" in self.error_code.lower())

    @property
    def assumption(self) -> bool:
        """An STS call that begins a role session (allowed or refused)."""
        return self.source == "sts.amazonaws.com" and self.name.startswith("AssumeRole")


@dataclass(frozen=True)
class TrailQuery:
    """One LookupEvents lookup attribute, and what is kept of its events: only those of a role
    (`role_arn`), of a pod (`pod_name`: Pod Identity's session tag), of a session (`session_name`)."""

    key: str  # EventName, Username, ResourceName…
    value: str
    role_arn: str | None = None
    pod_name: str | None = None
    session_name: str | None = None  # only the assumptions that began this session

    def keeps(self, event: TrailEvent) -> bool:
        if self.role_arn is not None and event.role_arn != self.role_arn:
            return False
        if self.session_name is not None and event.session_name != self.session_name:
            return False
        return self.pod_name is None or event.pod_name == self.pod_name


@dataclass(frozen=True)
class TrailSubject:
    """Whose events a pane shows (a pod or a role), as the lookups that find them."""

    key: str  # "pod:UID" or "role:ARN": where the answer is kept
    describe: str  # in words: "the web identity system:serviceaccount:default:my-sa"
    queries: tuple[TrailQuery, ...]
    follow_sessions: bool = True  # also the calls of each role session those assumptions began
    note: str = ""  # what the lookups cannot tell apart (every pod on a node shares its session)


@dataclass(frozen=True)
class TrailPage:
    """Events found so far for a subject, newest first, and how to ask for more."""

    events: tuple[TrailEvent, ...]
    cursor: tuple[tuple[TrailQuery, str], ...]  # (query, NextToken) of lookups with more events
    read_at: datetime
    region: str | None = None

    @property
    def more(self) -> bool:
        return bool(self.cursor)


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime | None:
    """EventTime as boto3 gives it (a datetime), or a record's ISO text."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _record(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str) or len(raw) > MAX_RECORD:
        return {}
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return _dict(record)


def parse_event(raw: Any) -> TrailEvent | None:
    """A LookupEvents `Event` (a dict) as a TrailEvent; None when it is not even a dict."""
    if not isinstance(raw, dict):
        return None
    record = _record(raw.get("CloudTrailEvent"))
    who = _dict(record.get("userIdentity"))
    kind = _text(who.get("type")) or "Unknown"
    context = _dict(who.get("sessionContext"))
    issuer = _dict(context.get("sessionIssuer"))
    parameters = _dict(record.get("requestParameters"))
    tags = parameters.get("tags") if isinstance(parameters.get("tags"), list) else []
    tag = {str(t.get("key")): t.get("value") for t in tags[:50] if isinstance(t, dict)}
    subject = _text(who.get("userName")) if kind == "WebIdentityUser" else None
    if subject is None and _text(tag.get("kubernetes-namespace")):
        subject = f"{_text(tag.get('kubernetes-namespace'))}/{_text(tag.get('kubernetes-service-account')) or '?'}"
    invoked_by = _text(who.get("invokedBy"))
    identity = (_text(who.get("arn")) or subject or invoked_by or _text(who.get("identityProvider"))
                or _text(who.get("principalId")) or kind)
    return TrailEvent(
        event_id=_text(raw.get("EventId")) or _text(record.get("eventID")) or "",
        name=_text(raw.get("EventName")) or _text(record.get("eventName")) or "?",
        source=_text(raw.get("EventSource")) or _text(record.get("eventSource")) or "?",
        time=_time(raw.get("EventTime")) or _time(record.get("eventTime")),
        identity_type=kind,
        identity=identity,
        subject=subject,
        role_arn=_text(parameters.get("roleArn")) or _text(issuer.get("arn")),
        session_name=_text(parameters.get("roleSessionName")),
        error_code=_text(record.get("errorCode")),
        error_message=_text(record.get("errorMessage")),
        username=_text(raw.get("Username")),
        source_ip=_text(record.get("sourceIPAddress")),
        user_agent=_text(record.get("userAgent")),
        region=_text(record.get("awsRegion")),
        invoked_by=invoked_by,
        pod_name=_text(tag.get("kubernetes-pod-name")),
    )
