"""Verdict colours readable on every theme, worked out from the theme itself.

Textual's `$text-success` / `$text-warning` are the theme's colour tinted towards its text
colour, by a fixed amount: enough on 17 of the 19 built-in themes, but the light yellows and
greens of atom-one-light and textual-light stay at 2.3-2.7:1 on their background. A theme
cannot be given variables of our own without replacing the App's, so the pods title's counts
take the theme's shade as it is when it is readable, and otherwise that shade moved towards
the text colour just far enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.color import Color, ColorParseError

from irsa_explorer.model import Verdict

MINIMUM = 4.5  # WCAG's contrast for normal text (the test asks 3:1, the minimum for bold)

_SHADE = {Verdict.OK: "text-success", Verdict.WARNING: "text-warning", Verdict.BROKEN: "text-error"}
_BACKGROUNDS = ("background", "surface")  # a title is drawn on either, depending on the widget


def luminance(colour: Color) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour.rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Color, b: Color) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable(colour: Color, backgrounds: Iterable[Color], minimum: float = MINIMUM) -> Color:
    """`colour` if it reaches `minimum` on every background; else blended towards black (light
    backgrounds) or white (dark ones) in tenths until it does."""
    grounds = list(backgrounds)
    if not grounds:
        return colour
    light = sum(luminance(g) for g in grounds) / len(grounds) > 0.18  # 0.18: mid-grey's luminance
    target = Color(0, 0, 0) if light else Color(255, 255, 255)
    for tenth in range(11):
        candidate = colour.blend(target, tenth / 10)
        if all(contrast(candidate, ground) >= minimum for ground in grounds):
            return candidate
    return target


def verdict_colour(variables: Mapping[str, str], verdict: Verdict, fallback: str) -> str:
    """The colour (markup) to draw `verdict` in with these theme variables (App.theme_variables);
    `fallback` (a `$variable`) for verdicts without a shade of their own and for ANSI themes,
    whose colours are the terminal's."""
    shade = _SHADE.get(verdict)
    try:
        colour = Color.parse(variables[shade]) if shade else None
        grounds = [Color.parse(variables[name]) for name in _BACKGROUNDS if name in variables]
    except (KeyError, ColorParseError):
        return fallback
    if colour is None or colour.ansi is not None or any(g.ansi is not None for g in grounds):
        return fallback
    return readable(colour, grounds).hex6
