"""CloudTrail's recent events for a pod or a role, read with LookupEvents (boto3 only).

LookupEvents filters on one attribute per call (event name, user name, resource name, …) and
not on an error code, so the events of a pod or a role are found in two steps:

1. who asked for the role: a pod on IRSA is its token's subject (`Username` =
   `system:serviceaccount:NS:SA`, the WebIdentityUser of its AssumeRoleWithWebIdentity), a pod
   on Pod Identity the role's `ResourceName` with EKS's session tag naming the pod, a pod on its
   node's role the node's instance (EC2 names the session after it: `Username` for the
   session's calls, the role's `ResourceName` for EC2's AssumeRole that began it), a role its ARN as
   `ResourceName` (every AssumeRole* for it, allowed or refused);
2. what each session those assumptions began did (`Username` = the session's name): its own
   calls, the AccessDenied among them.

Each lookup is one page (up to 50 events) at first; `more` asks each lookup that has more for
its next page. The client is the AwsSource's (its region, credentials, timeouts and retries:
LookupEvents allows 2 calls a second per account and region, and botocore's adaptive retries
wait when throttled). Denied: `Unavailable(kind="forbidden", permission="cloudtrail:LookupEvents")`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from irsa_explorer.model import (
    IdentityChain,
    Mechanism,
    Node,
    Pod,
    TrailEvent,
    TrailPage,
    TrailQuery,
    TrailSubject,
    Unavailable,
    parse_event,
)
from irsa_explorer.sources.aws_errors import FORBIDDEN, unavailable_from

if TYPE_CHECKING:
    from irsa_explorer.sources.aws import AwsSource

PERMISSION = "cloudtrail:LookupEvents"
PAGE_SIZE = 50  # LookupEvents' most per call
MAX_SESSIONS = 3  # sessions followed (step 2), newest first
DELIVERY = "CloudTrail delivers events within about 5 minutes"


def pod_subject(pod: Pod, chain: IdentityChain | None, node: Node | None = None) -> TrailSubject | str:
    """The lookups that find a pod's events, or why there are none (in words)."""
    if chain is None:
        return "the pod's chain is not worked out yet"
    key = f"pod:{pod.uid}"
    token = chain.token
    if chain.mechanism is Mechanism.IRSA and token is not None:
        return TrailSubject(key, f"the web identity {token.subject}", (TrailQuery("Username", token.subject),))
    role = chain.intended_role_arn
    if chain.mechanism is Mechanism.POD_IDENTITY and role:
        return TrailSubject(key, f"EKS Pod Identity for pod {pod.name}",
                            (TrailQuery("ResourceName", role, role_arn=role, pod_name=pod.name),))
    effective = chain.effective
    if chain.mechanism is Mechanism.NODE_ROLE:
        instance = node.instance_id if node is not None else None
        if instance is None:
            return "the pod's node has no EC2 instance ID (providerID) to look its role's session up by"
        role = effective.arn if effective is not None else None
        queries = (TrailQuery("Username", instance, role_arn=role),)
        if role:  # EC2's AssumeRole that began the session (it names no user)
            queries += (TrailQuery("ResourceName", role, role_arn=role, session_name=instance),)
        return TrailSubject(key, f"node {pod.node_name}'s session {instance}", queries, follow_sessions=False,
                            note=f"every pod on node {pod.node_name} shares this session: its calls are theirs too")
    label = effective.label if effective is not None else chain.mechanism.value
    return f"the pod assumes no role ({label}): CloudTrail names no session of it to look up"


def role_subject(role_arn: str) -> TrailSubject:
    """The role's assumptions (ResourceName = its ARN) and what their sessions did."""
    return TrailSubject(f"role:{role_arn}", f"role {role_arn.rsplit('/', 1)[-1]}",
                        (TrailQuery("ResourceName", role_arn, role_arn=role_arn),))


def recent_events(aws: AwsSource, subject: TrailSubject, cursor: tuple[tuple[TrailQuery, str], ...] = (), *,
                  page_size: int = PAGE_SIZE, at: datetime | None = None) -> TrailPage | Unavailable:
    """The first page of each of the subject's lookups (and of the sessions they began), or
    with `cursor` (a page's) the next page of each lookup that had more. Never raises."""
    at = at or datetime.now(timezone.utc)
    blocked = aws.problem()
    if blocked is not None:
        return blocked
    try:
        client = aws.client("cloudtrail")
    except Exception as error:  # a session that could not be made: its problem, in words
        return unavailable_from(error, PERMISSION, profile=aws.profile_name, timeout=aws.request_timeout)
    asked = list(cursor) if cursor else [(query, "") for query in subject.queries]
    found: list[TrailEvent] = []
    more: list[tuple[TrailQuery, str]] = []
    for query, token in asked:
        page = _page(client, aws, query, token, page_size)
        if isinstance(page, Unavailable):
            return page
        events, next_token = page
        found += events
        if next_token:
            more.append((query, next_token))
    if not cursor and subject.follow_sessions:
        for query in _session_queries(found, subject):
            page = _page(client, aws, query, "", page_size)
            if isinstance(page, Unavailable):
                return page
            found += page[0]
            if page[1]:
                more.append((query, page[1]))
    return TrailPage(newest_first(found), tuple(more), at, aws.region)


def newest_first(events: list[TrailEvent] | tuple[TrailEvent, ...]) -> tuple[TrailEvent, ...]:
    """Each event once (by id), newest first; events without a time last."""
    unique = {event.event_id or str(id(event)): event for event in events}
    floor = datetime.min.replace(tzinfo=timezone.utc)
    return tuple(sorted(unique.values(), key=lambda e: e.time or floor, reverse=True))


def more_of(previous: TrailPage, page: TrailPage) -> TrailPage:
    """What was shown, with the next pages: the events of both, the newer cursor."""
    return TrailPage(newest_first(previous.events + page.events), page.cursor, page.read_at, page.region)


def _page(client: Any, aws: AwsSource, query: TrailQuery, token: str,
          page_size: int) -> tuple[list[TrailEvent], str | None] | Unavailable:
    kwargs: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": query.key, "AttributeValue": query.value}],
                              "MaxResults": page_size}
    if token:
        kwargs["NextToken"] = token
    try:
        answer = client.lookup_events(**kwargs)
    except Exception as error:
        found = unavailable_from(error, PERMISSION, profile=aws.profile_name, timeout=aws.request_timeout)
        if found.kind == FORBIDDEN:
            return Unavailable(found.reason, PERMISSION, FORBIDDEN)
        return found
    raw = answer.get("Events") if isinstance(answer, dict) else None
    events = [e for e in (parse_event(item) for item in (raw if isinstance(raw, list) else [])) if e is not None]
    next_token = answer.get("NextToken") if isinstance(answer.get("NextToken"), str) else None
    return [e for e in events if query.keeps(e)], next_token


def _session_queries(events: list[TrailEvent], subject: TrailSubject) -> list[TrailQuery]:
    """Username lookups for the sessions the allowed assumptions began, newest first."""
    asked = {(q.key, q.value) for q in subject.queries}
    queries: list[TrailQuery] = []
    for event in newest_first(events):
        if not (event.assumption and event.error_code is None and event.session_name):
            continue
        query = TrailQuery("Username", event.session_name, role_arn=event.role_arn)
        if (query.key, query.value) not in asked:
            asked.add((query.key, query.value))
            queries.append(query)
        if len(queries) == MAX_SESSIONS:
            break
    return queries


__all__ = ["DELIVERY", "PERMISSION", "more_of", "newest_first", "pod_subject", "recent_events", "role_subject"]
