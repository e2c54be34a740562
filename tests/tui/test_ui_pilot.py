"""The explorer driven with Pilot against the walkthrough lab: real KubeSource and AwsSource over
the wire, no fakes. Waits are on workers and messages, never on sleeps."""

from __future__ import annotations


from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.sources.connect import Sources
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.model import LinkStatus, Mechanism
from irsa_explorer.screens.main import PodsScreen
from irsa_explorer.screens.modals import ConfirmScreen, DocumentScreen, HelpScreen
from irsa_explorer.widgets.chain_strip import ChainStrip
from irsa_explorer.widgets.link import Link
from irsa_explorer.widgets.panes.live_identity import LiveIdentityPane
from irsa_explorer.widgets.pods_table import PodsTable
from irsa_explorer.widgets.panes.role import PolicyLink, RolePane
from irsa_explorer.widgets.panes.service_account import ServiceAccountPane
from irsa_explorer.widgets.panes.token import TokenPane
from irsa_explorer.widgets.panes.trust_policy import TrustPolicyPane
from ui_pilot_helpers import SIZE, filter_to, make_app, pod_uid, press_confirming, settle, wait_until

def text_of(widget) -> str:
    """All the text a widget and its children show."""
    parts = []
    for node in [widget, *widget.query("*")]:
        rendered = getattr(node, "render", None)
        if node.__class__.__name__ in ("Static", "Link", "PolicyLink", "ChainText") and rendered:
            parts.append(str(node.render()))
    return "\n".join(parts)


