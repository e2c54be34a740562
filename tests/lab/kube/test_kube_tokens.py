"""TokenSigner: EKS-shaped claims, a stable kid, and a JWKS that verifies what it signs."""

from __future__ import annotations

import jwt
import pytest

from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.lab.tokens import TokenSigner

ISSUER = LabCluster().issuer


@pytest.fixture(scope="module")
def signer() -> TokenSigner:
    return TokenSigner(ISSUER)


def test_irsa_token_claims_match_eks(signer: TokenSigner) -> None:
    raw = signer.mint("system:serviceaccount:default:my-sa", ["sts.amazonaws.com"], 86400, "default", "my-sa",
                      "sa-uid", pod=("eks-iam-test2", "pod-uid"), node=("ip-1", "node-uid"), now=1_711_762_067)
    header = jwt.get_unverified_header(raw)
    claims = jwt.decode(raw, options={"verify_signature": False})
    assert header == {"alg": "RS256", "kid": signer.kid, "typ": "JWT"}
    assert set(claims) == {"aud", "exp", "iat", "iss", "kubernetes.io", "nbf", "sub"}
    assert claims["aud"] == ["sts.amazonaws.com"]
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "system:serviceaccount:default:my-sa"
    assert claims["exp"] - claims["iat"] == 86400 and claims["nbf"] == claims["iat"] == 1_711_762_067
    assert claims["kubernetes.io"] == {
        "namespace": "default",
        "pod": {"name": "eks-iam-test2", "uid": "pod-uid"},
        "serviceaccount": {"name": "my-sa", "uid": "sa-uid"},
        "node": {"name": "ip-1", "uid": "node-uid"},
    }


def test_default_pod_token_is_extended_with_warnafter(signer: TokenSigner) -> None:
    # The walkthrough's kube-api-access token: exp - iat = 1 year, warnafter = iat + 3607.
    raw = signer.mint("system:serviceaccount:default:default", ["https://kubernetes.default.svc"], 3607,
                      "default", "default", "u", pod=("p", "pu"), now=1_711_762_067)
    claims = jwt.decode(raw, options={"verify_signature": False})
    assert claims["exp"] == 1_743_298_067
    assert claims["kubernetes.io"]["warnafter"] == 1_711_765_674


def test_jwks_verifies_signature_and_rejects_other_keys(signer: TokenSigner) -> None:
    raw = signer.mint("system:serviceaccount:a:b", ["sts.amazonaws.com"], 3600, "a", "b", "u")
    key = jwt.PyJWKSet.from_dict(signer.jwks())[signer.kid]
    claims = jwt.decode(raw, key.key, algorithms=["RS256"], audience="sts.amazonaws.com", issuer=ISSUER)
    assert claims["sub"] == "system:serviceaccount:a:b"
    other = TokenSigner(ISSUER)
    assert other.kid != signer.kid
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(raw, jwt.PyJWKSet.from_dict(other.jwks())[other.kid].key, algorithms=["RS256"],
                   audience="sts.amazonaws.com")


def test_openid_configuration_names_issuer_and_keys(signer: TokenSigner) -> None:
    doc = signer.openid_configuration()
    assert doc["issuer"] == ISSUER
    assert doc["jwks_uri"] == ISSUER + "/keys"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
