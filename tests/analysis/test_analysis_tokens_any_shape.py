"""Token claims of any shape (issue 14): a token file holds whatever its writer put there. Times out
of range or of the wrong type, claims of the wrong type, deep or huge JSON, non-UTF-8 — the
decoder answers "invalid: why" for each, and never raises."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irsa_explorer.analysis.tokens import DecodedToken, TokenError, decode_token, mask_signature, verify_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims: object, header: object | None = None, payload: bytes | None = None) -> str:
    body = payload if payload is not None else json.dumps(claims, allow_nan=True).encode()
    return f"{b64(json.dumps(header or {'alg': 'RS256', 'kid': 'k'}).encode())}.{b64(body)}.c2ln"


@pytest.mark.parametrize(("claims", "why"), [
    ({"exp": 1e20}, "claim 'exp' (1e+20 s) is out of range"),
    ({"exp": float("nan")}, "claim 'exp' is nan, not a number of seconds"),
    ({"exp": -1e18}, "claim 'exp' (-1e+18 s) is out of range"),
    ({"iat": 1e30}, "claim 'iat' (1e+30 s) is out of range"),
    ({"nbf": float("inf")}, "claim 'nbf' is inf, not a number of seconds"),
    ({"exp": 10**400}, "claim 'exp' (100000… (401 digits) s) is out of range"),
    ({"kubernetes.io": {"warnafter": 1e300}}, "claim 'warnafter' (1e+300 s) is out of range"),
    ({"exp": "tomorrow"}, "claim 'exp' is a string, not a number of seconds"),
    ({"iat": True}, "claim 'iat' is a boolean, not a number of seconds"),
    ({"iss": 5}, "claim 'iss' is a number, not a string"),
    ({"sub": {"a": 1}}, "claim 'sub' is an object, not a string"),
    ({"aud": [1]}, "claim 'aud' is neither a string nor a list of strings"),
    ({"kubernetes.io": "[X] y"}, "claim 'kubernetes.io' is not an object"),
])
def test_each_crafted_claim_of_the_issue_is_invalid_with_why(claims, why):
    decoded = decode_token(token(claims))
    assert isinstance(decoded, DecodedToken)
    assert any(problem.startswith(why) for problem in decoded.problems), decoded.problems


@pytest.mark.parametrize(("raw", "why"), [
    (token({}, payload=b'{"sub": "\xff\xfe"}'), "payload: not JSON"),
    (token({}, payload=b"[" * 100_000 + b"]" * 100_000), "far too long"),
    (token({}, payload=b"[" * 10_000 + b"]" * 10_000), "payload: not JSON"),  # deeper than the parser goes
    (token([1, 2]), "payload: a JSON list, not an object"),
    ("\x1b[2J not a token [bold]x[/]", "a JWT has 3 dot-separated parts, this has 1"),
    ("..", "header: empty"),
])
def test_garbage_is_a_token_error_that_says_why(raw, why):
    decoded = decode_token(raw)
    assert isinstance(decoded, TokenError) and why in str(decoded)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(min_value=-10**60, max_value=10**60)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
claim_names = st.sampled_from(["iss", "sub", "aud", "exp", "iat", "nbf", "kubernetes.io", "other"])


@settings(max_examples=300, deadline=None)
@given(claims=st.dictionaries(claim_names, json_values, max_size=6),
       kube=st.dictionaries(st.sampled_from(["namespace", "pod", "serviceaccount", "node", "warnafter"]), json_values, max_size=5),
       header=st.dictionaries(st.sampled_from(["alg", "kid", "typ"]), json_values, max_size=3))
def test_any_claims_decode_or_say_why_and_never_raise(claims, kube, header):
    claims = {**claims, "kubernetes.io": kube} if kube else claims
    raw = token(claims, header or None)
    decoded = decode_token(raw)
    assert isinstance(decoded, (DecodedToken, TokenError))
    if isinstance(decoded, DecodedToken):
        for name in ("exp", "iat", "nbf"):
            if name in claims and getattr(decoded, {"exp": "expires_at", "iat": "issued_at", "nbf": "not_before"}[name]) is None:
                assert claims[name] is None or any(f"'{name}'" in p for p in decoded.problems)
        decoded.remaining(), decoded.is_expired(), decoded.not_yet_valid(), decoded.lifetime  # noqa: B018
        assert decoded.algorithm is None or isinstance(decoded.algorithm, str)
    assert verify_signature(raw, {"keys": []}).status  # never raises either
    assert "c2ln" not in mask_signature(raw).split(".")[-1]
