"""One lab host for the whole class, when the lab has one (`irsa-explorer lab host --socket PATH`,
a fork server: its labs share what they import and start without paying for it again).

The classroom starts it once, beside the server, and hands its socket to every trainee's app in
IRSA_EXPLORER_LAB_HOST, so `lab.launcher.start_lab` asks the host instead of spawning a
`lab serve` of its own. Without a lab host (not in this version, or it did not start) every tab
starts its own `lab serve`, as `learn` does on its own: the classroom works the same, with more
memory and slower labs.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("irsa_explorer.classroom")

START_HANG_GUARD_S = 120.0


def lab_host_available() -> bool:
    """Whether this version's lab has a host (the module `lab host` runs)."""
    return importlib.util.find_spec("irsa_explorer.lab.host") is not None


@dataclass
class LabHost:
    socket: Path
    process: subprocess.Popen

    def stop(self) -> None:
        end_process(self.process)


def end_process(process, grace: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `grace` seconds (the lab host and the app
    zygote end their children first)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def start_lab_host(root: Path, spares: int = 0, scenario: str | None = None) -> LabHost | None:
    """`lab host --socket ROOT/lab-host.sock`, once it says `ready`; None (and why, logged) when
    this version has none or it did not start. Its output is read to the end (a full pipe would
    stall it): what it says of its labs goes to the classroom's log at debug level."""
    if not lab_host_available():
        return None
    socket = root / "lab-host.sock"
    # spares: labs started ahead for the lesson's scenario, each handed to a tab as it opens
    # (learn asks for exactly `--scenario SCENARIO --dir ITS_FOLDER`, which a spare matches)
    ahead = ["--spares", str(spares), "--spare-scenario", scenario] if spares > 0 and scenario else []
    process = subprocess.Popen([sys.executable, "-m", "irsa_explorer", "lab", "host", "--socket", str(socket), *ahead],
                               cwd=root,  # the apps' working folder too: spares are matched on it
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    answered = threading.Event()

    def read_stdout() -> None:
        for line in process.stdout:
            said.append(line)
            if line.strip() == "ready":
                answered.set()
        answered.set()  # ended without `ready`

    def read_stderr() -> None:
        for line in process.stderr:
            said.append(line)
            log.debug("%s", line.rstrip())

    for reader in (read_stdout, read_stderr):
        threading.Thread(target=reader, name=f"lab-host-{reader.__name__}", daemon=True).start()
    answered.wait(START_HANG_GUARD_S)
    if "ready" not in (line.strip() for line in said):
        host = LabHost(socket, process)
        host.stop()
        why = " ".join(" ".join(said).split())[-300:] or "no answer"
        log.warning("the lab host did not start (%s): every tab starts a lab of its own", why)
        return None
    return LabHost(socket, process)
