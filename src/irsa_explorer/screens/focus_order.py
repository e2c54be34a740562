"""tab and shift+tab in the pods view go the way the identity chain reads: the pod (the table),
the chain, then the panes in the chain's order — service account, token, role, trust policy,
live identity (and CloudTrail after them) — each pane's own links in between, so a link is still
one tab away. A pane hidden behind the tab bar (below 160 columns only one pane shows) is shown
as it is reached, where Textual's focus order would skip it; the tab bar is no stop of its own:
the panes it names are. Under a lesson (`learn`) its panel is the last stop (its z and y keys)."""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget

from irsa_explorer.navigation import PANES

STOPS = ("pods", "chain", *PANES)  # widget ids, in the chain's order
LESSON = "lesson"  # learn's lesson panel (learn.py mounts it with this id): the last stop, when there


def stops_in(screen: Screen, stop: str) -> list[Widget]:
    """The widgets tab visits within one stop: the widget itself, then what in it takes focus
    (a pane's links), shown or not."""
    widget = screen.query_one(f"#{stop}")
    inner = widget.walk_children(Widget)  # not .query: the pods table's `query` is its filter
    return [widget, *(w for w in inner if w.can_focus and not w.disabled)]


def stop_of(widget: Widget | None) -> str | None:
    """The stop `widget` is in (itself or one of its ancestors), if any."""
    node = widget
    while node is not None:
        if node.id in STOPS or node.id == LESSON:
            return node.id
        node = node.parent if isinstance(node.parent, Widget) else None
    return None


def next_stop(screen: Screen, step: int, fallback: str = "pods") -> tuple[str, Widget]:
    """Where tab (`step` 1) or shift+tab (-1) goes from the focused widget: the stop and the
    widget to focus in it. Within a pane, to its next (previous) link first; into a pane going
    back, its last link. `fallback`: the stop to count from when focus is in none (the tab bar)."""
    focused = screen.focused
    here = stop_of(focused)
    if here is None:  # the tab bar, or nothing: tab goes to the open pane, shift+tab before it
        if step > 0:
            return fallback, stops_in(screen, fallback)[0]
        here = fallback
    inside = stops_in(screen, here)
    if focused in inside:
        index = inside.index(focused) + step
        if 0 <= index < len(inside):
            return here, inside[index]
    stops = [*STOPS, LESSON] if screen.query(f"#{LESSON}") else STOPS
    there = stops[(stops.index(here) + step) % len(stops)]
    widgets = stops_in(screen, there)
    return there, widgets[0] if step > 0 else widgets[-1]
