"""Hostile input in the TUI (issue 14): whatever a cluster or an account holds is shown literally,
never read as markup, never sent to the terminal as a control sequence, and never crashes a pane.

- a source check: no widget or screen puts a value into a markup string (the one rendering rule:
  values reach the screen as `Content` built by widgets/format.py);
- Hypothesis: random hostile strings as annotations, trust conditions, Sids, policy names, token
  claims and error texts through every pane of the pods view, the chain and the policy document;
- the built-in `hostile-input` lab, browsed as a person would: every pod, each pane, `t`/`p`/`d`
  on each crafted token, `:sa`, `:roles`, `:findings`.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static

sys.path.insert(0, str(Path(__file__).parent.parent / "analysis"))
from analysis_builders import (  # noqa: E402
    ROLE_ARN,
    inventory,
    irsa_container,
    irsa_trust,
    pod,
    role,
    sa,
)

from irsa_explorer.analysis.identity import resolve_all  # noqa: E402
from irsa_explorer.analysis.tokens import decode_token  # noqa: E402
from irsa_explorer.messages import TokenRead  # noqa: E402
from irsa_explorer.model import EnvVar, ObjectRef, RolePolicies  # noqa: E402
from irsa_explorer.sources.livecheck import TokenReading  # noqa: E402
from irsa_explorer.state import ExplorerState  # noqa: E402
from irsa_explorer.widgets.format import shown  # noqa: E402
from ui_pilot_helpers import settle  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src" / "irsa_explorer"
NOW = datetime(2026, 12, 5, tzinfo=timezone.utc)
# what a terminal would act on or a reader could not see, if it reached the screen raw
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
HOSTILE = ["[", "[/]", "[bold]x[/]", "[X] y", "[$x]", "x\\", "[@click=app.quit]q[/]", "\x1b[2J\x1b]0;t\x07",
           "\u202eevil", "system:serviceaccount:default:[abc", "a\nb", "é[/]\udcff"]


# --- the rule, in the sources ---------------------------------------------------------------------

_TAG = re.compile(r"\[(/|[a-z$@#]|b\b)")  # what starts a markup tag: [/], [b], [$var], [@click], [#fff]


def _markup_interpolations(path: Path) -> list[str]:
    """Lines of `path` that build a markup string with a value in it: an f-string (or `+`, `%`,
    `.format`) whose literal text has a markup tag, or `Content.from_markup` / `escape` on
    anything but a constant."""
    source = path.read_text()
    tree = ast.parse(source, str(path))
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        number = getattr(node, "lineno", 0)
        if number and lines[number - 1].rstrip().endswith("# markup: own words only"):
            continue  # reviewed: counts and the app's own words, nothing a cluster wrote
        line = f"{path.relative_to(SRC)}:{number}"
        if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if _TAG.search(text):
                found.append(f"{line}: f-string with markup")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, str) and _TAG.search(side.value):
                    found.append(f"{line}: markup joined to a value")
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "format" and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Constant) \
                    and _TAG.search(str(node.func.value.value)):
                found.append(f"{line}: markup .format()")
            module = node.func.value.id if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) else None
            if name == "escape" and module in (None, "markup"):  # rich's or textual's (html.escape is another matter)
                found.append(f"{line}: escape() — values are never markup, so nothing is escaped for it")
            if name == "from_markup" and node.args and not isinstance(node.args[0], ast.Constant):
                found.append(f"{line}: Content.from_markup on a value")
        elif isinstance(node, ast.ImportFrom) and node.module in ("rich.markup", "textual.markup"):
            found.append(f"{line}: imports {node.module}")
    return found


def test_no_widget_or_screen_puts_a_value_into_markup():
    """Every value reaches the screen as Content (widgets/format.py: `literal`, `line`): the
    TUI's sources hold no markup string built with a value in it, and nothing escaped for markup."""
    files = [*SRC.glob("widgets/**/*.py"), *SRC.glob("screens/*.py"),
             *(SRC / name for name in ("app.py", "commands.py", "config.py", "launch.py"))]
    offending = [hit for path in files for hit in _markup_interpolations(path)]
    # Content.from_markup on a parameter: Link's `prefix`, a constant by its contract
    offending = [hit for hit in offending if not (hit.startswith("widgets/link.py") and "from_markup" in hit)]
    assert not offending, "\n".join(offending)


