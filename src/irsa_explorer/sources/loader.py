"""`load_and_resolve` in a process of its own, for a front end that must stay responsive.

Why a process: loading 10,000 pods is about a second of Python work (JSON, pod conversion, the
analysis, botocore) spread over the load, and in one process it shares the interpreter lock
with the TUI's event loop: key presses waited for it (up to ~250 ms, bench/README.md). In a
process of its own it runs on the other core, and the front end only unpickles what arrives.

The loader process reads the cluster and the account as the parent does, from the parent's
resolved settings (`KubeSource.handover`, `AwsSource.handover`): an exec plugin's token and
resolved AWS credentials travel through the pipe, in memory, never to disk, and the process
runs no plugin or SSO flow of its own. It sends typed events (`LoaderEvent`): each pod page as
it arrives, each stage, the chains in chunks (so no single unpickle holds the lock for long),
then the rest.

`spawn` starts the process before its job is ready: its interpreter and imports (~0.35 s)
overlap whatever the caller does meanwhile (the parent resolving the settings it hands over).

No Textual here: the TUI calls `load_in_process` from a worker thread.
"""

from __future__ import annotations

import collections
import os
import pickle
import select
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from typing import IO, Any, Callable

from irsa_explorer.sources.error_words import in_words
from irsa_explorer.sources.kube import ClusterError, KubeSource
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.model import IdentityChain, Inventory, Pod

CHAINS_PER_MESSAGE = 500  # each chunk unpickles in a few milliseconds


# --- what the loader process says, in order, on its pipe ---------------------------------------
# One pickled event at a time. Both ends use these classes from this module (the child runs
# `main` through an import of it, so they pickle as `irsa_explorer.sources.loader.…`).


@dataclass(frozen=True)
class PodPage:
    """One page of pods, as soon as it is converted."""

    pods: list[Pod] = field(repr=False)


@dataclass(frozen=True)
class StageDone:
    """A loading stage is done ("kubernetes", "aws"): the inventory so far, without its pods
    (the parent has them from the pages)."""

    name: str
    inventory: Inventory = field(repr=False)


@dataclass(frozen=True)
class ChainChunk:
    """A chunk of the chains, by pod uid."""

    chains: list[tuple[str, IdentityChain]] = field(repr=False)


@dataclass(frozen=True)
class Loaded:
    """The end: the inventory without its pods — None when it is the last stage's, which the
    parent has already (it always is, from `load_and_resolve`: sending it again cost ~25 ms
    in each process at the end of the load, and a second copy in the parent) — and the pods'
    uids in the inventory's order (a list restarted after its continue token expired sends
    pages twice)."""

    inventory: Inventory | None = field(repr=False)
    order: list[str] = field(repr=False)


@dataclass(frozen=True)
class LoadFailed:
    """The load raised this; the parent raises it again in its own thread."""

    error: BaseException


LoaderEvent = PodPage | StageDone | ChainChunk | Loaded | LoadFailed


class LoadCancelled(Exception):
    """The caller cancelled the load; the loader process was stopped."""


@dataclass
class Spawned:
    """A loader process started ahead of its job (`spawn`), for `load_in_process`."""

    process: subprocess.Popen
    answers: int  # the read end of the pipe it answers on
    said: collections.deque[str]  # the last lines of its stderr, read as they come


def spawn() -> Spawned:
    """Start a loader process now; it gets ready (interpreter, imports) and waits for its job.

    A plain `python -m` child (not multiprocessing, which re-runs the parent's main script in
    the child): the job goes in on stdin, answers come back on a pipe of their own, so nothing
    a library prints can get into them; its stderr is kept for when it fails. Stopped by
    `load_in_process` in any case; one never used ends when its stdin closes."""
    answers, child_end = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "irsa_explorer.sources.loader", str(child_end)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(child_end,),
    )
    os.close(child_end)
    # what the child says on stderr (warnings, a crash): read as it comes, so a chatty library
    # can never fill the pipe and stall the child; the last lines explain a failure
    said: collections.deque[str] = collections.deque(maxlen=20)
    threading.Thread(target=_collect, args=(process.stderr, said), name="loader-stderr", daemon=True).start()
    return Spawned(process, answers, said)


