"""AWS facts read again (sources/reread.py) against the walkthrough lab, over the real wire: the
same answers the loader got, one GetRole per distinct role, stamped with when they were asked
for; and a FactReader that recovers from an endpoint that once gave no answer, where the view's
own AwsSource (which never asks a silent endpoint again) would stay unknown."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
import requests

from irsa_explorer.model import Unavailable
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.inventory import load_inventory
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.reread import FactReader, FactsWanted, read_again

AT = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def loaded(lab):
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        yield load_inventory(kube, AwsSource.from_env(lab.aws_env), None, discover_issuer=False)
    finally:
        kube.close()


def aws_calls(lab) -> dict[str, int]:
    return requests.get(lab.aws_endpoint + "/_lab/stats", timeout=10).json()["counters"]


def test_facts_read_again_are_what_the_loader_read_asked_once_per_role(lab, loaded) -> None:
    role = next(arn for arn, r in loaded.roles.items() if not isinstance(r, Unavailable))
    missing = role.rsplit("/", 1)[0] + "/no-such-role"
    node = next(iter(loaded.nodes))
    wanted = FactsWanted(frozenset({role, missing}), oidc_providers=True, associations=True, node_roles=frozenset({node}))
    before = aws_calls(lab)
    read = read_again(AwsSource.from_env(lab.aws_env), loaded, wanted, AT)
    after = aws_calls(lab)
    assert after.get("iam:GetRole", 0) - before.get("iam:GetRole", 0) == 2  # one per distinct role
    assert read.roles[role] == loaded.roles[role]
    assert isinstance(read.roles[missing], Unavailable) and read.roles[missing].kind == "not-found"
    assert read.oidc_providers == loaded.oidc_providers and read.associations == loaded.associations
    assert read.node_roles == {node: loaded.node_roles[node]} and read.node_metadata[node] == loaded.node_metadata[node]
    assert not read.failed  # a role that does not exist is an answer, not a failure

    fresher = read.into(loaded)
    assert fresher.read_at.roles[role] == AT and fresher.read_at.oidc_providers == AT
    assert fresher.read_at.associations == AT and fresher.read_at.node_roles[node] == AT
    assert loaded.read_at.oidc_providers != AT and missing not in loaded.roles  # the loaded one is as it was
    assert fresher.pods is loaded.pods  # the Kubernetes side is not touched


def test_only_what_is_wanted_is_asked_for(lab, loaded) -> None:
    before = aws_calls(lab)
    read = read_again(AwsSource.from_env(lab.aws_env), loaded, FactsWanted(oidc_providers=True), AT)
    after = aws_calls(lab)
    assert read.roles == {} and read.associations is None and read.node_roles == {}
    asked = {kind for kind in after if after[kind] != before.get(kind, 0)}
    assert asked <= {"iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider", "sts:GetCallerIdentity"}, asked


def test_a_fact_reader_asks_again_after_an_endpoint_gave_no_answer(lab, loaded) -> None:
    from tcp_relay import Relay  # tests/tcp_relay.py

    relay = Relay(urlsplit(lab.aws_endpoint).port)
    env = dict(lab.aws_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{relay.port}")
    view = AwsSource.from_env(env, request_timeout=1)
    assert view.problem(verify=True) is None  # the view's source works, and has resolved its credentials
    wanted = FactsWanted(oidc_providers=True)
    reader = FactReader(view)
    try:
        relay.silent = True  # the endpoint hangs: no answer within the second allowed
        hung = reader.read(loaded, wanted, AT)
        assert isinstance(hung.oidc_providers, Unavailable) and "no answer" in hung.oidc_providers.reason
        assert hung.failed
        stuck = AwsSource(**view.handover())
        assert isinstance(read_again(stuck, loaded, wanted, AT).oidc_providers, Unavailable)
        relay.silent = False  # it answers again
        assert isinstance(read_again(stuck, loaded, wanted, AT).oidc_providers, Unavailable)  # one source never asks again
        assert reader.read(loaded, wanted, AT).oidc_providers == loaded.oidc_providers  # the reader does
    finally:
        relay.close()
