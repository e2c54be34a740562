"""What the explorer keeps in memory about tokens must not leak through reprs (crash reports
print locals)."""

from irsa_explorer.state import TokenView


def test_token_view_repr_never_shows_the_token() -> None:
    raw = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"
    view = TokenView("projected IRSA token", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", raw)
    assert view.raw == raw
    assert raw not in repr(view) and "c2lnbmF0dXJl" not in repr(view)
