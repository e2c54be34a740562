"""The TUI on a real-looking machine: no AWS configuration at all still lists the pods, and every
AWS part says "unknown" with the one line that fixes it; a silent API server is named."""

from __future__ import annotations

import os

import yaml
from ui_pilot_helpers import SIZE, filter_to, settle, wait_until

from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.sources.connect import Target, from_options
from irsa_explorer.widgets.panes.role import RolePane

NO_CREDENTIALS = "unknown: no AWS credentials — run `aws configure` or set AWS_PROFILE"


def text_of(widget) -> str:
    """All the text a widget and its children show."""
    return "\n".join(str(node.render()) for node in [widget, *widget.query("Static")])


async def test_no_aws_configuration_lists_pods_and_says_how_to_fix_aws(lab, tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    sources = from_options(Target(kubeconfig=str(lab.kubeconfig)))  # as `irsa-explorer` builds them
    app = IrsaExplorerApp(sources, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert {p.name for p in app.state.inventory.pods.values()} >= {"eks-iam-test1", "eks-iam-test2", "eks-iam-test3"}
        assert app.state.error is None  # the cluster loaded
        chains = app.state.chains
        # never a verdict from AWS facts that could not be read: unknown — but a pod Kubernetes
        # says failed while nothing gave it an identity of its own (eks-iam-test1) is broken, from
        # the cluster's own words
        assert chains and all(c.verdict.value == "unknown" or (c.verdict.value == "broken" and c.findings[0].code
                                                               == "POD_FAILED_ON_NODE_ROLE") for c in chains.values())
        assert any(c.verdict.value == "unknown" for c in chains.values())
        shown = " ".join(text_of(app.screen).split())  # the panes, their lines joined
        assert NO_CREDENTIALS in shown, shown
        # … and before any pane is opened, the status line says why, once
        assert app.state.status == "AWS: " + NO_CREDENTIALS.removeprefix("unknown: ")
        crumbs = str(app.screen.query_one("#crumbs").render())
        assert "AWS: no AWS credentials" in crumbs
        # an IRSA pod's Role pane: what it gets is unknown — not "some other role, not this one"
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("3")
        await settle(pilot)
        role = " ".join(text_of(app.screen.query_one(RolePane)).split())
        assert "this pod gets ? unknown (IRSA)" in role, role
        assert "not this role" not in role


async def test_a_silent_api_server_is_named_and_q_quits(lab, tmp_path):
    from silent_server import SilentServer

    server = SilentServer()
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{server.port}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    try:
        sources = from_options(Target(kubeconfig=str(kubeconfig), request_timeout=1))
        app = IrsaExplorerApp(sources, watch=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state.error is not None, "the load failed")
            # the error's own words, without its class name
            assert app.state.error.startswith(f"Could not load the cluster: no answer from https://127.0.0.1:{server.port} in 1 s")
            await pilot.press("q")
        assert app.return_code in (0, None)
    finally:
        server.close()