def test_the_check_finds_what_it_is_for(tmp_path):
    """The source check is not vacuous: each form it forbids is found."""
    probe = SRC / "widgets" / "_probe_for_the_markup_check.py"
    try:
        probe.write_text(
            "from rich.markup import escape\n"
            "a = f'[b]{name}[/b]'\n"
            "b = '[$error]' + reason\n"
            "c = '[b]{}[/b]'.format(name)\n"
            "d = escape(name)\n"
            "e = f'{count} pods'  # no markup: fine\n"
            "f = Content.from_markup(text)\n"
            "g = html.escape(text)  # not markup: fine\n"
        )
        hits = _markup_interpolations(probe)
    finally:
        probe.unlink()
    assert len(hits) == 6, hits


# --- every pane, with hostile values --------------------------------------------------------------

def _jwt(claims: dict, header: dict | None = None) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value, allow_nan=True).encode()).rstrip(b"=").decode()
    return f"{part(header or {'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJl"


def hostile_state(value: str) -> tuple[ExplorerState, dict]:
    """A store whose cluster and account hold `value` wherever anyone could write it."""
    trust = irsa_trust(sub=value)
    trust["Statement"][0]["Sid"] = value
    app_role = role(ROLE_ARN, trust=trust)
    accounts = [sa("my-sa", **{"eks.amazonaws.com/audience": value, "eks.amazonaws.com/note": value}),
                sa("odd", role_arn=value)]
    env = (EnvVar("GREETING", value),)
    pods = [pod("irsa-pod", containers=[irsa_container(extra_env=env)]),
            pod("odd-pod", service_account="odd", containers=[irsa_container(role_arn=value)])]
    inv = inventory(pods=pods, sas=accounts, roles=[app_role])
    state = ExplorerState(clock=lambda: NOW)
    generation = state.load_started()
    state.stage_reached(generation, inv, "", resolve_all(inv))
    first = pods[0]
    raw = _jwt({"iss": value, "sub": value, "aud": [value], "exp": 1e20, "iat": float("nan"),
                "kubernetes.io": {"namespace": value, "pod": {"name": value, "uid": value}, "warnafter": 1e300}},
               {"alg": "RS256", "kid": value})
    state.apply(TokenRead(first.uid, TokenReading(value, value, raw, decode_token(raw), None, at=NOW)))
    state.live_checked(first.uid, None, error=value)
    state.role_policies[ROLE_ARN] = RolePolicies(ROLE_ARN, (), {value: {"Statement": [{"Sid": value}]}})
    return state, {"pod": first, "odd": pods[1]}


class Panes(App):
    """The pods view's panes and the chain, side by side, on a store the test fills."""

    CSS = "Screen { layout: vertical; overflow-y: auto; } .pane { height: auto; max-height: 40; }"

    def compose(self) -> ComposeResult:
        from irsa_explorer.widgets.breadcrumbs import Breadcrumbs
        from irsa_explorer.widgets.chain_strip import ChainStrip
        from irsa_explorer.widgets.panes.live_identity import LiveIdentityPane
        from irsa_explorer.widgets.panes.role import RolePane
        from irsa_explorer.widgets.panes.service_account import ServiceAccountPane
        from irsa_explorer.widgets.panes.token import TokenPane
        from irsa_explorer.widgets.panes.trust_policy import TrustPolicyPane

        yield Breadcrumbs(id="crumbs")
        yield ChainStrip(id="chain", classes="pane")
        for pane in (ServiceAccountPane, TokenPane, RolePane, TrustPolicyPane, LiveIdentityPane):
            yield pane(classes="pane")


