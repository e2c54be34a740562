"""`e` exports the selected pod's or role's triage: a Markdown file and an SVG of the screen,
redacted, in the export folder, named in a notification. A token read and revealed on screen
is in neither file; the screen shows it again afterwards."""

from __future__ import annotations

import re
import stat

from irsa_explorer.widgets.panes.token import TokenPane
from test_ui_pilot import text_of
from ui_pilot_helpers import SIZE, RecordingExplorer, filter_to, make_app, pod_uid, press_confirming, settle, wait_until

ACCOUNT = "113534181560"
MY_SA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def exported(folder, suffix: str) -> list:
    return sorted(folder.glob(f"irsa-triage-*{suffix}"))


async def test_e_writes_the_pods_triage_and_a_screenshot_without_its_token(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("IRSA_EXPLORER_EXPORT_DIR", str(tmp_path))
    app = make_app(lab, app_class=RecordingExplorer)
    async with app.run_test(size=(200, 90)) as pilot:  # the token pane's every line in view
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        uid = pod_uid(app, "eks-iam-test3")
        await press_confirming(pilot, "w")  # a live run, to be exported with the rest
        await wait_until(pilot, lambda: app.state.live_runs.get(uid), "the live run")
        await pilot.press("2")
        await press_confirming(pilot, "t")
        await wait_until(pilot, lambda: getattr(app.state.tokens.get(uid), "raw", None), "the token read")
        token = app.state.tokens[uid].raw
        signature = token.rsplit(".", 1)[1]
        pane = app.screen.query_one(TokenPane)
        await pilot.press("s")  # revealed on screen
        await wait_until(pilot, lambda: signature in text_of(pane).replace("\n", ""), "the signature revealed")
        pane.focus()
        await pilot.press("z")  # the token pane alone, the raw token in view: in a screenshot
        await settle(pilot)
        assert signature[:20] in app.export_screenshot()

        await pilot.press("e")
        await wait_until(pilot, lambda: any("written to" in n for n in app.notified), "the export's notification")
        markdown_files, svg_files = exported(tmp_path, ".md"), exported(tmp_path, ".svg")
        assert len(markdown_files) == 1 and len(svg_files) == 1
        said = next(n for n in app.notified if "written to" in n)
        assert str(markdown_files[0]) in said and str(svg_files[0]) in said
        assert markdown_files[0].name.startswith("irsa-triage-pod-default-eks-iam-test3-")
        # the screen is as it was: the token still revealed, and its reading the same object
        await wait_until(pilot, lambda: signature in text_of(pane).replace("\n", ""), "the signature shown again")
        assert app.state.tokens[uid].raw == token

    for path in (markdown_files[0], svg_files[0]):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert not JWT.search(text) and "eyJ" not in text
        for part in token.split("."):
            for i in range(0, len(part) - 16, 8):
                assert part[i:i + 16] not in text, (path.name, part[i:i + 16])
    markdown = markdown_files[0].read_text()
    assert markdown.startswith("# IRSA triage: pod `default/eks-iam-test3`")
    assert MY_SA_ROLE in markdown and "`my-sa`" in markdown and "**Verdict: ok**" in markdown
    live = markdown.split("## Live identity", 1)[1].split("\n## ", 1)[0]
    assert "| ✓ `arn:aws:sts::113534181560:assumed-role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO/" in live
    svg = svg_files[0].read_text()
    assert svg.startswith("<svg") and "eks-iam-test3" in svg


async def test_E_on_a_role_replaces_account_ids_too(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("IRSA_EXPLORER_EXPORT_DIR", str(tmp_path))
    app = make_app(lab, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"roles", "enter")
        await settle(pilot)
        await filter_to(pilot, "Role1")
        await settle(pilot)
        await pilot.press("E")
        await wait_until(pilot, lambda: any("written to" in n for n in app.notified), "the export's notification")
    markdown = exported(tmp_path, ".md")[0].read_text()
    assert markdown.startswith("# IRSA triage: role `eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO`")
    assert "`default/eks-iam-test3`" in markdown and "account IDs" in markdown
    assert ACCOUNT not in markdown and "account-1" in markdown
    assert ACCOUNT not in exported(tmp_path, ".svg")[0].read_text()


async def test_e_where_nothing_can_be_exported_says_so(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("IRSA_EXPLORER_EXPORT_DIR", str(tmp_path))
    app = make_app(lab, app_class=RecordingExplorer)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"nodes", "enter")
        await settle(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: app.notified, "a notification")
    assert "e exports a pod or a role" in app.notified[-1]
    assert not list(tmp_path.iterdir())


def test_a_token_wrapped_over_lines_is_blanked_in_the_screenshot_by_its_text():
    """A JWT a cluster planted (an annotation) drawn over several lines: no pattern can follow
    it, so every piece of it is blanked by the token's own text, found in the store."""
    from irsa_explorer.model import ServiceAccount
    from irsa_explorer.screens.export import redact_svg, tokens_in_view

    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc"
    store = {("default", "x"): ServiceAccount("u", "default", "x", annotations={"eks.amazonaws.com/role-arn": f"'{token}'!"})}
    assert tokens_in_view(store) == [token]
    lines = [token[i:i + 30] for i in range(0, len(token), 30)]
    assert 2 <= len(lines[-1]) <= 5  # the last line: a few characters
    svg = "<svg>" + "".join(f'<text x="0">│{line}</text><text x="9">│</text>' for line in lines) + "<text>ok role t</text></svg>"
    out, refused = redact_svg(svg, tokens_in_view(store), accounts=False)
    assert refused is None and "ok&#160;role&#160;t" in out
    for line in lines:
        assert line not in out and line[-3:] not in out
    # with no way to know the token, an SVG that still shows its start is not written
    assert redact_svg('<svg><text>eyJ</text><text>hbGciOiJSUzI1NiJ9</text></svg>', [], False)[1] == "the screen shows a token"
