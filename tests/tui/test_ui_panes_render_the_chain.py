"""The Role and Trust panes render what the chain carries: the trust decision the engine made
for the request the pod's mechanism really makes, and the identity the pod really gets — so a
pane can never say "allow" beside a broken chain, and a node-role pod's role can be read."""

from __future__ import annotations

import json

import pytest

from irsa_explorer.model import Decision, LinkStatus, Mechanism, Verdict
from irsa_explorer.widgets.panes.role import RolePane
from irsa_explorer.widgets.panes.trust_policy import TrustPolicyPane
from test_ui_pilot import text_of
from ui_pilot_helpers import SIZE, filter_to, make_app, pod_uid, settle


@pytest.fixture(scope="module")
def no_tag_session_lab(lab_for):
    return lab_for("pod-identity-no-tag-session")


def line_with(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def row_of(text: str, label: str) -> str:
    """The pane's row whose label is `label`."""
    return next(line for line in text.splitlines() if line.startswith(label + " "))


async def test_pod_identity_trusting_assume_role_only_is_broken_and_the_trust_pane_names_tag_session(no_tag_session_lab):
    app = make_app(no_tag_session_lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "reporter")
        chain = app.state.chains[pod_uid(app, "reporter")]
        assert chain.mechanism is Mechanism.POD_IDENTITY and chain.verdict is Verdict.BROKEN
        assert chain.trust.decision is Decision.NOT_ALLOWED
        await pilot.press("4")
        await settle(pilot)
        pane = app.screen.query_one(TrustPolicyPane)
        assert pane.trust is chain.trust  # the chain's decision, not one of its own
        shown = text_of(pane)
        decision = row_of(shown, "decision")
        assert "✗ not-allowed" in decision and "sts:TagSession" in decision
        assert "✓ allow" not in decision
        assert "✗ not-allowed" in row_of(shown, "sts:TagSession")
        assert "✓ allow" in row_of(shown, "sts:AssumeRole")  # the half that is allowed, said as such
        assert "session tags" in shown and "kubernetes-service-account=reporter" in shown
        await pilot.press("3")
        await settle(pilot)
        role = text_of(app.screen.query_one(RolePane))
        assert "pod-identity-reporter" in role
        assert "✗ no credentials" in row_of(role, "this pod gets") and "TagSession" in role


async def test_a_node_role_pod_reaches_its_node_role_and_the_trust_pane_says_why_no_decision(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test2")
        chain = app.state.chains[pod_uid(app, "eks-iam-test2")]
        effective = chain.effective
        assert effective.mechanism is Mechanism.NODE_ROLE and effective.status is LinkStatus.OK
        assert "NodeInstanceRole" in effective.arn and effective.node
        await pilot.press("3")
        await settle(pilot)
        role_pane = app.screen.query_one(RolePane)
        assert role_pane.arn == effective.arn  # not "no intended role": the role it really gets
        role = text_of(role_pane)
        assert "NodeInstanceRole" in role and "max session" in role
        assert "its node's instance role" in row_of(role, "this pod gets")
        assert effective.node in role
        await pilot.press("4")
        await settle(pilot)
        trust_pane = app.screen.query_one(TrustPolicyPane)
        assert trust_pane.trust is None
        trust = text_of(trust_pane)
        assert trust_pane.role.arn == effective.arn and "NodeInstanceRole" in trust  # the node role's document
        assert "ec2.amazonaws.com" in json.dumps(trust_pane.role.trust_policy)
        assert "the instance profile assumes it for the node" in trust
        assert "decision" not in trust  # no decision shown that the engine did not make


async def test_irsa_trust_pane_shows_the_chains_decision_for_the_pods_token(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        chain = app.state.chains[pod_uid(app, "eks-iam-test3")]
        await pilot.press("4")
        await settle(pilot)
        pane = app.screen.query_one(TrustPolicyPane)
        assert pane.trust is chain.trust and chain.trust.decision is Decision.ALLOW
        shown = text_of(pane)
        assert "✓ allow" in row_of(shown, "decision")
        assert f"sub {chain.token.subject}" in shown and f"aud {chain.token.audiences[0]}" in shown