async def _show_everything(app: Panes, state: ExplorerState, pods: dict, value: str) -> None:
    from irsa_explorer.navigation import History, Location
    from irsa_explorer.widgets.breadcrumbs import Breadcrumbs
    from irsa_explorer.widgets.chain_strip import ChainStrip
    from irsa_explorer.widgets.panes.live_identity import LiveIdentityPane
    from irsa_explorer.widgets.panes.role import RolePane
    from irsa_explorer.widgets.panes.service_account import ServiceAccountPane
    from irsa_explorer.widgets.panes.token import TokenPane
    from irsa_explorer.widgets.panes.trust_policy import TrustPolicyPane

    for target in (pods["pod"], pods["odd"]):
        chain = state.chains[target.uid]
        app.query_one(ChainStrip).show(chain)
        app.query_one(ServiceAccountPane).show(state, state.inventory.service_accounts[(target.namespace, target.service_account)])
        app.query_one(TokenPane).show(state, target)
        app.query_one(RolePane).show(state, ROLE_ARN, effective=chain.effective)
        app.query_one(TrustPolicyPane).show(state.role(ROLE_ARN), chain.trust)
        app.query_one(LiveIdentityPane).show(state, target)
        history = History(Location("pods"))
        history.visit(Location("pods", ObjectRef("Pod", value, value)))
        app.query_one(Breadcrumbs).show(history, value, value, stage=value)
        await app.workers.wait_for_complete()


def drawn_text(app: App) -> tuple[str, str]:
    """(what every Static holds as text, what it draws on its lines): the second proves the
    drawing does not fail, the first is where a value is looked for (wrapping splits lines)."""
    plain, lines = [], []
    for widget in app.screen.query(Static):
        visual = widget.visual
        plain.append(getattr(visual, "plain", str(visual)))
        if widget.region.area:
            lines += [strip.text for strip in widget.render_lines(widget.content_region.reset_offset)]
    for widget in app.screen.query("*"):
        for title in (widget.border_title, widget.border_subtitle):
            if title:
                plain.append(str(title))
    for table in app.screen.query(DataTable):  # the list views' cells, as the table holds them
        for row in range(table.row_count):
            plain.append("  ".join(getattr(cell, "plain", str(cell)) for cell in table.get_row_at(row)))
    return "\n".join(plain), "\n".join(lines)


def _assert_literal(value: str, plain: str, lines: str) -> None:
    assert not RAW_CONTROL.search(plain + lines), "a raw control character reached the screen"
    assert shown(value) in plain, f"{value!r} is not shown literally"


async def _render_hostile(value: str, size=(120, 200)) -> None:
    state, pods = hostile_state(value)
    app = Panes()
    async with app.run_test(size=size) as pilot:
        await _show_everything(app, state, pods, value)
        await pilot.pause()
        plain, lines = drawn_text(app)
        _assert_literal(value, plain, lines)
        # the policy document and its title (an inline policy's name): the modal
        from irsa_explorer.screens.modals import ConfirmScreen, DocumentScreen

        await app.push_screen(DocumentScreen(value, {"Statement": [{"Sid": value, "Condition": {"x": value}}]}))
        await pilot.pause()
        plain, lines = drawn_text(app)
        assert not RAW_CONTROL.search(plain + lines)
        app.pop_screen()
        from irsa_explorer.commands import token_ask

        ask = token_ask(pods["pod"], "fresh", value)  # T on a service account whose audience annotation is `value`
        await app.push_screen(ConfirmScreen(ask.what, title=ask.title))
        await pilot.pause()
        plain, lines = drawn_text(app)
        _assert_literal(value, plain, lines)
        app.notify(value, title=value)
        await pilot.pause()
    assert app._exception is None


@pytest.mark.parametrize("value", HOSTILE)
async def test_each_hostile_value_is_drawn_literally_in_every_pane(value):
    await _render_hostile(value)


