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
import sys
from typing import Any

from irsa_explorer.model import (
    AUDIENCE_ANNOTATION,
    IRSA_VOLUME,
    POD_IDENTITY_VOLUME,
    ROLE_ARN_ANNOTATION,
    SKIP_CONTAINERS_ANNOTATION,
    SKIP_WEBHOOK_LABEL,
    ChainLink,
    Cluster,
    Container,
    EffectiveIdentity,
    ExpectedToken,
    Finding,
    IdentityChain,
    Inventory,
    LinkStatus,
    Mechanism,
    NodeAccess,
    ObjectRef,
    Pod,
    PodIdentityAssociation,
    ServiceAccount,
    Severity,
    StsEndpoint,
    Unavailable,
    Verdict,
)

from . import findings as F
from .arns import parse_role_arn
# Named here as well: callers import the pod-spec readers from identity, as they always did.
from .credentials import (
    ContainerCredentials,
    container_credentials,
    expected_token,
    inventory_issuer,
    issuer_of,
    main_container,
)
from .mechanisms import NODE_ROLE_END, Links, MechanismLinks
from .profiles import files_key
from .node_access import NodeAccessCache
from .sts_endpoint import sts_endpoint

__all__ = [
    "ChainResolver", "ContainerCredentials", "ExpectedToken", "container_credentials", "expected_token",
    "inventory_issuer", "issuer_of", "resolve_all", "resolve_chain",
]

