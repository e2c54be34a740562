"""AWS failures in words: each botocore error becomes a `model.Unavailable` that says what
happened and, for configuration and credential problems, the command that fixes it.

`kind` keeps "forbidden" (with the IAM permission it needs) apart from "not-found" and
"not-available": a role we may not read must never look like a role that does not exist.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from botocore import exceptions as boto_errors
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
)

from irsa_explorer.model import Unavailable
from irsa_explorer.sources.error_words import in_words

FORBIDDEN = "forbidden"
NOT_FOUND = "not-found"
NOT_AVAILABLE = "not-available"

_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
}
_MISSING_CODES = {"NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException"}
_THROTTLE_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}

_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_INVALID_KEY_CODES = {"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "AuthFailure"}


NO_CREDENTIALS = "no AWS credentials — run `aws configure` or set AWS_PROFILE"
NO_REGION = "no AWS region — pass --region REGION or set AWS_REGION"


def _profile_flag(profile: str | None) -> str:
    return f" --profile {profile}" if profile else ""


def unavailable_from(
    error: Exception, permission: str | None, *, profile: str | None = None, timeout: float | None = None
) -> Unavailable:
    """Turn a boto3 error into an Unavailable that says what happened in words, and for
    configuration and credential problems the command that fixes them. `profile` and
    `timeout` are named in those lines when given."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "") or code
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if "<html" in message.lower():  # an endpoint without this API answers with a web page
            message = f"HTTP {status}"
        if getattr(error, "operation_name", "") == "AssumeRole" and permission != "sts:AssumeRole":
            # raised while botocore resolved an assume-role profile's credentials
            return Unavailable(
                f"AWS profile {profile or 'default'} cannot assume its role ({code}: {message}) — check "
                f"role_arn and source_profile in ~/.aws/config (`aws configure list{_profile_flag(profile)}`)"
            )
        if code in _EXPIRED_CODES:
            return Unavailable(
                f"the AWS credentials have expired ({code}) — get new ones, e.g. `aws sso login{_profile_flag(profile)}`"
            )
        if code in _INVALID_KEY_CODES:
            return Unavailable(
                f"AWS does not know the access key ({code}) — run `aws configure{_profile_flag(profile)}` with valid keys"
            )
        if code == "SignatureDoesNotMatch":
            return Unavailable(
                f"the AWS secret key does not match the access key ({code}) — run `aws configure{_profile_flag(profile)}`"
            )
        if code in _DENIED_CODES:
            return Unavailable(f"access denied: {message}", permission, FORBIDDEN)
        if code in _MISSING_CODES:
            return Unavailable(f"does not exist: {message}", None, NOT_FOUND)
        if code in _THROTTLE_CODES:
            return Unavailable(f"throttled by AWS even after retries: {message}", None)
        if status == 404 or code in ("UnknownOperationException", "InvalidAction", "404"):
            return Unavailable(
                f"not available: the endpoint does not implement this call ({message})",
                None,
                NOT_AVAILABLE,
            )
        return Unavailable(f"{code}: {message}", permission)
    if isinstance(error, NoCredentialsError):
        if profile:
            return Unavailable(f"AWS profile {profile} has no credentials — run `aws configure --profile {profile}`")
        return Unavailable(NO_CREDENTIALS)
    if isinstance(error, NoRegionError):
        return Unavailable(NO_REGION)
    if isinstance(error, boto_errors.ProfileNotFound):
        missing = error.kwargs.get("profile") or profile
        return Unavailable(
            f"AWS profile {missing} is not in ~/.aws/config — run `aws configure --profile {missing}` "
            f"(or `aws configure sso`); `aws configure list-profiles` shows the profiles"
        )
    if isinstance(error, (boto_errors.SSOError, boto_errors.TokenRetrievalError)) or "sso" in type(error).__name__.lower():
        return Unavailable(
            f"the AWS SSO session of profile {profile or 'default'} has expired or was never started "
            f"— run `aws sso login{_profile_flag(profile)}`"
        )
    if isinstance(error, boto_errors.CredentialRetrievalError):
        from irsa_explorer.sources.kubeconfig import summarise

        said = summarise(str(error.kwargs.get("error_msg") or error))
        provider = error.kwargs.get("provider") or "the credential provider"
        where = "its credential_process" if provider == "custom-process" else provider
        return Unavailable(
            f"AWS profile {profile or 'default'}: {where} failed: {said} — check the profile in ~/.aws/config"
        )
    if isinstance(error, (boto_errors.PartialCredentialsError, boto_errors.InvalidConfigError)):
        return Unavailable(f"AWS configuration: {error} — check `aws configure list{_profile_flag(profile)}`")
    if isinstance(error, (boto_errors.ConnectTimeoutError, boto_errors.ReadTimeoutError)):
        endpoint = _endpoint_of(error)
        return Unavailable(f"no answer from {endpoint} in {timeout:g} s" if timeout else f"no answer from {endpoint}")
    if isinstance(error, (boto_errors.EndpointConnectionError, boto_errors.ConnectionClosedError)):
        return Unavailable(f"cannot connect to {_endpoint_of(error)}")
    if isinstance(error, BotoCoreError):
        return Unavailable(f"AWS call failed: {error}")
    return Unavailable(f"AWS call failed: {in_words(error)}")


def _endpoint_of(error: Exception) -> str:
    """The scheme and host of the endpoint a botocore connection error names."""
    url = str(getattr(error, "kwargs", {}).get("endpoint_url") or "")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else (url or "the AWS endpoint")
