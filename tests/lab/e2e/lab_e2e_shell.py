"""Run real kubectl and aws CLI commands against a lab, as a trainee would in a shell."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from irsa_explorer.lab.launcher import LabProcess


WANTED_KUBECTL = "1.32"


@functools.cache
def kubectl_dir() -> str | None:
    """A folder whose `kubectl` is the v1.32 client, to put first on PATH.

    IRSA_LAB_KUBECTL names a binary explicitly. Otherwise, when `kubectl` is Google Cloud SDK's
    dispatcher (it runs `kubectl.<server minor>` next to itself, i.e. 1.27 for the walkthrough's
    1.27 cluster), its `kubectl.1.32` sibling is used, so the tests drive the client the lab
    was built against. None: use `kubectl` from PATH as it is.
    """
    chosen = os.environ.get("IRSA_LAB_KUBECTL")
    if not chosen:
        found = shutil.which("kubectl")
        sibling = Path(os.path.realpath(found)).with_name(f"kubectl.{WANTED_KUBECTL}") if found else None
        chosen = str(sibling) if sibling and sibling.is_file() else None
    if not chosen:
        return None
    folder = Path(tempfile.mkdtemp(prefix="lab-kubectl-"))
    atexit.register(shutil.rmtree, folder, True)  # one per test process; leave no folder behind
    (folder / "kubectl").symlink_to(chosen)
    return str(folder)


def shell(
    lab: LabProcess,
    script: str,
    *,
    check: bool = True,
    timeout: float = 60,
    stdin: str | None = None,
    pinned_kubectl: bool = True,
) -> subprocess.CompletedProcess:
    """`bash -c script` with KUBECONFIG and aws.env of the lab, a fresh HOME (so a fresh kubectl
    cache dir and no ~/.aws), and none of the caller's AWS_* variables. `pinned_kubectl=False`
    runs whatever `kubectl` PATH finds (e.g. a version dispatcher)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(lab.aws_env)
    env["KUBECONFIG"] = str(lab.kubeconfig)
    home = lab.directory / "home"
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    env["KUBECACHEDIR"] = str(home / "kube-cache")
    if pinned_kubectl and kubectl_dir():
        env["PATH"] = kubectl_dir() + os.pathsep + env.get("PATH", "")
    done = subprocess.run(
        ["bash", "-c", script], env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{script!r} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done


def kubectl_json(lab: LabProcess, args: str) -> dict:
    return json.loads(shell(lab, f"kubectl {args} -o json").stdout)


def wait_for_phase(lab: LabProcess, pod: str, phases: tuple[str, ...], namespace: str = "default", timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        obj = kubectl_json(lab, f"get pod {pod} -n {namespace}")
        if obj.get("status", {}).get("phase") in phases:
            return obj
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {namespace}/{pod} is {obj.get('status', {}).get('phase')}, not {phases}")
        time.sleep(0.2)


def caller_identity(lab: LabProcess, pod: str, namespace: str = "default", check: bool = True) -> subprocess.CompletedProcess:
    """`kubectl exec POD -- aws sts get-caller-identity` (the pod's own view of who it is)."""
    return shell(lab, f"kubectl exec -n {namespace} {pod} -- aws sts get-caller-identity", check=check)