_NO_CONTAINERS = EffectiveIdentity(Mechanism.NONE, LinkStatus.UNKNOWN, "no containers", None,
                                   "no container, so no SDK asks for credentials", "the pod lists no containers")

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
        self.mechanisms = MechanismLinks(inventory, self.issuer, self.cluster, assoc is not None)
        self._creds_cache: dict[tuple, tuple[list[ContainerCredentials], str, tuple[Container, ...]]] = {}
        self._last_token: tuple[Pod, ServiceAccount | None, ExpectedToken | None] | None = None
        self._tokens: dict[ExpectedToken, ExpectedToken] = {}  # equal tokens shared, not one per pod
        self._sa_cache: dict[tuple[str, str], tuple[ChainLink, tuple[Finding, ...]]] = {}
        self._annotated_by_ns: dict[str, list[str]] | None = None
        self.access = NodeAccessCache(inventory)  # IMDS and the Pod Identity agent, per node
        self._imds_findings: dict[tuple[str, str, NodeAccess], Finding] = {}
        self._sts: dict[int, tuple[StsEndpoint, Any]] = {}  # by id(container env), held with it

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
        main = main_container(creds)
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

        # The texts every pod of a service account repeats are interned (as findings' are): one copy
        # each in the loader, the TUI and a report, not one per pod.
        pod_link = ChainLink(
            "pod", f"{pod.namespace}/{pod.name}", LinkStatus.OK,
            sys.intern(f"runs as service account {pod.service_account} on node {pod.node_name or '(not scheduled)'}; {injected}"),
            ref,
        )
        token_link = self._token_link(pod, ref, sa, main, mechanism, intended_mechanism, intended)
        links = [pod_link, sa_link, token_link]

        if mechanism is Mechanism.IRSA and main:
            sts = self._sts_endpoint(_spec_of(pod, main))
            shared = self.mechanisms.irsa(pod, main, self._expected_irsa_token(pod, sa), sts)
            if main.profile is not None:  # an assume-role profile would come first (or a missing one stop it)
                shared = self.mechanisms.with_profile(shared, pod, main)
            effective = shared.effective
            sts_finding = F.sts_endpoint_finding(pod, main.name, sts)
            if sts_finding:
                findings.append(sts_finding)
        elif mechanism is Mechanism.POD_IDENTITY:
            shared = self.mechanisms.pod_identity(pod, association, self.access.agent(pod))
            effective = shared.effective
            if pod.host_network:
                findings.append(F.pod_identity_host_network(pod))
        elif mechanism is Mechanism.STATIC_KEYS and main:
            shared = self.mechanisms.static(main, pod)
            effective = shared.effective
        elif mechanism is Mechanism.PROFILE and main:
            shared = self.mechanisms.profile(pod, main, intended)
            effective = shared.effective
        elif mechanism is Mechanism.NODE_ROLE:
            access = self.access.imds(pod, _spec_of(pod, main)) if main else None
            shared = self.mechanisms.node_role(pod.node_name, _fallback_why(intended_mechanism, association),
                                               access, intended_mechanism is not None)
            effective = shared.effective
            if access is not None and access.status is LinkStatus.BROKEN:
                # IMDS is out of reach (hop limit, turned off, Fargate): no node role, no credentials.
                mechanism = Mechanism.NONE
                findings.append(self._imds_finding(pod, access))
            # The pod uses the node role whatever else is unknown (nothing was injected), so say
            # so even when the verdict stays unknown (e.g. associations could not be listed).
            elif intended is None and not any(
                f.code == F.ROLE_ARN_ON_POD or f.code == F.ROLE_ARN_ANNOTATION_TYPO for f in findings
            ):
                cluster = self.cluster.name if self.cluster else None
                findings.append(F.node_role_fallback(pod, effective, self._annotated_in(pod.namespace), cluster))
        else:
            shared = Links((ChainLink("identity", "no containers", LinkStatus.UNKNOWN, "the pod lists no containers",
                                      result=_NO_CONTAINERS),), (), None)
            effective = None
        links.extend(shared.links)
        findings.extend(shared.findings)
        findings[:0] = self._failed_pod(pod, links, mechanism, effective)  # the headline of a failed pod

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

    def _failed_pod(self, pod: Pod, links: list[ChainLink], mechanism: Mechanism, effective: str | None) -> list[Finding]:
        """A pod Kubernetes says failed (phase, STATUS, exit codes: no logs are read) while its
        identity is a fallback (the node's role) or gives it no credentials: an error, so the pod
        is broken — it does not work, and its identity is the first suspect. A failed pod whose
        identity holds is judged only when its termination message shows AWS refusing it (its
        role's permissions); else its failure is not the identity's to explain."""
        failure = F.pod_failure(pod)
        if failure is None:
            return []
        identity = next((link.result for link in links if isinstance(link.result, EffectiveIdentity)), None)
        if mechanism is Mechanism.NODE_ROLE:
            cluster = self.cluster.name if self.cluster else None
            return [F.pod_failed_on_node_role(pod, failure, effective, cluster)]
        if identity is not None and (identity.status is LinkStatus.BROKEN
                                     or (identity.mechanism is Mechanism.NONE and identity.access is not None)):
            return [F.pod_failed_without_credentials(pod, failure, identity.why)]
        if identity is not None and identity.status is LinkStatus.OK and identity.arn and F.denied_as(pod):
            # the identity holds, and the pod's own last words say AWS refused it: its permissions
            return [F.pod_failed_access_denied(pod, failure, identity.label, identity.arn if ":role/" in identity.arn else None)]
        return []

    def _imds_finding(self, pod: Pod, access: NodeAccess) -> Finding:
        """Why pods of this service account on this node get no credentials: one per both."""
        key = (pod.namespace, pod.service_account, access)
        found = self._imds_findings.get(key)
        if found is None:
            cluster = self.cluster.name if self.cluster else None
            found = self._imds_findings[key] = F.imds_unreachable(pod.namespace, pod.service_account, access, cluster)
        return found

    def _sts_endpoint(self, container: Container | None) -> StsEndpoint:
        """Where the container's SDK exchanges its IRSA token: once per container env (replicas
        share theirs), the env held with the answer so its id is not reused meanwhile."""
        env = container.env if container is not None else None
        found = self._sts.get(id(env))
        if found is None or found[1] is not env:
            found = self._sts[id(env)] = (sts_endpoint(container, self.cluster.region if self.cluster else None), env)
        return found[0]

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
            files_key(pod),  # the volumes a profile's files may come from (() for most pods)
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
        if token is not None:
            token = self._tokens.setdefault(token, token)
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
        if main and main.mechanism in (Mechanism.NODE_ROLE, Mechanism.POD_IDENTITY, Mechanism.PROFILE) and not explained and sa:
            out.append(F.irsa_not_injected(pod, sa, intended))
        return out

    def _token_link(self, pod: Pod, ref: ObjectRef, sa: ServiceAccount | None, main: ContainerCredentials | None,
                    mechanism: Mechanism, intended_mechanism: Mechanism | None, intended: str | None) -> ChainLink:
        if mechanism is Mechanism.IRSA and main:
            token = self._expected_irsa_token(pod, sa)
            if token is None or not main.token_mounted:
                return ChainLink("token", main.token_file or "?", LinkStatus.BROKEN,
                                 f"AWS_WEB_IDENTITY_TOKEN_FILE={main.token_file} but no {IRSA_VOLUME} token is mounted there: "
                                 "the SDK fails to read it", ref, token)
            lifetime = f", expires after {token.expiration_seconds}s" if token.expiration_seconds else ""
            iss = token.issuer or "unknown issuer"
            return ChainLink("token", token.path, LinkStatus.OK,
                             sys.intern(f"iss {iss}, sub {token.subject}, aud {', '.join(token.audiences)}{lifetime}"), ref, token)
        if mechanism is Mechanism.POD_IDENTITY:
            token = expected_token(pod, sa, self.issuer, POD_IDENTITY_VOLUME)
            if token is None:
                return ChainLink("token", POD_IDENTITY_VOLUME, LinkStatus.BROKEN,
                                 "Pod Identity variables set but no eks-pod-identity-token volume", ref)
            token = self._tokens.setdefault(token, token)
            return ChainLink("token", token.path, LinkStatus.OK,
                             sys.intern(f"sub {token.subject}, aud {', '.join(token.audiences)} (exchanged by the Pod Identity agent)"),
                             ref, token)
        if mechanism is Mechanism.PROFILE and main and main.profile is not None:
            if main.pod_identity or intended:
                what = "the Pod Identity token" if main.pod_identity else f"the intended {intended}"
                return ChainLink("token", "ignored", LinkStatus.BROKEN if intended else LinkStatus.SKIPPED,
                                 f"profile {main.profile.profile} comes before Pod Identity and the node role in the "
                                 f"SDK's chain, so {what} is not used", ref)
            return ChainLink("token", "not used", LinkStatus.SKIPPED, "a profile of the shared files: no token is exchanged", ref)
        if mechanism is Mechanism.STATIC_KEYS:
            if intended:
                return ChainLink("token", "ignored", LinkStatus.BROKEN,
                                 f"static keys come first in the SDK's chain, so the intended {intended} is never used", ref)
            return ChainLink("token", "not used", LinkStatus.SKIPPED, "static keys: no token is exchanged", ref)
        if intended:
            what = "IRSA" if intended_mechanism is Mechanism.IRSA else "Pod Identity"
            return ChainLink("token", "not injected", LinkStatus.BROKEN,
                             f"{what} is configured ({intended}) but the pod has no {what} variables or token: "
                             "the SDK falls back to the node's instance metadata", ref)
        if isinstance(self._association(pod), Unavailable) and not (sa and sa.role_arn):
            return ChainLink("token", "none", LinkStatus.UNKNOWN,
                             f"no IRSA token; whether a Pod Identity association exists is {self._association(pod)}", ref)
        return ChainLink("token", "none", LinkStatus.SKIPPED,
                         "no IRSA or Pod Identity token: nothing was configured for this service account", ref)