hostile_text = st.text(
    alphabet=st.sampled_from(list("[]/$@#\\=()'\" abX:.*?{}\n\t") + ["\x1b", "\x07", "\x00", "\x9b", "\u202e",
                                                                     "\u200b", "é", "\udcff", "🙂"]),
    min_size=1, max_size=24,
)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(value=hostile_text)
@example(value="[/]")
async def test_any_value_is_drawn_literally_in_every_pane(value):
    await _render_hostile(value)


def test_a_huge_value_is_cut_with_a_note_and_copied_whole():
    from irsa_explorer.widgets.format import SHOWN_LIMIT, document_text, literal
    from irsa_explorer.widgets.link import Link

    huge = "[bold]" + "x" * 1_000_000
    drawn = literal(huge).plain
    assert len(drawn) < SHOWN_LIMIT + 100 and "more characters not shown" in drawn
    assert Link(huge, None).copy_text == huge  # y copies the value itself
    deep: object = "[/]"
    for _ in range(100_000):
        deep = [deep]
    assert "cannot be drawn" in document_text(deep) or len(document_text(deep)) < 30_000  # no RecursionError
    assert "not shown" in document_text({"k": "v" * 100_000})


# --- the hostile-input lab, as a person browses it ------------------------------------------------

TOKEN_PODS = ("tokens-times-a", "tokens-times-b", "tokens-shapes", "tokens-garbage")


async def test_the_hostile_input_lab_browsed_end_to_end(lab_for):
    """Every pod, each pane, t/p/d on each crafted token (confirmed), :sa, :roles and
    :findings: no crash, no raw control character, `[bold]x[/]` and `[` shown as they are."""
    from ui_pilot_helpers import SIZE, make_app

    from irsa_explorer.widgets.pods_table import PodsTable

    lab = lab_for("hostile-input")
    app = make_app(lab)
    seen_plain, unrevealed = [], []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(PodsTable)
        names = [app.state.pods[uid].name for uid in table._order]
        assert set(TOKEN_PODS) <= set(names) and "markup-pod" in names
        for row, name in enumerate(names):
            table.move_cursor(row=row)
            await settle(pilot)
            for pane in "13452":
                await pilot.press(pane)
                await pilot.pause()
            await settle(pilot)
            if name in TOKEN_PODS:
                for which in "tpd":
                    await pilot.press(which)
                    await pilot.pause()
                    if app.screen.__class__.__name__ == "ConfirmScreen":
                        await pilot.press("y")
                    await settle(pilot)
                    await pilot.press("s")  # reveal: the signature only, still literal
                    await settle(pilot)
                    plain, lines = drawn_text(app)
                    assert not RAW_CONTROL.search(plain + lines), name
                    seen_plain.append(plain)
            plain, lines = drawn_text(app)
            assert not RAW_CONTROL.search(plain + lines), name
            seen_plain.append(plain)
            if name not in TOKEN_PODS:
                unrevealed.append(plain)
        for view in ("sa", "roles", "findings"):
            await pilot.press("colon", *view, "enter")
            await settle(pilot)
            for _ in range(8):
                await pilot.press("down")
                await pilot.pause()
                plain, lines = drawn_text(app)
                assert not RAW_CONTROL.search(plain + lines), view
                seen_plain.append(plain)
                unrevealed.append(plain)
            await pilot.press("escape")
            await settle(pilot)
    assert app._exception is None
    everything = "\n".join(seen_plain)
    for literal_value in ("[bold]x[/]", "audience [/]", "[X] y", "\\x1b[2J", "invalid: claim 'exp'",
                          "claim 'warnafter' (1e+300 s) is out of range", "role-arn ["):
        assert literal_value in everything, literal_value
    # the JWT in jwt-annotated's role-arn annotation: its signature is never drawn (the token
    # pane's `s` reveals only the token it read)
    signature = base64.urlsafe_b64encode(b"crafted-signature-not-valid").rstrip(b"=").decode()
    assert "jwt-annotated" in "\n".join(unrevealed)
    assert signature[-12:] not in "\n".join(unrevealed)  # not even its end (a cell cut in the middle)
