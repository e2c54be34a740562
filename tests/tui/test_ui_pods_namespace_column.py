"""The pods table's Namespace column says something only across namespaces: in a view of one
namespace (-n NS, or `n` to pick one) it is left out, as k9s does, and its room goes to the
pod's name; with every namespace (-A, the default) it is there."""

from __future__ import annotations

import pytest

from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.connect import Sources
from irsa_explorer.sources.kube import KubeSource
from ui_pilot_helpers import drawn, settle, wait_until


def explorer(lab, namespace: str | None) -> IrsaExplorerApp:
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    aws = AwsSource.from_env(dict(lab.aws_env))
    return IrsaExplorerApp(Sources(kube, aws, namespace, kube.default_cluster_name(), kube.close), watch=False)


@pytest.mark.parametrize(("namespace", "shown"), [(None, True), ("default", False)], ids=["all", "one"])
async def test_the_namespace_column_shows_across_namespaces_only(lab, namespace, shown):
    app = explorer(lab, namespace)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table
        await wait_until(pilot, lambda: table.row_count > 0, "the pods")
        header, first = drawn(table)[:2]
        # the column's title is "Namespace", or "NS" when the room is short (by the names' widths)
        assert ("namespace" in table.shown_columns()) is shown, table.shown_columns()
        assert bool({"Namespace", "NS"} & set(header.split())) is shown, header
        assert "Pod" in header and "Verdict" in header
        if not shown:
            assert not first.lstrip().startswith("default "), first  # no namespace cell either
