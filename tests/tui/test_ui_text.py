"""Text on screen: ARNs wrap between their parts, severities and plurals read right."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from irsa_explorer.model import ObjectRef
from irsa_explorer.widgets.format import break_offsets, breakable, line
from irsa_explorer.widgets.panes.detail import arn_link

ARN = "arn:aws:iam::113534181560:role/eksctl-eks-oidc-demo-addon-iamserviceaccount-default-my-sa"


def lines_of(text: str, width: int) -> list[str]:
    offsets = break_offsets(text, width)
    return [text[a:b] for a, b in zip([0, *offsets], [*offsets, len(text)])]


def test_an_arn_breaks_after_slash_and_colon_not_mid_word():
    assert lines_of(ARN, 40) == ["arn:aws:iam::113534181560:role/",
                                 "eksctl-eks-oidc-demo-addon-iamserviceaccount-default-my-sa"]
    assert lines_of(ARN, 20) == ["arn:aws:iam::", "113534181560:role/",
                                 "eksctl-eks-oidc-demo-addon-iamserviceaccount-default-my-sa"]
    assert break_offsets(ARN, len(ARN)) == []


def test_a_word_that_fits_on_a_line_of_its_own_moves_there_whole():
    line = "  condition ✓ matched StringEquals …14706B:sub: token has system:serviceaccount:default:my-sa"
    assert lines_of(line, 40) == ["  condition ✓ matched StringEquals ", "…14706B:sub: token has ",
                                  "system:serviceaccount:default:my-sa"]
    assert lines_of("gets " + ARN, 40) == ["gets arn:aws:iam::113534181560:role/",
                                           "eksctl-eks-oidc-demo-addon-iamserviceaccount-default-my-sa"]


def test_words_still_break_at_spaces_and_lines_are_kept():
    text = "issuer https://oidc.eks.us-east-2.amazonaws.com/id/ABC\nnext line"
    assert lines_of(text, 40) == ["issuer https://", "oidc.eks.us-east-2.amazonaws.com/id/ABC\nnext line"]
    # a new line starts the count again; a part wider than the line is left whole (folded)
    assert lines_of("a b\n" + "x" * 50, 10) == ["a b\n" + "x" * 50]


class _Shows(App):
    def __init__(self, *widgets) -> None:
        super().__init__()
        self.widgets = widgets

    def compose(self) -> ComposeResult:
        yield from self.widgets


async def test_arn_link_wraps_on_screen_copies_the_exact_arn_and_keeps_markup_literal():
    hostile = "arn:aws:iam::1:role/[b]x[/b]/" + "y" * 40
    link = arn_link(ARN, ObjectRef("Role", ARN), prefix="[b]arn[/b] ")
    odd = arn_link(hostile, None)
    plain = Static(breakable(line(("iss", "b"), " https://oidc.eks.us-east-2.amazonaws.com/id/0123456789ABCDEF")))
    app = _Shows(link, odd, plain)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        assert link.copy_text == ARN  # y copies the value, not the wrapped text
        shown = [strip.text.rstrip() for strip in link.render_lines(link.content_region.reset_offset)]
        assert shown[:2] == ["arn arn:aws:iam::113534181560:role/",
                             "eksctl-eks-oidc-demo-addon-iamserviceacc"]
        assert odd.copy_text == hostile
        odd_lines = "".join(strip.text.rstrip() for strip in odd.render_lines(odd.content_region.reset_offset))
        assert "[b]x[/b]" in odd_lines  # shown literally, not read as markup
        issuer = [strip.text.rstrip() for strip in plain.render_lines(plain.content_region.reset_offset)]
        assert issuer == ["iss https://", "oidc.eks.us-east-2.amazonaws.com/id/", "0123456789ABCDEF"]


def test_severities_are_coloured_with_the_themes_variables_and_escaped():
    from textual.content import Content

    from irsa_explorer.widgets.format import finding_content, plural, severity_text

    shown = finding_content("error", "[b]odd[/b] title", "[X] y")
    assert isinstance(shown, Content) and shown.plain == "✗ [b]odd[/b] title ([X] y)"
    assert any("$error" in str(span.style) for span in shown.spans)
    assert any("$warning" in str(span.style) for span in finding_content("warning", "t", "C").spans)
    assert any("$text-muted" in str(span.style) for span in finding_content("info", "t", "C").spans)
    cell = severity_text("error", {"error": "#ff0000", "warning": "#ffff00"})
    assert cell.plain == "error" and "#ff0000" in str(cell.style)
    assert "#ffff00" in str(severity_text("warning", {"error": "#ff0000", "warning": "#ffff00"}).style)
    assert str(severity_text("info", {"error": "#ff0000"}).style) == "dim"
    assert (plural(1, "pod"), plural(2, "pod"), plural(0, "finding"), plural(1, "policy", "policies")) == (
        "1 pod", "2 pods", "0 findings", "1 policy")


async def test_token_pane_claims_before_the_raw_token_each_fact_once_and_ages_that_tick(lab):
    """On the walkthrough's IRSA pod: the claims come before the raw token, the issuer is said
    once in the Token pane and once in full in the Trust pane, each trust condition once; the
    token's ages follow the app's clock on its tick, with nothing else redrawn."""
    from datetime import timedelta

    from irsa_explorer.state import system_clock
    from irsa_explorer.widgets.panes.token import TokenPane
    from irsa_explorer.widgets.panes.trust_policy import TrustPolicyPane
    from test_ui_pilot import text_of
    from ui_pilot_helpers import SIZE, filter_to, make_app, press_confirming, settle, wait_until

    skew = [timedelta(0)]
    app = make_app(lab, clock=lambda: system_clock() + skew[0])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("2")
        await press_confirming(pilot, "t")
        await settle(pilot)
        pane = app.screen.query_one(TokenPane)
        shown = text_of(pane)
        assert shown.index("Claims") < shown.index("Raw token"), shown
        issuer = "oidc.eks.us-east-2.amazonaws.com/id/"
        assert shown.count(issuer) == 1, shown  # the pod spec's iss; the claim says it is the same
        assert "issued" in shown and "ago)" in shown

        skew[0] = timedelta(hours=3)  # three hours on: the pane says so without being rebuilt
        await wait_until(pilot, lambda: "(3h" in text_of(pane) or "(180m" in text_of(pane),
                         what="the token's ages to follow the clock")
        assert "in 20h" in text_of(pane)

        await pilot.press("4")
        await settle(pilot)
        trust = text_of(app.screen.query_one(TrustPolicyPane))
        facts = trust.split("\nDocument")[0]  # what the pane says, before the policy document itself
        assert facts.count(issuer) == 1, trust  # in full once: what the token carries
        conditions = [line for line in trust.splitlines() if line.startswith("  condition")]
        assert len(conditions) == 2 and all("token has" in line for line in conditions), trust
        assert trust.count("policy wants") == 2, trust  # each condition said once
