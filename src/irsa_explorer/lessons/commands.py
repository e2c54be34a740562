"""Running a step's commands for the trainee (the panel's `x`): the real `kubectl` and `aws`,
through bash, against the lesson's lab — as if typed after `export KUBECONFIG=D/kubeconfig`
and `source D/aws.env`, in D (where a command's `trust.json` lands).

For a trainee with no shell of their own (the browser classroom). Nothing is simulated here:
without kubectl or aws installed the command is not run and the panel says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from irsa_explorer.lab.launcher import read_aws_env

from .format import Command

TOOLS = ("kubectl", "aws")
OUTPUT_LIMIT = 6000  # characters of output kept per command (the panel shows the end)


@dataclass(frozen=True)
class CommandOutcome:
    command: Command
    exit_code: int | None  # None: not run
    output: str  # stdout and stderr together, as a terminal shows them; or why not run


def lab_environment(directory: Path) -> dict[str, str]:
    """The caller's environment with the lab's kubeconfig and AWS settings, and none of the
    caller's own AWS_* (a profile or region of theirs must not reach the lab)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "KUBECONFIG"}
    env.update(read_aws_env(Path(directory) / "aws.env"))
    env["KUBECONFIG"] = str(Path(directory) / "kubeconfig")
    return env


def missing_tools(command: Command) -> list[str]:
    """The tools a command uses that are not installed here."""
    return [tool for tool in TOOLS if re.search(rf"(^|[\s|;&(`$]){tool}\s", command.run) and shutil.which(tool) is None]


def run_command(command: Command, directory: Path, timeout: float = 120.0) -> CommandOutcome:
    """Run one command with bash in `directory` against the lab. Blocking: call it from a thread."""
    missing = missing_tools(command)
    if missing:
        return CommandOutcome(command, None, f"{' and '.join(missing)} not installed here: type the command in a shell "
                                             "that has it (the two lines above point it at this lab)")
    bash = shutil.which("bash")
    if bash is None:
        return CommandOutcome(command, None, "bash is not installed here")
    try:
        done = subprocess.run([bash, "-c", command.run], cwd=directory, env=lab_environment(directory),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout if isinstance(expired.stdout, str) else (expired.stdout or b"").decode("utf-8", "replace")
        return CommandOutcome(command, None, _tail(out + f"\n(stopped after {timeout:g}s)"))
    return CommandOutcome(command, done.returncode, _tail(done.stdout))


def _tail(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else "…" + text[-OUTPUT_LIMIT:]
