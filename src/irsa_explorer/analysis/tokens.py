"""Service-account tokens: decode for display, check the signature, mask for the screen.

Decoding is done by hand (base64url + JSON) rather than with `jwt.decode(verify=False)` so a
malformed token can be explained part by part ("the payload is not JSON") instead of one
generic error. Signature checks use PyJWT. A token is a bearer credential: nothing here
logs it, stores it in a repr, or writes it anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

_MAX_TOKEN_CHARS = 64 * 1024  # service-account tokens are ~1 KiB; refuse to parse megabytes
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# Only public-key algorithms: an HS256 token "verified" with a public key as HMAC secret is
# the classic algorithm-confusion forgery.
_ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}


@dataclass(frozen=True)
class KubernetesClaims:
    """The `kubernetes.io` claim: which pod, service account and node the token is bound to."""

    namespace: str | None = None
    pod_name: str | None = None
    pod_uid: str | None = None
    service_account_name: str | None = None
    service_account_uid: str | None = None
    node_name: str | None = None
    node_uid: str | None = None
    warn_after: datetime | None = None


@dataclass(frozen=True)
class DecodedToken:
    header: dict[str, Any] = field(hash=False, compare=False)
    claims: dict[str, Any] = field(hash=False, compare=False)
    signature_chars: int  # length of the signature segment; the segment itself is never kept
    issuer: str | None
    subject: str | None
    audiences: tuple[str, ...]
    issued_at: datetime | None
    not_before: datetime | None
    expires_at: datetime | None
    kubernetes: KubernetesClaims | None
    problems: tuple[str, ...] = ()  # claims present but not of the expected type

    @property
    def algorithm(self) -> str | None:
        alg = self.header.get("alg")
        return alg if isinstance(alg, str) else None

    @property
    def key_id(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    @property
    def lifetime(self) -> timedelta | None:
        """The validity the token was minted with (exp − iat)."""
        if self.expires_at and self.issued_at:
            return self.expires_at - self.issued_at
        return None

    def remaining(self, now: datetime | None = None) -> timedelta | None:
        """Time left before `exp` (negative once expired)."""
        if self.expires_at is None:
            return None
        return self.expires_at - (now or datetime.now(timezone.utc))

    def is_expired(self, now: datetime | None = None) -> bool | None:
        left = self.remaining(now)
        return None if left is None else left <= timedelta(0)

    def not_yet_valid(self, now: datetime | None = None) -> bool | None:
        if self.not_before is None:
            return None
        return (now or datetime.now(timezone.utc)) < self.not_before


@dataclass(frozen=True)
class TokenError:
    """Why a string is not a readable JWT. Never carries the token itself."""

    reason: str
    part: str | None = None  # "header" | "payload" | "signature" | None (the whole token)

    def __str__(self) -> str:
        return f"{self.part}: {self.reason}" if self.part else self.reason


class SignatureStatus(StrEnum):
    VERIFIED = "verified"
    INVALID = "invalid"
    CANNOT_CHECK = "cannot-check"


@dataclass(frozen=True)
class SignatureCheck:
    status: SignatureStatus
    reason: str
    key_id: str | None = None


def decode_token(raw: Any) -> DecodedToken | TokenError:
    """Split and decode a JWT without verifying it. Returns TokenError on anything malformed."""
    if not isinstance(raw, str):
        return TokenError(f"a token is text, got {type(raw).__name__}")
    text = raw.strip()
    if not text:
        return TokenError("empty token")
    if len(text) > _MAX_TOKEN_CHARS:
        return TokenError(f"{len(text)} characters is far too long for a service-account token")
    parts = text.split(".")
    if len(parts) != 3:
        return TokenError(f"a JWT has 3 dot-separated parts, this has {len(parts)}")
    header = _json_part(parts[0], "header")
    if isinstance(header, TokenError):
        return header
    claims = _json_part(parts[1], "payload")
    if isinstance(claims, TokenError):
        return claims
    if not parts[2]:
        return TokenError("empty signature (unsigned token)", "signature")
    if _b64decode(parts[2]) is None:
        return TokenError("not base64url", "signature")

    problems: list[str] = []

    def text_claim(name: str) -> str | None:
        value = claims.get(name)
        if value is None or isinstance(value, str):
            return value
        problems.append(f"claim {name!r} is {_json_type(value)}, not a string")
        return None

    aud = claims.get("aud")
    if isinstance(aud, str):
        audiences: tuple[str, ...] = (aud,)
    elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        audiences = tuple(aud)
    else:
        audiences = ()
        if aud is not None:
            problems.append("claim 'aud' is neither a string nor a list of strings")

    return DecodedToken(
        header=header,
        claims=claims,
        signature_chars=len(parts[2]),
        issuer=text_claim("iss"),
        subject=text_claim("sub"),
        audiences=audiences,
        issued_at=_time(claims, "iat", problems),
        not_before=_time(claims, "nbf", problems),
        expires_at=_time(claims, "exp", problems),
        kubernetes=_kubernetes_claims(claims.get("kubernetes.io"), problems),
        problems=tuple(problems),
    )


def verify_signature(raw: str, jwks: Any) -> SignatureCheck:
    """Check the token's signature against an issuer's JWKS (signature only: not exp, not aud)."""
    decoded = decode_token(raw)
    if isinstance(decoded, TokenError):
        return SignatureCheck(SignatureStatus.INVALID, f"not a JWT: {decoded}")
    kid, alg = decoded.key_id, decoded.algorithm
    if not alg or alg.lower() == "none":
        return SignatureCheck(SignatureStatus.INVALID, f"token is not signed (alg {alg!r})", kid)
    if alg not in _ASYMMETRIC:
        return SignatureCheck(
            SignatureStatus.INVALID, f"alg {alg!r} is not a public-key signature (service-account tokens use RS256)", kid
        )
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        return SignatureCheck(SignatureStatus.CANNOT_CHECK, "no signing keys published by the issuer", kid)
    import jwt  # here, not at the top: the masking below serves the log file, loaded before anything

    try:
        keyset = jwt.PyJWKSet.from_dict(jwks)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        return SignatureCheck(SignatureStatus.CANNOT_CHECK, f"the issuer's JWKS is not usable: {exc}", kid)
    candidates = [k for k in keyset.keys if kid is None or k.key_id == kid]
    if not candidates:
        published = ", ".join(sorted(str(k.key_id) for k in keyset.keys))
        return SignatureCheck(
            SignatureStatus.INVALID,
            f"signed with key {kid!r}, which the issuer does not publish (it publishes {published})",
            kid,
        )
    last_error = ""
    for key in candidates:
        try:
            jwt.decode(
                raw.strip(),
                key.key,
                algorithms=[alg],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "verify_aud": False, "verify_iss": False},
            )
            return SignatureCheck(SignatureStatus.VERIFIED, f"signature verified with key {key.key_id!r} ({alg})", key.key_id)
        except jwt.InvalidAlgorithmError as exc:
            last_error = f"algorithm {alg} not usable with key {key.key_id!r}: {exc}"
        except jwt.InvalidSignatureError:
            last_error = f"signature does not match key {key.key_id!r}"
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
    return SignatureCheck(SignatureStatus.INVALID, last_error, kid)


# --- tokens and keys inside any text ------------------------------------------------------------
# The one pattern of a JWT (a service-account token, an EKS token's payload) wherever it stands in
# a text: a log line, an error, an annotation, a report, a line of a screenshot. Every JWT starts
# "eyJ", the base64url of '{"'; at least four more characters of the header, so the word "eyJ"
# alone is not one. The payload and the signature are optional: a token cut short (a screen line
# wrapped in its middle, a message truncated) is still masked, and the signature is a group of its
# own for the screens that show the claims and hide only the signature.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*(?:\.(?P<signature>[A-Za-z0-9_-]*))?)?")
TOKEN_REDACTED = "<token redacted>"
SIGNATURE_HIDDEN = "<signature hidden>"
# The one pattern of an AWS access key ID (long-term AKIA…, temporary ASIA…) and of the other
# unique IDs of its shape (AROA… a role's, AIDA… a user's): a four-letter prefix and 12 or more
# capitals and digits, not inside a longer run of them.
ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|AGPA)[A-Z0-9]{12,}(?![A-Z0-9])")


def mask_tokens(text: str, marker: str = TOKEN_REDACTED) -> str:
    """The text with every JWT in it, signature and all, replaced by `marker`: for whatever
    leaves the screen (a report, a log file, an error message that may echo a token back)."""
    return JWT.sub(marker, text or "") if "eyJ" in (text or "") else (text or "")


def mask_signatures(text: str, marker: str = SIGNATURE_HIDDEN) -> str:
    """The text with every JWT's signature replaced by `marker`, its header and claims kept: for
    a screen, where the claims are what the user reads and the signature is the credential."""
    if "eyJ" not in text:
        return text

    def hide(match: re.Match) -> str:
        if not match.group("signature"):
            return match.group(0)
        return match.string[match.start():match.start("signature")] + marker

    return JWT.sub(hide, text)


def find_tokens(text: str) -> list[str]:
    """Every JWT in the text, whole."""
    return [m.group(0) for m in JWT.finditer(text)] if "eyJ" in text else []


def key_id_masked(key: str | None) -> str:
    """AKIAIOSFODNN7EXAMPLE → AKIA…MPLE: which key (its kind and the last four characters the
    console shows too), not the key."""
    return f"{key[:4]}…{key[-4:]}" if key and len(key) > 8 else "(key)"


def mask_keys(text: str) -> str:
    """The text with every access key ID in it masked as `key_id_masked` does."""
    return ACCESS_KEY.sub(lambda m: key_id_masked(m.group(0)), text)


def mask_signature(raw: str) -> str:
    """The token with its signature hidden, so a screen can show the claims but never a credential."""
    if not isinstance(raw, str):
        return "<not a token>"
    parts = raw.strip().split(".")
    if len(parts) != 3:
        return f"<not a JWT: {len(raw)} characters hidden>"
    return f"{parts[0]}.{parts[1]}.<signature hidden, {len(parts[2])} characters>"


def _b64decode(segment: str) -> bytes | None:
    if not _BASE64URL.fullmatch(segment):
        return None  # the decoder would silently skip foreign characters
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_part(segment: str, part: str) -> dict | TokenError:
    if not segment:
        return TokenError("empty", part)
    data = _b64decode(segment)
    if data is None:
        return TokenError("not base64url", part)
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return TokenError("not JSON", part)
    if not isinstance(value, dict):
        return TokenError(f"a JSON {type(value).__name__}, not an object", part)
    return value


def _time(claims: dict, name: str, problems: list[str]) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"claim {name!r} is {_json_type(value)}, not a number of seconds")
        return None
    if value != value or value in (float("inf"), float("-inf")):  # NaN, ±Infinity: Python's JSON reads them
        problems.append(f"claim {name!r} is {value}, not a number of seconds")
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        # a datetime holds years 1 to 9999; a token's times are seconds since 1970
        problems.append(f"claim {name!r} ({_number_words(value)} s) is out of range: not a time between years 1 and 9999")
        return None


def _number_words(value: int | float) -> str:
    """A number short enough to quote (1e+20, not 400 digits)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    try:
        digits = str(value)
    except ValueError:  # more digits than Python converts
        return "a number of thousands of digits"
    return digits if len(digits) <= 20 else f"{digits[:6]}… ({len(digits)} digits)"


def _json_type(value: Any) -> str:
    """What a JSON value is, in JSON's words ('an object', 'a number', …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "an object", list: "an array", str: "a string"}.get(type(value), f"a {type(value).__name__}")


def _kubernetes_claims(value: Any, problems: list[str]) -> KubernetesClaims | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append("claim 'kubernetes.io' is not an object")
        return None

    def ref(name: str) -> tuple[str | None, str | None]:
        obj = value.get(name)
        if not isinstance(obj, dict):
            return None, None
        n, u = obj.get("name"), obj.get("uid")
        return (n if isinstance(n, str) else None, u if isinstance(u, str) else None)

    namespace = value.get("namespace")
    pod, sa, node = ref("pod"), ref("serviceaccount"), ref("node")
    return KubernetesClaims(
        namespace=namespace if isinstance(namespace, str) else None,
        pod_name=pod[0], pod_uid=pod[1],
        service_account_name=sa[0], service_account_uid=sa[1],
        node_name=node[0], node_uid=node[1],
        warn_after=_time(value, "warnafter", problems),
    )