async def test_pods_load_filter_and_several_panes_side_by_side(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#pods", PodsTable)
        names = {pod.name for pod in app.state.pods.values()}
        assert {"eks-iam-test1", "eks-iam-test2", "eks-iam-test3"} <= names
        assert table.row_count == len(app.state.pods)
        chain = app.state.chains[pod_uid(app, "eks-iam-test3")]
        assert chain.mechanism == Mechanism.IRSA
        row = table.row_cells(pod_uid(app, "eks-iam-test3"))
        assert [row["pod"], row["sa"], row["mechanism"]] == ["eks-iam-test3", "my-sa", "IRSA"]
        assert "ok" in row["verdict"]
        # at 160 columns every pane is on screen, in more than one column
        panes = [p for p in screen.query(".pane") if p.region.width > 0]
        assert len(panes) == 6 and len({p.region.x for p in panes}) >= 2  # SA, token, role, trust, live, CloudTrail
        await filter_to(pilot, "eks-iam-test2")
        assert table.row_count == 1
        assert screen.selected_pod.name == "eks-iam-test2"
        strip = screen.query_one(ChainStrip)
        assert strip.chain is not None and strip.chain.pod.name == "eks-iam-test2"
        # an empty filter brings every row back
        await filter_to(pilot, "")
        assert table.row_count == len(app.state.pods)


async def test_usable_at_80x24(lab):
    app = make_app(lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        for widget in (screen.query_one("#pods"), screen.query_one(ChainStrip), screen.query_one("#service-account")):
            assert widget.region.width > 0 and widget.region.height > 0
        await pilot.press("3")
        await settle(pilot)
        assert screen.query_one("#role").region.height > 0
        assert screen.query_one("#service-account").region.height == 0  # one pane at a time


async def test_who_am_i_shows_node_role_fallback_and_irsa_role(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test2")
        await press_confirming(pilot, "w")
        await settle(pilot)
        runs = app.state.live_runs[pod_uid(app, "eks-iam-test2")]
        assert len(runs) == 1
        assert "NodeInstanceRole" in runs[0].result.arn
        pane = app.screen.query_one(LiveIdentityPane)
        shown = text_of(pane)
        assert "assumed-role/eksctl-eks-oidc-demo-nodegroup" in shown
        assert "get-caller-identity" in shown
        strip = text_of(app.screen.query_one(ChainStrip))
        assert "no IRSA" in strip
        assert "fix:" in strip and "eksctl create iamserviceaccount" in strip
        # earlier runs are kept
        await pilot.press("w")
        await settle(pilot)
        assert len(app.state.live_runs[pod_uid(app, "eks-iam-test2")]) == 2
        assert "Run 2" in text_of(pane) and "Run 1" in text_of(pane)

        await filter_to(pilot, "eks-iam-test3")
        # before any `w` the chain does not claim a checked identity
        strip = app.screen.query_one(ChainStrip)
        identity = next(link for link in strip.shown_links() if link.step == "identity")
        assert identity.status == LinkStatus.SKIPPED and identity.label == "not run"
        assert "– live" in text_of(strip)  # its short name: the strip fits on one line
        await pilot.press("w")
        await settle(pilot)
        identity = next(link for link in strip.shown_links() if link.step == "identity")
        assert identity.status == LinkStatus.OK and "Role1" in identity.label
        assert "✓ live" in text_of(strip)
        result = app.state.live_runs[pod_uid(app, "eks-iam-test3")][-1].result
        assert result.ok and result.matches_intended
        assert "Role1" in result.arn
        assert "matches the intended role" in text_of(pane)
        chain = app.state.chains[pod_uid(app, "eks-iam-test3")]
        assert all(link.status == LinkStatus.OK for link in chain.links)


async def test_chain_links_lead_to_sa_role_and_trust_and_back_returns_step_by_step(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("enter")  # focus the chain
        screen = app.screen
        assert app.focused is screen.query_one(ChainStrip)
        await pilot.press("right", "enter")
        await settle(pilot)
        assert app.history.current.pane == "service-account"
        sa_text = text_of(screen.query_one(ServiceAccountPane))
        assert "default/my-sa" in sa_text and "Role1" in sa_text
        await pilot.press("right", "right", "right", "enter")
        await settle(pilot)
        assert app.history.current.pane == "role"
        role_text = text_of(screen.query_one(RolePane))
        assert "Role1" in role_text and "113534181560" in role_text and "max session" in role_text
        await pilot.press("right", "enter")
        await settle(pilot)
        assert app.history.current.pane == "trust-policy"
        trust = screen.query_one(TrustPolicyPane)
        trust_text = text_of(trust)
        assert "allow" in trust_text
        sub_lines = [line for line in trust_text.splitlines() if ":sub" in line]
        assert sub_lines and all("matched" in line for line in sub_lines[:1])
        # esc clears the filter first, then goes back step by step
        await pilot.press("escape")
        assert screen.needle == "" and app.history.current.pane == "trust-policy"
        await pilot.press("escape")
        assert app.history.current.pane == "role"
        await pilot.press("escape")
        assert app.history.current.pane == "service-account"
        await pilot.press("escape")
        assert app.history.current.pane is None and app.history.current.ref.name == "eks-iam-test3"
        # and forward again
        await pilot.press("f")
        assert app.history.current.pane == "service-account"
        assert "eks-iam-test3:sa" in str(screen.query_one("#crumbs").render())


async def test_links_in_panes_open_other_views(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("1")
        await settle(pilot)
        # the SA's name in its own pane opens the service accounts view on it
        sa_link = app.screen.query_one(ServiceAccountPane).query(Link).first()
        sa_link.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.history.current.view == "sa"
        assert app.screen.table.selected_key == "default/my-sa"
        # its role annotation opens the roles view with who can assume it
        role_link = next(link for link in app.screen.query(Link) if link.ref and link.ref.kind == "Role")
        role_link.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.history.current.view == "roles"
        assert "Role1" in app.screen.table.selected_key
        role_text = text_of(app.screen.query_one(RolePane))
        assert "Who can assume it" in role_text
        assert "default/my-sa (irsa; annotated)" in role_text and "eks-iam-test3" in role_text
        assert "AmazonS3ReadOnlyAccess" in role_text  # attached policies, fetched when the role is opened
        # an attached managed policy opens: its document comes from GetPolicy + GetPolicyVersion
        attached = next(link for link in app.screen.query(PolicyLink) if link.policy_arn)
        assert attached.policy_arn.endswith("policy/AmazonS3ReadOnlyAccess")
        attached.focus()
        await pilot.press("enter")
        await settle(pilot)
        document = app.screen
        assert isinstance(document, DocumentScreen)
        assert isinstance(document.document, dict) and "Statement" in document.document
        shown = document.query_one("#document-text").content  # the highlighted JSON on screen
        assert "s3:Get" in getattr(shown, "code", str(shown))
        await pilot.press("escape")
        assert not isinstance(app.screen, DocumentScreen)
        await pilot.press("escape", "escape")
        assert app.history.current.view == "pods"


async def test_token_pane_projected_default_and_fresh_tokens(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("2")
        await settle(pilot)
        pane = app.screen.query_one(TokenPane)
        assert app.focused is pane
        await press_confirming(pilot, "t")
        await settle(pilot)
        uid = pod_uid(app, "eks-iam-test3")
        view = app.state.tokens[uid]
        assert view.error is None, view.error
        shown = text_of(pane)
        signature = view.raw.rsplit(".", 1)[1]
        assert signature not in shown  # masked until revealed
        assert "signature hidden" in shown
        assert "system:serviceaccount:default:my-sa" in shown
        assert "(IRSA)" in shown  # the mounted IRSA token is named for what it is
        assert "sts.amazonaws.com" in shown
        assert "verified" in shown
        assert "remaining" in shown and "kubernetes.io" in shown
        await pilot.press("s")
        await pilot.pause()
        assert signature in text_of(pane)

        # a fresh TokenRequest asks first
        await pilot.press("T")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert app.state.tokens[uid] is view
        await pilot.press("T")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        fresh = app.state.tokens[uid]
        assert "TokenRequest" in fresh.source and fresh.error is None
        assert "verified" in text_of(pane)

        # a pod without IRSA: reading the IRSA token shows the pod's error; the default token reads
        await filter_to(pilot, "eks-iam-test2")
        await pilot.press("2", "t")
        await settle(pilot)
        uid2 = pod_uid(app, "eks-iam-test2")
        assert app.state.tokens[uid2].error
        await pilot.press("d")
        await settle(pilot)
        assert app.state.tokens[uid2].error is None
        assert "https://kubernetes.default.svc" in text_of(pane)


async def test_command_mode_and_list_views(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for command, view in (("roles", "roles"), ("sa", "sa"), ("nodes", "nodes"), ("findings", "findings"), ("pods", "pods")):
            await pilot.press("colon", *command, "enter")
            await settle(pilot)
            assert app.history.current.view == view
            assert app.screen.table.row_count > 0, view
        # the palette jumps to the node eks-iam-test2 runs on: it falls back to the node role
        node = next(p.node_name for p in app.state.pods.values() if p.name == "eks-iam-test2")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*f"Node {node}")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.history.current.view == "nodes"
        assert app.screen.table.selected_key == node
        detail = text_of(app.screen.query_one("#detail"))
        assert "NodeInstanceRole" in detail
        assert "eks-iam-test2" in detail

        # help lists every key
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = text_of(app.screen)
        for binding in app.BINDINGS + PodsScreen.BINDINGS + TokenPane.BINDINGS + ChainStrip.BINDINGS:
            assert (binding.tooltip or binding.description) in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        # y copies the intended role of the selected pod
        await pilot.press("colon", *"pods", "enter")
        await filter_to(pilot, "eks-iam-test3")
        assert "Role1" in app.copy_target()
        await pilot.press("y")
        assert "Role1" in app.clipboard


async def test_watch_shows_new_and_deleted_pods(lab):
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=str(lab.kubeconfig)))
    name = "ui-watch-probe"
    app = make_app(lab, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "amazon/aws-cli:latest", "command": ["sleep", "3600"]}]},
        }
        api.create_namespaced_pod("default", body)
        try:  # waits on the watch's events landing (wait_until's guard stops a hang only)
            await wait_until(pilot, lambda: name in {p.name for p in app.state.pods.values()}, "the new pod listed")
            uid = pod_uid(app, name)
            assert str(app.screen.query_one("#pods", PodsTable).row_cells(uid)["pod"]) == name
            assert uid in app.state.chains  # analysed on arrival
        finally:
            api.delete_namespaced_pod(name, "default", grace_period_seconds=0)
        await wait_until(pilot, lambda: name not in {p.name for p in app.state.pods.values()}, "the deleted pod gone")




async def test_namespace_picker_and_refresh_reload_through_the_sources(lab):
    from irsa_explorer.screens.modals import PickerScreen

    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        labels = [str(app.screen.query_one("#picker-list").get_option_at_index(i).prompt) for i in range(len(app.screen.choices))]
        assert labels[0] == "all namespaces" and "default" in labels
        await pilot.press("down")  # all namespaces → the first namespace in the list
        chosen = app.screen.choices[1][0]
        await pilot.press("enter")
        await settle(pilot)
        assert app.sources.namespace == chosen
        assert app.state.inventory.namespace == chosen
        assert all(pod.namespace == chosen for pod in app.state.pods.values())
        assert chosen in str(app.screen.query_one("#crumbs").render())
        # the context picker lists the kubeconfig's contexts; escape keeps the current one
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert [value for value, _ in app.screen.choices] == app.sources.kube.contexts()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PickerScreen)
        before = app.state.inventory
        await pilot.press("r")
        await settle(pilot)
        assert app.state.inventory is not before  # loaded again
        assert app.state.pods