def load_in_process(
    kube: KubeSource,
    aws: AwsSource,
    namespace: str | None,
    cluster_name: str | None = None,
    on_stage: Callable[[str, Inventory], None] | None = None,
    discover_issuer: bool = True,
    on_pods: Callable[[list[Pod]], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    spawned: Spawned | None = None,
) -> tuple[Inventory, dict[str, IdentityChain]]:
    """What `inventory.load_and_resolve` returns, worked out in a child process (`spawned`,
    else one started now).

    The callbacks run in the calling thread; `on_stage` gets each stage's inventory with the
    pods paged in so far. Raises what the load raised (ClusterError when the cluster cannot
    be asked), or LoadCancelled once `cancelled()` says so.
    """
    spawned = spawned or spawn()
    process, said = spawned.process, spawned.said
    reader = os.fdopen(spawned.answers, "rb")
    pods: dict[str, Pod] = {}
    chains: dict[str, IdentityChain] = {}
    staged: Inventory | None = None  # the last stage's inventory (without pods)
    try:
        job = {
            "kube": kube.handover(),
            "aws": aws.handover(),
            "namespace": namespace,
            "cluster_name": cluster_name,
            "discover_issuer": discover_issuer,
        }
        assert process.stdin is not None
        pickle.dump(job, process.stdin)
        process.stdin.close()
        while True:
            if cancelled():
                raise LoadCancelled()
            if not select.select([reader], [], [], 0.1)[0]:
                continue
            try:
                event: LoaderEvent = pickle.load(reader)
            except (EOFError, pickle.UnpicklingError):  # the child died, mid-message or before
                process.wait(5)
                last = f": {said[-1]}" if said else ""
                raise ClusterError(
                    f"the loader process ended without an answer (exit code {process.returncode}){last}"
                ) from None
            match event:
                case PodPage(page):
                    for pod in page:
                        pods[pod.uid] = pod
                    if on_pods is not None:
                        on_pods(page)
                case StageDone(name, inventory):
                    staged = inventory
                    if on_stage is not None:
                        on_stage(name, replace(inventory, pods=dict(pods)))
                case ChainChunk(chunk):
                    chains.update(chunk)
                case Loaded(inventory, order):
                    final = inventory if inventory is not None else staged
                    assert final is not None, "the loader process ended on no inventory"
                    return replace(final, pods={uid: pods[uid] for uid in order}), chains
                case LoadFailed(error):
                    raise error
    finally:
        reader.close()
        if process.poll() is None:
            process.kill()
        process.wait(5)


def _collect(stream: IO[bytes] | None, lines: collections.deque[str]) -> None:
    if stream is None:
        return
    with stream:
        for line in stream:
            text = line.decode(errors="replace").strip()
            if text:
                lines.append(text)


def _run(job: dict[str, Any], out: IO[bytes]) -> None:
    """The loader process: load, resolve and send everything."""
    from irsa_explorer.sources.inventory import load_and_resolve, without_cycle_collection  # imported by main

    lock = threading.Lock()  # pages come from the converting thread, stages from others

    def send(event: LoaderEvent) -> None:
        with lock:
            pickle.dump(event, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()

    def without_pods(inventory: Inventory) -> Inventory:
        return replace(inventory, pods={})  # the parent has them from the pages

    staged: list[Inventory] = []  # the last stage's inventory, as load_and_resolve gave it

    def on_stage(name: str, inventory: Inventory) -> None:
        staged[:] = [inventory]
        send(StageDone(name, without_pods(inventory)))

    try:
        kube = KubeSource(**job["kube"])
        aws = AwsSource(**job["aws"])
        with without_cycle_collection():
            inventory, chains = load_and_resolve(
                kube, aws, job["namespace"], job["cluster_name"],
                on_stage=on_stage,
                discover_issuer=job["discover_issuer"],
                on_pods=lambda pods: send(PodPage(pods)),
            )
            items = list(chains.items())
            for start in range(0, len(items), CHAINS_PER_MESSAGE):
                send(ChainChunk(items[start:start + CHAINS_PER_MESSAGE]))
            last_stage = staged[0] if staged else None
            send(Loaded(None if last_stage is inventory else without_pods(inventory), list(inventory.pods)))
    except BaseException as error:  # said to the parent, which raises it in its own thread
        send(LoadFailed(_portable(error)))


def _portable(error: BaseException) -> BaseException:
    """The error itself when it survives pickling, else a ClusterError with its words."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return ClusterError(f"loading failed: {in_words(error)}")


def main(argv: list[str]) -> int:
    """`python -m irsa_explorer.sources.loader FD`: the job on stdin, the answers on FD."""
    from irsa_explorer import logfile

    logfile.configure()  # the parent's log file (--debug, IRSA_EXPLORER_LOG), never the terminal
    import irsa_explorer.sources.inventory  # noqa: F401 — ready before the job comes (`spawn`)

    try:
        job = pickle.load(sys.stdin.buffer)
    except EOFError:  # spawned, then not needed: the parent closed our stdin
        return 0
    with os.fdopen(int(argv[0]), "wb") as out:
        _run(job, out)
    return 0


if __name__ == "__main__":
    # Through the module's own name, not as `__main__`: the events must pickle as classes
    # the parent can find (`irsa_explorer.sources.loader.PodPage`, not `__main__.PodPage`).
    from irsa_explorer.sources.loader import main as loader_main

    sys.exit(loader_main(sys.argv[1:]))
