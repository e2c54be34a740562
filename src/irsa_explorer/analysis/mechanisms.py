"""The links of an identity chain after the token, one way per mechanism: how IRSA, EKS Pod
Identity, static keys and the node role each reach (or fail to reach) an AWS identity.

Each link carries its typed result (`ProviderCheck`, `TrustCheck`, `EffectiveIdentity`): the
trust decision is made here once, for the request the mechanism really makes, and every pane
and report renders it. The results depend on the role and the subject (or the node), not on
the pod, so they are worked out once and shared by every pod they hold for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from irsa_explorer.model import (
    DEFAULT_AUDIENCE,
    POD_IDENTITY_PRINCIPAL,
    ChainLink,
    Cluster,
    EffectiveIdentity,
    Evidence,
    ExpectedToken,
    Finding,
    AccessKeyOwner,
    Inventory,
    LinkStatus,
    Mechanism,
    NodeAccess,
    ObjectRef,
    Pod,
    PodIdentityAssociation,
    ProviderCheck,
    Role,
    StsEndpoint,
    TrustCheck,
    Unavailable,
    service_account_subject,
)

from . import findings as F
from .arns import account_of_arn, parse_role_arn, role_name_of
from .credentials import ContainerCredentials, mask_key
from .trust import (
    Decision,
    combine_evaluations,
    evaluate_trust,
    issuer_host_path,
    oidc_provider_arn,
    pod_identity_requests,
    web_identity_request,
)

NOT_FOUND = "not-found"  # Unavailable.kind when the object does not exist (sources.aws)
# What in a trust policy makes Pod Identity's decision differ from pod to pod (compared lower-case).
_PER_POD_TRUST_MARKERS = ("kubernetes-pod-name", "kubernetes-pod-uid", "aws:tagkeys")
NODE_ROLE_SOURCE = "the instance metadata service (IMDS) of node {node}: the role of its instance profile"
NODE_ROLE_END = "the SDK's chain ends at the instance metadata, so the pod gets its node's instance role"
NO_CREDENTIALS = "no credentials"


@dataclass
class Links:
    """The shared part of a chain (everything after the token) for one role and one subject."""

    links: tuple[ChainLink, ...]
    findings: tuple[Finding, ...]
    effective: str | None


class MechanismLinks:
    """Works out the links after the token, with their results shared between pods."""

    def __init__(self, inventory: Inventory, issuer: str | None, cluster: Cluster | None,
                 associations_loaded: bool) -> None:
        self.inv = inventory
        self.issuer = issuer
        self.cluster = cluster
        self.associations_loaded = associations_loaded
        self._irsa: dict[tuple, Links] = {}
        self._pod_identity: dict[tuple, Links] = {}
        self._pod_tag_roles: dict[str, bool] = {}  # role ARN → its trust tests per-pod session tags
        self._pod_identity_agent: dict[tuple, Links] = {}
        self._node: dict[tuple, Links] = {}

    # -- IRSA --

    def irsa(self, pod: Pod, main: ContainerCredentials, token: ExpectedToken | None,
             sts: StsEndpoint | None = None) -> Links:
        role_arn = main.role_arn or ""
        subject = token.subject if token else service_account_subject(pod.namespace, pod.service_account)
        audiences = token.audiences if token else (DEFAULT_AUDIENCE,)
        key = (role_arn, subject, audiences, sts)
        cached = self._irsa.get(key)
        if cached:
            return cached
        findings: list[Finding] = []
        # Shared by every pod of this service account, so the evidence points at the account.
        token_ref = pod.service_account_ref
        env_field = "metadata.annotations[eks.amazonaws.com/role-arn] (injected as AWS_ROLE_ARN)"
        role_account = account_of_arn(role_arn)

        # OIDC provider: in the role's account, URL = the token's issuer, aud among its client IDs.
        provider = self.provider_check(role_arn, role_account, audiences, token_ref, findings)
        provider_link = ChainLink("oidc-provider", provider.url or "unknown", provider.status, provider.reason,
                                  ObjectRef("OidcProvider", provider.provider.arn) if provider.provider else None,
                                  provider)
        role_link, role, role_findings = self.role_link(role_arn, pod.service_account_ref, env_field)
        findings.extend(role_findings)

        if role is None or self.issuer is None:
            why = "the role could not be read" if role is None else "the cluster's issuer is unknown"
            trust_link = ChainLink("trust-policy", "not evaluated", LinkStatus.UNKNOWN, f"unknown: {why}", role_link.ref)
        else:
            request = web_identity_request(self.issuer, subject, list(audiences), role.account)
            evaluation = evaluate_trust(role.trust_policy, request)
            check = TrustCheck(role.arn, (request,), (evaluation,), evaluation,
                               f"for this pod's token: iss {self.issuer}, sub {subject}, aud {', '.join(audiences)}")
            trust_link = _trust_link(check)
            finding = F.irsa_trust_finding(
                role, evaluation, provider_arn=oidc_provider_arn(self.issuer, role.account),
                issuer=self.issuer, subject=subject, audience=audiences[0])
            if finding:
                findings.append(finding)

        at = f" at {sts.endpoint}" if sts is not None and sts.endpoint else ""
        source = (f"STS AssumeRoleWithWebIdentity{at} with the pod's projected token "
                  "(AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)")
        why = "the webhook injected IRSA into the container, and no static keys come before it in the SDK's chain"
        name = role_name_of(role_arn)
        prior = (provider_link, role_link, trust_link)
        if any(link.status is LinkStatus.BROKEN for link in prior):
            detail = "AssumeRoleWithWebIdentity fails, so the SDK raises an error (it does not fall back to the node role)"
            effective = EffectiveIdentity(Mechanism.IRSA, LinkStatus.BROKEN, "no credentials", None, source,
                                          f"{detail}: {_first_broken(prior)}", sts_endpoint=sts)
            identity = ChainLink("identity", "no credentials", LinkStatus.BROKEN, detail, result=effective)
        elif any(link.status is LinkStatus.UNKNOWN for link in prior) or (sts is not None and sts.scope == "invalid"):
            doubt = sts.reason if sts is not None and sts.scope == "invalid" else "not every link could be checked"
            detail = f"{role_arn} if STS accepts the token — {doubt}"
            effective = EffectiveIdentity(Mechanism.IRSA, LinkStatus.UNKNOWN, name, None, source, detail,
                                          sts_endpoint=sts)
            identity = ChainLink("identity", name, LinkStatus.UNKNOWN, detail, result=effective)
        else:
            effective = EffectiveIdentity(Mechanism.IRSA, LinkStatus.OK, name, role_arn, source, why, sts_endpoint=sts)
            identity = ChainLink("identity", name, LinkStatus.OK,
                                 f"assumed-role/{name}/botocore-session-… via AssumeRoleWithWebIdentity",
                                 ObjectRef("Role", role_arn), effective)
        result = Links((provider_link, role_link, trust_link, identity), tuple(findings), effective.arn)
        self._irsa[key] = result
        return result

    def provider_check(self, role_arn: str, role_account: str | None, audiences: tuple[str, ...],
                       token_ref: ObjectRef, findings: list[Finding]) -> ProviderCheck:
        """The IAM OIDC provider STS would look up for this token and role, and whether it passes."""
        if self.issuer is None:
            why = self.inv.issuer if isinstance(self.inv.issuer, Unavailable) else self.inv.cluster
            detail = f"the cluster's issuer is unknown ({why})" if isinstance(why, Unavailable) else "the cluster's issuer is unknown"
            return ProviderCheck(LinkStatus.UNKNOWN, detail, audiences=audiences)
        url = issuer_host_path(self.issuer)
        expected = oidc_provider_arn(self.issuer, role_account) if role_account else None
        facts = {"issuer": self.issuer, "url": url, "expected_arn": expected, "audiences": audiences}
        providers = self.inv.oidc_providers
        listed_accounts = {account_of_arn(p.arn) for p in providers} - {None} if isinstance(providers, list) else set()
        our_account = next(iter(listed_accounts), None) or (self.cluster.account if self.cluster else None)
        other_account = bool(role_account and our_account and role_account != our_account)
        if other_account:
            # STS looks in the role's account: its providers, read through --account-profile.
            providers = self.inv.account_providers.get(role_account or "")
            if not isinstance(providers, list):
                reason = (providers.reason if isinstance(providers, Unavailable)
                          else f"no --account-profile names a profile for account {role_account}")
                findings.append(F.cross_account_unreadable(role_arn, role_account or "?", our_account or "?", reason))
                return ProviderCheck(LinkStatus.UNKNOWN, f"unknown: the role is in account {role_account}: {reason}",
                                     **facts)
        elif not isinstance(providers, list):
            detail = str(providers) if isinstance(providers, Unavailable) else "unknown: providers not looked up yet"
            return ProviderCheck(LinkStatus.UNKNOWN, detail, **facts)
        # IAM stores the URL as the provider was made for the issuer: a trailing / is part of it.
        match = next((p for p in providers if p.url.removeprefix("https://").lower() == url.lower()), None)
        if match is None and other_account:
            findings.append(F.no_oidc_provider_in_account(self.issuer, role_account or "?", None, token_ref))
            return ProviderCheck(LinkStatus.BROKEN,
                                 f"no IAM OIDC provider for {url} in account {role_account}, the role's: "
                                 "STS answers 'No OpenIDConnect provider found'", **facts)
        if match is None:
            cluster = self.cluster.name if self.cluster else None
            findings.append(F.no_oidc_provider(self.issuer, role_account or our_account or "?", cluster, token_ref))
            return ProviderCheck(LinkStatus.BROKEN,
                                 f"no IAM OIDC provider for {url}: STS answers 'No OpenIDConnect provider found'", **facts)
        if not any(a in match.client_ids for a in audiences):
            findings.append(F.audience_not_in_client_ids(match, audiences, [Evidence(token_ref, "token.aud", ", ".join(audiences))]))
            return ProviderCheck(LinkStatus.BROKEN,
                                 f"token aud {', '.join(audiences)} not in client IDs {', '.join(match.client_ids) or '(none)'}: "
                                 "STS answers 'Incorrect token audience'", provider=match, **facts)
        return ProviderCheck(LinkStatus.OK, f"{match.arn}; client IDs {', '.join(match.client_ids)}", provider=match, **facts)

    # -- the role --

    def role_link(self, role_arn: str, evidence_ref: ObjectRef, evidence_field: str) -> tuple[ChainLink, Role | None, list[Finding]]:
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

    # -- EKS Pod Identity --

    def pod_identity(self, pod: Pod, association: Any, access: NodeAccess | None = None) -> Links:
        """The links after the token of a Pod Identity pod. `access`: whether the Pod Identity
        agent runs on the pod's node (None: not looked up, nothing is claimed about it)."""
        base = self._pod_identity_links(pod, association)
        if access is None or not isinstance(association, PodIdentityAssociation):
            return base  # without an association the agent has nothing to hand out either way
        key = (association.role_arn, pod.namespace, pod.service_account, pod.host_network, access)
        found = self._pod_identity_agent.get(key)
        if found is None:
            found = self._pod_identity_agent[key] = self._with_agent(base, pod, access)
        return found

    def _with_agent(self, base: Links, pod: Pod, access: NodeAccess) -> Links:
        """`base` as the agent on the pod's node lets it be: no agent, no credentials."""
        identity = base.links[-1]
        effective = identity.result
        assert isinstance(effective, EffectiveIdentity)
        findings = base.findings
        if access.status is not LinkStatus.OK:
            cluster = self.cluster.name if self.cluster else None
            findings = findings + (F.pod_identity_agent(pod.namespace, pod.service_account, access, cluster),)
        if access.status is LinkStatus.BROKEN:
            detail = f"the SDK cannot reach the EKS Pod Identity agent (169.254.170.23): {access.reason}"
            effective = EffectiveIdentity(Mechanism.POD_IDENTITY, LinkStatus.BROKEN, NO_CREDENTIALS, None,
                                          effective.source, detail, node=access.node, access=access)
            identity = ChainLink("identity", NO_CREDENTIALS, LinkStatus.BROKEN, detail, result=effective)
        elif access.status is LinkStatus.UNKNOWN and effective.status is LinkStatus.OK:
            detail = f"{effective.arn} if the Pod Identity agent answers on the pod's node — {access.reason}"
            effective = EffectiveIdentity(Mechanism.POD_IDENTITY, LinkStatus.UNKNOWN, effective.label, None,
                                          effective.source, detail, node=access.node, access=access)
            identity = ChainLink("identity", effective.label, LinkStatus.UNKNOWN, detail, result=effective)
        else:
            effective = replace(effective, access=access)
            identity = replace(identity, result=effective)
        return Links(base.links[:-1] + (identity,), findings, effective.arn)

    def _pod_identity_links(self, pod: Pod, association: Any) -> Links:
        skipped = ChainLink("oidc-provider", "not used", LinkStatus.SKIPPED,
                            "Pod Identity: the agent exchanges the token with EKS Auth, no OIDC provider involved")
        source = ("the EKS Pod Identity agent (AWS_CONTAINER_CREDENTIALS_FULL_URI), which exchanges the pod's "
                  "eks-pod-identity-token with EKS Auth")
        if not isinstance(association, PodIdentityAssociation):
            if isinstance(association, Unavailable):
                status, why = LinkStatus.UNKNOWN, f"Pod Identity associations are {association}"
            elif not self.associations_loaded:
                status, why = LinkStatus.UNKNOWN, "unknown: Pod Identity associations were not looked up"
            else:
                # Variables injected at creation, association deleted since.
                status, why = LinkStatus.BROKEN, "no association exists for this service account any more"
            role = ChainLink("role", "no association", status,
                             f"the pod has Pod Identity variables but {why}: the agent has no role to give")
            if status is LinkStatus.BROKEN:
                detail = "EKS Auth refuses the token without an association"
                effective = EffectiveIdentity(Mechanism.POD_IDENTITY, status, "no credentials", None, source, detail)
                identity = ChainLink("identity", "no credentials", status, detail, result=effective)
                trust = ChainLink("trust-policy", "not evaluated", LinkStatus.SKIPPED, "no role")
            else:
                effective = EffectiveIdentity(Mechanism.POD_IDENTITY, status, "unknown", None, source, why)
                identity = ChainLink("identity", "unknown", status, why, result=effective)
                trust = ChainLink("trust-policy", "not evaluated", LinkStatus.UNKNOWN, "the role is not known")
            return Links((skipped, role, trust, identity), (), None)
        key: tuple = (association.role_arn, pod.namespace, pod.service_account, pod.host_network)
        per_pod = self._trust_names_pods(association.role_arn)
        if per_pod:
            key += (pod.name, pod.uid)  # the trust tests tags only this pod has: evaluated for it
        cached = self._pod_identity.get(key)
        if cached:
            return cached
        assoc_ref = ObjectRef("PodIdentityAssociation", association.association_id)
        role_link, role, findings = self.role_link(association.role_arn, assoc_ref, "roleArn")
        if role is None:
            trust_link = ChainLink("trust-policy", "not evaluated", LinkStatus.UNKNOWN, "unknown: the role could not be read", role_link.ref)
        else:
            cluster = self.cluster
            cluster_name = cluster.name if cluster else association.cluster
            pod_tags = {"pod_name": pod.name, "pod_uid": pod.uid} if per_pod else {}
            requests = pod_identity_requests(
                cluster_arn=cluster.arn if cluster else None, cluster_name=cluster_name,
                namespace=pod.namespace, service_account=pod.service_account, account=role.account, **pod_tags)
            evaluations = tuple(evaluate_trust(role.trust_policy, r) for r in requests)
            evaluation = combine_evaluations(list(zip(requests, evaluations)))
            made_by = (f"as EKS Pod Identity: {POD_IDENTITY_PRINCIPAL} asks for "
                       f"{' and '.join(r.action for r in requests)}, with the session tags "
                       f"kubernetes-namespace={pod.namespace}, kubernetes-service-account={pod.service_account}, "
                       f"eks-cluster-name={cluster_name}"
                       + (f", kubernetes-pod-name={pod.name}, kubernetes-pod-uid={pod.uid}" if per_pod else ""))
            check = TrustCheck(role.arn, tuple(requests), evaluations, evaluation, made_by)
            trust_link = _trust_link(check)
            finding = F.pod_identity_trust_finding(role, evaluation)
            if finding:
                findings.append(finding)
        name = role_name_of(association.role_arn)
        why = f"Pod Identity association {association.association_id} for {pod.namespace}/{pod.service_account} names this role"
        prior = [role_link, trust_link]
        if pod.host_network:
            detail = "hostNetwork pod: EKS refuses to assume the associated role"
            effective = EffectiveIdentity(Mechanism.POD_IDENTITY, LinkStatus.BROKEN, "no credentials", None, source, detail)
            identity = ChainLink("identity", "no credentials", LinkStatus.BROKEN, detail, result=effective)
        elif any(link.status is LinkStatus.BROKEN for link in prior):
            detail = "the Pod Identity agent returns an error"
            effective = EffectiveIdentity(Mechanism.POD_IDENTITY, LinkStatus.BROKEN, "no credentials", None, source,
                                          f"{detail} (it does not fall back to the node role): {_first_broken(prior)}")
            identity = ChainLink("identity", "no credentials", LinkStatus.BROKEN, detail, result=effective)
        elif any(link.status is LinkStatus.UNKNOWN for link in prior):
            detail = f"{association.role_arn} if EKS accepts the role — not every link could be checked"
            effective = EffectiveIdentity(Mechanism.POD_IDENTITY, LinkStatus.UNKNOWN, name, None, source, detail)
            identity = ChainLink("identity", name, LinkStatus.UNKNOWN, detail, result=effective)
        else:
            effective = EffectiveIdentity(Mechanism.POD_IDENTITY, LinkStatus.OK, name, association.role_arn, source, why)
            identity = ChainLink("identity", name, LinkStatus.OK, f"assumed-role/{name}/eks-… via EKS Pod Identity",
                                 ObjectRef("Role", association.role_arn), effective)
        result = Links((skipped, role_link, trust_link, identity), tuple(findings), effective.arn)
        self._pod_identity[key] = result
        return result

    def _trust_names_pods(self, role_arn: str) -> bool:
        """Whether the role's trust policy tests the tags that differ from pod to pod
        (kubernetes-pod-name, kubernetes-pod-uid, or the list of tag keys): then it is evaluated
        per pod, with EKS's six session tags; otherwise once for every pod of the service
        account (the common case), without them. Cached per role."""
        found = self._pod_tag_roles.get(role_arn)
        if found is None:
            role = self.inv.roles.get(role_arn)
            policy = role.trust_policy if isinstance(role, Role) else None
            text = (policy if isinstance(policy, str) else json.dumps(policy, default=str)).lower()
            found = self._pod_tag_roles[role_arn] = any(m in text for m in _PER_POD_TRUST_MARKERS)
        return found

    # -- static keys --

    def static(self, main: ContainerCredentials, pod: Pod | None = None) -> Links:
        """Static keys: the IAM user they belong to when the key was looked up (a literal
        AWS_ACCESS_KEY_ID; one lookup per distinct key, sources.aws_keys), else the masked key.
        `pod`: for findings about the key itself (deleted, of another account)."""
        skipped = "static keys come first: no role is assumed"
        shown = mask_key(main.access_key_id)
        refs = [ref for _, ref in main.static_key_sources if ref]
        if not main.access_key_id and refs:
            shown = f"static keys from {refs[0]}"
        fields = ", ".join(field for field, _ in main.static_key_sources)
        key_source = fields + (f" (from {', '.join(refs)})" if refs else " (literal values in the pod spec)")
        why = "static keys come first in the SDK's credential chain: whatever role is configured, they win"
        status, arn, owner, findings = LinkStatus.OK, None, None, []
        detail = "the IAM user (or role) the keys belong to"
        found = self.inv.access_keys.get(main.access_key_id) if main.access_key_id else None
        if isinstance(found, AccessKeyOwner):
            owner = found
            if found.arn:
                arn, shown = found.arn, found.arn.split(":", 5)[-1]  # user/NAME, with its path
                detail = f"IAM user {found.user_name} of account {found.account}, whose key {mask_key(main.access_key_id)[12:]} it is"
            else:
                shown = f"an IAM user of account {found.account}"
                detail = f"the key is of account {found.account}, whose IAM names its users to that account only"
                if pod is not None:
                    findings.append(F.static_key_other_account(pod, main.name, found))
        elif isinstance(found, Unavailable) and found.kind == NOT_FOUND:
            status, shown = LinkStatus.BROKEN, f"deleted key {mask_key(main.access_key_id)[12:]}"
            detail = f"the key does not exist ({found.reason}): every call fails with InvalidClientTokenId"
            if pod is not None:
                findings.append(F.static_key_not_found(pod, main.name, None, main.access_key_id or "", found.reason))
        elif isinstance(found, Unavailable):
            why += f"; whose keys they are is {found}"
        effective = EffectiveIdentity(
            Mechanism.STATIC_KEYS, status, shown, arn,
            f"access keys in container {main.name}'s environment: {key_source}", why if status is LinkStatus.OK else detail,
            key_source=key_source, key_owner=owner,
        )
        return Links((
            ChainLink("oidc-provider", "not used", LinkStatus.SKIPPED, skipped),
            ChainLink("role", "not used", LinkStatus.SKIPPED, skipped),
            ChainLink("trust-policy", "not used", LinkStatus.SKIPPED, skipped),
            ChainLink("identity", shown, status, detail, result=effective),
        ), tuple(findings), arn or shown)

    # -- a profile of the shared config / credentials files --

    def profile(self, pod: Pod, main: ContainerCredentials, intended: str | None) -> Links:
        """The SDK reads a profile (AWS_PROFILE; a credentials or config file a volume mounts,
        usually a Secret) before EKS Pod Identity and the node role. What it holds is the
        Secret's value, never read here: where the credentials come from is known, who they
        are is not (unknown, with why). Per pod: the findings name its containers."""
        profile = main.profile
        assert profile is not None
        skipped = "the profile's credentials: no IRSA or Pod Identity role is asked for"
        if profile.mounted:
            files = ", ".join(f.describe() for f in profile.mounted)
            label, source = f"profile {profile.profile}", f"profile {profile.profile} of {files}"
            why = ("the container's SDK reads this profile before EKS Pod Identity and the node role; who it is "
                   "(static keys, an assume-role profile, SSO, credential_process) is in the file, a value this "
                   "tool does not read — if it holds no credentials, the SDK goes on down the chain")
            finding = F.profile_in_use(pod, main.name, profile, intended)
        else:
            label = f"profile {profile.profile} (no file mounted)"
            source = f"{profile.set_by}={profile.profile}, with no file mounted where the SDK reads it"
            why = (f"unless the image carries a config or credentials file with profile {profile.profile}, the SDK "
                   f"stops before any call: 'The config profile ({profile.profile}) could not be found'")
            finding = F.profile_not_mounted(pod, main.name, profile)
        effective = EffectiveIdentity(Mechanism.PROFILE, LinkStatus.UNKNOWN, label, None, source, why, profile=profile)
        return Links((
            ChainLink("oidc-provider", "not used", LinkStatus.SKIPPED, skipped),
            ChainLink("role", "the profile's", LinkStatus.SKIPPED, "whatever the profile names (the file is not read)"),
            ChainLink("trust-policy", "not used", LinkStatus.SKIPPED, skipped),
            ChainLink("identity", label, LinkStatus.UNKNOWN, why, result=effective),
        ), (finding,), label)

    def with_profile(self, base: Links, pod: Pod, main: ContainerCredentials) -> Links:
        """IRSA's links for a container that also reads a profile: botocore takes an assume-role
        profile before web identity (and stops on a profile it cannot find), so IRSA's answer
        holds only if the file is not one — unknown, since the file is not read."""
        profile = main.profile
        assert profile is not None
        identity = base.links[-1]
        effective = identity.result
        assert isinstance(effective, EffectiveIdentity)
        if profile.mounted:
            files = ", ".join(f.describe() for f in profile.mounted)
            why = (f"{effective.label} through IRSA — unless profile {profile.profile} in {files} is an assume-role "
                   "profile, which botocore reads before web identity (its keys, SSO or credential_process come after "
                   "IRSA); the file is not read")
            finding = F.profile_may_override_irsa(pod, main.name, profile, main.role_arn or "?")
        else:
            why = (f"{effective.label} through IRSA — unless the image lacks profile {profile.profile}: then the SDK "
                   f"stops before any call ('The config profile ({profile.profile}) could not be found')")
            finding = F.profile_not_mounted(pod, main.name, profile)
        status = LinkStatus.BROKEN if effective.status is LinkStatus.BROKEN and not profile.mounted else LinkStatus.UNKNOWN
        effective = replace(effective, status=status, arn=None, why=why, profile=profile)
        identity = ChainLink("identity", identity.label, status, why, identity.ref, effective)
        shown = f"{effective.label} or profile {profile.profile}" if profile.mounted else None
        return Links(base.links[:-1] + (identity,), base.findings + (finding,), shown)

    # -- the node role --

    def node_role(self, node: str | None, why: str, access: NodeAccess | None = None, meant: bool = False) -> Links:
        """The node's instance role, the same for every pod on the node that falls back for `why`
        and meets IMDS as `access` says (None: the instance's settings were not looked up).
        `meant`: the pod was meant to have an identity of its own, so ending with none is broken."""
        key = (node, why, access, meant)
        found = self._node.get(key)
        if found is None:
            if access is not None and access.status is LinkStatus.BROKEN:
                found = self._no_credentials(node, why, access, meant)
            else:
                found = self._node_role(node, why, access)
            self._node[key] = found
        return found

    def _node_role(self, node: str | None, why: str, access: NodeAccess | None) -> Links:
        skipped = "node role: the SDK reads the instance metadata service"
        node_role = self.inv.node_roles.get(node) if node else None
        node_ref = ObjectRef("Node", node) if node else None
        source = NODE_ROLE_SOURCE.format(node=node)
        reach = f"; {access.reason}" if access is not None else ""
        if node is None:
            role = ChainLink("role", "not scheduled", LinkStatus.UNKNOWN, "the pod has no node yet, so no node role")
            effective = EffectiveIdentity(Mechanism.NODE_ROLE, LinkStatus.UNKNOWN, "node role", None,
                                          "the instance metadata service of the node the pod will run on",
                                          f"{why}; the pod has no node yet")
        elif isinstance(node_role, str) and access is not None and access.status is LinkStatus.UNKNOWN:
            role = ChainLink("role", role_name_of(node_role), LinkStatus.UNKNOWN,
                             f"instance role of node {node}{reach}", ObjectRef("Role", node_role))
            effective = EffectiveIdentity(Mechanism.NODE_ROLE, LinkStatus.UNKNOWN, role_name_of(node_role), None,
                                          source, f"{why}, if the pod reaches IMDS{reach}", node=node, access=access)
        elif isinstance(node_role, str):
            role = ChainLink("role", role_name_of(node_role), LinkStatus.OK,
                             f"instance role of node {node}, shared by every pod on it{reach}", ObjectRef("Role", node_role))
            effective = EffectiveIdentity(Mechanism.NODE_ROLE, LinkStatus.OK, role_name_of(node_role), node_role,
                                          source, why, node=node, access=access)
        else:
            known = node_role if isinstance(node_role, Unavailable) else "unknown: not looked up yet"
            role = ChainLink("role", "node role", LinkStatus.UNKNOWN, f"node {node}: {known}", node_ref)
            effective = EffectiveIdentity(Mechanism.NODE_ROLE, LinkStatus.UNKNOWN, "node role", None, source,
                                          f"{why}; the node's role is {known}", node=node, access=access)
        how = "if the IMDS hop limit lets pods reach it" if access is None else access.reason
        identity = ChainLink(
            "identity", effective.label, effective.status,
            f"assumed-role/NODE_ROLE/i-… from instance metadata ({how})",
            role.ref, effective,
        )
        return Links((
            ChainLink("oidc-provider", "not used", LinkStatus.SKIPPED, skipped),
            role,
            ChainLink("trust-policy", "not used", LinkStatus.SKIPPED, "the instance profile assumes it for the node"),
            identity,
        ), (), effective.arn)

    def _no_credentials(self, node: str | None, why: str, access: NodeAccess, meant: bool) -> Links:
        """Nothing injected and the node's IMDS out of the pod's reach (hop limit, IMDS off,
        Fargate): the SDK's chain ends with no credentials at all, not with the node's role."""
        node_role = self.inv.node_roles.get(node) if node else None
        cause = why.removesuffix(f": {NODE_ROLE_END}")
        if access.compute == "fargate":
            role = ChainLink("role", "no node role", LinkStatus.SKIPPED, access.reason, ObjectRef("Node", node or "?"))
            source = "nothing: a Fargate pod has no instance metadata service and no node role"
        else:
            name = role_name_of(node_role) if isinstance(node_role, str) else "node role"
            ref = ObjectRef("Role", node_role) if isinstance(node_role, str) else ObjectRef("Node", node or "?")
            role = ChainLink("role", name, LinkStatus.SKIPPED,
                             f"instance role of node {node}, out of this pod's reach: {access.reason}", ref)
            source = f"nothing: the instance metadata service of node {node} (its instance role) is out of this pod's reach"
        # No credentials is the plan for a pod nothing was meant for (e.g. hardened nodes), and
        # broken for one that should have had a role of its own.
        status = LinkStatus.BROKEN if meant else LinkStatus.OK
        why_none = f"{cause}; {access.reason}: the SDK finds no credentials ('Unable to locate credentials')"
        effective = EffectiveIdentity(Mechanism.NONE, status, NO_CREDENTIALS, None, source, why_none,
                                      node=node, access=access)
        identity = ChainLink("identity", NO_CREDENTIALS, status,
                             "Unable to locate credentials: nothing injected, and the node's IMDS is out of reach",
                             result=effective)
        return Links((
            ChainLink("oidc-provider", "not used", LinkStatus.SKIPPED, "no role is assumed"),
            role,
            ChainLink("trust-policy", "not used", LinkStatus.SKIPPED, "no role is assumed"),
            identity,
        ), (), NO_CREDENTIALS)


def _first_broken(links: Any) -> str:
    link = next(link for link in links if link.status is LinkStatus.BROKEN)
    return f"{link.step} {link.label} — {link.detail}"


def _trust_link(check: TrustCheck) -> ChainLink:
    evaluation = check.evaluation
    status = {
        Decision.ALLOW: LinkStatus.OK,
        Decision.DENY: LinkStatus.BROKEN,
        Decision.NOT_ALLOWED: LinkStatus.BROKEN,
        Decision.UNKNOWN: LinkStatus.UNKNOWN,
    }[evaluation.decision]
    return ChainLink("trust-policy", str(evaluation.decision), status, evaluation.reason,
                     ObjectRef("Role", check.role_arn), check)
