"""The request a pod's IRSA token makes to STS, for evaluating a role's trust policy."""

from __future__ import annotations

from typing import Any

from irsa_explorer.model import Mechanism, Pod, Role, Unavailable
from irsa_explorer.state import ExplorerState


def evaluate_for_pod(state: ExplorerState, pod: Pod, role: Role) -> tuple[Any, str]:
    """(evaluation or a reason it cannot be evaluated, what the token carries in words)."""
    from irsa_explorer.analysis import trust

    sa = state.service_account(pod)
    chain = state.chains.get(pod.uid)
    if chain is not None and chain.mechanism == Mechanism.POD_IDENTITY:
        request = trust.TrustRequest(
            action="sts:AssumeRole",
            principal_type="Service",
            principal="pods.eks.amazonaws.com",
            context={},
        )
        return trust.evaluate_trust(role.trust_policy, request), "as EKS Pod Identity (pods.eks.amazonaws.com)"
    issuer = state.issuer_url()
    if not isinstance(issuer, str):
        reason = str(issuer) if isinstance(issuer, Unavailable) else "the cluster's OIDC issuer is not known yet"
        return f"cannot evaluate for this pod: {reason}", ""
    sub = f"system:serviceaccount:{pod.namespace}:{pod.service_account}"
    aud = state.audience(sa)
    request = trust.web_identity_request(issuer, sub, [aud], role.account)
    words = f"for this pod's token: iss {issuer}, sub {sub}, aud {aud}"
    return trust.evaluate_trust(role.trust_policy, request), words
