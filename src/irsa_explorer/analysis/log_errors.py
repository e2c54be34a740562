"""Which AWS error a container's log line shows, and which of the pod's findings explain it.

The AWS CLI, the SDKs and STS print a handful of errors when a pod's identity is wrong
(failure-catalogue.md quotes them): `AccessDenied` for a call the identity may not make (the
walkthrough's `aws s3 ls` as the node role), `InvalidIdentityToken` and an `AccessDenied` on
`AssumeRoleWithWebIdentity` when STS refuses the pod's token, `ExpiredToken`, "Unable to locate
credentials" when nothing reaches the SDK, `UnrecognizedClientException` / `InvalidClientTokenId`
for keys AWS does not know. `explain_line` recognises them in one line and names the findings of
the pod's chain that explain them — the engine decides; the logs screen only renders.

Log lines are untrusted: the patterns are bounded (no backtracking over a long line) and only
the span of the error is reported, never interpreted further.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from irsa_explorer.model import IdentityChain

# What each kind of error can be explained by, most telling first (finding codes of analysis.findings).
_IDENTITY_NOT_MEANT = (
    "POD_FAILED_ON_NODE_ROLE", "NODE_ROLE_FALLBACK", "IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION",
    "ASSOCIATION_AFTER_POD", "ROLE_ARN_ANNOTATION_TYPO", "ROLE_ARN_ON_POD", "CONTAINER_SETS_AWS_ROLE_ARN",
    "SKIPPED_CONTAINER", "IRSA_ROLE_CHANGED", "IRSA_SHADOWS_POD_IDENTITY", "STATIC_KEYS_IN_ENV",
    "STATIC_KEYS_MAYBE_FROM_SECRET", "CREDENTIALS_FROM_PROFILE", "PROFILE_MAY_OVERRIDE_IRSA",
    "STATIC_KEY_OTHER_ACCOUNT",
)
_TRUST = (
    "TRUST_SUB_MISMATCH", "TRUST_WILDCARD_IN_STRINGEQUALS", "TRUST_SUB_UNDER_AUD_KEY", "TRUST_AUDIENCE_MISMATCH",
    "TRUST_CONDITION_KEY_PREFIX", "TRUST_PRINCIPAL_NOT_PROVIDER", "TRUST_PRINCIPAL_TYPE", "TRUST_ACTION_MISMATCH",
    "TRUST_EXPLICIT_DENY", "TRUST_NOT_ALLOWED", "TRUST_POLICY_NOT_UNDERSTOOD", "ROLE_NOT_FOUND",
    "MALFORMED_ROLE_ARN", "CROSS_ACCOUNT_PROVIDER_UNKNOWN", "ROLE_LOOKUP_FAILED",
    "POD_FAILED_WITHOUT_CREDENTIALS",  # the failure itself, after what causes it
)
_NO_CREDENTIALS = (
    "POD_FAILED_WITHOUT_CREDENTIALS", "IMDS_HOP_LIMIT", "IMDS_DISABLED", "FARGATE_NO_CREDENTIALS",
    "POD_IDENTITY_AGENT_MISSING", "POD_IDENTITY_AGENT_UNKNOWN", "PROFILE_NOT_MOUNTED",
    "IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION", "ASSOCIATION_AFTER_POD", "ROLE_ARN_ANNOTATION_TYPO",
    "ROLE_ARN_ON_POD", "SKIPPED_CONTAINER",
)


@dataclass(frozen=True)
class ErrorKind:
    """One kind of AWS error a log can show: what it means and what explains it."""

    name: str  # "access-denied", "trust-denied", "invalid-token", …
    meaning: str  # in words, for the line's note
    explained_by: tuple[str, ...]  # finding codes, most telling first


KINDS = {kind.name: kind for kind in (
    ErrorKind("access-denied", "AWS refused a call of the identity the pod got: it is not the one meant "
              "for it, or that identity may not make the call", ("POD_FAILED_ACCESS_DENIED", *_IDENTITY_NOT_MEANT)),
    ErrorKind("trust-denied", "STS refused to let the pod's token assume the role: its trust policy does "
              "not allow this service account", _TRUST),
    ErrorKind("invalid-token", "STS refused the pod's token: no OIDC provider for the cluster's issuer in "
              "the role's account, or the token's audience is not one of its client IDs",
              ("NO_OIDC_PROVIDER", "AUDIENCE_NOT_IN_CLIENT_IDS", "CROSS_ACCOUNT_PROVIDER_UNKNOWN",
               "TRUST_AUDIENCE_MISMATCH")),
    ErrorKind("no-provider", "STS found no IAM OIDC provider for the token's issuer in the role's account",
              ("NO_OIDC_PROVIDER", "CROSS_ACCOUNT_PROVIDER_UNKNOWN")),
    ErrorKind("wrong-audience", "the token's audience is not a client ID of the IAM OIDC provider",
              ("AUDIENCE_NOT_IN_CLIENT_IDS", "TRUST_AUDIENCE_MISMATCH")),
    ErrorKind("expired-token", "the credentials or the token the SDK sent have expired", ("TOKEN_EXPIRED",)),
    ErrorKind("no-credentials", "the SDK found no credentials anywhere in its chain", _NO_CREDENTIALS),
    ErrorKind("unknown-keys", "AWS does not know the access key the pod sent (deleted, mistyped, or another "
              "partition's)", ("STATIC_KEY_NOT_FOUND", "STATIC_KEYS_IN_ENV", "STATIC_KEYS_MAYBE_FROM_SECRET",
                               "CREDENTIALS_FROM_PROFILE", "STATIC_KEY_OTHER_ACCOUNT")),
    ErrorKind("token-file", "the SDK could not read the projected token file", ("TOKEN_FILE_PERMISSIONS",)),
    ErrorKind("pod-identity-agent", "the SDK could not reach the EKS Pod Identity agent on its node",
              ("POD_IDENTITY_AGENT_MISSING", "POD_IDENTITY_AGENT_UNKNOWN", "POD_IDENTITY_HOST_NETWORK")),
    ErrorKind("pod-identity-trust", "EKS refused the association's role: its trust policy does not allow Pod Identity",
              ("POD_IDENTITY_TRUST_INVALID",)),
    ErrorKind("pod-identity-host-network", "EKS refuses Pod Identity credentials to a hostNetwork pod",
              ("POD_IDENTITY_HOST_NETWORK",)),
    ErrorKind("sts-unreachable", "the SDK could not reach STS to exchange the token",
              ("STS_GLOBAL_ENDPOINT", "STS_ENDPOINT_SDK_DEFAULT", "STS_REGIONAL_ENDPOINTS_INVALID")),
    ErrorKind("malformed-arn", "STS refused the role ARN the pod was given", ("MALFORMED_ROLE_ARN",)),
)}

# The AWS CLI's and boto3's form: "An error occurred (CODE) when calling the OP operation: message"
_CLI = re.compile(r"An error occurred \((?P<code>[\w.]{1,64})\) when calling the (?P<op>\w{1,64}) operation")
# Phrases without a code, as the SDKs and the EKS Auth API print them: (kind, pattern)
_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("no-provider", re.compile(r"No OpenIDConnect provider found")),
    ("wrong-audience", re.compile(r"Incorrect token audience")),
    ("trust-denied", re.compile(r"[Nn]ot authorized to perform sts:AssumeRoleWithWebIdentity")),
    ("no-credentials", re.compile(r"Unable to locate credentials|NoCredentialProviders|Could not load credentials "
                                  r"from any providers|CredentialsProviderError|Unable to load AWS credentials")),
    ("token-file", re.compile(r"WebIdentityErr: (?:unable to read file|failed to retrieve credentials)")),
    ("pod-identity-trust", re.compile(r"Trust policy of the role provided is invalid")),
    ("pod-identity-host-network", re.compile(r"EKS does not have permissions to assume the associated role")),
    ("pod-identity-agent", re.compile(r"(?:Connect timeout on endpoint URL|Unsupported host|connection refused)"
                                      r"[^\n]{0,40}169\.254\.170\.23")),
    ("sts-unreachable", re.compile(r"Connect timeout on endpoint URL: \"https://sts\.")),
    ("malformed-arn", re.compile(r"Request ARN is invalid")),
)
# A code on its own (the Go, JS and Java SDKs: "AccessDenied: …", "Error Code: AccessDenied")
_BARE = re.compile(r"\b(?P<code>AccessDenied(?:Exception)?|UnauthorizedOperation|InvalidIdentityToken(?:Exception)?"
                   r"|ExpiredToken(?:Exception)?|UnrecognizedClientException|InvalidClientTokenId)\b")

_CODES = {
    "AccessDenied": "access-denied", "AccessDeniedException": "access-denied",
    "UnauthorizedOperation": "access-denied", "InvalidIdentityToken": "invalid-token",
    "InvalidIdentityTokenException": "invalid-token", "ExpiredToken": "expired-token",
    "ExpiredTokenException": "expired-token", "RequestExpired": "expired-token",
    "UnrecognizedClientException": "unknown-keys", "InvalidClientTokenId": "unknown-keys",
    "IDPRejectedClaim": "invalid-token",
}
_ASSUME_OPERATIONS = {"AssumeRoleWithWebIdentity", "AssumeRole"}


@dataclass(frozen=True)
class LogError:
    """An AWS error in one log line: where it is (to highlight), what it is, and which of the
    pod's findings explain it (empty: none of them does — the chain is the place to look)."""

    code: str  # as printed: "AccessDenied", "InvalidIdentityToken", "Unable to locate credentials" …
    kind: str  # a key of KINDS
    start: int  # the span of `code` in the line
    end: int
    meaning: str
    operation: str | None = None  # the call that failed, when the line names it ("ListBuckets")
    findings: tuple[str, ...] = ()  # codes of the chain's findings, most telling first

    @property
    def explained(self) -> bool:
        return bool(self.findings)


