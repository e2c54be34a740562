"""The lab cluster's service-account token issuer: one RSA key per lab, EKS-shaped JWTs.

The same signer backs the API server's TokenRequest, the projected token files that
simulated containers read, and the JWKS that the AWS side (STS) verifies tokens against.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The kube-apiserver extends the default pod token (3607 s, the magic value kubelet asks for)
# to a year and tells clients to refresh after the requested time: the walkthrough's token shows
# exp - iat = 31536000 and warnafter = iat + 3607.
EXTENDED_TOKEN_REQUEST_SECONDS = 3607
EXTENDED_TOKEN_SECONDS = 365 * 24 * 3600
API_SERVER_AUDIENCE = "https://kubernetes.default.svc"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenSigner:
    """Mints and publishes RS256 service-account tokens for one lab cluster."""

    def __init__(self, issuer: str, *, key: rsa.RSAPrivateKey | None = None) -> None:
        self.issuer = issuer
        self._key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # Like kube-apiserver: the key id is derived from the public key, so it is stable per key.
        self.kid = hashlib.sha256(public_der).hexdigest()[:40]
        self._private_pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def mint(
        self,
        sub: str,
        audiences: Iterable[str],
        expiration_seconds: int,
        namespace: str,
        sa_name: str,
        sa_uid: str,
        pod: tuple[str, str] | None = None,
        node: tuple[str, str] | None = None,
        *,
        now: int | None = None,
    ) -> str:
        """Return a signed JWT with the claims a real EKS service-account token carries.

        `pod` and `node` are (name, uid) pairs for pod-bound tokens. A pod-bound token asked
        for with 3607 s is extended to a year with `warnafter`, as kube-apiserver does.
        """
        iat = int(time.time()) if now is None else now
        kube: dict[str, Any] = {"namespace": namespace}
        if pod is not None:
            kube["pod"] = {"name": pod[0], "uid": pod[1]}
        kube["serviceaccount"] = {"name": sa_name, "uid": sa_uid}
        if node is not None:
            kube["node"] = {"name": node[0], "uid": node[1]}
        lifetime = int(expiration_seconds)
        if pod is not None and lifetime == EXTENDED_TOKEN_REQUEST_SECONDS:
            kube["warnafter"] = iat + lifetime
            lifetime = EXTENDED_TOKEN_SECONDS
        claims = {
            "aud": list(audiences),
            "exp": iat + lifetime,
            "iat": iat,
            "iss": self.issuer,
            "kubernetes.io": kube,
            "nbf": iat,
            "sub": sub,
        }
        return jwt.encode(claims, self._private_pem, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, audience: str | None = None) -> dict[str, Any]:
        """Decode a token this signer minted; raises jwt.InvalidTokenError otherwise."""
        options = {"verify_aud": audience is not None}
        return jwt.decode(
            token,
            self._key.public_key(),
            algorithms=["RS256"],
            audience=audience,
            issuer=self.issuer,
            options=options,
        )

    def jwks(self) -> dict[str, Any]:
        """The key set as `/openid/v1/jwks` publishes it."""
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "use": "sig",
                    "kty": "RSA",
                    "kid": self.kid,
                    "alg": "RS256",
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }

    def openid_configuration(self) -> dict[str, Any]:
        """The discovery document as `/.well-known/openid-configuration` publishes it."""
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/keys",
            "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "claim_types_supported": ["normal"],
            "claims_supported": ["sub", "iss"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
