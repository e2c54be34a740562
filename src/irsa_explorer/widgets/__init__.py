"""The TUI's widgets. `live` is the one test of whether a widget may draw now."""

from __future__ import annotations

from textual.widget import Widget


def live(widget: Widget) -> bool:
    """Mounted, and the app not closing. A widget still says mounted while it and its children
    are taken down, and the app may still be handling a worker's message then (Pilot closes the
    app from the test's task while the app's loop runs): such a message draws nothing."""
    return widget.is_mounted and widget.app.is_running