def _fallback_why(intended: Mechanism | None, association: Any) -> str:
    """Why a pod with nothing injected ends up as its node's role, in words (a few kinds only,
    so the node-role links stay shared per node)."""
    end = NODE_ROLE_END
    if intended is Mechanism.IRSA:
        return ("its service account is annotated for IRSA, but this pod has no IRSA variables "
                f"(created before the annotation, or skipped by the webhook): {end}")
    if intended is Mechanism.POD_IDENTITY:
        return ("a Pod Identity association exists for its service account, but this pod has no Pod Identity "
                f"variables (created before the association): {end}")
    if isinstance(association, Unavailable):
        return f"no role-arn annotation, and whether a Pod Identity association exists is unknown: {end}"
    return ("nothing gives this pod an identity of its own (no eks.amazonaws.com/role-arn annotation, "
            f"no Pod Identity association for its service account): {end}")


def _verdict(links: list[ChainLink], findings: list[Finding], mechanism: Mechanism) -> Verdict:
    statuses = {link.status for link in links}
    severities = {f.severity for f in findings}
    if LinkStatus.BROKEN in statuses or Severity.ERROR in severities:
        return Verdict.BROKEN
    if LinkStatus.UNKNOWN in statuses:  # (a pod without containers has an unknown identity link)
        return Verdict.UNKNOWN
    if mechanism in (Mechanism.NODE_ROLE, Mechanism.STATIC_KEYS) or Severity.WARNING in severities:
        return Verdict.WARNING
    return Verdict.OK


def _spec_of(pod: Pod, creds: ContainerCredentials) -> Container | None:
    """The pod's container that `creds` describes."""
    return next((c for c in pod.containers if c.name == creds.name and c.init == creds.init), None)


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
