"""Token decoding, signature checks and masking, on tokens minted here with a fresh RSA key."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from irsa_explorer.analysis.tokens import (
    DecodedToken,
    SignatureStatus,
    TokenError,
    decode_token,
    mask_signature,
    verify_signature,
)

ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
IAT = 1711762067


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(*pairs):
    keys = []
    for kid, k in pairs:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key()))
        jwk.update(kid=kid, use="sig", alg="RS256")
        keys.append(jwk)
    return {"keys": keys}


def walkthrough_claims(**over):
    # The walkthrough's default token of eks-iam-test2.
    claims = {
        "aud": ["https://kubernetes.default.svc"],
        "exp": 1743298067,
        "iat": IAT,
        "iss": ISSUER,
        "kubernetes.io": {
            "namespace": "default",
            "pod": {"name": "eks-iam-test2", "uid": "3a5613ae-8106-429e-9f5c-a1e0680ccf44"},
            "serviceaccount": {"name": "default", "uid": "91878549-9996-48a4-a83a-3d6693773331"},
            "warnafter": 1711765674,
        },
        "nbf": IAT,
        "sub": "system:serviceaccount:default:default",
    }
    claims.update(over)
    return claims


def mint(key, claims, kid="k1", alg="RS256"):
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def test_decode_walkthrough_token(key):
    decoded = decode_token(mint(key, walkthrough_claims()))
    assert isinstance(decoded, DecodedToken)
    assert decoded.algorithm == "RS256" and decoded.key_id == "k1"
    assert decoded.issuer == ISSUER
    assert decoded.subject == "system:serviceaccount:default:default"
    assert decoded.audiences == ("https://kubernetes.default.svc",)
    assert decoded.issued_at == datetime(2024, 3, 30, 1, 27, 47, tzinfo=timezone.utc)
    assert decoded.not_before == decoded.issued_at
    assert decoded.lifetime == timedelta(seconds=1743298067 - IAT)
    k = decoded.kubernetes
    assert (k.namespace, k.pod_name, k.service_account_name) == ("default", "eks-iam-test2", "default")
    assert k.pod_uid == "3a5613ae-8106-429e-9f5c-a1e0680ccf44"
    assert k.node_name is None
    assert k.warn_after == datetime.fromtimestamp(1711765674, timezone.utc)
    assert decoded.problems == ()


def test_remaining_and_expiry(key):
    decoded = decode_token(mint(key, walkthrough_claims()))
    before = datetime.fromtimestamp(1743298067 - 60, timezone.utc)
    assert decoded.remaining(before) == timedelta(seconds=60)
    assert decoded.is_expired(before) is False
    assert decoded.is_expired(before + timedelta(minutes=2)) is True
    assert decoded.not_yet_valid(datetime.fromtimestamp(IAT - 5, timezone.utc)) is True
    no_exp = decode_token(mint(key, {"sub": "x"}))
    assert no_exp.remaining() is None and no_exp.is_expired() is None and no_exp.lifetime is None


def unsigned(claims, header=None):
    seg = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{seg(header or {'alg': 'RS256'})}.{seg(claims)}.c2ln"


def test_string_audience_and_bad_claim_types():
    decoded = decode_token(unsigned({"aud": "sts.amazonaws.com", "iss": 3, "exp": "soon", "kubernetes.io": []}))
    assert decoded.audiences == ("sts.amazonaws.com",)
    assert decoded.issuer is None and decoded.expires_at is None and decoded.kubernetes is None
    assert len(decoded.problems) == 3


@pytest.mark.parametrize(
    "raw,part",
    [
        ("", None),
        ("abc", None),
        ("a.b", None),
        ("a.b.c.d", None),
        ("!!!.e30.c2ln", "header"),
        (base64.urlsafe_b64encode(b"[1]").decode() + ".e30.c2ln", "header"),
        ("e30.bm90IGpzb24.c2ln", "payload"),
        ("e30.e30.", "signature"),
        ("e30.e30.!!", "signature"),
    ],
)
def test_garbage_is_a_token_error(raw, part):
    result = decode_token(raw)
    assert isinstance(result, TokenError)
    assert result.part == part
    assert str(result)


def test_non_string_is_a_token_error():
    assert isinstance(decode_token(None), TokenError)
    assert isinstance(decode_token(b"e30.e30.c2ln"), TokenError)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.text(alphabet="abcXYZ012-_.=", max_size=300)))
def test_fuzz_decode_never_raises(raw):
    result = decode_token(raw)
    assert isinstance(result, (DecodedToken, TokenError))
    assert mask_signature(raw)
    check = verify_signature(raw, {"keys": []})
    assert check.status in SignatureStatus


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["iss", "sub", "aud", "exp", "iat", "nbf", "kubernetes.io"]),
                       st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                              st.text(max_size=5)),
                                    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3)),
                                    max_leaves=8)))
def test_fuzz_claims_never_raise(claims):
    result = decode_token(unsigned(claims))
    assert isinstance(result, DecodedToken)


def test_verify_good_signature(key, other_key):
    token = mint(key, walkthrough_claims())
    check = verify_signature(token, jwks_of(("k0", other_key), ("k1", key)))
    assert check.status is SignatureStatus.VERIFIED, check.reason
    assert check.key_id == "k1"


def test_verify_expired_token_still_verifies_signature(key):
    # Expiry is reported from the times, not hidden behind a signature failure.
    token = mint(key, walkthrough_claims(exp=IAT + 1))
    assert verify_signature(token, jwks_of(("k1", key))).status is SignatureStatus.VERIFIED


def test_verify_wrong_key_is_invalid(key, other_key):
    token = mint(other_key, walkthrough_claims())
    check = verify_signature(token, jwks_of(("k1", key)))
    assert check.status is SignatureStatus.INVALID
    assert "does not match" in check.reason


def test_verify_tampered_payload_is_invalid(key):
    h, p, s = mint(key, walkthrough_claims()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(walkthrough_claims(sub="system:serviceaccount:kube-system:admin")).encode()).rstrip(b"=").decode()
    assert verify_signature(f"{h}.{forged}.{s}", jwks_of(("k1", key))).status is SignatureStatus.INVALID


def test_verify_unknown_kid_is_invalid(key):
    check = verify_signature(mint(key, walkthrough_claims(), kid="rotated"), jwks_of(("k1", key)))
    assert check.status is SignatureStatus.INVALID
    assert "rotated" in check.reason and "k1" in check.reason


def test_verify_without_keys_cannot_check(key):
    token = mint(key, walkthrough_claims())
    for jwks in ({}, {"keys": []}, None, {"keys": [{"kty": "nope"}]}):
        check = verify_signature(token, jwks)
        assert check.status is SignatureStatus.CANNOT_CHECK, (jwks, check)
        assert check.reason


def test_verify_unsigned_token_is_invalid():
    token = jwt.encode({"sub": "x"}, None, algorithm="none")
    check = verify_signature(token, {"keys": []})
    assert check.status is SignatureStatus.INVALID


def test_verify_hs256_against_rsa_jwks_is_invalid(key):
    token = jwt.encode(walkthrough_claims(), "secret-secret-secret-secret-secret!", algorithm="HS256", headers={"kid": "k1"})
    assert verify_signature(token, jwks_of(("k1", key))).status is SignatureStatus.INVALID


def test_mask_signature_hides_only_the_signature(key):
    token = mint(key, walkthrough_claims())
    h, p, s = token.split(".")
    masked = mask_signature(token)
    assert masked.startswith(f"{h}.{p}.")
    assert s not in masked
    assert str(len(s)) in masked
    assert token not in mask_signature("x" + token + ".y")


def test_decoded_token_never_holds_the_signature(key):
    token = mint(key, walkthrough_claims())
    signature = token.split(".")[2]
    decoded = decode_token(token)
    assert signature not in repr(decoded)
    assert token not in repr(decoded)
