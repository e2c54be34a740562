"""What a pod's spec gives each container's SDK: the credentials it finds, in the SDK's order
(static keys → [assume-role profile] → IRSA → [a profile's keys] → Pod Identity → node role;
the profiles and their files: profiles.py), and the claims of the tokens it projects.

Read from the pod spec as the webhook left it, not assumed from the service account: the
identity chain (analysis.identity) starts from these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irsa_explorer.model import (
    DEFAULT_AUDIENCE,
    IRSA_TOKEN_DIR,
    IRSA_VOLUME,
    POD_IDENTITY_AUDIENCE,
    POD_IDENTITY_VOLUME,
    SKIP_CONTAINERS_ANNOTATION,
    SKIP_WEBHOOK_LABEL,
    Cluster,
    ExpectedToken,
    Inventory,
    IssuerInfo,
    Mechanism,
    Pod,
    ProfileSource,
    ServiceAccount,
    service_account_subject,
)

from .profiles import profile_source
from .tokens import key_id_masked

_STATIC_KEY_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
_CONTAINER_CREDENTIAL_VARS = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


# --- what a pod's IRSA token carries --------------------------------------------------------


def issuer_of(value: Any) -> str | None:
    """The issuer URL from whatever the inventory holds (IssuerInfo, Cluster, str) or None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, IssuerInfo):
        return value.issuer
    if isinstance(value, Cluster):
        return value.issuer
    return None


def inventory_issuer(inventory: Inventory) -> str | None:
    """The API server's own issuer first (what tokens really carry), else EKS's DescribeCluster."""
    return issuer_of(inventory.issuer) or issuer_of(inventory.cluster)


def expected_token(pod: Pod, sa: ServiceAccount | None, issuer: Any, volume: str = IRSA_VOLUME) -> ExpectedToken | None:
    """The token the pod's `volume` projects (IRSA by default), or None if the pod has no such volume."""
    projected = next((t for t in pod.projected_tokens if t.volume == volume), None)
    if projected is None:
        return None
    default = POD_IDENTITY_AUDIENCE if volume == POD_IDENTITY_VOLUME else DEFAULT_AUDIENCE
    audience = projected.audience or default
    mount = next((path for c in pod.containers for v, path in c.volume_mounts if v == volume), None)
    directory = mount or (IRSA_TOKEN_DIR if volume == IRSA_VOLUME else "")
    namespace = sa.namespace if sa else pod.namespace
    name = sa.name if sa else pod.service_account
    return ExpectedToken(
        issuer=issuer_of(issuer),
        subject=service_account_subject(namespace, name),
        audiences=(audience,),
        expiration_seconds=projected.expiration_seconds,
        path=f"{directory.rstrip('/')}/{projected.path}" if directory else projected.path,
        volume=volume,
    )


# --- what each container will use -----------------------------------------------------------


@dataclass(frozen=True)
class ContainerCredentials:
    """What one container's SDK will find, in the SDK's order of precedence."""

    name: str
    init: bool
    mechanism: Mechanism
    static_key_sources: tuple[tuple[str, str | None], ...] = ()  # (field, reference) — never a value
    access_key_id: str | None = None  # literal AWS_ACCESS_KEY_ID, for display (masked)
    role_arn: str | None = None  # AWS_ROLE_ARN as set in the container
    token_file: str | None = None  # AWS_WEB_IDENTITY_TOKEN_FILE
    token_mounted: bool = False  # the IRSA token volume is mounted where the env points
    pod_identity: bool = False  # container-credentials variables present
    env_from_secrets: tuple[str, ...] = ()  # may hold keys we cannot see
    skipped: str | None = None  # why the webhook skipped it, if it did
    # the profile and shared files its SDK reads (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, a Secret mounted there)
    profile: ProfileSource | None = None


def container_credentials(pod: Pod) -> list[ContainerCredentials]:
    """Per container (init containers included), the credentials its SDK will pick."""
    skip_label = pod.labels.get(SKIP_WEBHOOK_LABEL, "").lower() == "true"
    skip_names = {n.strip() for n in pod.annotations.get(SKIP_CONTAINERS_ANNOTATION, "").split(",") if n.strip()}
    out = []
    for c in pod.containers:
        env = {v.name: v for v in c.env}
        sources = []
        for name in _STATIC_KEY_VARS:
            if name in env:
                var = env[name]
                sources.append((f"spec.containers[{c.name}].env[{name}]", var.value_from))
        has_static = all(n in env for n in _STATIC_KEY_VARS)
        role_arn = env["AWS_ROLE_ARN"].value if "AWS_ROLE_ARN" in env else None
        token_file = env["AWS_WEB_IDENTITY_TOKEN_FILE"].value if "AWS_WEB_IDENTITY_TOKEN_FILE" in env else None
        has_irsa = "AWS_ROLE_ARN" in env and "AWS_WEB_IDENTITY_TOKEN_FILE" in env
        has_pod_identity = any(n in env for n in _CONTAINER_CREDENTIAL_VARS)
        mounts = {v: path for v, path in c.volume_mounts}
        token_mounted = bool(
            token_file and IRSA_VOLUME in mounts and token_file.startswith(mounts[IRSA_VOLUME].rstrip("/") + "/")
        )
        profile = profile_source(pod, c)
        if has_static:
            mechanism = Mechanism.STATIC_KEYS
        elif profile is not None and not has_irsa:
            # A profile comes before Pod Identity and the node role in every SDK; before IRSA only
            # when it is an assume-role profile, which the explorer cannot see (identity.py says so).
            mechanism = Mechanism.PROFILE
        elif has_irsa:
            mechanism = Mechanism.IRSA
        elif has_pod_identity:
            mechanism = Mechanism.POD_IDENTITY
        else:
            mechanism = Mechanism.NODE_ROLE
        skipped = None
        if skip_label:
            skipped = f"pod label {SKIP_WEBHOOK_LABEL}"
        elif c.name in skip_names:
            skipped = f"pod annotation {SKIP_CONTAINERS_ANNOTATION}"
        access_key = env["AWS_ACCESS_KEY_ID"].value if "AWS_ACCESS_KEY_ID" in env else None
        out.append(ContainerCredentials(
            name=c.name, init=c.init, mechanism=mechanism, static_key_sources=tuple(sources),
            access_key_id=access_key, role_arn=role_arn, token_file=token_file, token_mounted=token_mounted,
            pod_identity=has_pod_identity,
            env_from_secrets=tuple(s for s in c.env_from if s.startswith("secret")), skipped=skipped,
            profile=profile,
        ))
    return out


def main_container(creds: list[ContainerCredentials]) -> ContainerCredentials | None:
    """The container whose identity stands for the pod: the first app container."""
    return next((c for c in creds if not c.init), creds[0] if creds else None)


def mask_key(key: str | None) -> str:
    """`static keys AKIA…MPLE`: the key ID masked as everywhere else (analysis.tokens.key_id_masked),
    or `static keys` alone when there is no ID to show."""
    masked = key_id_masked(key)
    return "static keys" if masked == key_id_masked(None) else f"static keys {masked}"
