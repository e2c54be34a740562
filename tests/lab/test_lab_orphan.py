"""A lab stops when the process that started it is gone — also while that process is a zombie
(a process the OOM killer took keeps its children, parent pid unchanged, until its last thread is
torn down: an xdist worker's labs held 7 GB so)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from irsa_explorer.lab.serve import starter_gone


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


def test_a_starter_that_is_a_zombie_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 60  # hang guard: waits for the exit, not for a time
        while _state(child.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(child.pid) == "Z"  # exited, not reaped: its pid is still its children's parent
        assert starter_gone(str(child.pid), child.pid)
    finally:
        child.wait()


def test_a_live_starter_is_not_gone_and_a_new_parent_means_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert not starter_gone(str(child.pid), child.pid)
        assert starter_gone(str(child.pid), 1)  # re-parented to init
    finally:
        child.stdin.close()
        child.wait()
