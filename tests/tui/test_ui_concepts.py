"""The concepts page (screens/concepts.py), driven with Pilot on the walkthrough lab: `?` then `c`,
`:concepts`, and F1 on a pane opening that pane's concept; docs/concepts.md is the same text."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from irsa_explorer.navigation import PANES
from irsa_explorer.screens.concepts import ConceptsScreen, concept_for_link, concept_for_pane, concepts_markdown, load_concepts
from irsa_explorer.screens.modals import HelpScreen
from irsa_explorer.widgets.chain_strip import ChainStrip
from ui_pilot_helpers import SIZE, filter_to, make_app, settle, wait_until

DOCS = Path(__file__).resolve().parents[2] / "docs" / "concepts.md"
# What issue 13 asks the page to explain: each must be there.
ASKED = {"irsa", "pod-identity", "node-role", "projected-tokens", "sub-aud", "trust-policy", "oidc-provider"}


def test_docs_say_what_the_app_says():
    assert DOCS.read_text(encoding="utf-8") == concepts_markdown(), (
        "docs/concepts.md is concepts.yaml rendered: python -m irsa_explorer.screens.concepts > docs/concepts.md")


def test_every_concept_asked_for_is_there_and_every_pane_links_one():
    concepts = load_concepts()
    assert ASKED <= {c.id for c in concepts}
    assert all(c.title and c.text and c.where for c in concepts)
    for pane in ("service-account", "token", "role", "trust-policy", "live-identity", "cloudtrail"):
        assert pane in PANES
        assert concept_for_pane(pane) is not None, pane
    assert concept_for_pane("trust-policy").id == "trust-policy"
    assert concept_for_pane("token").id == "projected-tokens"
    assert concept_for_pane("live-identity").id == "node-role"
    for step in ("pod", "service-account", "token", "oidc-provider", "role", "trust-policy", "identity"):
        assert concept_for_link(step) is not None, step  # every link of the chain explains itself


async def test_help_leads_to_the_concepts_and_esc_closes(lab):
    app = make_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "? opens help")
        assert "c: concepts" in app.screen.title_text
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConceptsScreen), "c in help opens the concepts")
        screen = app.screen
        titles = [str(screen.query_one(OptionList).get_option_at_index(i).prompt)
                  for i in range(screen.query_one(OptionList).option_count)]
        assert titles == [c.title for c in load_concepts()]
        assert screen.shown_id == "irsa" and "eks.amazonaws.com/role-arn" in screen.text
        await pilot.press("down", "down")  # the IMDS fallback
        await pilot.pause()
        assert screen.shown_id == "node-role" and "instance metadata service" in screen.text
        assert "Where in the app" in screen.text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, (ConceptsScreen, HelpScreen)), "esc closes it")


async def test_f1_on_a_pane_opens_its_concept_and_the_command_opens_the_page(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("4")  # the trust policy pane, focused
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "trust-policy"
        footer_keys = {binding.key for _, binding, enabled, _ in app.active_bindings.values() if enabled}
        assert "f1" in footer_keys
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, ConceptsScreen), "F1 opens the pane's concept")
        assert app.screen.shown_id == "trust-policy"
        assert "StringEquals values case-sensitively" in app.screen.text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConceptsScreen), "esc closes it")
        assert app.focused is not None and app.focused.id == "trust-policy"  # where the trainee was

        await pilot.press("2", "f1")  # the token pane: projected tokens
        await wait_until(pilot, lambda: isinstance(app.screen, ConceptsScreen), "F1 on the token pane")
        assert app.screen.shown_id == "projected-tokens"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConceptsScreen), "esc closes it")

        # the identity chain: F1 explains the link under its cursor
        await pilot.press("i")
        await pilot.pause()
        chain = app.screen.query_one(ChainStrip)
        assert app.focused is chain
        steps = [link.step for link in chain.chain.links]
        for _ in range((steps.index("oidc-provider") - chain.cursor) % len(steps)):
            await pilot.press("right")
        assert steps[chain.cursor] == "oidc-provider"
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, ConceptsScreen), "F1 on the chain")
        assert app.screen.shown_id == "oidc-provider" and "create-open-id-connect-provider" in app.screen.text
        await pilot.press("escape")
        await pilot.press("colon", *"concepts", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConceptsScreen), ":concepts opens the page")
        assert app.screen.shown_id == "irsa"
