"""What a service account would get from AWS with no pod, as the engine predicts it, and
whether an answer from AWS (STS, EKS Auth, or `sts get-caller-identity` inside a pod) agrees.

`predict_service_account` works out the links after the token for a token of this account —
the OIDC provider, the role, the trust policy, the identity — with the same `MechanismLinks`
every pod's chain is made with: one engine, asked about a pod that does not exist. The
comparisons are pure: the TUI and the report show their words, they never decide again.
"""

from __future__ import annotations

from dataclasses import dataclass

from irsa_explorer.model import (
    AUDIENCE_ANNOTATION,
    DEFAULT_AUDIENCE,
    POD_IDENTITY_AUDIENCE,
    POD_IDENTITY_TOKEN_PATH,
    POD_IDENTITY_VOLUME,
    IRSA_TOKEN_PATH,
    IRSA_VOLUME,
    ChainLink,
    Cluster,
    EffectiveIdentity,
    ExpectedToken,
    Finding,
    Inventory,
    LinkStatus,
    Mechanism,
    Pod,
    PodIdentityAssociation,
    service_account_subject,
)

from .arns import parse_role_arn, role_name_of, same_role
from .credentials import ContainerCredentials, inventory_issuer
from .mechanisms import MechanismLinks

MATCHES, MISMATCH, UNKNOWN = "matches", "mismatch", "unknown"


@dataclass(frozen=True)
class SaPrediction:
    """The engine's answer for a token of one service account, presented as the webhook would
    have a pod present it: which mechanism, for which role and audience, the links after the
    token with their typed results, the identity, and the error AWS should give when it refuses."""

    namespace: str
    service_account: str
    mechanism: Mechanism  # IRSA, POD_IDENTITY, or NONE (no role: nothing to ask AWS for)
    role_arn: str | None
    audience: str | None  # the token's audience (IRSA: the annotation's, else sts.amazonaws.com)
    effective: EffectiveIdentity | None  # None with mechanism NONE
    links: tuple[ChainLink, ...] = ()
    findings: tuple[Finding, ...] = ()
    expected_error: str | None = None  # the error code AWS answers when the engine says it refuses

    @property
    def status(self) -> LinkStatus:
        return self.effective.status if self.effective is not None else LinkStatus.SKIPPED

    @property
    def words(self) -> str:
        """The prediction in one line."""
        effective = self.effective
        if effective is None:
            return "no role: the service account names none and has no Pod Identity association"
        if effective.status is LinkStatus.OK:
            return f"a session of the role {role_name_of(self.role_arn or '')}"
        if effective.status is LinkStatus.BROKEN:  # why in full: the links, shown after
            step = _first_broken(self.links)
            where = f"at the {step} link" if step else effective.why
            return f"refused — {self.expected_error}, {where}" if self.expected_error else f"refused — {where}"
        return f"unknown — {effective.why}"


def predict_service_account(inventory: Inventory, namespace: str, name: str) -> SaPrediction:
    """What a token of `namespace/name` gets: Pod Identity when an association names the
    account (the webhook prefers it), else IRSA for its role-arn annotation with its audience."""
    sa = inventory.service_accounts.get((namespace, name))
    annotations = sa.annotations if sa is not None else {}
    associations = inventory.associations
    association = next((a for a in associations if (a.namespace, a.service_account) == (namespace, name)), None) \
        if isinstance(associations, list) else None
    issuer = inventory_issuer(inventory)
    cluster = inventory.cluster if isinstance(inventory.cluster, Cluster) else None
    links = MechanismLinks(inventory, issuer, cluster, associations is not None)
    # the pod the webhook would make for it: only its namespace and account matter after the token
    pod = Pod(uid="", namespace=namespace, name="", service_account=name, node_name=None, phase="Pending",
              status="", created=None)
    common = dict(namespace=namespace, service_account=name)
    if isinstance(association, PodIdentityAssociation):
        shared = links.pod_identity(pod, association)
        effective = _effective(shared.links)
        return SaPrediction(mechanism=Mechanism.POD_IDENTITY, role_arn=association.role_arn,
                            audience=POD_IDENTITY_AUDIENCE, effective=effective, links=shared.links,
                            findings=shared.findings, expected_error=_pod_identity_error(shared.links), **common)
    role_arn = sa.role_arn if sa is not None else None
    if not role_arn:
        return SaPrediction(mechanism=Mechanism.NONE, role_arn=None, audience=None, effective=None, **common)
    audience = annotations.get(AUDIENCE_ANNOTATION) or DEFAULT_AUDIENCE
    main = ContainerCredentials("probe", False, Mechanism.IRSA, role_arn=role_arn, token_file=IRSA_TOKEN_PATH,
                                token_mounted=True)
    token = ExpectedToken(issuer, service_account_subject(namespace, name), (audience,), None, IRSA_TOKEN_PATH, IRSA_VOLUME)
    shared = links.irsa(pod, main, token)
    return SaPrediction(mechanism=Mechanism.IRSA, role_arn=role_arn, audience=audience,
                        effective=_effective(shared.links), links=shared.links, findings=shared.findings,
                        expected_error=_web_identity_error(shared.links, role_arn), **common)


