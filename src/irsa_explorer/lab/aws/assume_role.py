"""STS AssumeRole's trust decision, as IAM makes it, for every account of the lab.

moto checks a role's trust policy only for roles of the caller's own account, and compares
principals as strings: a trust policy naming the account (`arn:aws:iam::ACCOUNT:root`, or the
bare account id) — which in IAM means "any principal of that account whose own policies allow
it" — refused everyone, and a role in another account was assumed without any check (even a
role that does not exist). The lab decides it here instead, with the engine's evaluator
(`analysis.trust`, the one implementation of IAM trust semantics), after moto has checked the
caller's own (identity) policies:

- the role must exist, and its trust policy must allow the caller (an explicit Deny wins);
- a trust policy that names the caller itself (its user or role ARN) in the caller's own
  account is enough on its own; otherwise — the account named, or another account — the
  caller's identity policies must allow `sts:AssumeRole` on the role too.
"""

from __future__ import annotations

from typing import Any

from irsa_explorer.lab.aws import moto_backends as aws_moto
from irsa_explorer.lab.aws.sts import trust_document
from irsa_explorer.lab.aws.wire import AwsRequest, Response, error_for


def refusal(request: AwsRequest, account: str, identity_allows: bool) -> Response | None:
    """None when `request` (an sts:AssumeRole signed by a key of `account`) may assume its
    role, else the AccessDenied AWS answers. `identity_allows`: the caller's own policies
    allow sts:AssumeRole on the role (moto's check)."""
    from irsa_explorer.analysis import arns, trust

    role_arn = request.form.get("RoleArn", "")
    principal = aws_moto.principal_of_key(account, request.access_key_id or "")
    caller = principal[1] if principal else f"arn:aws:iam::{account}:user/unknown"
    denied = error_for(
        request, 403, "AccessDenied", f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
    parsed = arns.parse_role_arn(role_arn)
    role = aws_moto.find_role(role_arn) if parsed else None
    if role is None or principal is None:
        return denied
    principal_arn = principal[0]
    context: dict[str, tuple[str, ...]] = {
        "aws:PrincipalArn": (principal_arn,),
        "aws:PrincipalAccount": (account,),
        "sts:RoleSessionName": (request.form.get("RoleSessionName", ""),),
    }
    if request.form.get("ExternalId"):
        context["sts:ExternalId"] = (request.form["ExternalId"],)
    document = trust_document(role)
    evaluation = trust.evaluate_trust(
        document, trust.TrustRequest(trust.ASSUME_ROLE_ACTION, "AWS", principal_arn, context)
    )
    # STS fails closed: a policy the evaluator cannot fully read allows nothing.
    if evaluation.decision != trust.Decision.ALLOW:
        return denied
    if identity_allows or (parsed.account == account and _names(document, principal_arn)):
        return None
    return denied


def _names(document: Any, principal_arn: str) -> bool:
    """Whether an Allow statement of the trust policy names this principal itself (not its account)."""
    statements = document.get("Statement") if isinstance(document, dict) else None
    statements = statements if isinstance(statements, list) else [statements]
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        names = principal.get("AWS") if isinstance(principal, dict) else None
        names = [names] if isinstance(names, str) else names or []
        if principal_arn in names:
            return True
    return False
