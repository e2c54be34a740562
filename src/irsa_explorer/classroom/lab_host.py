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
import time
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
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_lab_host(root: Path) -> LabHost | None:
    """`lab host --socket ROOT/lab-host.sock`, once its socket is there; None (and why, logged)
    when this version has none or it did not start."""
    if not lab_host_available():
        return None
    socket = root / "lab-host.sock"
    process = subprocess.Popen([sys.executable, "-m", "irsa_explorer", "lab", "host", "--socket", str(socket)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    give_up = time.monotonic() + START_HANG_GUARD_S
    while not socket.exists():
        if process.poll() is not None or time.monotonic() > give_up:
            said = (process.stderr.read() if process.poll() is not None else "") or "no socket"
            LabHost(socket, process).stop()
            log.warning("the lab host did not start (%s): every tab starts a lab of its own",
                        " ".join(said.split())[:300])
            return None
        time.sleep(0.1)
    return LabHost(socket, process)
