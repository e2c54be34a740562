"""The store keeps the view fresh: watch events re-resolve exactly the chains they affect, AWS
facts carry when they were read and are asked for again once older than 30 s, watch losses are
said and aged. Plain data and the real engine, no screen and no lab; time is an injected clock
moved by the test, never waited for."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from irsa_explorer import state as state_module
from irsa_explorer.analysis.identity import resolve_all
from irsa_explorer.messages import ChainsResolved, FactsReread, KubeChanged
from irsa_explorer.model import (
    IRSA_TOKEN_DIR, IRSA_TOKEN_PATH, IRSA_VOLUME, ROLE_ARN_ANNOTATION, Cluster, Container, EnvVar, Inventory,
    IssuerInfo, Node, OidcProvider, Pod, ProjectedToken, ReadTimes, Role, ServiceAccount, Verdict,
)
from irsa_explorer.sources.kube import WatchStatus
from irsa_explorer.sources.reread import FactsRead, FactsWanted
from irsa_explorer.state import ExplorerState

ACCOUNT = "113534181560"
ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
HOST = ISSUER.removeprefix("https://")
PROVIDER = OidcProvider(f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}", HOST, ("sts.amazonaws.com",))
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/node"
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


class Clock:
    """The explorer's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def trust(sa: str = "app") -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER.arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": f"system:serviceaccount:default:{sa}"}},
    }]}


def account(name: str = "app", role_arn: str | None = ROLE) -> ServiceAccount:
    return ServiceAccount(f"sa-{name}", "default", name, {ROLE_ARN_ANNOTATION: role_arn} if role_arn else {})


def irsa_pod(name: str, sa: str = "app", node: str = "node-1", role_arn: str = ROLE) -> Pod:
    env = (EnvVar("AWS_ROLE_ARN", role_arn), EnvVar("AWS_WEB_IDENTITY_TOKEN_FILE", IRSA_TOKEN_PATH))
    main = Container("main", "amazon/aws-cli", env, volume_mounts=((IRSA_VOLUME, IRSA_TOKEN_DIR),))
    return Pod(f"uid-{name}", "default", name, sa, node, "Running", "Running", T0, (main,),
               (ProjectedToken(IRSA_VOLUME, "sts.amazonaws.com", 86400, "token"),))


def plain_pod(name: str, node: str = "node-1") -> Pod:
    return Pod(f"uid-{name}", "default", name, "default", node, "Running", "Running", T0,
               (Container("main", "amazon/aws-cli"),))


def loaded(clock: Clock, pods: list[Pod], providers: list[OidcProvider] | None = None) -> ExplorerState:
    """The store as after a load at T0: two nodes, the app role, its account, the providers given."""
    nodes = {name: Node(f"n-{name}", name, f"aws:///us-east-2a/i-{name}") for name in ("node-1", "node-2")}
    inventory = Inventory(
        context="lab", namespace=None, pods={p.uid: p for p in pods},
        service_accounts={sa.key: sa for sa in (account(), account("default", None))}, nodes=nodes,
        issuer=IssuerInfo(ISSUER, {"keys": []}),
        cluster=Cluster("demo", f"arn:aws:eks:us-east-2:{ACCOUNT}:cluster/demo", "us-east-2", ACCOUNT, ISSUER, "1.29"),
        oidc_providers=[] if providers is None else providers, roles={ROLE: Role(ROLE, "app", ACCOUNT, trust())},
        node_roles={"node-1": NODE_ROLE, "node-2": NODE_ROLE}, associations=[],
        read_at=ReadTimes(T0, T0, T0, {ROLE: T0}, {"node-1": T0, "node-2": T0}),
    )
    state = ExplorerState(clock=clock)
    generation = state.load_started()
    state.stage_reached(generation, inventory, "", resolve_all(inventory))
    state.watches_started()
    return state


def test_a_pod_event_resolves_that_pod_alone() -> None:
    state = loaded(Clock(), [irsa_pod("a"), irsa_pod("b")])
    before = dict(state.chains)
    update = state.update(KubeChanged(state.generation, [("pods", "ADDED", irsa_pod("c"))]))
    assert update.resolved == {"uid-c"} and [p.name for p in update.added] == ["c"] and not update.later
    assert all(state.chains[uid] is chain for uid, chain in before.items())  # the others untouched
    assert state.chains["uid-c"].verdict is Verdict.BROKEN  # no OIDC provider, as for a and b


def test_a_service_account_event_resolves_its_pods_and_no_other() -> None:
    state = loaded(Clock(), [irsa_pod("a"), plain_pod("p")], providers=[PROVIDER])
    assert state.chains["uid-a"].verdict is Verdict.OK
    plain = state.chains["uid-p"]
    # the annotation points at another role now: a's chain intends it (not loaded: unknown)
    other = f"arn:aws:iam::{ACCOUNT}:role/other"
    update = state.update(KubeChanged(state.generation, [("serviceaccounts", "MODIFIED", account(role_arn=other))]))
    assert update.resolved == {"uid-a"}
    assert state.chains["uid-a"].intended_role_arn == other and state.chains["uid-p"] is plain
    assert other in state.facts_wanted.roles  # what the event brought is to be read
    # an equal account (annotations and all) changes nothing
    assert state.update(KubeChanged(state.generation, [("serviceaccounts", "MODIFIED", account(role_arn=other))])) is None


