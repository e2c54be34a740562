"""Simulated lab containers: the image decides which commands exist; nothing runs on the host.

The Kubernetes side calls `Runtime.run(ctx, argv)` for a container's main process and for
`kubectl exec`. There is no shell: argv[0] names a program the image has, or the call fails
the way the OCI runtime fails (`exec: "X": executable file not found in $PATH`, exit 127).
`aws` is the simulated AWS CLI (lab.runtime.awscli), which finds credentials as the real SDK does
from the container's env and files and talks to the lab's AWS endpoint.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from irsa_explorer.lab.runtime.awscli import AwsCli

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A real `sleep` blocks for as long as it is told; an exec'd one here is bounded so a
# forgotten `kubectl exec … sleep 86400` cannot pin a lab thread forever.
MAX_EXEC_SLEEP_SECONDS = 300.0
# A container whose main process sleeps at least this long is shown Running, not run.
LONG_RUNNING_SECONDS = 5.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class ContainerContext:
    """What a process inside one container of one pod can see."""

    namespace: str
    pod_name: str
    pod_uid: str
    container: str
    image: str
    node_name: str | None
    service_account: str
    env: dict[str, str] = field(default_factory=dict)  # resolved literal env of the container
    files: Mapping[str, str] = field(default_factory=dict)  # path → content, read lazily
    host_network: bool = False  # reaches IMDS one hop closer (matters at hop limit 1)
    pod_identity_agent: bool = True  # an EKS Pod Identity agent pod runs on the node (169.254.170.23 answers)


@dataclass(frozen=True)
class ProcessResult:
    stdout: str
    stderr: str
    exit_code: int


class AwsEndpoints(Protocol):
    """What the runtime needs from the lab's AWS side (AwsLab satisfies it)."""

    @property
    def endpoint_url(self) -> str: ...

    def imds_url(self, node_name: str, *, host_network: bool = False) -> str: ...

    @property
    def pod_identity_agent_url(self) -> str: ...


@dataclass(frozen=True)
class Image:
    entrypoint: tuple[str, ...]
    programs: frozenset[str]


_COREUTILS = frozenset({"cat", "env", "printenv", "id", "sleep", "echo", "true", "false"})
AWS_CLI_IMAGE = Image(("aws",), _COREUTILS | {"aws"})
PLAIN_IMAGE = Image((), _COREUTILS)
# The EKS add-on's agent: its server runs until the pod stops (it is simulated by the lab's AWS
# side, lab/aws/pod_identity.py; the pod itself only has to be there, Running, on its node).
POD_IDENTITY_AGENT_IMAGE = Image(("/go-runner", "/eks-pod-identity-agent", "server"), _COREUTILS)
_DAEMONS = {"go-runner", "eks-pod-identity-agent"}


def image_for(reference: str) -> Image:
    """The simulated image: the AWS CLI images have `aws`, everything else (busybox,
    alpine, …) only the basic tools."""
    name = reference.split("@", 1)[0]
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    if repository.endswith(("amazon/aws-cli", "aws-cli/aws-cli")):
        return AWS_CLI_IMAGE
    if repository.endswith("eks/eks-pod-identity-agent"):
        return POD_IDENTITY_AGENT_IMAGE
    return PLAIN_IMAGE


def sleep_seconds(args: list[str]) -> float | None:
    """`sleep`'s total duration (GNU-style units, several arguments add up), None if invalid."""
    if not args:
        return None
    total = 0.0
    for arg in args:
        if arg == "infinity":
            return float("inf")
        match = _DURATION.match(arg)
        if not match:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return total


