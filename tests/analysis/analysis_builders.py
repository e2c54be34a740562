"""Hand-built model objects for the analysis tests: the walkthrough's cluster and its variations."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

from irsa_explorer.model import (
    IRSA_TOKEN_DIR,
    IRSA_TOKEN_PATH,
    IRSA_VOLUME,
    POD_IDENTITY_TOKEN_PATH,
    POD_IDENTITY_URI,
    POD_IDENTITY_VOLUME,
    ROLE_ARN_ANNOTATION,
    Cluster,
    Container,
    EnvVar,
    Inventory,
    IssuerInfo,
    OidcProvider,
    Pod,
    PodIdentityAssociation,
    ProjectedToken,
    Role,
    ServiceAccount,
)

ACCOUNT = "113534181560"
REGION = "us-east-2"
ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
HOST = ISSUER.removeprefix("https://")
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}"
CLUSTER = Cluster("eks-oidc-demo", f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/eks-oidc-demo", REGION, ACCOUNT, ISSUER, "1.27")
NODE = "ip-192-168-53-243.us-east-2.compute.internal"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"
PI_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/pod-identity-s3"
CREATED = datetime(2024, 3, 30, 0, 29, 51, tzinfo=timezone.utc)

_uids = itertools.count(1)


def irsa_trust(sub: str = "system:serviceaccount:default:my-sa", operator: str = "StringEquals",
               principal: str = PROVIDER_ARN) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": principal},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {operator: {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": sub}},
        }],
    }


POD_IDENTITY_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                   "Action": ["sts:AssumeRole", "sts:TagSession"]}],
}


def role(arn: str = ROLE_ARN, trust=None) -> Role:
    return Role(arn=arn, name=arn.rsplit("/", 1)[-1], account=arn.split(":")[4],
                trust_policy=irsa_trust() if trust is None else trust)


def sa(name: str = "my-sa", namespace: str = "default", role_arn: str | None = ROLE_ARN, **annotations) -> ServiceAccount:
    ann = dict(annotations)
    if role_arn is not None:
        ann[ROLE_ARN_ANNOTATION] = role_arn
    return ServiceAccount(uid=f"sa-{next(_uids)}", namespace=namespace, name=name, annotations=ann)


def irsa_env(role_arn: str = ROLE_ARN) -> tuple[EnvVar, ...]:
    return (EnvVar("AWS_STS_REGIONAL_ENDPOINTS", "regional"), EnvVar("AWS_DEFAULT_REGION", REGION),
            EnvVar("AWS_REGION", REGION), EnvVar("AWS_ROLE_ARN", role_arn),
            EnvVar("AWS_WEB_IDENTITY_TOKEN_FILE", IRSA_TOKEN_PATH))


def container(name: str = "my-aws-cli", env=(), mounts=(), init: bool = False, **kw) -> Container:
    return Container(name=name, image="amazon/aws-cli:latest", env=tuple(env), volume_mounts=tuple(mounts), init=init, **kw)


def irsa_container(name: str = "my-aws-cli", role_arn: str = ROLE_ARN, extra_env=()) -> Container:
    return container(name, irsa_env(role_arn) + tuple(extra_env), [(IRSA_VOLUME, IRSA_TOKEN_DIR)])


def pod_identity_container(name: str = "app") -> Container:
    return container(name, (EnvVar("AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_IDENTITY_URI),
                            EnvVar("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", POD_IDENTITY_TOKEN_PATH)),
                     [(POD_IDENTITY_VOLUME, POD_IDENTITY_TOKEN_PATH.rsplit("/", 1)[0])])


IRSA_TOKEN = ProjectedToken(IRSA_VOLUME, "sts.amazonaws.com", 86400, "token")
PI_TOKEN = ProjectedToken(POD_IDENTITY_VOLUME, "pods.eks.amazonaws.com", 86400, "eks-pod-identity-token")


def pod(name: str = "eks-iam-test3", namespace: str = "default", service_account: str = "my-sa",
        containers=None, tokens=(IRSA_TOKEN,), **kw) -> Pod:
    kw.setdefault("node_name", NODE)
    return Pod(uid=f"uid-{name}-{next(_uids)}", namespace=namespace, name=name, service_account=service_account,
               phase="Running", status="Running", created=CREATED,
               containers=tuple(containers if containers is not None else [irsa_container()]),
               projected_tokens=tuple(tokens), **kw)


def plain_pod(name: str = "eks-iam-test1", service_account: str = "default", **kw) -> Pod:
    """The walkthrough's first pods: nothing injected."""
    kw.setdefault("containers", [container()])
    return pod(name, service_account=service_account, tokens=(), **kw)


def inventory(pods=(), sas=(), roles=(), providers=None, associations=None, node_roles=None, cluster=CLUSTER,
              issuer=None) -> Inventory:
    return Inventory(
        context="test",
        namespace=None,
        pods={p.uid: p for p in pods},
        service_accounts={(s.namespace, s.name): s for s in sas},
        roles={r.arn: r for r in roles} if not isinstance(roles, dict) else dict(roles),
        oidc_providers=[OidcProvider(PROVIDER_ARN, HOST, ("sts.amazonaws.com",))] if providers is None else providers,
        associations=[] if associations is None else associations,
        node_roles={NODE: NODE_ROLE} if node_roles is None else node_roles,
        cluster=cluster,
        issuer=IssuerInfo(ISSUER, {"keys": []}) if issuer is None else issuer,
    )


def association(namespace: str = "default", service_account: str = "my-sa", role_arn: str = PI_ROLE_ARN) -> PodIdentityAssociation:
    return PodIdentityAssociation(f"a-{next(_uids)}", CLUSTER.name, namespace, service_account, role_arn)
