"""Exec into a pod only with consent, and `--readonly` (issue 11): `w` asks once per session,
saying what runs where; cancel runs nothing; `--readonly` refuses `w`, the token reads and
TokenRequest with a message. Whether an exec or a TokenRequest happened is read from the lab's
API server (its request counts over the wire), not from the explorer's own account of it."""

from __future__ import annotations

import argparse
from pathlib import Path

from textual.widgets import Static

from irsa_explorer import app as app_module
from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.screens.modals import ConfirmScreen, HelpScreen, PickerScreen
from irsa_explorer.widgets.chain_strip import ChainStrip
from ui_pilot_helpers import SIZE, filter_to, lab_kube_counters, make_app, pod_uid, settle, wait_until


class Told(IrsaExplorerApp):
    """The explorer, keeping what it told the user (`notify`) for the test to read."""

    CSS_PATH = str(Path(app_module.__file__).parent / IrsaExplorerApp.CSS_PATH)  # else read beside this file

    def notify(self, message, **kwargs):
        self.told = [*getattr(self, "told", []), message]
        return super().notify(message, **kwargs)


def execs(lab) -> int:
    return lab_kube_counters(lab).get("exec pod", 0)


async def test_readonly_refuses_w_and_the_token_reads_and_runs_nothing(lab):
    app = make_app(lab, app_class=Told, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        uid = pod_uid(app, "eks-iam-test3")
        before = lab_kube_counters(lab)
        await pilot.press("w")
        await wait_until(pilot, lambda: any("--readonly" in said for said in getattr(app, "told", [])), "the refusal")
        refusal = next(said for said in app.told if "--readonly" in said)
        assert "Not run" in refusal and "default/eks-iam-test3" in refusal and "get-caller-identity" in refusal
        assert not isinstance(app.screen, ConfirmScreen)  # refused, not asked
        strip = app.screen.query_one(ChainStrip)
        identity = next(link for link in strip.shown_links() if link.step == "identity")
        assert identity.label == "not run" and "--readonly" in identity.detail  # not "press w"
        # the token pane's reads exec `cat`; T writes a TokenRequest: refused too
        await pilot.press("2", "t")
        await pilot.press("T")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert sum("--readonly" in said for said in app.told) == 3
        assert uid not in app.state.live_runs and uid not in app.state.live_running and uid not in app.state.tokens
        assert not [w for w in app.workers if w.group in ("live", "token")]
        after = lab_kube_counters(lab)
        for kind in ("exec pod", "create token"):
            assert after.get(kind, 0) == before.get(kind, 0), kind


async def test_w_asks_once_saying_what_runs_where_and_cancel_runs_nothing(lab):
    app = make_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        uid = pod_uid(app, "eks-iam-test3")
        container = next(c.name for c in app.state.pods[uid].containers if not c.init)
        before = execs(lab)
        for cancel in ("escape", "n", "q"):  # q in a modal closes the modal, not the app
            await pilot.press("w")
            assert isinstance(app.screen, ConfirmScreen), cancel
            await pilot.press(cancel)
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen) and app.is_running, cancel
        assert execs(lab) == before and uid not in app.state.live_runs

        await pilot.press("w")
        question = app.screen
        assert isinstance(question, ConfirmScreen)
        text = str(question.query_one("#confirm-text", Static).render())
        assert "aws sts get-caller-identity --output json" in text  # the command …
        assert "default/eks-iam-test3" in text and f"container  {container}" in text  # … where …
        assert f"kubectl exec -n default eks-iam-test3 -c {container} -- aws sts get-caller-identity" in text
        assert "remembered for this session" in text
        # all of it on an 80×24 screen, the buttons too
        box = question.query_one("#confirm-box")
        assert box.region.y >= 0 and box.region.bottom <= 24
        await pilot.press("enter")  # enter: the focused Run button
        await wait_until(pilot, lambda: len(app.state.live_runs.get(uid, [])) == 1, "the live check")
        assert app.state.live_runs[uid][0].result is not None
        assert execs(lab) > before

        # asked once: the second `w` runs at once
        ran = execs(lab)
        await pilot.press("w")
        assert not isinstance(app.screen, ConfirmScreen)
        await wait_until(pilot, lambda: len(app.state.live_runs.get(uid, [])) == 2, "the second check")
        assert execs(lab) > ran


async def test_q_closes_a_modal_and_leaves_the_app_running(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, modal in (("n", PickerScreen), ("question_mark", HelpScreen)):
            await pilot.press(key)
            assert isinstance(app.screen, modal)
            await pilot.press("q")
            await pilot.pause()
            assert not isinstance(app.screen, modal) and app.is_running


def test_readonly_is_an_option_of_the_explorer_and_of_lab_and_reaches_the_app(lab, monkeypatch):
    from irsa_explorer import cli, launch

    made: list[dict] = []

    class Recorder:
        return_code = 0

        def __init__(self, *args, **kwargs):
            made.append(kwargs)

        def run(self):
            return None

    monkeypatch.setattr(launch, "IrsaExplorerApp", Recorder)
    parser = cli.build_parser()
    assert parser.parse_args(["--readonly", "lab"]).readonly and parser.parse_args(["lab", "--readonly"]).readonly
    assert not parser.parse_args(["lab"]).readonly and not parser.parse_args([]).readonly
    args = parser.parse_args(["--readonly", "--kubeconfig", str(lab.kubeconfig)])
    assert launch.run(args) == 0 and made[-1]["readonly"] is True
    assert launch.run(parser.parse_args(["--kubeconfig", str(lab.kubeconfig)])) == 0 and made[-1]["readonly"] is False

    import irsa_explorer.sources.connect as connect

    monkeypatch.setattr(connect, "lab_in_background", lambda scenario, extra: (lambda: None, lambda: None))
    import irsa_explorer.learn as learn  # `lab` runs the App with the lesson's part (for :learn): the recorder as it is

    monkeypatch.setattr(learn, "learn_app_class", lambda app_class: app_class)
    assert launch.run_lab(argparse.Namespace(**vars(parser.parse_args(["lab", "--readonly"])))) == 0
    assert made[-1]["readonly"] is True
