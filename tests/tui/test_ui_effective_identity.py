"""Effective identity everywhere, driven with Pilot against the labs as a person would at 120×40:
`:roles` counts the pods that really get a role beside those meant to (the walkthrough's node
role, which nothing intends, is used by its two node-role pods), `:nodes` and `:sa` keep their
counts on screen, the Role pane of a node-role pod reaches the node role and who shares it, the
SA pane counts its pods' findings, and a restricted user's crumbs never say "all namespaces".
Waits are on workers and conditions (hang guards only), never on time."""

from __future__ import annotations

import pytest

from irsa_explorer.model import Mechanism
from irsa_explorer.widgets.panes.role import RolePane
from irsa_explorer.widgets.panes.service_account import ServiceAccountPane
from test_ui_pilot import text_of
from ui_pilot_helpers import filter_to, make_app, pod_uid, settle, wait_until

SIZE = (120, 40)


def cells(table, key: str) -> dict[str, str]:
    """The row `key` as shown, by column key."""
    row = table.get_row(key)
    return {str(column.key.value): str(cell) for column, cell in zip(table.ordered_columns, row)}


def fits(table) -> bool:
    """Every shown column within the table's width: nothing off screen, no sideways scrolling."""
    return table.virtual_size.width <= table.scrollable_content_region.width


def node_role_of(app) -> str:
    chain = app.state.chains[pod_uid(app, "eks-iam-test1")]
    assert chain.mechanism is Mechanism.NODE_ROLE and chain.effective is not None and chain.effective.arn
    return chain.effective.arn


async def open_view(pilot, view: str) -> None:
    await pilot.press("colon", *view, "enter")
    await settle(pilot)


async def test_roles_count_the_pods_that_get_the_node_role_though_none_intends_it(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        node_role = node_role_of(app)
        # the pods whose identity the engine says is the node role (other tests may add pods to the shared lab)
        getting = {p.name for uid, p in app.state.pods.items()
                   if (c := app.state.chains.get(uid)) and c.effective and c.effective.arn == node_role}
        assert {"eks-iam-test1", "eks-iam-test2"} <= getting
        await open_view(pilot, "roles")
        table = app.screen.table
        row = cells(table, node_role)
        assert row["pods"] == str(len(getting)) and row["intended"] == "0"
        my_sa_role = app.state.chains[pod_uid(app, "eks-iam-test3")].intended_role_arn
        assert cells(table, my_sa_role)["intended"] == cells(table, my_sa_role)["pods"] != "0"
        assert {"pods", "intended", "status"} <= {str(c.key.value) for c in table.ordered_columns}
        assert fits(table)
        # the role's name is shortened (eksctl-CLUSTER- left out, cut in the middle), never its counts
        assert "NodeInstanceRole" in row["name"] or "…" in row["name"]
        # its pane lists who gets it
        assert table.select_key(node_role)
        await settle(pilot)
        pane = app.screen.query_one(RolePane)
        await wait_until(pilot, lambda: "Pods that get it" in text_of(pane), "the node role's users")
        shown = text_of(pane)
        assert f"Pods that get it ({len(getting)})" in shown
        assert "default/eks-iam-test1" in shown and "default/eks-iam-test2" in shown
        assert "not meant to" in shown  # nothing intends the node role: they fall back to it


async def test_the_role_pane_of_a_node_role_pod_shows_the_node_role_its_policies_why_and_who_shares_it(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        node_role = node_role_of(app)
        await filter_to(pilot, "eks-iam-test1")
        pane = app.screen.query_one(RolePane)
        assert pane.arn == node_role
        await wait_until(pilot, lambda: "loading policies" not in text_of(pane) and "Permission policies" in text_of(pane),
                         "the node role's policies")
        shown = text_of(pane)
        assert node_role in shown
        assert "its node's instance role" in shown and "why" in shown and "nothing gives this pod an identity" in shown
        assert "AmazonEKSWorkerNodePolicy" in shown  # what the node role may do: why `aws s3 ls` is denied
        assert "Pods that get it" in shown and "default/eks-iam-test2" in shown


async def test_nodes_show_the_instance_role_and_their_pod_counts_at_120_columns(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        node = app.state.pods[pod_uid(app, "eks-iam-test1")].node_name
        await open_view(pilot, "nodes")
        table = app.screen.table
        shown = {str(c.key.value) for c in table.ordered_columns}
        assert {"name", "pods", "fallback", "role"} <= shown and fits(table)
        row = cells(table, node)
        assert row["pods"] == str(len(app.state.pods_on_node(node))) and int(row["pods"]) >= 2
        assert row["fallback"] == str(len(app.state.node_role_fallbacks(node))) and int(row["fallback"]) >= 1
        assert "NodeInstanceRole" in row["role"] or "…" in row["role"]


async def test_the_sa_pane_counts_every_finding_of_its_pods(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_view(pilot, "sa")
        table = app.screen.table
        assert "pods" in {str(c.key.value) for c in table.ordered_columns} and fits(table)
        assert table.select_key("default/default")
        await settle(pilot)
        shown = text_of(app.screen.query_one(ServiceAccountPane))
        # eks-iam-test1 ended in Error on the node role; both pods fall back to it
        assert "Findings of its pods (0)" not in shown
        assert "POD_FAILED_ON_NODE_ROLE" in shown and "NODE_ROLE_FALLBACK" in shown
        assert "eks-iam-test1 ended in Error" in shown


@pytest.fixture(scope="module")
def restricted(lab_for):
    return lab_for("restricted-user")


async def test_a_restricted_users_crumbs_name_the_namespaces_read_not_all(restricted):
    from test_ui_context_switch import DEV, crumbs, switch_to

    app = make_app(restricted)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "all namespaces" in crumbs(app)  # the admin reads them all
        await switch_to(pilot, DEV)
        await wait_until(pilot, lambda: app.state.inventory is not None and not app.state.stage, "dev's view")
        assert "namespace default only" in crumbs(app)
        assert "│ all namespaces" not in crumbs(app)
        await open_view(pilot, "roles")  # every view says it
        assert "namespace default only" in crumbs(app)
        # nodes are forbidden to dev: the node-role pods' role is unknown, and the roles view says
        # how many pods it counts under no role rather than leave them out silently
        unknown = sum(1 for c in app.state.chains.values() if c.effective and c.effective.status.value == "unknown")
        assert unknown >= 2
        assert f"{unknown} pods with an unknown identity" in str(app.screen.table.border_subtitle)
