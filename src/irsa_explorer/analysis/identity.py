"""Who a pod really is: the identity chain from pod spec to the AWS identity its SDK ends up with.

Follows /work/shared/reference/identity-contract.md: what the webhook injected into each
container (read from the pod spec, not assumed from the service account), the SDK's
credential order (static keys → IRSA → Pod Identity → node role), the role the pod was meant
to have (service-account annotation or Pod Identity association), and each link of
pod → service-account → token → oidc-provider → role → trust-policy → identity.

Anything the inventory could not fetch (`Unavailable`) makes the affected link, and the
verdict, UNKNOWN with the reason — never OK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from irsa_explorer.model import (
    AUDIENCE_ANNOTATION,
    DEFAULT_AUDIENCE,
    IRSA_TOKEN_DIR,
    IRSA_VOLUME,
    POD_IDENTITY_AUDIENCE,
    POD_IDENTITY_VOLUME,
    ROLE_ARN_ANNOTATION,
    SKIP_CONTAINERS_ANNOTATION,
    SKIP_WEBHOOK_LABEL,
    ChainLink,
    Cluster,
    Container,
    Evidence,
    Finding,
    IdentityChain,
    Inventory,
    IssuerInfo,
    LinkStatus,
    Mechanism,
    ObjectRef,
    Pod,
    PodIdentityAssociation,
    Role,
    ServiceAccount,
    Severity,
    Unavailable,
    Verdict,
)

from . import findings as F
from .arns import account_of_arn, parse_role_arn, role_name_of
from .trust import (
    Decision,
    TrustEvaluation,
    evaluate_trust,
    evaluate_trust_all,
    issuer_host_path,
    oidc_provider_arn,
    pod_identity_requests,
    web_identity_request,
)

NOT_FOUND = "not-found"  # Unavailable.kind when the object does not exist (sources.aws)

_STATIC_KEY_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
_IRSA_VARS = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
_CONTAINER_CREDENTIAL_VARS = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


# --- what a pod's IRSA token carries --------------------------------------------------------


@dataclass(frozen=True)
class ExpectedToken:
    """The claims a pod's projected token carries, read from the pod spec (no API call)."""

    issuer: str | None  # None when the cluster's issuer is unknown
    subject: str
    audiences: tuple[str, ...]
    expiration_seconds: int | None
    path: str  # the file inside the container
    volume: str


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
        subject=f"system:serviceaccount:{namespace}:{name}",
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
        if has_static:
            mechanism = Mechanism.STATIC_KEYS
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
        ))
    return out


def _main_container(creds: list[ContainerCredentials]) -> ContainerCredentials | None:
    """The container whose identity stands for the pod: the first app container."""
    return next((c for c in creds if not c.init), creds[0] if creds else None)


def _mask_key(key: str | None) -> str:
    if not key:
        return "static keys"
    return f"static keys {key[:4]}…{key[-4:]}" if len(key) > 8 else "static keys"


# --- resolving --------------------------------------------------------------------------------


def resolve_chain(pod: Pod, inventory: Inventory) -> IdentityChain:
    """The identity chain of one pod (see the module docstring)."""
    return _Resolver(inventory).resolve(pod)


def resolve_all(inventory: Inventory) -> dict[str, IdentityChain]:
    """Identity chains of every pod in the inventory, by pod uid. Per-role work is shared."""
    resolver = _Resolver(inventory)
    return {uid: resolver.resolve(pod) for uid, pod in inventory.pods.items()}


class ChainResolver:
    """`resolve_all` in instalments: chains for pods as they arrive (a page at a time), with
    the work shared between all of them as resolve_all shares it.

    Everything but the pods must be in the inventory when this is made (service accounts,
    roles, node roles, associations, providers, cluster, issuer): the chains read them, and
    a pod resolved here gets exactly the chain resolve_all would give it then.
    """

    def __init__(self, inventory: Inventory) -> None:
        self._resolver = _Resolver(inventory)

    def resolve(self, pod: Pod) -> IdentityChain:
        """The identity chain of one pod."""
        return self._resolver.resolve(pod)


_ROLE_ARN_LOOKALIKE = re.compile(r"role[-_. ]?arn", re.IGNORECASE)


def _annotation_typos(ref: ObjectRef, annotations: dict[str, str]) -> list[Finding]:
    return [
        F.annotation_typo(ref, key, value)
        for key, value in annotations.items()
        if key != ROLE_ARN_ANNOTATION and _ROLE_ARN_LOOKALIKE.search(key) and ("amazon" in key.lower() or "eks" in key.lower())
    ]


