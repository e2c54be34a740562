"""Every toast as plain text: a toast often quotes a cluster or an account (an error's words,
a pod's name, what `y` copied), and Textual reads a toast's message as markup by default."""

from __future__ import annotations

from irsa_explorer.widgets.format import shown


class PlainToasts:
    """Mixed into the App before `App`: `notify` draws its message and title literally
    (format.shown: control characters visible, bounded), whatever the caller passed as `markup`."""

    def notify(self, message: str, *, title: str = "", markup: bool = False, **kwargs) -> None:
        super().notify(shown(message, lines=True), title=shown(title), markup=False, **kwargs)  # type: ignore[misc]
