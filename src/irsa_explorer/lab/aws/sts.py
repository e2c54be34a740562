"""STS AssumeRoleWithWebIdentity as AWS checks it, in front of moto's (which checks nothing).

Order of checks: role ARN syntax, token is a JWT, an IAM OIDC provider for its `iss` in the
role's account, signature against the issuer's keys, `aud` in the provider's client IDs,
expiry, the role exists and its trust policy allows the request (the one shared evaluator,
`analysis.trust`), DurationSeconds within the role's MaxSessionDuration. Each failure is the
error code and message AWS returns (failure-catalogue.md C.8-C.15). On success the
credentials are minted by moto's STS backend, so they work against every other lab API.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timezone
from typing import Any
from xml.sax.saxutils import escape

import jwt

from irsa_explorer.lab.aws import moto_backends as aws_moto
from irsa_explorer.lab.aws.wire import AwsRequest, Response, query_error, request_id

NOT_A_JWT = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
NO_KEY = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)


class StsRejection(Exception):
    """A check failed: carries the AWS error code, HTTP status and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class IssuerKeys:
    """The signing keys (JWKS) of each OIDC issuer the lab knows, by `iss`.

    AWS fetches these from the issuer's discovery URL; the lab's issuer is not reachable at
    its https:// URL, so the Kubernetes side registers its JWKS here instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jwks: dict[str, dict[str, Any]] = {}

    def register(self, issuer: str, jwks: dict[str, Any]) -> None:
        with self._lock:
            self._jwks[issuer.rstrip("/")] = jwks

    def get(self, issuer: str) -> dict[str, Any] | None:
        with self._lock:
            return self._jwks.get(issuer.rstrip("/"))


def unverified_claims(raw: str) -> dict[str, Any]:
    """The token's payload without checks, or StsRejection when it is not a JWT."""
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise StsRejection("InvalidIdentityToken", NOT_A_JWT) from None
    if not isinstance(claims.get("iss"), str):
        raise StsRejection("InvalidIdentityToken", NOT_A_JWT)
    return claims


def verify_signature(raw: str, jwks: dict[str, Any] | None) -> None:
    """Check the RS256 signature against the issuer's published keys (expiry is checked apart,
    because AWS reports it with its own error code)."""
    if not jwks:
        raise StsRejection("InvalidIdentityToken", NO_KEY)
    try:
        header = jwt.get_unverified_header(raw)
        keys = jwt.PyJWKSet.from_dict(jwks)
    except jwt.PyJWTError:
        raise StsRejection("InvalidIdentityToken", NO_KEY) from None
    candidates = [key for key in keys.keys if header.get("kid") in (None, key.key_id)]
    if not candidates:
        raise StsRejection("InvalidIdentityToken", NO_KEY)
    for key in candidates:
        try:
            jwt.decode(
                raw,
                key.key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False},
            )
            return
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            break
    raise StsRejection("InvalidIdentityToken", "The web identity token signature could not be verified")


def check_expiry(claims: dict[str, Any], now: float | None = None) -> None:
    now_s = int(time.time() if now is None else now)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)):
        raise StsRejection("InvalidIdentityToken", NOT_A_JWT)
    if now_s >= exp:
        raise StsRejection(
            "ExpiredTokenException",
            f"Token expired: current date/time {now_s} must be before the expiration date/time {int(exp)}",
        )


def audiences(claims: dict[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list):
        return tuple(a for a in aud if isinstance(a, str))
    return ()


def trust_document(role: Any) -> Any:
    """The role's trust policy as a dict, or the raw text when it does not parse."""
    document = role.assume_role_policy_document
    if isinstance(document, str):
        try:
            return json.loads(document)
        except ValueError:
            return document
    return document


class WebIdentitySts:
    """Answers `sts:AssumeRoleWithWebIdentity` for the lab."""

    def __init__(self, keys: IssuerKeys, region: str) -> None:
        self.keys = keys
        self.region = region

    def handle(self, request: AwsRequest) -> Response:
        try:
            return self._assume(request.form)
        except StsRejection as rejection:
            return query_error("sts", rejection.status, rejection.code, rejection.message)

    def _assume(self, form: dict[str, str]) -> Response:
        # Imported here: analysis/ is a sibling layer the lab shares, not a server dependency.
        from irsa_explorer.analysis import arns, trust

        role_arn = form.get("RoleArn", "")
        raw = form.get("WebIdentityToken", "")
        session_name = form.get("RoleSessionName", "")
        parsed_arn = arns.parse_role_arn(role_arn)  # the engine's rule for MALFORMED_ROLE_ARN, too
        if parsed_arn is None:
            raise StsRejection("ValidationError", "Request ARN is invalid")
        account = parsed_arn.account

        claims = unverified_claims(raw)
        issuer = claims["iss"]
        provider = aws_moto.find_oidc_provider(account, issuer)
        if provider is None:
            raise StsRejection(
                "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}"
            )
        verify_signature(raw, self.keys.get(issuer))
        token_audiences = audiences(claims)
        if not set(token_audiences) & set(provider.client_ids):
            raise StsRejection("InvalidIdentityToken", "Incorrect token audience")
        check_expiry(claims)

        role = aws_moto.find_role(role_arn)
        denied = StsRejection(
            "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", status=403
        )
        if role is None:
            raise denied
        subject = str(claims.get("sub", ""))
        trust_request = trust.web_identity_request(issuer, subject, list(token_audiences), account)
        evaluation = trust.evaluate_trust(trust_document(role), trust_request)
        # STS fails closed: a policy the evaluator cannot fully read ("unknown") allows nothing.
        if evaluation.decision != trust.Decision.ALLOW:
            raise denied

        duration = int(form.get("DurationSeconds") or 3600)
        if duration < 900:
            raise StsRejection(
                "ValidationError",
                f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy "
                "constraint: Member must have value greater than or equal to 900",
            )
        if duration > int(role.max_session_duration or 3600):
            raise StsRejection(
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        credentials = aws_moto.assume(role_arn, session_name, self.region, duration)
        return _success(credentials, provider.arn, subject, token_audiences[0])


def _success(credentials: aws_moto.Credentials, provider_arn: str, subject: str, audience: str) -> Response:
    rid = request_id()
    expiration = credentials.expiration.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = f"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>{escape(subject)}</SubjectFromWebIdentityToken>
    <Audience>{escape(audience)}</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>{escape(credentials.assumed_role_id)}</AssumedRoleId>
      <Arn>{escape(credentials.assumed_role_arn)}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{credentials.access_key_id}</AccessKeyId>
      <SecretAccessKey>{credentials.secret_access_key}</SecretAccessKey>
      <SessionToken>{credentials.session_token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <Provider>{escape(provider_arn)}</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>{rid}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
"""
    return 200, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, body.encode()
