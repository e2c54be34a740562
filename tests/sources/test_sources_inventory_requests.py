"""load_inventory's request budget against the walkthrough lab, read from the lab's own counters:
no issuer discovery when DescribeCluster names the issuer (discovery only when the cluster is
unknown), each distinct role asked once, and the JWKS still there for whoever needs it."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request

import pytest
import yaml

from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.inventory import load_inventory
from irsa_explorer.model import Cluster, IssuerInfo, Role, Unavailable

DISCOVERY = ("kube:get openid-configuration", "kube:get jwks")


class Counters:
    """Both lab servers' `/_lab/stats`, as the benchmark reads them."""

    def __init__(self, lab) -> None:
        config = yaml.safe_load(lab.kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        self.kube_url = cluster["server"].rstrip("/")
        self.token = config["users"][0]["user"].get("token")
        self.ssl = ssl.create_default_context()
        if cluster.get("certificate-authority-data"):
            self.ssl.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        else:
            self.ssl.load_verify_locations(cafile=cluster["certificate-authority"])
        self.aws_url = lab.aws_endpoint.rstrip("/")

    def _get(self, url: str, headers: dict, context) -> dict:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), context=context, timeout=30) as r:
            body = json.loads(r.read())
        return body.get("counters", body)

    def snapshot(self) -> dict[str, int]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        kube = {f"kube:{k}": v for k, v in self._get(f"{self.kube_url}/_lab/stats", headers, self.ssl).items()}
        return {**kube, **self._get(f"{self.aws_url}/_lab/stats", {}, None)}

    def since(self, before: dict[str, int]) -> dict[str, int]:
        after = self.snapshot()
        return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0 and "_lab" not in k}


@pytest.fixture(scope="module")
def counters(lab) -> Counters:
    return Counters(lab)


@pytest.fixture
def kube(lab):
    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    yield source
    source.close()


def test_counters_see_discovery(lab, counters, kube) -> None:
    """The check below means something: discovery requests do show in the counters."""
    before = counters.snapshot()
    assert isinstance(kube.issuer(), IssuerInfo)
    assert all(counters.since(before).get(k) == 1 for k in DISCOVERY), counters.since(before)


def test_issuer_from_describe_cluster_skips_discovery(lab, counters, kube) -> None:
    aws = AwsSource.from_env(lab.aws_env)
    before = counters.snapshot()
    inventory = load_inventory(kube, aws, None, discover_issuer=False)
    made = counters.since(before)
    assert not any(k in made for k in DISCOVERY), made
    assert made.get("eks:DescribeCluster") == 1
    assert inventory.issuer is None
    assert isinstance(inventory.cluster, Cluster) and inventory.cluster.issuer
    # The token pane's JWKS is still one call away, fetched then and kept.
    before = counters.snapshot()
    issuer = kube.issuer()
    assert isinstance(issuer, IssuerInfo) and issuer.issuer == inventory.cluster.issuer
    assert issuer.jwks.get("keys")
    assert kube.issuer() is issuer
    assert sum(counters.since(before).get(k, 0) for k in DISCOVERY) == 2


def test_unknown_cluster_still_discovers_the_issuer(lab, plain_kubeconfig) -> None:
    kube = KubeSource(kubeconfig=str(plain_kubeconfig))
    try:
        inventory = load_inventory(kube, AwsSource.from_env(lab.aws_env), "default", discover_issuer=False)
    finally:
        kube.close()
    assert isinstance(inventory.cluster, Unavailable)
    assert isinstance(inventory.issuer, IssuerInfo) and inventory.issuer.issuer.startswith("https://")


def test_each_distinct_role_is_asked_once(lab, counters, kube) -> None:
    aws = AwsSource.from_env(lab.aws_env)
    before = counters.snapshot()
    inventory = load_inventory(kube, aws, None, discover_issuer=False)
    made = counters.since(before)
    asked = [arn for arn, role in inventory.roles.items() if isinstance(role, Role) or role.kind == "not-found"]
    # Below the ListRoles threshold: one GetRole per distinct role, none twice (service-account,
    # association and node roles used to be fetched in two rounds).
    assert made.get("iam:GetRole", 0) == len(asked), (made, sorted(inventory.roles))
    assert made.get("eks:DescribePodIdentityAssociation", 0) <= len(inventory.associations)
    iam = sum(v for k, v in made.items() if k.startswith("iam:"))
    assert iam <= len(inventory.roles) + 5, made
