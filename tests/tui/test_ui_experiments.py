"""W (what would this service account get) and X (a probe pod) in the TUI (issue 12 parts 3–4):
both ask first, every time, saying what they write; cancel and --readonly write nothing; yes
shows each step as it happens and AWS's answer beside the engine's prediction. Probe pods
left behind are offered for deletion on the next start. What was written is read from the lab's
API server (its request counts, its pods) over the wire, not from the explorer's account of it."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from irsa_explorer import app as app_module
from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.navigation import Location
from irsa_explorer.screens.modals import ConfirmScreen
from irsa_explorer.screens.probe import ExperimentScreen
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.probe import PROBE_SELECTOR, delete_probe, probe_manifest
from ui_pilot_helpers import SIZE, filter_to, lab_kube_counters, make_app, settle, wait_until

MY_SA_ROLE_NAME = "eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"


class Told(IrsaExplorerApp):
    """The explorer, keeping what it told the user (`notify`) for the test to read."""

    CSS_PATH = str(Path(app_module.__file__).parent / IrsaExplorerApp.CSS_PATH)

    def notify(self, message, **kwargs):
        self.told = [*getattr(self, "told", []), message]
        return super().notify(message, **kwargs)


def writes(lab) -> dict[str, int]:
    counters = lab_kube_counters(lab)
    return {kind: counters.get(kind, 0) for kind in ("create token", "create pod", "delete pod")}


def probes(lab) -> list[str]:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        return [f"{p.namespace}/{p.name}" for p in kube.list_pods(None, label_selector=PROBE_SELECTOR).items]
    finally:
        kube.close()


def experiment_text(app) -> str:
    return str(app.screen.query_one("#experiment-text", Static).render())


async def open_service_account(pilot, name: str) -> None:
    pilot.app.go(Location("sa"))
    await settle(pilot)
    await filter_to(pilot, name)


async def test_readonly_refuses_w_and_x_and_writes_nothing(lab):
    app = make_app(lab, app_class=Told, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_service_account(pilot, "my-sa")
        before = writes(lab)
        await pilot.press("W")
        await pilot.press("X")
        await settle(pilot)
        refusals = [said for said in getattr(app, "told", []) if "--readonly" in said]
        assert len(refusals) == 2, app.told
        assert refusals[0].startswith("Not asked: W creates a token with TokenRequest")
        assert refusals[1].startswith("Not created: a probe pod (default/irsa-explorer-probe-")
        assert not isinstance(app.screen, (ConfirmScreen, ExperimentScreen))
        assert writes(lab) == before


async def test_w_asks_each_time_and_answers_my_sas_role_beside_the_prediction(lab):
    app = make_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_service_account(pilot, "my-sa")
        before = writes(lab)
        await pilot.press("W")
        assert isinstance(app.screen, ConfirmScreen)
        text = str(app.screen.query_one("#confirm-text", Static).render())
        assert "default/my-sa" in text and "audience sts.amazonaws.com" in text and MY_SA_ROLE_NAME in text
        assert "create serviceaccounts/token" in text
        box = app.screen.query_one("#confirm-box")
        assert box.region.y >= 0 and box.region.bottom <= 24  # all of it on an 80×24 screen
        await pilot.press("n")
        await settle(pilot)
        assert writes(lab) == before  # cancelled: no token

        await pilot.press("W")  # a write: asked again
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        assert isinstance(app.screen, ExperimentScreen)
        await wait_until(pilot, lambda: app.screen.result is not None, "AWS's answer")
        shown = experiment_text(app)
        assert "The engine predicts" in shown and "✓ token-request" in shown
        assert f"assumed-role/{MY_SA_ROLE_NAME}/" in shown
        assert "Prediction vs AWS: matches" in shown
        assert "eyJ" not in shown  # no token on screen
        assert writes(lab)["create token"] == before["create token"] + 1
        await pilot.press("escape")
        assert not isinstance(app.screen, ExperimentScreen)


async def test_w_in_the_wrong_namespace_shows_the_exact_access_denied(lab_for):
    lab = lab_for("sub-wrong-namespace")
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_service_account(pilot, "my-sa")  # default/my-sa, then payments/my-sa
        await pilot.press("down")
        await settle(pilot)
        assert app.screen.selected_account().namespace == "payments"
        await pilot.press("W", "y")
        await wait_until(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.result is not None,
                         "AWS's answer")
        shown = experiment_text(app)
        assert "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity" in shown
        assert "Prediction vs AWS: matches" in shown  # the engine said the trust refuses this sub


async def test_x_on_the_sa_pane_probes_as_my_sa_and_leaves_no_pod(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")  # runs as my-sa
        before = writes(lab)
        await pilot.press("1")  # the service account pane
        await pilot.press("X")
        assert isinstance(app.screen, ConfirmScreen)
        text = str(app.screen.query_one("#confirm-text", Static).render())
        # the manifest, as it is sent
        assert "kind: Pod" in text and "serviceAccountName: my-sa" in text and "image: amazon/aws-cli:latest" in text
        assert "irsa-explorer/probe: 'true'" in text and "namespace: default" in text
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.result is not None,
                         "the probe")
        shown = experiment_text(app)
        for said in ("✓ created pod default/irsa-explorer-probe-", "✓ running on node",
                     "✓ aws sts get-caller-identity: arn:aws:sts::", "✓ deleted pod default/irsa-explorer-probe-"):
            assert said in shown, said
        assert f"assumed-role/{MY_SA_ROLE_NAME}/" in shown and "Prediction vs AWS: matches" in shown
        after = writes(lab)
        assert after["create pod"] == before["create pod"] + 1 and after["delete pod"] == before["delete pod"] + 1
    assert probes(lab) == []


async def test_a_probe_left_behind_is_offered_for_deletion_on_the_next_start(lab):
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    name = "irsa-explorer-probe-left"
    kube.core.full().create_namespaced_pod("default", probe_manifest("default", "my-sa", name=name),
                                           _preload_content=False)
    try:
        app = make_app(lab, app_class=Told)
        async with app.run_test(size=SIZE) as pilot:
            # the screen is pushed first, its text composed a moment later: wait for the text
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.query("#confirm-text"),
                             "the question")
            text = str(app.screen.query_one("#confirm-text", Static).render())
            assert f"default/{name}" in text and f"kubectl delete pod -n default {name}" in text
            await pilot.press("y")
            await wait_until(pilot, lambda: f"deleted pod default/{name}" in getattr(app, "told", []), "the delete")
        assert probes(lab) == []
    finally:
        delete_probe(kube, "default", name)
        kube.close()


async def test_the_config_files_probe_image_is_the_one_the_manifest_names(lab, tmp_path):
    from irsa_explorer import config as settings

    path = tmp_path / "config.toml"
    path.write_text('probe_image = "public.ecr.aws/aws-cli/aws-cli:latest"\n')
    config = settings.load(path)
    assert config.problems == [] and config.probe_image == "public.ecr.aws/aws-cli/aws-cli:latest"
    path.write_text('probe_image = "two words"\n')
    assert "probe_image" in settings.load(path).problems[0]

    configured = type("Configured", (settings.FollowsConfig, Told), {"__module__": Told.__module__})
    app = make_app(lab, app_class=configured, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_service_account(pilot, "my-sa")
        await pilot.press("X")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.query("#confirm-text"),
                         "the question")
        assert "image: public.ecr.aws/aws-cli/aws-cli:latest" in str(app.screen.query_one("#confirm-text", Static).render())
        await pilot.press("n")
        await pilot.press("question_mark")  # the keys are in the help
        help_text = "\n".join(str(s.render()) for s in app.screen.query(Static))
        assert "Service account (:sa, and its pane in the pods view)" in help_text and "Run a probe pod" in help_text


async def test_the_palettes_commands_act_on_the_selected_pods_service_account(lab):
    from irsa_explorer.commands import experiment

    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")  # the pods view: its pod runs as my-sa
        before = writes(lab)
        experiment(app, "what-would-it-get")  # what the palette's "What would this SA get" runs
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "default/my-sa" in str(app.screen.query_one("#confirm-text", Static).render())
        await pilot.press("n")
        experiment(app, "probe")
        await pilot.pause()
        assert "serviceAccountName: my-sa" in str(app.screen.query_one("#confirm-text", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert writes(lab) == before


async def test_readonly_footers_do_not_offer_w_and_x_which_still_say_why(lab):
    app = make_app(lab, app_class=Told, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_service_account(pilot, "my-sa")
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show and b.enabled}
        assert not {"what_would_it_get", "probe"} & shown and "experiment('probe')" not in shown
        await pilot.press("W")
        assert any(said.startswith("Not asked: W creates a token") for said in getattr(app, "told", []))
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_service_account(pilot, "my-sa")
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show and b.enabled}
        assert {"what_would_it_get", "probe"} <= shown
