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
In the classroom, where thirty apps load at once on two cores, even that is too much: each app
there is forked by the app zygote, which calls `prefork` in the app before it runs — a fork of
an interpreter that has everything imported already (~1 s of CPU less per app) — and the app's
first `spawn` takes that process.

No Textual here: the TUI calls `load_in_process` from a worker thread.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import IO, Any, Callable

from irsa_explorer import logfile
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

    process: subprocess.Popen | ForkedLoader
    answers: int  # the read end of the pipe it answers on
    said: collections.deque[str]  # the last lines of its stderr, read as they come


class ForkedLoader:
    """A loader forked by `prefork`, seen as `load_in_process` sees a Popen: stdin, stderr,
    poll(), wait(timeout), kill(), returncode. It is this process's child: waited for here."""

    def __init__(self, pid: int, stdin: IO[bytes], stderr: IO[bytes]) -> None:
        self.pid, self.stdin, self.stderr = pid, stdin, stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        give_up = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if give_up is not None and time.monotonic() > give_up:
                raise subprocess.TimeoutExpired(f"loader {self.pid}", timeout or 0)
            time.sleep(0.01)
        return self.returncode  # type: ignore[return-value]

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)


_preforked: list[tuple[ForkedLoader, int]] = []  # `prefork`'s loader and its answers' pipe, for the first `spawn`


def prefork() -> bool:
    """Fork a loader now, for this process's first `spawn` to take (the classroom's app zygote
    calls it in each app it forks, before the app runs).

    Only from a single-threaded process that has imported the sources (irsa_explorer.sources.
    inventory): a fork copies one thread, and a lock another thread held stays held for ever
    in the child. Returns False (nothing forked) when another thread runs. The loader waits
    for its job with this process's environment as it is now; one never used ends when its
    stdin closes (this process ended or did not need it)."""
    if threading.active_count() > 1 or _preforked:
        return False
    fds: list[int] = []
    try:
        for _ in range(3):
            fds.extend(os.pipe())
        pid = os.fork()
    except OSError:  # no fds or processes left: the first load starts a fresh loader, as elsewhere
        for fd in fds:
            os.close(fd)
        return False
    job_r, job_w, answers, child_end, said_r, said_w = fds
    if pid == 0:  # the loader: its job on fd 0, stderr to the parent, nothing of the parent's screen
        code = 1
        try:
            for fd in (job_w, answers, said_r):
                os.close(fd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            for target, fd in ((0, job_r), (1, devnull), (2, said_w)):
                os.dup2(fd, target)
            for fd in (job_r, devnull, said_w):
                os.close(fd)
            gc.enable()  # as a fresh interpreter's (the zygote kept it off while importing)
            code = _serve(os.fdopen(0, "rb", closefd=False), child_end)
        except BaseException:  # noqa: BLE001 - said on stderr, the parent reads it
            with contextlib.suppress(Exception):
                import traceback

                traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os._exit(code)
    for fd in (job_r, child_end, said_w):
        os.close(fd)
    _preforked.append((ForkedLoader(pid, os.fdopen(job_w, "wb"), os.fdopen(said_r, "rb")), answers))
    return True


def spawn() -> Spawned:
    """Start a loader process now; it gets ready (interpreter, imports) and waits for its job.

    A plain `python -m` child (not multiprocessing, which re-runs the parent's main script in
    the child): the job goes in on stdin, answers come back on a pipe of their own, so nothing
    a library prints can get into them; its stderr is kept for when it fails. Stopped by
    `load_in_process` in any case; one never used ends when its stdin closes.

    The loader `prefork` made, when there is one: it is taken once, by the first call."""
    said: collections.deque[str] = collections.deque(maxlen=20)
    if _preforked:
        forked, answers = _preforked.pop()
        threading.Thread(target=_collect, args=(forked.stderr, said), name="loader-stderr", daemon=True).start()
        return Spawned(forked, answers, said)
    answers, child_end = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "irsa_explorer.sources.loader", str(child_end)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(child_end,),
    )
    os.close(child_end)
    # what the child says on stderr (warnings, a crash): read as it comes, so a chatty library
    # can never fill the pipe and stall the child; the last lines explain a failure
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
            # where the log goes: a loader forked ahead (`prefork`) has the environment of then
            "log_env": {name: os.environ[name] for name in (logfile.LOG_ENV, logfile.DEBUG_ENV) if name in os.environ},
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
    import irsa_explorer.sources.inventory  # noqa: F401 — ready before the job comes (`spawn`)

    return _serve(sys.stdin.buffer, int(argv[0]))


def _serve(jobs: IO[bytes], answers: int) -> int:
    """The job from `jobs`, the answers on the fd `answers` (a fresh loader's and a forked one's)."""
    try:
        job = pickle.load(jobs)
    except EOFError:  # spawned, then not needed: the parent closed our stdin
        return 0
    os.environ.update(job.get("log_env", {}))
    logfile.configure()  # the parent's log file (--debug, IRSA_EXPLORER_LOG), never the terminal
    with os.fdopen(answers, "wb") as out:
        _run(job, out)
    return 0


if __name__ == "__main__":
    # Through the module's own name, not as `__main__`: the events must pickle as classes
    # the parent can find (`irsa_explorer.sources.loader.PodPage`, not `__main__.PodPage`).
    from irsa_explorer.sources.loader import main as loader_main

    sys.exit(loader_main(sys.argv[1:]))
