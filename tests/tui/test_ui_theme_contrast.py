"""Every built-in Textual theme keeps the explorer's pane titles, headings and links readable:
each character of them, as rendered (foreground over the background it is drawn on), has a
contrast ratio of at least 3:1 — WCAG's minimum for large or bold text."""

from __future__ import annotations

import pytest
from textual.theme import BUILTIN_THEMES

from irsa_explorer.widgets.link import Link
from irsa_explorer.widgets.panes.detail import DetailPane

from ui_pilot_helpers import SIZE, filter_to, make_app, settle, wait_until

MINIMUM = 3.0


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def drawn(app, widget, top_row_only: bool) -> list[tuple[str, float]]:
    """(character run, contrast) for each non-blank run of text of `widget` as the screen draws it
    now: its top border row (a title), or all its visible rows; nothing if it is scrolled away."""
    visible = app.screen._compositor.visible_widgets
    if widget not in visible:
        return []
    region, clip = visible[widget]
    if top_row_only and not clip.contains(region.x, region.y):
        return []
    region = region.intersection(clip)
    strips = [row[0] for row in app.screen._compositor.render_full_update(simplify=True).strips]
    rows = [region.y] if top_row_only else range(region.y, region.bottom)
    runs = []
    for y in rows:
        x = 0
        for segment in strips[y]:
            text, style = segment.text, segment.style
            start, x = x, x + len(text)
            inside = text[max(0, region.x - start): max(0, region.right - start)]
            letters = inside.strip(" ─╭╮╰╯│▁▔▎▊┃━")
            if not letters or style is None or style.color is None or style.bgcolor is None:
                continue
            fg = style.color.get_truecolor()
            bg = style.bgcolor.get_truecolor()
            if style.reverse:
                fg, bg = bg, fg
            runs.append((letters, contrast(tuple(fg), tuple(bg))))
    return runs


# The ansi-* themes draw in the terminal's own 16 colours: their contrast is the terminal's.
THEMES = sorted(name for name in BUILTIN_THEMES if not name.startswith("ansi-"))


def verdict_count(text: str) -> bool:
    """A verdict count of the pods title ("✗ 3"): drawn in the verdict's colour (widgets/format.py
    VERDICT_STYLE), checked on its own below."""
    return text[:1] in "✗!✓?" and text[2:].replace(",", "").isdigit()


async def explorer_on_a_pod(lab, pilot) -> None:
    await settle(pilot)
    await filter_to(pilot, "eks-iam-test3")
    await wait_until(pilot, lambda: list(pilot.app.screen.query(Link)), "a pod's panes show links")


@pytest.mark.parametrize("theme", THEMES)
async def test_titles_headings_and_links_are_readable(lab, theme):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await explorer_on_a_pod(lab, pilot)
        app.theme = theme
        await pilot.pause()
        await settle(pilot)
        poor = []
        panes = [p for p in app.screen.query(DetailPane) if p.region]
        assert panes
        for widget in [*panes, *app.screen.query("#pods, #chain")]:
            poor += [("title", t, c) for t, c in drawn(app, widget, True) if c < MINIMUM and not verdict_count(t)]
        for heading in app.screen.query(".heading"):
            if heading.region:
                poor += [("heading", t, c) for t, c in drawn(app, heading, False) if c < MINIMUM]
        links = [link for link in app.screen.query(Link) if link.region and not link.has_focus]
        assert links
        for link in links:
            poor += [("link", t, c) for t, c in drawn(app, link, False) if c < MINIMUM]
        assert not poor, f"{theme}: " + "; ".join(f"{kind} {text!r} {ratio:.2f}:1" for kind, text, ratio in poor[:8])


async def test_the_pods_title_verdict_counts_are_readable(lab):
    """Theme after theme in one explorer: the counts are drawn again in each theme's colours
    (widgets/verdict_colours.py moves a shade too light for its background just far enough)."""
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await explorer_on_a_pod(lab, pilot)
        poor = []
        for theme in THEMES:
            app.theme = theme
            await pilot.pause()
            await settle(pilot)
            table = app.screen.query_one("#pods")
            poor += [f"{theme} {t!r} {c:.2f}:1" for t, c in drawn(app, table, True) if verdict_count(t) and c < MINIMUM]
        assert not poor, "; ".join(poor)