async def test_a_forbidden_lookup_shows_unknown_and_the_missing_permission(lab, no_get_role_env):
    env = no_get_role_env
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    app = IrsaExplorerApp(Sources(kube, AwsSource.from_env(env), None, kube.default_cluster_name(), kube.close), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "eks-iam-test3")
        shown = text_of(app.screen.query_one(RolePane)) + text_of(app.screen.query_one(TrustPolicyPane))
        assert "unknown" in shown and "iam:GetRole" in shown
        chain = app.state.chains[pod_uid(app, "eks-iam-test3")]
        assert chain.verdict.value != "ok"  # never a verdict from a value we could not read


def test_run_on_an_unreadable_kubeconfig_says_why_and_fails(tmp_path, capsys):
    from irsa_explorer.launch import run
    from irsa_explorer.cli import build_parser

    args = build_parser().parse_args(["--kubeconfig", str(tmp_path / "missing")])
    assert run(args) == 2
    assert "kubeconfig" in capsys.readouterr().err


async def test_what_arrives_while_the_app_closes_draws_nothing(lab):
    """A worker's message can still be handled while the app closes (Pilot closes it from the
    test's task, the app's loop still running) when the screens' widgets are already gone: the
    views draw nothing then, rather than crash on a table that is not there (a CI failure)."""
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screens_by_view["pods"]
        assert isinstance(screen, PodsScreen) and screen.live
    assert screen.is_mounted and not screen.query(PodsTable)  # what the late message met
    with app._context():  # as the app's handlers run: the app active
        assert not screen.live
        screen.stage_changed(verdicts=True)
        screen.pods_added([])
        screen.refresh_data()
        screen.show_crumbs()
        app.refresh_views()