def recognise(line: str) -> tuple[str, str, int, int, str | None] | None:
    """(kind, code as printed, start, end, operation) of the first AWS identity error in `line`."""
    if cli := _CLI.search(line):
        code, operation = cli.group("code"), cli.group("op")
        kind = _CODES.get(code)
        if kind == "access-denied" and operation in _ASSUME_OPERATIONS:
            kind = "trust-denied"
        if kind is not None:
            refined = _refine(kind, line)
            return refined, code, cli.start("code"), cli.end("code"), operation
    for kind, pattern in _PHRASES:
        if found := pattern.search(line):
            return kind, found.group(0), found.start(), found.end(), None
    if bare := _BARE.search(line):
        code = bare.group("code")
        kind = _CODES[code]
        if kind == "access-denied" and "sts:AssumeRole" in line:
            kind = "trust-denied"
        return _refine(kind, line), code, bare.start(), bare.end(), None
    return None


def _refine(kind: str, line: str) -> str:
    """An InvalidIdentityToken's message says which of its causes it is."""
    if kind == "invalid-token":
        if "No OpenIDConnect provider found" in line:
            return "no-provider"
        if "Incorrect token audience" in line:
            return "wrong-audience"
    return kind


def explain_line(line: str, chain: IdentityChain | None) -> LogError | None:
    """The AWS error `line` shows, with the codes of `chain`'s findings that explain it; None
    when the line shows none."""
    found = recognise(line)
    if found is None:
        return None
    kind_name, code, start, end, operation = found
    kind = KINDS[kind_name]
    present = {finding.code for finding in chain.findings} if chain is not None else set()
    explaining = tuple(c for c in kind.explained_by if c in present)
    return LogError(code, kind_name, start, end, kind.meaning, operation, explaining)


def explain_lines(lines: Iterable[str], chain: IdentityChain | None) -> dict[int, LogError]:
    """Line index → its error, for the lines that show one."""
    out = {}
    for index, line in enumerate(lines):
        if (said := explain_line(line, chain)) is not None:
            out[index] = said
    return out


def first_explained(errors: Sequence[LogError]) -> LogError | None:
    """The first error a finding explains, else the first error: what a summary leads with."""
    return next((e for e in errors if e.explained), errors[0] if errors else None)
