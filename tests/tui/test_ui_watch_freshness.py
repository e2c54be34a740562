"""Never silently stale, driven with Pilot against a lab of its own (issue 10, "Done when"):
the explorer watches the cluster, and after the OIDC provider is created (boto3), a service
account annotated and a pod created for it (the kubernetes client), the pod's row turns ok with
no key pressed. Real KubeSource and AwsSource over the wire; the 30 s after which AWS facts are
read again pass on an injected clock, and every wait is on the explorer's state (with a hang
guard only)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from kubernetes import client, config

from irsa_explorer.model import ROLE_ARN_ANNOTATION, Cluster, Verdict
from irsa_explorer.widgets.chain_strip import ChainStrip
from irsa_explorer.widgets.pods_table import PodsTable
from ui_pilot_helpers import SIZE, filter_to, make_app, settle, wait_until

# A path, not the name: `lab_for` then starts a lab no other test shares (this one changes it).
SCENARIO = str(Path(__import__("irsa_explorer.lab", fromlist=["x"]).__file__).parent / "scenarios" / "no-oidc-provider.yaml")


class MovableClock:
    """The explorer's clock: the real time plus what the test moved it on by."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


@pytest.fixture(scope="module")
def no_provider_lab(lab_for):
    return lab_for(SCENARIO)


def verdict_of(app, name: str) -> Verdict | None:
    for uid, pod in app.state.pods.items():
        if pod.name == name:
            chain = app.state.chains.get(uid)
            return chain.verdict if chain else None
    return None


def row_of(app, name: str) -> dict[str, str] | None:
    table = app.screen.query_one("#pods", PodsTable)
    for uid, pod in app.state.pods.items():
        if pod.name == name and table.row_index(uid) is not None:
            return table.row_cells(uid)
    return None


async def test_a_pod_made_after_the_provider_turns_ok_with_no_key_pressed(no_provider_lab, lab_aws_client):
    lab = no_provider_lab
    clock = MovableClock()
    api = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)
    core, iam = client.CoreV1Api(api), lab_aws_client(lab, "iam")
    suffix = uuid.uuid4().hex[:6]
    sa_name, pod_name, role_name = f"watched-{suffix}", f"watched-pod-{suffix}", f"watched-role-{suffix}"
    app = make_app(lab, watch=True, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert verdict_of(app, "eks-iam-test3") is Verdict.BROKEN  # no IAM OIDC provider yet
        await wait_until(pilot, lambda: app.state.watching and len(
            [w for w in app.workers if w.group == "watch" and not w.is_finished]) == 3, "the three watches")
        cluster = app.state.inventory.cluster
        assert isinstance(cluster, Cluster) and cluster.issuer
        host = cluster.issuer.removeprefix("https://")

        # what a person does next to the explorer: the provider, a role for a new account, the
        # account annotated with it, a pod running as it
        provider_arn = iam.create_open_id_connect_provider(
            Url=cluster.issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        )["OpenIDConnectProviderArn"]
        role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider_arn},
                           "Action": "sts:AssumeRoleWithWebIdentity",
                           "Condition": {"StringEquals": {f"{host}:aud": "sts.amazonaws.com",
                                                          f"{host}:sub": f"system:serviceaccount:default:{sa_name}"}}}],
        }))["Role"]["Arn"]
        core.create_namespaced_service_account("default", {"metadata": {"name": sa_name}})
        await wait_until(pilot, lambda: ("default", sa_name) in app.state.inventory.service_accounts, "the new account, watched")
        core.patch_namespaced_service_account(sa_name, "default", {"metadata": {"annotations": {ROLE_ARN_ANNOTATION: role_arn}}})
        await wait_until(pilot, lambda: app.state.inventory.service_accounts[("default", sa_name)].role_arn == role_arn,
                         "the annotation, watched")
        core.create_namespaced_pod("default", {
            "metadata": {"name": pod_name},
            "spec": {"serviceAccountName": sa_name,
                     "containers": [{"name": "app", "image": "amazon/aws-cli:latest", "command": ["sleep", "3600"]}]},
        })
        await wait_until(pilot, lambda: row_of(app, pod_name) is not None, "the new pod's row")
        # its role was never read: read at once; the provider list was read at load time, and is
        # read again once 30 s old — on the explorer's clock, moved on here rather than waited for
        assert app.state.chains  # the row's verdict until then is the engine's, from what was read
        clock.offset = timedelta(seconds=31)
        await wait_until(pilot, lambda: verdict_of(app, pod_name) is Verdict.OK, "the new pod turning ok")
        assert row_of(app, pod_name)["verdict"] == "✓ ok"
        assert app.state.inventory.roles[role_arn].arn == role_arn
        assert any(p.arn == provider_arn for p in app.state.inventory.oidc_providers)
        # the pod the scenario made before the provider is worked out again too, from the same read
        assert verdict_of(app, "eks-iam-test3") is Verdict.OK

        # on screen: the chain says how old its AWS facts are, the Kubernetes side is watched
        await filter_to(pilot, pod_name)
        strip = app.screen.query_one(ChainStrip)
        assert "Kubernetes watching" in str(strip.border_subtitle) and "AWS read" in str(strip.border_subtitle)
        before = str(strip.border_subtitle)
        clock.offset += timedelta(seconds=20)
        await wait_until(pilot, lambda: str(strip.border_subtitle) != before, "the age ticking")
        assert "AWS read" in str(strip.border_subtitle)  # the tick redrew it, nothing else changed

    core.delete_namespaced_pod(pod_name, "default", grace_period_seconds=0)
    core.delete_namespaced_service_account(sa_name, "default")
    api.close()