def test_a_node_event_resolves_its_pods_and_a_new_instance_reads_its_role_at_once() -> None:
    state = loaded(Clock(), [plain_pod("on-1"), plain_pod("on-2", node="node-2")], providers=[PROVIDER])
    untouched = state.chains["uid-on-2"]
    node = state.inventory.nodes["node-1"]
    # its status changes all the time: the same name, instance and labels are no change
    assert state.update(KubeChanged(state.generation, [("nodes", "MODIFIED", replace(node))])) is None
    replaced = replace(node, provider_id="aws:///us-east-2a/i-new")
    update = state.update(KubeChanged(state.generation, [("nodes", "MODIFIED", replaced)]))
    assert update.resolved == {"uid-on-1"} and state.chains["uid-on-2"] is untouched
    due = state.facts_due()
    assert due.node_roles == {"node-1"}  # forced: the instance changed, whatever the role's age
    read = FactsRead(state.now(), due, node_roles={"node-1": f"arn:aws:iam::{ACCOUNT}:role/new-node"})
    update = state.update(FactsReread(state.generation, read))
    assert update.resolved == {"uid-on-1"} and state.chains["uid-on-2"] is untouched
    assert state.chains["uid-on-1"].effective.arn.endswith("role/new-node")


def test_facts_are_read_again_once_older_than_30_s_and_their_age_shows() -> None:
    clock = Clock()
    state = loaded(clock, [irsa_pod("a")])
    pod = state.pods["uid-a"]
    shown = state.shown_facts(pod)
    assert shown == FactsWanted(frozenset({ROLE}), oidc_providers=True, associations=True)
    clock.advance(10)
    assert not state.facts_due(shown)  # 10 s old: fresh enough
    assert state.age_words(shown, "pods") == "read 10s ago · watching"
    clock.advance(21)
    due = state.facts_due(shown)
    assert due == shown and state.facts_reading == due
    assert not state.facts_due(shown)  # one read at a time
    # the provider was made meanwhile: read again, the chain turns ok, the age starts over
    assert state.chains["uid-a"].verdict is Verdict.BROKEN
    read = FactsRead(clock(), due, roles={ROLE: state.inventory.roles[ROLE]}, oidc_providers=[PROVIDER], associations=[])
    update = state.update(FactsReread(state.generation, read))
    assert update.resolved == {"uid-a"} and state.chains["uid-a"].verdict is Verdict.OK
    assert state.facts_reading is None and state.age_words(shown) == "read just now"
    clock.advance(125)
    assert state.age_words(shown) == "read 2m5s ago"


def test_facts_a_watch_event_brings_are_read_once_they_are_30_s_old() -> None:
    clock = Clock()
    state = loaded(clock, [irsa_pod("a")], providers=[PROVIDER])
    clock.advance(5)
    state.update(KubeChanged(state.generation, [("pods", "ADDED", irsa_pod("new"))]))
    assert not state.facts_due()  # read 5 s ago: not yet
    clock.advance(25)
    assert state.facts_due() == FactsWanted(frozenset({ROLE}), oidc_providers=True, associations=True)
    state.update(FactsReread(state.generation, FactsRead(clock(), FactsWanted())))
    clock.advance(60)
    assert not state.facts_due()  # read once for the event; what is shown keeps its own


def test_a_lost_watch_is_said_and_what_it_showed_ages_until_it_is_back() -> None:
    clock = Clock()
    state = loaded(clock, [plain_pod("p")])
    lost = WatchStatus("reconnecting", "cannot connect to https://k: connection refused", 3, 4.0, "pods")
    assert state.watch_said(state.generation, lost)
    assert state.status == "watch lost: cannot connect to https://k: connection refused; reconnecting in 4 s (attempt 3)"
    clock.advance(40)
    assert state.kube_words("pods") == "as of 40s ago (watch lost)" and state.kube_words("nodes") == "watching"
    state.watch_said(state.generation, WatchStatus("watching", "", resource="pods"))
    assert state.status == "" and state.kube_words("pods") == "watching"
    assert not state.watch_said(state.generation - 1, lost)  # an older load's watch is not heard
    state.watch_said(state.generation, WatchStatus("forbidden", "HTTP 403: nodes is forbidden", resource="nodes"))
    assert state.kube_words("nodes") == "listed 40s ago (watching it is forbidden)"
    assert "watching nodes is forbidden" in state.status


