"""IAM enforcement for every signed request, done in front of moto with moto's own checker.

moto can enforce IAM itself, but in server mode its check recomputes the signature of
REST-JSON GET requests (EKS) over the wrong payload and refuses them all. So the lab
checks signature and permissions here, with the request exactly as received, using moto's
`IAMRequest`/`S3IAMRequest` (same credential lookup, same policy evaluation), and lets moto
serve the request only once it is allowed.
"""

from __future__ import annotations

from typing import Any

from irsa_explorer.lab.aws import moto_backends as aws_moto
from irsa_explorer.lab.aws.wire import AwsRequest, Response, error_for


def check(request: AwsRequest, environ: dict[str, Any], account: str) -> Response | None:
    """None when the request is correctly signed by lab credentials allowed to do it,
    else the error AWS would answer (InvalidClientTokenId, SignatureDoesNotMatch, AccessDenied)."""
    from moto.core.exceptions import ServiceException
    from moto.iam.access_control import IAMRequest, S3IAMRequest
    from werkzeug.datastructures import EnvironHeaders
    from werkzeug.exceptions import HTTPException

    # The signature covers the path and query string exactly as sent (REST-JSON GETs such as
    # eks:ListPodIdentityAssociations carry maxResults/nextToken there): a WSGI server that
    # sets neither RAW_URI nor REQUEST_URI must not make us check a path without its query.
    raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw_path:
        raw_path = request.path + (f"?{request.query}" if request.query else "")
    # The signature covers the body as sent.
    data: dict[str, Any] = {k: [v] for k, v in request.form.items()} if request.body else {}
    # AssumeRole: moto checks the caller's policies only; the trust policy is lab/aws/assume_role.py's.
    assuming = request.kind == "sts:AssumeRole"
    checker_class = S3IAMRequest if request.service == "s3" else (_identity_only() if assuming else IAMRequest)
    identity_allows = True
    try:
        checker = checker_class(
            account_id=account,
            method=request.method,
            path=raw_path,
            data=data,
            body=request.body,
            headers=EnvironHeaders(environ),
            action=_s3_permission(request) if request.service == "s3" else request.action,
        )
        checker.check_signature()
        try:
            checker.check_action_permitted(_resource(request, account))
        except HTTPException:
            if not assuming:
                raise
            identity_allows = False  # a trust policy naming the caller itself may still allow it
    except HTTPException as refused:  # IAM-style errors carry their HTTP status
        code = getattr(refused, "error_type", None) or "AccessDenied"
        message = getattr(refused, "message", None) or "Access Denied"
        status = refused.code or 403
    except ServiceException as refused:  # S3-style errors carry only code and message
        code, message = str(refused.code), str(refused.message)
        status = 400 if code == "InvalidToken" else 403
    else:
        if assuming:
            from irsa_explorer.lab.aws import assume_role

            return assume_role.refusal(request, account, identity_allows)
        return None
    if request.service not in ("iam", "sts", "ec2", "s3") and code == "AccessDenied":
        code = "AccessDeniedException"  # the REST-JSON services' spelling
    return error_for(request, status, code, message)


_IDENTITY_ONLY: Any = None


def _identity_only() -> type:
    """moto's IAMRequest without its own trust check for AssumeRole (see assume_role.py)."""
    global _IDENTITY_ONLY
    if _IDENTITY_ONLY is None:
        from moto.iam.access_control import IAMRequest

        class IdentityOnly(IAMRequest):
            def _is_assuming_role_operation(self, resource_arn: str) -> bool:
                return False

        _IDENTITY_ONLY = IdentityOnly
    return _IDENTITY_ONLY


def _s3_permission(request: AwsRequest) -> str:
    """S3's IAM action names differ from its API names (ListBuckets is s3:ListAllMyBuckets,
    ListObjectsV2 is s3:ListBucket); moto's S3 handler keeps the table."""
    from urllib.parse import parse_qs

    from moto.s3.responses import ACTION_MAP

    bucket, _, key = request.path.lstrip("/").partition("/")
    if not bucket:
        return "ListAllMyBuckets"
    table = ACTION_MAP["KEY" if key else "BUCKET"].get(request.method, {})
    query = parse_qs(request.query, keep_blank_values=True)
    for marker, action in table.items():
        if marker != "DEFAULT" and marker in query:
            return action
    return table.get("DEFAULT", request.action)


def _resource(request: AwsRequest, account: str) -> str:
    """The resource ARN the permission is checked against, as moto's handlers pick it."""
    if request.service == "s3":
        bucket = request.path.lstrip("/").split("/", 1)[0]
        key = request.path.lstrip("/").split("/", 1)[1] if request.path.count("/") > 1 else ""
        if not bucket:
            return "arn:aws:s3:::*"
        return f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
    if request.service == "sts" and request.action == "AssumeRole":
        return request.form.get("RoleArn", "*")
    if request.service == "iam" and "RoleName" in request.form:
        role = aws_moto.find_role_by_name(account, request.form["RoleName"])
        return role.arn if role is not None else "*"
    return "*"
