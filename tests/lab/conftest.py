"""Fixtures for the lab's AWS side (tests/lab/aws, tests/lab/runtime): an in-process AwsLab
per test module, reached with boto3.

The tests sign their own service-account tokens (an RSA key + PyJWT) and register that key's
JWKS for the lab issuer, so every STS check runs against tokens they control.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import jwt
import pytest
from botocore.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa

from irsa_explorer.lab.aws.server import AwsLab
from irsa_explorer.lab.spec import LabCluster

CLUSTER = LabCluster()
ISSUER_HOST = CLUSTER.issuer_host_path
# botocore's defaults: refusals are not retried, and messages read as the CLI prints them.
DEFAULT_CONFIG = Config()


class TokenMaker:
    """An OIDC issuer of our own: one RSA key, its JWKS, and EKS-shaped tokens."""

    def __init__(self, issuer: str = CLUSTER.issuer, kid: str = "test-key") -> None:
        self.issuer = issuer
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="RS256")
        return {"keys": [public]}

    def token(
        self,
        namespace: str = "default",
        sa: str = "my-sa",
        aud: str | list[str] = "sts.amazonaws.com",
        *,
        lifetime: int = 3600,
        issued: int | None = None,
        issuer: str | None = None,
        pod: str = "my-pod",
    ) -> str:
        iat = int(time.time()) if issued is None else issued
        claims = {
            "iss": issuer or self.issuer,
            "sub": f"system:serviceaccount:{namespace}:{sa}",
            "aud": [aud] if isinstance(aud, str) else aud,
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "kubernetes.io": {
                "namespace": namespace,
                "pod": {"name": pod, "uid": str(uuid.uuid4())},
                "serviceaccount": {"name": sa, "uid": str(uuid.uuid4())},
            },
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def web_identity_trust(namespace: str, sa: str, account: str = CLUSTER.account) -> dict[str, Any]:
    """The trust policy the EKS docs give for a role assumed by one service account."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{ISSUER_HOST}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{ISSUER_HOST}:sub": f"system:serviceaccount:{namespace}:{sa}",
                        f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


POD_IDENTITY_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture(scope="module")
def aws_lab() -> Iterator[AwsLab]:
    lab = AwsLab(CLUSTER)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def admin(aws_lab: AwsLab) -> boto3.Session:
    key, secret = aws_lab.admin_credentials
    return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=CLUSTER.region)


@pytest.fixture(scope="module")
def client(aws_lab: AwsLab, admin: boto3.Session) -> Callable[..., Any]:
    """`client("iam")`: an admin client for the lab; pass a session to use other credentials."""

    def make(service: str, session: boto3.Session | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("config", DEFAULT_CONFIG)
        return (session or admin).client(service, endpoint_url=aws_lab.endpoint_url, **kwargs)

    return make


@pytest.fixture(scope="module")
def issuer(aws_lab: AwsLab) -> TokenMaker:
    """Our token issuer for the lab's issuer URL, with its keys registered for STS."""
    maker = TokenMaker()
    aws_lab.register_issuer(maker.issuer, maker.jwks())
    return maker


@pytest.fixture(scope="module")
def oidc_provider(client: Callable[..., Any]) -> str:
    """The cluster's IAM OIDC provider, trusting the default IRSA audience."""
    return client("iam").create_open_id_connect_provider(
        Url=CLUSTER.issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
    )["OpenIDConnectProviderArn"]


def session_from(credentials: dict[str, Any], region: str = CLUSTER.region) -> boto3.Session:
    """A boto3 session from an STS `Credentials` block."""
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken") or credentials.get("Token"),
        region_name=region,
    )


@pytest.fixture(scope="session")
def cluster() -> LabCluster:
    return CLUSTER


@pytest.fixture(scope="session")
def trust_for() -> Callable[[str, str], dict[str, Any]]:
    """`trust_for(namespace, sa)`: the IRSA trust policy for that service account."""
    return web_identity_trust


@pytest.fixture(scope="session")
def policies() -> dict[str, dict[str, Any]]:
    return {"pod-identity": POD_IDENTITY_TRUST, "ec2": EC2_TRUST}


@pytest.fixture(scope="session")
def to_session() -> Callable[..., boto3.Session]:
    return session_from


@pytest.fixture(scope="session")
def new_issuer() -> Callable[..., TokenMaker]:
    """A token issuer of its own (another key, or another issuer URL)."""
    return TokenMaker
