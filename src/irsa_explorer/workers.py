"""What the app's thread workers do: call the data layer, post the answer as one message.

Run in threads, so nothing here touches a widget (Textual's rule for thread workers): the app
applies each message on its own thread. A failure is raised, and the app's one failure handler
shows it in the pane that asked, found by the worker's name. The data layer is imported when a
worker first runs, after the first screen is drawn.
"""

from __future__ import annotations

import gc
import threading
import weakref
from datetime import datetime
from typing import Callable

from textual.message import Message

from irsa_explorer.messages import (
    AwsChecked,
    ChainsResolved,
    CloudTrailRead,
    FactsReread,
    InventoryStaged,
    KubeChanged,
    LiveChecked,
    PodsPaged,
    PolicyDocumentRead,
    RoleDetails,
    TokenRead,
    WatchSaid,
)
from irsa_explorer.model import IdentityChain, Inventory, Pod, Role, TrailSubject, Unavailable
from irsa_explorer.sources.connect import Sources
from irsa_explorer.sources.reread import FactsWanted

Post = Callable[[Message], object]


def load_inventory(post: Post, generation: int, sources: Sources, cancelled: Callable[[], bool]) -> None:
    """Pods page by page, the Kubernetes stage as a snapshot, then everything with the chains.

    In the loader process (sources/loader.py): its Python work would otherwise share the
    interpreter lock with the event loop, and key presses would wait for it.
    """
    from irsa_explorer.sources.loader import LoadCancelled, load_in_process, spawn

    spawned = spawn()  # first: its start-up overlaps ours (imports, the settings handed over)
    from irsa_explorer.sources.inventory import without_cycle_collection

    def on_pods(pods: list[Pod]) -> None:
        if not cancelled():
            post(PodsPaged(generation, pods))

    def on_stage(stage: str, inventory: Inventory) -> None:
        if stage == "kubernetes" and not cancelled():  # the last one comes with the chains
            post(InventoryStaged(generation, "checking AWS, working out verdicts…", inventory))

    with without_cycle_collection():
        try:
            # No issuer discovery up front when EKS names the issuer: only the token pane needs
            # the JWKS, and `read_token` asks KubeSource.issuer() (cached) for it.
            inventory, chains = load_in_process(
                sources.kube, sources.aws, sources.namespace, sources.cluster_name, on_stage=on_stage,
                discover_issuer=False, on_pods=on_pods, cancelled=cancelled, spawned=spawned,
            )
        except LoadCancelled:
            return
        # What was just built lives as long as the view: out of the collector's sight, or the
        # first collection once it is back on walks it all (a second holding the GIL, and key
        # presses with it). Reference counting still frees it after a reload.
        gc.freeze()
    if not cancelled():
        post(InventoryStaged(generation, "", inventory, chains))


def watch(post: Post, sources: Sources, resource: str, generation: int, inventory: Inventory, stop: threading.Event) -> None:
    """Watch `resource` ("pods", "serviceaccounts", "nodes") from where the load listed it,
    posting each event and what the watch says of itself (lost, up again, forbidden) until
    `stop` is set. Nodes are watched from their current state (their list keeps no version):
    the nodes the inventory has already arrive as no change."""
    known = {"pods": inventory.pods, "serviceaccounts": inventory.service_accounts, "nodes": inventory.nodes}[resource]
    version = inventory.resource_versions.get(resource, "")

    def said(status) -> None:
        if not stop.is_set():
            post(WatchSaid(generation, status))

    for kind, obj in sources.kube.watch(resource, sources.namespace, version, stop, on_status=said,
                                        known=list(known.values()) if version else ()):
        if stop.is_set():
            return
        if not version and kind == "ADDED" and _unchanged(known.get(obj.name), obj):
            continue  # a node the load has, as it was: no change to tell (a lesson would read its lab again)
        post(KubeChanged(generation, [(resource, kind, obj)]))


def _unchanged(before, now) -> bool:
    return before is not None and before == now and before.labels == now.labels


_readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # AwsSource → its FactReader


def read_facts(post: Post, sources: Sources, generation: int, inventory: Inventory, wanted: FactsWanted, at: datetime) -> None:
    """AWS facts read again (sources/reread.py), one call per distinct role; through a
    FactReader kept per AWS source (one `facts` worker runs at a time)."""
    from irsa_explorer.sources.reread import FactReader

    reader = _readers.get(sources.aws)
    if reader is None:
        reader = _readers[sources.aws] = FactReader(sources.aws)
    post(FactsReread(generation, reader.read(inventory, wanted, at, sources.cluster_name)))


def resolve_chains(post: Post, generation: int, inventory: Inventory, uids: set[str]) -> None:
    """Chains worked out again by the engine, too many to do on the UI thread at once."""
    from irsa_explorer.analysis.identity import ChainResolver

    resolver, pods = ChainResolver(inventory), inventory.pods
    post(ChainsResolved(generation, inventory, {uid: resolver.resolve(pods[uid]) for uid in uids if uid in pods}))


def aws_problem(post: Post, sources: Sources) -> None:
    """Why AWS cannot be asked at all, if it cannot (credentials, region, STS's answer)."""
    post(AwsChecked(sources.aws.problem(verify=True)))


def role_details(post: Post, sources: Sources, arn: str, role: Role, inventory: Inventory) -> None:
    """The role's policies (two IAM calls and one per inline policy) and who can assume it
    (the engine, over every service account of the inventory)."""
    from irsa_explorer.analysis.reverse import who_can_assume

    post(RoleDetails(arn, sources.aws.role_policies(arn), who_can_assume(role, inventory)))


def read_token(post: Post, sources: Sources, pod: Pod, which: str, audience: str, jwks: dict | None, at: datetime) -> None:
    from irsa_explorer.sources.livecheck import read_token

    post(TokenRead(pod.uid, read_token(sources.kube, pod, which, audience, jwks=jwks, at=at)))


def who_am_i(post: Post, sources: Sources, pod: Pod, chain: IdentityChain | None) -> None:
    """The pod's chain: its findings explain an error, its effective identity is compared with the answer."""
    from irsa_explorer.sources.livecheck import who_am_i

    post(LiveChecked(pod.uid, who_am_i(
        sources.kube, pod, intended_role_arn=chain.intended_role_arn if chain else None,
        findings=chain.findings if chain else (), expected=chain.effective if chain else None)))


def policy_document(post: Post, sources: Sources, arn: str) -> None:
    post(PolicyDocumentRead(arn, sources.aws.policy_document(arn)))


def cloudtrail_events(post: Post, sources: Sources, subject: TrailSubject, cursor: tuple, page_size: int = 50) -> None:
    """A pod's or role's CloudTrail events (LookupEvents), to the pane that asked. Never raises:
    the pane shows "unknown" with the reason in place."""
    from irsa_explorer.sources.cloudtrail import recent_events

    try:
        result = recent_events(sources.aws, subject, cursor, page_size=page_size)
    except Exception as error:  # the pane must leave "loading" whatever happened
        result = Unavailable(failure_words(error))
    post(CloudTrailRead(subject.key, result, more=bool(cursor)))


def failure_words(error: BaseException | None) -> str:
    """A worker's failure as the user reads it: the data layer's own errors say everything in
    their message ("no answer from https://… in 10 s (list pods, context …)"); an unexpected
    one says so in words, never by its class name."""
    if error is None:
        return "failed"
    from irsa_explorer.sources.kube import ClusterError

    if isinstance(error, ClusterError) and str(error):
        return str(error)
    return f"unexpected failure: {error}" if str(error) else "unexpected failure, with no message"
