"""What the report redacts, on chains the real engine resolves: secrets and tokens, never paths.

The bug this pins: any env var whose name contains TOKEN counted as a secret, so the IRSA and
Pod Identity token-file paths were redacted and the token link read `<secret redacted>`.
"""

from __future__ import annotations

from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.model import (
    IRSA_TOKEN_DIR,
    IRSA_TOKEN_PATH,
    IRSA_VOLUME,
    POD_IDENTITY_TOKEN_PATH,
    ROLE_ARN_ANNOTATION,
    Cluster,
    Container,
    EnvVar,
    Inventory,
    OidcProvider,
    Pod,
    ProjectedToken,
    Role,
    ServiceAccount,
)
from irsa_explorer.report import build_report, render, secret_values

ACCOUNT = "113534181560"
ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
HOST = ISSUER.removeprefix("https://")
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app-role"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"


def _irsa_inventory(extra_env: tuple[EnvVar, ...] = ()) -> Inventory:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com",
                                           f"{HOST}:sub": "system:serviceaccount:default:app"}},
        }],
    }
    env = (
        EnvVar("AWS_ROLE_ARN", ROLE_ARN),
        EnvVar("AWS_WEB_IDENTITY_TOKEN_FILE", IRSA_TOKEN_PATH),
        EnvVar("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", POD_IDENTITY_TOKEN_PATH),
    ) + extra_env
    pod = Pod(
        "u1", "default", "app-1", "app", "n1", "Running", "Running", None,
        containers=(Container("app", "img", env=env, volume_mounts=((IRSA_VOLUME, IRSA_TOKEN_DIR),)),),
        projected_tokens=(ProjectedToken(IRSA_VOLUME, "sts.amazonaws.com", 86400, "token"),),
    )
    return Inventory(
        context="test",
        namespace=None,
        pods={pod.uid: pod},
        service_accounts={("default", "app"): ServiceAccount("s1", "default", "app", {ROLE_ARN_ANNOTATION: ROLE_ARN})},
        roles={ROLE_ARN: Role(ROLE_ARN, "app-role", ACCOUNT, trust)},
        oidc_providers=[OidcProvider(f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}", HOST, ("sts.amazonaws.com",))],
        associations=[],
        node_roles={},
        # No discovery document: the issuer comes from DescribeCluster, as the report now loads it.
        cluster=Cluster("demo", f"arn:aws:eks:us-east-2:{ACCOUNT}:cluster/demo", "us-east-2", ACCOUNT, ISSUER, "1.29"),
    )


def test_token_file_paths_are_not_secrets() -> None:
    inv = _irsa_inventory()
    assert secret_values(inv) == frozenset()
    report = build_report(inv, resolve_all(inv))
    pod = report["pods"][0]
    token = next(link for link in pod["chain"] if link["step"] == "token")
    assert token["label"] == IRSA_TOKEN_PATH
    assert pod["verdict"] == "ok"
    assert "<secret redacted>" not in render(report, "json")


def test_secret_values_are_still_redacted_next_to_paths() -> None:
    inv = _irsa_inventory((EnvVar("DB_PASSWORD", SECRET), EnvVar("API_TOKEN", SECRET[:20])))
    assert secret_values(inv) == {SECRET, SECRET[:20]}
    chains = resolve_all(inv)
    # A quote of both secrets (one a prefix of the other) and a token, as evidence might carry.
    from dataclasses import replace

    from irsa_explorer.model import ChainLink, LinkStatus

    chain = chains["u1"]
    leak = ChainLink("identity", "x", LinkStatus.OK, f"saw {SECRET} and {SECRET[:20]} and {JWT}")
    chains["u1"] = replace(chain, links=chain.links + (leak,))
    for fmt in ("json", "table", "markdown"):
        text = render(build_report(inv, chains), fmt)
        assert SECRET not in text and SECRET[:20] not in text and JWT not in text
    detail = build_report(inv, chains)["pods"][0]["chain"][-1]["detail"]
    assert detail == "saw <secret redacted> and <secret redacted> and <token redacted>"
    assert build_report(inv, chains)["pods"][0]["chain"][2]["label"] == IRSA_TOKEN_PATH


def test_issuer_from_describe_cluster_when_discovery_was_skipped() -> None:
    inv = _irsa_inventory()
    assert inv.issuer is None
    report = build_report(inv, resolve_all(inv))
    assert report["issuer"] == ISSUER
