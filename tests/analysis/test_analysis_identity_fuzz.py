"""Hypothesis: any mix of pod shapes and missing lookups resolves without error, and never to a
false OK — an `Unavailable` on the pod's path always shows as unknown (or broken), never ok."""

from __future__ import annotations

import dataclasses

from hypothesis import example, given, settings
from hypothesis import strategies as st

from analysis_builders import (
    IRSA_TOKEN,
    NODE,
    PI_ROLE_ARN,
    PI_TOKEN,
    POD_IDENTITY_TRUST,
    ROLE_ARN,
    association,
    container,
    inventory,
    irsa_container,
    irsa_trust,
    pod,
    pod_identity_container,
    role,
    sa,
)
from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.model import EnvVar, LinkStatus, Mechanism, Unavailable, Verdict

DENIED = Unavailable("access denied", "some:Permission", "forbidden")
MISSING = Unavailable("does not exist", None, "not-found")

containers = st.sampled_from([
    [irsa_container()],
    [container()],
    [pod_identity_container()],
    [irsa_container(), container("sidecar")],
    [container(env=[EnvVar("AWS_ROLE_ARN", ROLE_ARN)])],
    [container(env=[EnvVar("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE1"), EnvVar("AWS_SECRET_ACCESS_KEY", "s")])],
    [irsa_container(role_arn="arn:aws:iam::1:role/bad")],
    [],
])
trusts = st.sampled_from([irsa_trust(), irsa_trust("system:serviceaccount:other:x"), POD_IDENTITY_TRUST, "{bad", {"Statement": []}])


HEALTHY_IRSA = dict(containers=[irsa_container()], tokens=(IRSA_TOKEN,), annotated=True, host_network=False,
                    sa_listed=True, role_state="ok", trust=irsa_trust(), providers="ok", issuer_known=True,
                    node_role="ok", associations="none", scheduled=True)
HEALTHY_POD_IDENTITY = {**HEALTHY_IRSA, "containers": [pod_identity_container()], "tokens": (PI_TOKEN,),
                        "annotated": False, "trust": POD_IDENTITY_TRUST, "associations": "one"}


# Random draws almost never assemble a fully healthy pod (300 examples gave no `ok` at all), so
# the OK branch below would go unchecked: these examples reach it, and one step away from it.
@example(**HEALTHY_IRSA)
@example(**HEALTHY_POD_IDENTITY)
@example(**{**HEALTHY_IRSA, "role_state": "denied"})
@example(**{**HEALTHY_IRSA, "providers": "denied"})
@example(**{**HEALTHY_IRSA, "issuer_known": False})
@example(**{**HEALTHY_POD_IDENTITY, "associations": "denied"})
@settings(max_examples=300, deadline=None)
@given(
    containers=containers,
    tokens=st.sampled_from([(IRSA_TOKEN,), (PI_TOKEN,), (), (IRSA_TOKEN, PI_TOKEN)]),
    annotated=st.booleans(),
    host_network=st.booleans(),
    sa_listed=st.booleans(),
    role_state=st.sampled_from(["ok", "denied", "missing", "absent"]),
    trust=trusts,
    providers=st.sampled_from(["ok", "denied", "none", "empty"]),
    issuer_known=st.booleans(),
    node_role=st.sampled_from(["ok", "denied", "absent"]),
    associations=st.sampled_from(["none", "one", "denied"]),
    scheduled=st.booleans(),
)
def test_unknown_is_never_ok(containers, tokens, annotated, host_network, sa_listed, role_state, trust, providers,
                             issuer_known, node_role, associations, scheduled):
    chain = chain_for(containers, tokens, annotated, host_network, sa_listed, role_state, trust, providers,
                      issuer_known, node_role, associations, scheduled)

    assert chain.links and chain.links[0].step == "pod"
    assert "could not analyse" not in chain.links[0].detail  # no exception was swallowed
    statuses = {link.status for link in chain.links}
    if chain.verdict is Verdict.OK:
        assert statuses <= {LinkStatus.OK, LinkStatus.SKIPPED}
        assert chain.effective_identity
        assert chain.mechanism in (Mechanism.IRSA, Mechanism.POD_IDENTITY)
        # Every lookup this chain depended on was really there.
        assert issuer_known or chain.mechanism is Mechanism.POD_IDENTITY
        assert role_state == "ok"
        if chain.mechanism is Mechanism.IRSA:
            assert providers == "ok"
    if LinkStatus.UNKNOWN in statuses:
        assert chain.verdict in (Verdict.UNKNOWN, Verdict.BROKEN)
    if chain.mechanism is Mechanism.NODE_ROLE and node_role != "ok":
        # The node's role could not be read: the pod's identity is unknown, not a mere warning.
        assert chain.verdict in (Verdict.UNKNOWN, Verdict.BROKEN)


def test_the_healthy_examples_are_ok():
    """The fuzz's premise: a pod with every lookup in place is OK (else "never OK" proves nothing)."""
    for healthy, mechanism in ((HEALTHY_IRSA, Mechanism.IRSA), (HEALTHY_POD_IDENTITY, Mechanism.POD_IDENTITY)):
        chain = chain_for(**healthy)
        assert (chain.verdict, chain.mechanism) == (Verdict.OK, mechanism), chain.links


def chain_for(containers, tokens, annotated, host_network, sa_listed, role_state, trust, providers,
              issuer_known, node_role, associations, scheduled):
    p = pod(containers=containers, tokens=tokens, host_network=host_network, node_name=NODE if scheduled else None)
    roles = {}
    for arn, doc in ((ROLE_ARN, trust), (PI_ROLE_ARN, trust)):
        if role_state == "ok":
            roles[arn] = role(arn, doc)
        elif role_state == "denied":
            roles[arn] = DENIED
        elif role_state == "missing":
            roles[arn] = MISSING
    inv = inventory(
        pods=[p],
        sas=[sa(role_arn=ROLE_ARN if annotated else None)] if sa_listed else [],
        roles=roles,
        providers={"ok": None, "denied": DENIED, "none": None, "empty": []}[providers],
        node_roles={"ok": None, "denied": {NODE: DENIED}, "absent": {}}[node_role],
        associations={"none": [], "one": [association()], "denied": DENIED}[associations],
        issuer=None if issuer_known else DENIED,
        cluster=None if issuer_known else DENIED,
    )
    if providers == "none":
        inv = dataclasses.replace(inv, oidc_providers=None)  # not looked up
    return resolve_all(inv)[p.uid]