def test_many_affected_chains_are_worked_out_in_a_worker_and_taken_if_nothing_changed_meanwhile(monkeypatch) -> None:
    monkeypatch.setattr(state_module, "SYNC_LIMIT", 2)
    state = loaded(Clock(), [irsa_pod(n) for n in "abc"])
    before = dict(state.chains)
    update = state.update(FactsReread(state.generation, FactsRead(state.now(), FactsWanted(), oidc_providers=[PROVIDER])))
    assert update.later == {"uid-a", "uid-b", "uid-c"} and not update.resolved
    assert state.chains == before  # until the worker's answer
    snapshot = state.inventory
    # meanwhile pod b changes: its chain from the worker is not taken, it is worked out again
    changed = replace(irsa_pod("b"), phase="Failed", status="Error")
    state.update(KubeChanged(state.generation, [("pods", "MODIFIED", changed)]))
    resolved = resolve_all(snapshot)
    update = state.update(ChainsResolved(state.generation, snapshot, resolved))
    assert update.resolved == {"uid-a", "uid-b", "uid-c"} and not update.later
    assert state.chains["uid-a"] is resolved["uid-a"] and state.chains["uid-b"] is not resolved["uid-b"]
    assert all(chain.verdict is Verdict.OK for chain in state.chains.values())


def test_indexes_follow_pods_that_come_go_and_change_account() -> None:
    state = loaded(Clock(), [irsa_pod("a"), plain_pod("p")])
    app, default = account(), account("default", None)
    assert [p.name for p in state.pods_using(app)] == ["a"]
    moved = replace(irsa_pod("a"), service_account="default")
    state.update(KubeChanged(state.generation, [("pods", "MODIFIED", moved), ("pods", "ADDED", irsa_pod("z"))]))
    assert [p.name for p in state.pods_using(app)] == ["z"]
    assert [p.name for p in state.pods_using(default)] == ["a", "p"]
    state.update(KubeChanged(state.generation, [("pods", "DELETED", moved)]))
    assert [p.name for p in state.pods_using(default)] == ["p"] and "uid-a" not in state.chains


@pytest.mark.parametrize("kind", ["MODIFIED", "DELETED"])
def test_a_role_read_again_resolves_the_pods_that_name_it(kind: str) -> None:
    state = loaded(Clock(), [irsa_pod("a"), plain_pod("p")], providers=[PROVIDER])
    plain = state.chains["uid-p"]
    role = Role(ROLE, "app", ACCOUNT, trust("someone-else")) if kind == "MODIFIED" else None
    from irsa_explorer.model import Unavailable

    read = FactsRead(state.now(), FactsWanted(roles=frozenset({ROLE})),
                     roles={ROLE: role or Unavailable("role does not exist: app", None, "not-found")})
    update = state.update(FactsReread(state.generation, read))
    assert update.resolved == {"uid-a"} and state.chains["uid-p"] is plain
    assert state.chains["uid-a"].verdict is Verdict.BROKEN


def test_the_pod_identity_agent_going_away_resolves_the_pods_on_its_node() -> None:
    from irsa_explorer.model import POD_IDENTITY_AGENT_NAMESPACE, AgentPod

    agent = replace(plain_pod("eks-pod-identity-agent-x"), namespace=POD_IDENTITY_AGENT_NAMESPACE,
                    labels={"app.kubernetes.io/name": "eks-pod-identity-agent"})
    state = loaded(Clock(), [plain_pod("on-1"), plain_pod("on-2", node="node-2"), agent])
    state.inventory = replace(state.inventory, pod_identity_agents=(
        AgentPod(agent.name, agent.namespace, "node-1", "Running", "Running"),))
    untouched = state.chains["uid-on-2"]
    update = state.update(KubeChanged(state.generation, [("pods", "DELETED", agent)]))
    assert state.inventory.pod_identity_agents == ()
    assert "uid-on-1" in update.resolved and state.chains["uid-on-2"] is untouched
    # a pod that is no agent leaves the agents alone
    state.update(KubeChanged(state.generation, [("pods", "ADDED", plain_pod("other"))]))
    assert state.inventory.pod_identity_agents == ()


def test_a_failed_read_is_tried_again_after_30_s_and_a_stopped_watch_ages() -> None:
    clock = Clock()
    state = loaded(clock, [irsa_pod("a")])
    shown = state.shown_facts(state.pods["uid-a"])
    clock.advance(31)
    assert state.facts_due(shown)
    assert state.freshness_failed("facts", "", "boom") == "Could not bring the view up to date: boom"
    assert state.facts_reading is None and not state.facts_due(shown)  # not hammered
    clock.advance(30)
    assert state.facts_due(shown)
    said = state.freshness_failed("watch", "pods", "watch pods: HTTP 404 gone")
    assert said == "Watching pods stopped: watch pods: HTTP 404 gone. Press r to reload."
    clock.advance(5)
    assert state.kube_words("pods") == "as of 5s ago (watch lost)" and "press r to reload" in state.status