@dataclass
class _Links:
    """The shared part of a chain (everything after the token) for one role and one subject."""

    links: tuple[ChainLink, ...]
    findings: tuple[Finding, ...]
    effective: str | None


class _Resolver:
    def __init__(self, inventory: Inventory) -> None:
        self.inv = inventory
        self.issuer = inventory_issuer(inventory)
        self.cluster = inventory.cluster if isinstance(inventory.cluster, Cluster) else None
        self.version = _version(self.cluster.version) if self.cluster and self.cluster.version else None
        assoc = inventory.associations
        self.associations: dict[tuple[str, str], PodIdentityAssociation] | Unavailable | None
        if isinstance(assoc, list):
            self.associations = {(a.namespace, a.service_account): a for a in assoc}
        else:
            self.associations = assoc
        self._irsa_cache: dict[tuple, _Links] = {}
        self._creds_cache: dict[tuple, tuple[list[ContainerCredentials], str, tuple[Container, ...]]] = {}
        self._node_links: dict[str | None, _Links] = {}
        self._last_token: tuple[Pod, ServiceAccount | None, ExpectedToken | None] | None = None
        self._pod_identity_cache: dict[tuple, _Links] = {}
        self._sa_cache: dict[tuple[str, str], tuple[ChainLink, tuple[Finding, ...]]] = {}
        self._annotated_by_ns: dict[str, list[str]] | None = None

    # -- per pod --

    def resolve(self, pod: Pod) -> IdentityChain:
        try:
            return self._resolve(pod)
        except Exception as exc:  # one odd object must not take the whole view down
            link = ChainLink("pod", f"{pod.namespace}/{pod.name}", LinkStatus.UNKNOWN,
                             f"could not analyse this pod: {type(exc).__name__}: {exc}", pod.ref)
            return IdentityChain(pod.ref, Mechanism.NONE, None, None, Verdict.UNKNOWN, (link,))

    def _resolve(self, pod: Pod) -> IdentityChain:
        sa = self.inv.service_accounts.get((pod.namespace, pod.service_account))
        association = self._association(pod)
        sa_role = sa.role_arn if sa else None
        ref = pod.ref  # one ObjectRef for the pod's links and chain
        creds, injected = self._container_credentials(pod)
        main = _main_container(creds)
        mechanism = main.mechanism if main else Mechanism.NONE
        findings: list[Finding] = []

        # What the pod was meant to get. The webhook prefers Pod Identity when both exist.
        if isinstance(association, PodIdentityAssociation):
            intended_mechanism, intended = Mechanism.POD_IDENTITY, association.role_arn
        elif sa_role:
            intended_mechanism, intended = Mechanism.IRSA, sa_role
        else:
            intended_mechanism, intended = None, None

        sa_link, sa_findings = self._service_account_link(pod, sa, association)
        findings.extend(sa_findings)
        findings.extend(self._pod_spec_findings(pod, ref, sa, creds, intended_mechanism, intended, main))

        pod_link = ChainLink(
            "pod", f"{pod.namespace}/{pod.name}", LinkStatus.OK,
            f"runs as service account {pod.service_account} on node {pod.node_name or '(not scheduled)'}; {injected}",
            ref,
        )
        token_link = self._token_link(pod, ref, sa, main, mechanism, intended_mechanism, intended)
        links = [pod_link, sa_link, token_link]

        if mechanism is Mechanism.IRSA and main:
            shared = self._irsa_links(pod, sa, main)
            effective = shared.effective
        elif mechanism is Mechanism.POD_IDENTITY:
            shared = self._pod_identity_links(pod, association)
            effective = shared.effective
            if pod.host_network:
                findings.append(F.pod_identity_host_network(pod))
        elif mechanism is Mechanism.STATIC_KEYS and main:
            shared = self._static_links(main)
            effective = shared.effective
        elif mechanism is Mechanism.NODE_ROLE:
            shared = self._node_role_links(pod)
            effective = shared.effective
            # The pod uses the node role whatever else is unknown (nothing was injected), so say
            # so even when the verdict stays unknown (e.g. associations could not be listed).
            if intended is None and not any(
                f.code == F.ROLE_ARN_ON_POD or f.code == F.ROLE_ARN_ANNOTATION_TYPO for f in findings
            ):
                cluster = self.cluster.name if self.cluster else None
                findings.append(F.node_role_fallback(pod, effective, self._annotated_in(pod.namespace), cluster))
        else:
            shared = _Links((ChainLink("identity", "no containers", LinkStatus.UNKNOWN, "the pod lists no containers"),), (), None)
            effective = None
        links.extend(shared.links)
        findings.extend(shared.findings)

        verdict = _verdict(links, findings, mechanism)
        return IdentityChain(
            pod=ref,
            mechanism=mechanism,
            intended_role_arn=intended,
            effective_identity=effective,
            verdict=verdict,
            links=tuple(links),
            findings=tuple(_dedupe(findings)),
        )

    def _container_credentials(self, pod: Pod) -> tuple[list[ContainerCredentials], str]:
        """What each container's SDK finds, and that in words for the pod link."""
        # Replicas share their container specs, but not their whole `containers`: every pod
        # mounts its own kube-api-access-xxxxx volume. Key on what container_credentials reads
        # (env, envFrom, the IRSA mount) so replicas hit the cache. env and envFrom enter the
        # key by identity: the conversion hands replicas one shared tuple (cluster._shared),
        # and hashing every EnvVar of every pod cost more than computing the credentials.
        # Equal tuples that are not the same object only miss the cache.
        key = (
            tuple(
                (c.name, c.init, id(c.env), id(c.env_from), tuple(p for v, p in c.volume_mounts if v == IRSA_VOLUME))
                for c in pod.containers
            ),
            pod.labels.get(SKIP_WEBHOOK_LABEL),
            pod.annotations.get(SKIP_CONTAINERS_ANNOTATION),
        )
        found = self._creds_cache.get(key)
        if found is None:
            creds = container_credentials(pod)
            injected = "; ".join(f"{c.name}{' (init)' if c.init else ''}: {c.mechanism}" for c in creds)
            # The containers are held with the result, so no id in the key can be reused by
            # another object while the cache lives.
            found = self._creds_cache[key] = (creds, injected, pod.containers)
        return found[0], found[1]

    def _expected_irsa_token(self, pod: Pod, sa: ServiceAccount | None) -> ExpectedToken | None:
        # Asked twice per IRSA pod (token link, then the shared links): remember the last pod.
        # A cache across pods would never hit (each pod's volumes are its own) and hashing
        # whole container specs to look it up cost more than computing the token.
        last = self._last_token
        if last is not None and last[0] is pod and last[1] is sa:
            return last[2]
        token = expected_token(pod, sa, self.issuer)
        self._last_token = (pod, sa, token)
        return token

    def _association(self, pod: Pod) -> PodIdentityAssociation | Unavailable | None:
        if isinstance(self.associations, dict):
            return self.associations.get((pod.namespace, pod.service_account))
        return self.associations  # Unavailable (unknown) or None (not loaded)

    def _annotated_in(self, namespace: str) -> list[str]:
        if self._annotated_by_ns is None:
            self._annotated_by_ns = {}
            for sa in self.inv.service_accounts.values():
                if sa.role_arn:
                    self._annotated_by_ns.setdefault(sa.namespace, []).append(sa.name)
        return self._annotated_by_ns.get(namespace, [])

    # -- links --

    def _service_account_link(self, pod: Pod, sa: ServiceAccount | None, association: Any) -> tuple[ChainLink, tuple[Finding, ...]]:
        key = (pod.namespace, pod.service_account)
        cached = self._sa_cache.get(key)
        if cached:
            return cached
        label = f"{pod.namespace}/{pod.service_account}"
        findings: list[Finding] = []
        if sa is None:
            link = ChainLink("service-account", label, LinkStatus.UNKNOWN,
                             "not in the loaded service accounts (deleted since, or not listed)", pod.service_account_ref)
        else:
            parts = [f"{ROLE_ARN_ANNOTATION}: {sa.role_arn}" if sa.role_arn else "no role-arn annotation"]
            if sa.annotations.get(AUDIENCE_ANNOTATION):
                parts.append(f"audience {sa.annotations[AUDIENCE_ANNOTATION]}")
            status = LinkStatus.OK
            if isinstance(association, PodIdentityAssociation):
                parts.append(f"Pod Identity association {association.association_id} → {association.role_arn}")
            elif isinstance(association, Unavailable):
                parts.append(f"Pod Identity associations {association}")
                if not sa.role_arn:
                    # Without an annotation, an association we cannot see might be the intent.
                    status = LinkStatus.UNKNOWN
            if sa.role_arn and not parse_role_arn(sa.role_arn):
                status = LinkStatus.BROKEN
                findings.append(F.malformed_role_arn(sa.ref, f"metadata.annotations[{ROLE_ARN_ANNOTATION}]", sa.role_arn))
            findings.extend(_annotation_typos(sa.ref, sa.annotations))
            link = ChainLink("service-account", label, status, "; ".join(parts), sa.ref)
        result = (link, tuple(findings))
        self._sa_cache[key] = result
        return result

    def _pod_spec_findings(self, pod: Pod, ref: ObjectRef, sa: ServiceAccount | None, creds: list[ContainerCredentials],
                           intended_mechanism: Mechanism | None, intended: str | None,
                           main: ContainerCredentials | None) -> list[Finding]:
        out: list[Finding] = []
        out.extend(_annotation_typos(ref, pod.annotations))
        pod_role = pod.annotations.get(ROLE_ARN_ANNOTATION)
        if pod_role and not (sa and sa.role_arn == pod_role):
            out.append(F.role_arn_on_pod(pod, pod_role))
        for c in creds:
            for source in c.env_from_secrets:
                if not c.static_key_sources:
                    out.append(F.static_keys_maybe_from_secret(pod, c.name, source))
            if c.static_key_sources:
                finding = F.static_keys_in_env(pod, c.name, list(c.static_key_sources), intended)
                if not intended:
                    finding = _with_severity(finding, Severity.WARNING)
                out.append(finding)
        if intended_mechanism is Mechanism.IRSA and intended:
            out.extend(self._irsa_injection_findings(pod, sa, creds, intended, main))
        elif (intended_mechanism is None and sa is not None and main and main.mechanism is Mechanism.IRSA
              and main.token_mounted and main.role_arn and not isinstance(self._association(pod), Unavailable)):
            # Injected by the webhook, but the annotation has been removed since: the pod keeps the role.
            out.append(F.irsa_role_changed(pod, main.name, main.role_arn, None))
        elif intended_mechanism is Mechanism.POD_IDENTITY and intended:
            association = self._association(pod)
            if main and not main.pod_identity and main.mechanism is not Mechanism.STATIC_KEYS:
                if main.mechanism is Mechanism.IRSA:
                    out.append(F.irsa_shadows_pod_identity(pod, main.role_arn or "?", intended))
                elif isinstance(association, PodIdentityAssociation):
                    out.append(F.association_after_pod(pod, association))
            elif main and main.pod_identity and main.mechanism is Mechanism.IRSA:
                out.append(F.irsa_shadows_pod_identity(pod, main.role_arn or "?", intended))
        if (main and main.mechanism is Mechanism.IRSA and pod.run_as_user not in (None, 0)
                and pod.fs_group is None and self.version is not None and self.version < (1, 19)):
            out.append(F.token_file_permissions(pod, self.cluster.version if self.cluster else "?"))
        return out

    def _irsa_injection_findings(self, pod: Pod, sa: ServiceAccount | None, creds: list[ContainerCredentials],
                                 intended: str, main: ContainerCredentials | None) -> list[Finding]:
        out: list[Finding] = []
        pod_has_volume = any(t.volume == IRSA_VOLUME for t in pod.projected_tokens)
        explained = False
        for c in creds:
            if c.mechanism is Mechanism.STATIC_KEYS:
                continue
            if c.skipped:
                if c.mechanism is not Mechanism.IRSA:
                    by_label = c.skipped.startswith("pod label")
                    if not (by_label and any(f.code == F.SKIPPED_CONTAINER for f in out)):
                        out.append(F.skipped_container(pod, c.name, by_label))
                    explained = explained or c is main
                continue
            set_vars = [n for n, v in (("AWS_ROLE_ARN", c.role_arn), ("AWS_WEB_IDENTITY_TOKEN_FILE", c.token_file)) if v is not None]
            if set_vars and (len(set_vars) == 1 or not c.token_mounted):
                # One of the pair, or a token file that is not the injected volume: the container's own.
                values = {"AWS_ROLE_ARN": c.role_arn, "AWS_WEB_IDENTITY_TOKEN_FILE": c.token_file}
                out.append(F.container_sets_aws_role_arn(pod, c.name, set_vars, values))
                explained = explained or c is main
            elif c.mechanism is Mechanism.IRSA and c.role_arn and c.role_arn != intended:
                if pod_has_volume and c.token_mounted:
                    out.append(F.irsa_role_changed(pod, c.name, c.role_arn, intended))
                else:
                    out.append(F.container_sets_aws_role_arn(pod, c.name, ["AWS_ROLE_ARN"], {"AWS_ROLE_ARN": c.role_arn}))
        if main and main.mechanism in (Mechanism.NODE_ROLE, Mechanism.POD_IDENTITY) and not explained and sa:
            out.append(F.irsa_not_injected(pod, sa, intended))
        return out

    def _token_link(self, pod: Pod, ref: ObjectRef, sa: ServiceAccount | None, main: ContainerCredentials | None,
                    mechanism: Mechanism, intended_mechanism: Mechanism | None, intended: str | None) -> ChainLink:
        if mechanism is Mechanism.IRSA and main:
            token = self._expected_irsa_token(pod, sa)
            if token is None or not main.token_mounted:
                return ChainLink("token", main.token_file or "?", LinkStatus.BROKEN,
                                 f"AWS_WEB_IDENTITY_TOKEN_FILE={main.token_file} but no {IRSA_VOLUME} token is mounted there: "
                                 "the SDK fails to read it", ref)
            lifetime = f", expires after {token.expiration_seconds}s" if token.expiration_seconds else ""
            iss = token.issuer or "unknown issuer"
            return ChainLink("token", token.path, LinkStatus.OK,
                             f"iss {iss}, sub {token.subject}, aud {', '.join(token.audiences)}{lifetime}", ref)
        if mechanism is Mechanism.POD_IDENTITY:
            token = expected_token(pod, sa, self.issuer, POD_IDENTITY_VOLUME)
            if token is None:
                return ChainLink("token", POD_IDENTITY_VOLUME, LinkStatus.BROKEN,
                                 "Pod Identity variables set but no eks-pod-identity-token volume", ref)
            return ChainLink("token", token.path, LinkStatus.OK,
                             f"sub {token.subject}, aud {', '.join(token.audiences)} (exchanged by the Pod Identity agent)", ref)
        if mechanism is Mechanism.STATIC_KEYS:
            if intended:
                return ChainLink("token", "ignored", LinkStatus.BROKEN,
                                 f"static keys come first in the SDK's chain, so the intended {intended} is never used", ref)
            return ChainLink("token", "not used", LinkStatus.SKIPPED, "static keys: no token is exchanged", ref)
        if intended:
            what = "IRSA" if intended_mechanism is Mechanism.IRSA else "Pod Identity"
            return ChainLink("token", "not injected", LinkStatus.BROKEN,
                             f"{what} is configured ({intended}) but the pod has no {what} variables or token: "
                             "the SDK falls back to the node's role", ref)
        if isinstance(self._association(pod), Unavailable) and not (sa and sa.role_arn):
            return ChainLink("token", "none", LinkStatus.UNKNOWN,
                             f"no IRSA token; whether a Pod Identity association exists is {self._association(pod)}", ref)
        return ChainLink("token", "none", LinkStatus.SKIPPED,
                         "no IRSA or Pod Identity token: nothing was configured for this service account", ref)

    def _role_link(self, role_arn: str, evidence_ref: ObjectRef, evidence_field: str) -> tuple[ChainLink, Role | None, list[Finding]]:
        ref = ObjectRef("Role", role_arn)
        if not parse_role_arn(role_arn):
            finding = F.malformed_role_arn(evidence_ref, evidence_field, role_arn)
            return ChainLink("role", role_arn, LinkStatus.BROKEN, finding.title, ref), None, [finding]
        found = self.inv.roles.get(role_arn)
        if isinstance(found, Role) and found.arn != role_arn:
            # IAM finds a role by name whatever path the annotation wrote, but STS matches the
            # whole ARN: a wrong path is a role that does not exist for AssumeRoleWithWebIdentity.
            reason = f"IAM's role {found.name} is {found.arn}; the path differs"
            finding = F.role_not_found(role_arn, reason, [Evidence(evidence_ref, evidence_field, role_arn)])
            return ChainLink("role", found.name, LinkStatus.BROKEN, f"does not exist: {reason}", ref), None, [finding]
        if isinstance(found, Role):
            detail = f"role {found.name} in account {found.account}"
            if found.max_session_duration:
                detail += f", max session {found.max_session_duration}s"
            return ChainLink("role", found.name, LinkStatus.OK, detail, ref), found, []
        if isinstance(found, Unavailable):
            if found.kind == NOT_FOUND:
                finding = F.role_not_found(role_arn, found.reason, [Evidence(evidence_ref, evidence_field, role_arn)])
                return ChainLink("role", role_name_of(role_arn), LinkStatus.BROKEN, f"does not exist: {found.reason}", ref), None, [finding]
            finding = F.role_lookup_failed(role_arn, found.reason, found.permission)
            return ChainLink("role", role_name_of(role_arn), LinkStatus.UNKNOWN, str(found), ref), None, [finding]
        return ChainLink("role", role_name_of(role_arn), LinkStatus.UNKNOWN, "unknown: not looked up yet", ref), None, []

    def _irsa_links(self, pod: Pod, sa: ServiceAccount | None, main: ContainerCredentials) -> _Links:
        role_arn = main.role_arn or ""
        token = self._expected_irsa_token(pod, sa)
        subject = token.subject if token else f"system:serviceaccount:{pod.namespace}:{pod.service_account}"
        audiences = token.audiences if token else (DEFAULT_AUDIENCE,)
        key = (role_arn, subject, audiences)
        cached = self._irsa_cache.get(key)
        if cached:
            return cached
        findings: list[Finding] = []
        # Shared by every pod of this service account, so the evidence points at the account.
        token_ref = pod.service_account_ref
        env_field = f"metadata.annotations[{ROLE_ARN_ANNOTATION}] (injected as AWS_ROLE_ARN)"
        role_account = account_of_arn(role_arn)

        # OIDC provider: in the role's account, URL = the token's issuer, aud among its client IDs.
        provider_link = self._provider_link(role_arn, role_account, audiences, token_ref, findings)
        role_link, role, role_findings = self._role_link(role_arn, pod.service_account_ref, env_field)
        findings.extend(role_findings)

        if role is None or self.issuer is None:
            why = "the role could not be read" if role is None else "the cluster's issuer is unknown"
            trust_link = ChainLink("trust-policy", "not evaluated", LinkStatus.UNKNOWN, f"unknown: {why}", role_link.ref)
        else:
            evaluation = evaluate_trust(role.trust_policy, web_identity_request(self.issuer, subject, list(audiences), role.account))
            trust_link = _trust_link(evaluation, role)
            finding = F.irsa_trust_finding(
                role, evaluation, provider_arn=oidc_provider_arn(self.issuer, role.account),
                issuer=self.issuer, subject=subject, audience=audiences[0])
            if finding:
                findings.append(finding)

        prior = (provider_link, role_link, trust_link)
        if any(l.status is LinkStatus.BROKEN for l in prior):
            identity = ChainLink("identity", "no credentials", LinkStatus.BROKEN,
                                 "AssumeRoleWithWebIdentity fails, so the SDK raises an error (it does not fall back to the node role)")
            effective = None
        elif any(l.status is LinkStatus.UNKNOWN for l in prior):
            identity = ChainLink("identity", role_name_of(role_arn), LinkStatus.UNKNOWN,
                                 f"{role_arn} if STS accepts the token — not every link could be checked")
            effective = None
        else:
            identity = ChainLink("identity", role_name_of(role_arn), LinkStatus.OK,
                                 f"assumed-role/{role_name_of(role_arn)}/botocore-session-… via AssumeRoleWithWebIdentity",
                                 ObjectRef("Role", role_arn))
            effective = role_arn
        result = _Links((provider_link, role_link, trust_link, identity), tuple(findings), effective)
        self._irsa_cache[key] = result
        return result

    def _provider_link(self, role_arn: str, role_account: str | None, audiences: tuple[str, ...],
                       token_ref: ObjectRef, findings: list[Finding]) -> ChainLink:
        if self.issuer is None:
            why = self.inv.issuer if isinstance(self.inv.issuer, Unavailable) else self.inv.cluster
            detail = f"the cluster's issuer is unknown ({why})" if isinstance(why, Unavailable) else "the cluster's issuer is unknown"
            return ChainLink("oidc-provider", "unknown", LinkStatus.UNKNOWN, detail)
        host = issuer_host_path(self.issuer)
        providers = self.inv.oidc_providers
        if not isinstance(providers, list):
            detail = str(providers) if isinstance(providers, Unavailable) else "unknown: providers not looked up yet"
            return ChainLink("oidc-provider", host, LinkStatus.UNKNOWN, detail)
        listed_accounts = {account_of_arn(p.arn) for p in providers} - {None}
        our_account = next(iter(listed_accounts), None) or (self.cluster.account if self.cluster else None)
        if role_account and our_account and role_account != our_account:
            findings.append(F.cross_account_provider_unknown(role_arn, role_account, our_account))
            return ChainLink("oidc-provider", host, LinkStatus.UNKNOWN,
                             f"unknown: the role is in account {role_account}, providers were listed in {our_account}")
        match = next((p for p in providers if p.url.removeprefix("https://").rstrip("/").lower() == host.lower()), None)
        if match is None:
            cluster = self.cluster.name if self.cluster else None
            findings.append(F.no_oidc_provider(self.issuer, role_account or our_account or "?", cluster, token_ref))
            return ChainLink("oidc-provider", host, LinkStatus.BROKEN,
                             f"no IAM OIDC provider for {host}: STS answers 'No OpenIDConnect provider found'")
        ref = ObjectRef("OidcProvider", match.arn)
        if not any(a in match.client_ids for a in audiences):
            findings.append(F.audience_not_in_client_ids(match, audiences, [Evidence(token_ref, "token.aud", ", ".join(audiences))]))
            return ChainLink("oidc-provider", host, LinkStatus.BROKEN,
                             f"token aud {', '.join(audiences)} not in client IDs {', '.join(match.client_ids) or '(none)'}: "
                             "STS answers 'Incorrect token audience'", ref)
        return ChainLink("oidc-provider", host, LinkStatus.OK,
                         f"{match.arn}; client IDs {', '.join(match.client_ids)}", ref)

    def _pod_identity_links(self, pod: Pod, association: Any) -> _Links:
        skipped = ChainLink("oidc-provider", "not used", LinkStatus.SKIPPED,
                            "Pod Identity: the agent exchanges the token with EKS Auth, no OIDC provider involved")
        if not isinstance(association, PodIdentityAssociation):
            if isinstance(association, Unavailable):
                status, why = LinkStatus.UNKNOWN, f"Pod Identity associations are {association}"
            elif self.associations is None:
                status, why = LinkStatus.UNKNOWN, "unknown: Pod Identity associations were not looked up"
            else:
                # Variables injected at creation, association deleted since.
                status, why = LinkStatus.BROKEN, "no association exists for this service account any more"
            role = ChainLink("role", "no association", status,
                             f"the pod has Pod Identity variables but {why}: the agent has no role to give")
            if status is LinkStatus.BROKEN:
                identity = ChainLink("identity", "no credentials", status, "EKS Auth refuses the token without an association")
                trust = ChainLink("trust-policy", "not evaluated", LinkStatus.SKIPPED, "no role")
            else:
                identity = ChainLink("identity", "unknown", status, why)
                trust = ChainLink("trust-policy", "not evaluated", LinkStatus.UNKNOWN, "the role is not known")
            return _Links((skipped, role, trust, identity), (), None)
        key = (association.role_arn, pod.namespace, pod.service_account)
        cached = self._pod_identity_cache.get(key)
        if cached and not pod.host_network:
            return cached
        assoc_ref = ObjectRef("PodIdentityAssociation", association.association_id)
        role_link, role, findings = self._role_link(association.role_arn, assoc_ref, "roleArn")
        if role is None:
            trust_link = ChainLink("trust-policy", "not evaluated", LinkStatus.UNKNOWN, "unknown: the role could not be read", role_link.ref)
        else:
            cluster = self.cluster
            evaluation = evaluate_trust_all(role.trust_policy, pod_identity_requests(
                cluster_arn=cluster.arn if cluster else None, cluster_name=cluster.name if cluster else association.cluster,
                namespace=pod.namespace, service_account=pod.service_account, account=role.account))
            trust_link = _trust_link(evaluation, role)
            finding = F.pod_identity_trust_finding(role, evaluation)
            if finding:
                findings.append(finding)
        prior = [role_link, trust_link]
        if pod.host_network:
            identity = ChainLink("identity", "no credentials", LinkStatus.BROKEN,
                                 "hostNetwork pod: EKS refuses to assume the associated role")
            effective = None
        elif any(l.status is LinkStatus.BROKEN for l in prior):
            identity = ChainLink("identity", "no credentials", LinkStatus.BROKEN, "the Pod Identity agent returns an error")
            effective = None
        elif any(l.status is LinkStatus.UNKNOWN for l in prior):
            identity = ChainLink("identity", role_name_of(association.role_arn), LinkStatus.UNKNOWN,
                                 f"{association.role_arn} if EKS accepts the role — not every link could be checked")
            effective = None
        else:
            identity = ChainLink("identity", role_name_of(association.role_arn), LinkStatus.OK,
                                 f"assumed-role/{role_name_of(association.role_arn)}/eks-… via EKS Pod Identity",
                                 ObjectRef("Role", association.role_arn))
            effective = association.role_arn
        result = _Links((skipped, role_link, trust_link, identity), tuple(findings), effective)
        if not pod.host_network:
            self._pod_identity_cache[key] = result
        return result

    def _static_links(self, main: ContainerCredentials) -> _Links:
        skipped = "static keys come first: no role is assumed"
        shown = _mask_key(main.access_key_id)
        refs = [ref for _, ref in main.static_key_sources if ref]
        if not main.access_key_id and refs:
            shown = f"static keys from {refs[0]}"
        return _Links((
            ChainLink("oidc-provider", "not used", LinkStatus.SKIPPED, skipped),
            ChainLink("role", "not used", LinkStatus.SKIPPED, skipped),
            ChainLink("trust-policy", "not used", LinkStatus.SKIPPED, skipped),
            ChainLink("identity", shown, LinkStatus.OK, "the IAM user (or role) the keys belong to"),
        ), (), shown)

    def _node_role_links(self, pod: Pod) -> _Links:
        # The same for every pod on a node: work it out once per node.
        found = self._node_links.get(pod.node_name)
        if found is None:
            found = self._node_links[pod.node_name] = self._node_role_links_of(pod.node_name)
        return found

    def _node_role_links_of(self, node: str | None) -> _Links:
        skipped = "node role: the SDK reads the instance metadata service"
        node_role = self.inv.node_roles.get(node) if node else None
        node_ref = ObjectRef("Node", node) if node else None
        if node is None:
            role = ChainLink("role", "not scheduled", LinkStatus.UNKNOWN, "the pod has no node yet, so no node role")
            effective = None
        elif isinstance(node_role, str):
            role = ChainLink("role", role_name_of(node_role), LinkStatus.OK,
                             f"instance role of node {node}, shared by every pod on it", ObjectRef("Role", node_role))
            effective = node_role
        elif isinstance(node_role, Unavailable):
            role = ChainLink("role", "node role", LinkStatus.UNKNOWN, f"node {node}: {node_role}", node_ref)
            effective = None
        else:
            role = ChainLink("role", "node role", LinkStatus.UNKNOWN, f"node {node}: unknown: not looked up yet", node_ref)
            effective = None
        identity = ChainLink(
            "identity", role_name_of(effective) if effective else "node role",
            LinkStatus.OK if effective else LinkStatus.UNKNOWN,
            "assumed-role/NODE_ROLE/i-… from instance metadata (if the IMDS hop limit lets pods reach it)",
            role.ref,
        )
        return _Links((
            ChainLink("oidc-provider", "not used", LinkStatus.SKIPPED, skipped),
            role,
            ChainLink("trust-policy", "not used", LinkStatus.SKIPPED, "the instance profile assumes it for the node"),
            identity,
        ), (), effective)


