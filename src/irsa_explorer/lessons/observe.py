"""Reading the lab for a lesson's checks: the same load and the same engine as the explorer's.

A lesson reads the whole lab afresh each time it looks (`load_and_resolve`, as `report` does)
rather than the explorer's store: the explorer reads IAM facts again only for what is on
screen and only once they are 30 s old, and a trainee's `aws iam create-…` must advance the
lesson within seconds. On a lab that is a few dozen requests.

Read every 2 s by every tab of a class, that whole read was most of an idle classroom's CPU
(bench/README.md, classroom). Kubernetes changes arrive by the explorer's watch; an AWS change
is a write call, and the lab records every call it answers in its CloudTrail event history at
once. So a quiet poll asks only `last_writes` — the newest write event of each account read,
one LookupEvents each — and reads the lab whole only when that changed (learn.py). Real
CloudTrail delivers events minutes late: this is for the lab, which lessons always run on.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from irsa_explorer.model import AttachedPolicy, Cluster, RolePolicies, Unavailable

from .checks import LabView, roles_for_policies, roles_named, users_for_policies

if TYPE_CHECKING:
    from irsa_explorer.sources.aws import AwsSource
    from irsa_explorer.sources.kube import KubeSource

    from .format import Check


def observe(kube: KubeSource, aws: AwsSource, checks: list[Check], cluster_name: str | None = None) -> LabView:
    """The lab as it is now: inventory, the engine's chains, and what `checks` need besides
    (roles they name that nothing annotates, the policies of the roles and users they look into).
    Raises as `load_inventory` does when the cluster cannot be asked at all."""
    from irsa_explorer.sources.inventory import load_and_resolve

    inventory, chains = load_and_resolve(kube, aws, None, cluster_name=cluster_name, discover_issuer=False)
    account = inventory.cluster.account if isinstance(inventory.cluster, Cluster) else None
    view = LabView(inventory, chains, {}, account)
    missing = sorted(roles_named(checks, view) - set(inventory.roles))
    if missing:
        inventory = inventory.with_facts(datetime.now(timezone.utc), roles=aws.get_roles(missing))
        view = LabView(inventory, chains, {}, account)
    wanted = sorted(roles_for_policies(checks, view))
    # a role known not to exist has no policies to read
    policies = {arn: inventory.roles[arn] if isinstance(inventory.roles.get(arn), Unavailable) else aws.role_policies(arn)
                for arn in wanted}
    users = {name: user_policies(aws, name) for name in sorted(users_for_policies(checks))}
    return LabView(inventory, chains, policies, account, users)


def last_writes(aws: AwsSource) -> tuple[str, ...] | None:
    """The event id of the newest write in the event history of each account the lab is read
    in — the source's own, then each account a profile names (a member account's writes are in
    its own history, not the admin's) — "" for an account with none yet; None when any history
    cannot be read (refused, failing, a member profile that does not work): the caller then
    reads the lab whole. One LookupEvents (ReadOnly=false, MaxResults 1) per account."""
    if aws.problem() is not None:
        return None
    marks: list[str] = []
    try:
        for account in [None, *sorted(aws.other_accounts.profiles)]:
            reader = aws if account is None else aws.other_accounts.reader(account)
            if isinstance(reader, Unavailable):  # that account's writes cannot be seen
                return None
            answer = reader.client("cloudtrail").lookup_events(
                LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}], MaxResults=1)
            events = answer.get("Events") or []
            marks.append(str(events[0].get("EventId", "")) if events else "")
    except Exception:  # denied, not answered, not the lab: no history to go by
        return None
    return tuple(marks)


def user_policies(aws: AwsSource, name: str) -> RolePolicies | Unavailable:
    """An IAM user's attached and inline policies, in RolePolicies' shape (only lessons ask: the
    explorer reads no users; a wrong way may be a grant to the user whose keys a pod holds)."""
    from irsa_explorer.sources.aws_errors import unavailable_from

    blocked = aws.problem()
    if blocked is not None:
        return blocked
    iam = aws.client("iam")
    try:
        attached = tuple(AttachedPolicy(p["PolicyName"], p["PolicyArn"])
                         for page in iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
                         for p in page.get("AttachedPolicies") or [])
        inline = {n: None for page in iam.get_paginator("list_user_policies").paginate(UserName=name)
                  for n in page.get("PolicyNames") or []}
    except Exception as error:  # denied, no such user, no answer: unknown (or not-found), never passed
        return unavailable_from(error, "iam:ListAttachedUserPolicies")
    return RolePolicies(role_arn=f"user/{name}", attached=attached, inline=inline)