class Runtime:
    """Runs simulated commands in lab containers. Thread-safe; `run` blocks (call it from a thread)."""

    def __init__(self, aws: AwsEndpoints, *, clock: Callable[[], float] = time.time) -> None:
        self.aws = aws
        self.awscli = AwsCli(aws, clock=clock)

    def entrypoint(self, image: str) -> list[str]:
        """The image's ENTRYPOINT (amazon/aws-cli → ["aws"], busybox → [])."""
        return list(image_for(image).entrypoint)

    def is_long_running(self, argv: list[str]) -> bool:
        """`sleep N` (N ≥ 5 s or infinity) or the Pod Identity agent's server as the main process:
        the pod just stays Running."""
        if argv and _program(argv[0]) in _DAEMONS:
            return "server" in argv
        if not argv or _program(argv[0]) != "sleep":
            return False
        seconds = sleep_seconds(argv[1:])
        return seconds is not None and seconds >= LONG_RUNNING_SECONDS

    def run(self, ctx: ContainerContext, argv: list[str]) -> ProcessResult:
        """Run argv in the container and return what it printed and its exit code."""
        if not argv:
            return ProcessResult("", "", 0)  # no ENTRYPOINT and no command: exits at once
        program = _program(argv[0])
        if program not in image_for(ctx.image).programs:
            if "/" in argv[0]:
                message = f'exec: "{argv[0]}": stat {argv[0]}: no such file or directory'
            else:
                message = f'exec: "{argv[0]}": executable file not found in $PATH'
            return ProcessResult("", message, 127)
        handler: Callable[[ContainerContext, list[str]], ProcessResult] = getattr(self, f"_{program}")
        return handler(ctx, argv[1:])

    # --- programs -----------------------------------------------------------------------

    def _aws(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        stdout, stderr, code = self.awscli.run(
            ctx.env, ctx.files, ctx.node_name, args, host_network=ctx.host_network,
            pod_identity_agent=ctx.pod_identity_agent,
        )
        return ProcessResult(stdout, stderr, code)

    def _cat(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        out: list[str] = []
        errors: list[str] = []
        for path in args:
            content = _read(ctx.files, path)
            if content is None:
                errors.append(f"cat: {path}: No such file or directory\n")
            else:
                out.append(content)
        return ProcessResult("".join(out), "".join(errors), 1 if errors else 0)

    def _env(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        lines = [f"{name}={value}" for name, value in process_env(ctx).items()]
        return ProcessResult("\n".join(lines) + "\n", "", 0)

    def _printenv(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        env = process_env(ctx)
        if not args:
            return self._env(ctx, [])
        values = [env[name] for name in args if name in env]
        code = 0 if len(values) == len(args) else 1
        return ProcessResult("".join(f"{v}\n" for v in values), "", code)

    def _id(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        # Both simulated images run as root, as amazon/aws-cli and busybox do by default.
        return ProcessResult("uid=0(root) gid=0(root) groups=0(root)\n", "", 0)

    def _sleep(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        seconds = sleep_seconds(args)
        if seconds is None:
            shown = args[0] if args else ""
            message = "sleep: missing operand\n" if not args else f"sleep: invalid time interval '{shown}'\n"
            return ProcessResult("", message, 1)
        time.sleep(min(seconds, MAX_EXEC_SLEEP_SECONDS))
        return ProcessResult("", "", 0)

    def _echo(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        if args[:1] == ["-n"]:
            return ProcessResult(" ".join(args[1:]), "", 0)
        return ProcessResult(" ".join(args) + "\n", "", 0)

    def _true(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        return ProcessResult("", "", 0)

    def _false(self, ctx: ContainerContext, args: list[str]) -> ProcessResult:
        return ProcessResult("", "", 1)


def process_env(ctx: ContainerContext) -> dict[str, str]:
    """The environment the container's process sees: what the runtime adds around the pod's env."""
    env: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": ctx.pod_name}
    env.update(ctx.env)
    env.setdefault("HOME", "/root")
    return env


def _program(arg0: str) -> str:
    return arg0.rsplit("/", 1)[-1]


def _read(files: Mapping[str, str], path: str) -> str | None:
    try:
        return files[path]
    except KeyError:
        return None


__all__ = ["ContainerContext", "ProcessResult", "Runtime", "image_for", "process_env"]