def token_audience(prediction: SaPrediction) -> str:
    """The audience the TokenRequest asks for: the one the webhook's projected token would carry."""
    if prediction.mechanism is Mechanism.POD_IDENTITY:
        return POD_IDENTITY_AUDIENCE
    return prediction.audience or DEFAULT_AUDIENCE


def token_path(prediction: SaPrediction) -> str:
    return POD_IDENTITY_TOKEN_PATH if prediction.mechanism is Mechanism.POD_IDENTITY else IRSA_TOKEN_PATH


def token_volume(prediction: SaPrediction) -> str:
    return POD_IDENTITY_VOLUME if prediction.mechanism is Mechanism.POD_IDENTITY else IRSA_VOLUME


def _effective(chain_links: tuple[ChainLink, ...]) -> EffectiveIdentity | None:
    last = chain_links[-1] if chain_links else None
    return last.result if last is not None and isinstance(last.result, EffectiveIdentity) else None


def _first_broken(chain_links: tuple[ChainLink, ...]) -> str | None:
    return next((link.step for link in chain_links if link.status is LinkStatus.BROKEN and link.step != "identity"), None)


def _web_identity_error(chain_links: tuple[ChainLink, ...], role_arn: str) -> str | None:
    """STS's error code for the first broken link (failure-catalogue.md): a provider that is
    missing or does not list the audience → InvalidIdentityToken; a malformed ARN →
    ValidationError; a role that does not exist or whose trust refuses → AccessDenied."""
    step = _first_broken(chain_links)
    if step == "oidc-provider":
        return "InvalidIdentityToken"
    if step == "role" and not parse_role_arn(role_arn):
        return "ValidationError"
    if step in ("role", "trust-policy"):
        return "AccessDenied"
    return None


def _pod_identity_error(chain_links: tuple[ChainLink, ...]) -> str | None:
    """EKS Auth's error code: no association → ResourceNotFoundException; a role it cannot
    assume → AccessDeniedException."""
    step = _first_broken(chain_links)
    role = next((link for link in chain_links if link.step == "role"), None)
    if step == "role" and role is not None and role.label == "no association":
        return "ResourceNotFoundException"
    if step in ("role", "trust-policy"):
        return "AccessDeniedException"
    return None


@dataclass(frozen=True)
class Agreement:
    """Whether AWS's answer is the engine's prediction: `verdict` matches / mismatch / unknown,
    and why, in words."""

    verdict: str
    words: str


def compare_answer(prediction: SaPrediction, answered: bool, ok: bool, arn: str | None = None,
                   error_code: str | None = None) -> Agreement:
    """The engine's prediction beside what AWS answered. `answered`: AWS was asked at all (a
    failed TokenRequest asks nothing); `ok`: it gave credentials, as `arn`; else `error_code`."""
    if not answered:
        return Agreement(UNKNOWN, "AWS was not asked: nothing to compare")
    effective = prediction.effective
    if effective is None or effective.status is LinkStatus.UNKNOWN:
        why = effective.why if effective is not None else "the engine predicts no role"
        return Agreement(UNKNOWN, f"the engine could not tell ({why}); AWS's answer stands")
    if effective.status is LinkStatus.OK:
        if ok and same_role(arn, prediction.role_arn):
            return Agreement(MATCHES, f"AWS gave a session of {prediction.role_arn}, as the engine predicted")
        if ok:
            return Agreement(MISMATCH, f"the engine predicted {prediction.role_arn}; AWS gave {arn}")
        return Agreement(MISMATCH, f"the engine predicted {prediction.role_arn}; AWS refused ({error_code or 'an error'})")
    # the engine predicts a refusal
    if ok:
        return Agreement(MISMATCH, f"the engine predicted a refusal ({effective.why}); AWS gave {arn}")
    if prediction.expected_error and error_code and error_code != prediction.expected_error:
        return Agreement(MISMATCH, f"both refuse, but AWS said {error_code} where the engine expected "
                                   f"{prediction.expected_error}")
    return Agreement(MATCHES, f"AWS refused ({error_code or 'an error'}), as the engine predicted")


def agrees(expected: EffectiveIdentity | None, ok: bool, arn: str | None) -> bool | None:
    """Whether an answer from inside a pod is the engine's effective identity for it: an
    identity, or no credentials at all. None when the engine could not tell, or was not asked."""
    if expected is None or expected.status is LinkStatus.UNKNOWN:
        return None
    no_credentials = expected.mechanism is Mechanism.NONE or expected.status is LinkStatus.BROKEN
    if not ok:
        return no_credentials
    if no_credentials or not expected.arn:
        return False
    return arn == expected.arn or bool(same_role(arn, expected.arn))


def agreement_of(agreed: bool | None, expected: EffectiveIdentity | None) -> Agreement:
    """`agrees`' answer in words, for a live answer from inside a pod."""
    if agreed is None:
        return Agreement(UNKNOWN, "the engine could not tell what this pod gets")
    label = expected.label if expected is not None else "?"
    if agreed:
        return Agreement(MATCHES, f"the engine predicted {label}, and so it is")
    return Agreement(MISMATCH, f"the engine predicted {label}")