def _trust_link(evaluation: TrustEvaluation, role: Role) -> ChainLink:
    status = {
        Decision.ALLOW: LinkStatus.OK,
        Decision.DENY: LinkStatus.BROKEN,
        Decision.NOT_ALLOWED: LinkStatus.BROKEN,
        Decision.UNKNOWN: LinkStatus.UNKNOWN,
    }[evaluation.decision]
    return ChainLink("trust-policy", str(evaluation.decision), status, evaluation.reason, ObjectRef("Role", role.arn))


def _verdict(links: list[ChainLink], findings: list[Finding], mechanism: Mechanism) -> Verdict:
    statuses = {link.status for link in links}
    severities = {f.severity for f in findings}
    if LinkStatus.BROKEN in statuses or Severity.ERROR in severities:
        return Verdict.BROKEN
    if LinkStatus.UNKNOWN in statuses or mechanism is Mechanism.NONE:
        return Verdict.UNKNOWN
    if mechanism in (Mechanism.NODE_ROLE, Mechanism.STATIC_KEYS) or Severity.WARNING in severities:
        return Verdict.WARNING
    return Verdict.OK


def _with_severity(finding: Finding, severity: Severity) -> Finding:
    return Finding(finding.code, severity, finding.title, finding.explanation, finding.evidence, finding.fix)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out = []
    for f in findings:
        if (f.code, f.title) not in seen:
            seen.add((f.code, f.title))
            out.append(f)
    return out


def _version(text: str) -> tuple[int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None
