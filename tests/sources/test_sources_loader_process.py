"""The loader process (loader_process.load_in_process) against the walkthrough lab: the same
inventory and chains as loading in-process, errors and cancellation said in the parent, and the
parent's resolved credentials used as they are (an exec plugin runs once, not once per process)."""

from __future__ import annotations

import dataclasses
import stat
import time
from pathlib import Path

import pytest
import yaml

from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import ClusterError, KubeSource
from irsa_explorer.sources.inventory import load_and_resolve
from irsa_explorer.sources.loader import LoadCancelled, load_in_process, spawn


def sources(lab, kubeconfig: Path | None = None) -> tuple[KubeSource, AwsSource]:
    return KubeSource(kubeconfig=str(kubeconfig or lab.kubeconfig)), AwsSource.from_env(dict(lab.aws_env))


def test_the_same_inventory_and_chains_as_loading_in_process(lab):
    kube, aws = sources(lab)
    try:
        pages, stages, staged = [], [], []

        def on_stage(name, inv):
            stages.append((name, len(inv.service_accounts)))
            staged.append(inv)

        inventory, chains = load_in_process(
            kube, aws, None, kube.default_cluster_name(), discover_issuer=False,
            on_pods=pages.append, on_stage=on_stage,
        )
        here, here_chains = load_and_resolve(kube, aws, None, kube.default_cluster_name(), discover_issuer=False)
    finally:
        kube.close()
    assert list(inventory.pods) == list(here.pods) and inventory.pods == here.pods
    assert inventory.service_accounts == here.service_accounts and inventory.roles == here.roles
    assert chains == here_chains
    names = {pod.name: chains[uid].verdict.value for uid, pod in inventory.pods.items()}
    assert names["eks-iam-test3"] == "ok" and names["eks-iam-test1"] == "broken"  # ended in Error as the node role
    # the pages and the stages reached the caller, pods first
    assert [p.uid for page in pages for p in page] == list(inventory.pods)
    assert [name for name, _ in stages] == ["kubernetes", "aws"] and stages[0][1] > 0
    # each stage is an inventory of its own, with the pods paged in by then; none can be edited
    assert staged[0] is not staged[1] is not inventory and staged[0].pods == inventory.pods
    with pytest.raises(dataclasses.FrozenInstanceError):
        inventory.pods = {}  # type: ignore[misc]


def test_a_process_spawned_ahead_of_its_job_loads_it_and_one_never_used_ends(lab):
    """The TUI starts the loader process before it hands over the settings (its start-up then
    overlaps the parent's); one whose job never comes exits when its stdin is closed."""
    kube, aws = sources(lab)
    spawned = spawn()
    try:
        inventory, chains = load_in_process(kube, aws, None, kube.default_cluster_name(), discover_issuer=False,
                                            spawned=spawned)
    finally:
        kube.close()
    assert len(chains) == len(inventory.pods) >= 3
    assert spawned.process.returncode is not None  # stopped once the load was in
    unused = spawn()
    assert unused.process.stdin is not None
    unused.process.stdin.close()
    assert unused.process.wait(60) == 0  # a generous hang guard


def test_a_cluster_that_cannot_be_asked_is_a_cluster_error_in_the_caller(lab, tmp_path):
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "not-a-lab-token"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    kube, aws = sources(lab, kubeconfig)
    try:
        with pytest.raises(ClusterError) as refused:
            load_in_process(kube, aws, None, kube.default_cluster_name(), discover_issuer=False)
    finally:
        kube.close()
    assert "401" in str(refused.value) or "Unauthorized" in str(refused.value)


def test_cancelling_stops_the_loader_process(lab):
    kube, aws = sources(lab)
    began = time.monotonic()
    try:
        with pytest.raises(LoadCancelled):
            load_in_process(kube, aws, None, kube.default_cluster_name(), cancelled=lambda: True)
    finally:
        kube.close()
    assert time.monotonic() - began < 60  # did not hang on the child


def test_an_exec_plugin_runs_once_the_loader_process_uses_its_token(lab, tmp_path):
    """kubeconfigs for EKS get their token from `aws eks get-token`: the loader process must use
    the token the explorer already has, not run the plugin (a second or more) again."""
    config = yaml.safe_load(lab.kubeconfig.read_text())
    token = config["users"][0]["user"].pop("token")
    runs = tmp_path / "runs"
    plugin = tmp_path / "get-token"
    plugin.write_text(
        "#!/bin/sh\n"
        f"echo run >> {runs}\n"
        'echo \'{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", '
        f'"status": {{"token": "{token}"}}}}\'\n'
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    config["users"][0]["user"]["exec"] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin), "args": [],
        "interactiveMode": "Never",
    }
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    kube, aws = sources(lab, kubeconfig)
    try:
        assert not runs.exists()  # reading the kubeconfig runs no plugin: the first request does
        inventory, chains = load_in_process(kube, aws, None, kube.default_cluster_name(), discover_issuer=False)
        assert len(kube.list_pods("default").items) >= 3  # this process goes on with the same token
    finally:
        kube.close()
    assert len(inventory.pods) >= 3 and len(chains) == len(inventory.pods)
    assert runs.read_text().count("run") == 1


PREFORKED = r"""
import json, os, sys, threading
from pathlib import Path
from irsa_explorer.sources import loader
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.inventory import load_and_resolve
from irsa_explorer.sources.kube import KubeSource

assert loader.prefork() and not loader.prefork()  # one loader forked ahead, and only one
# --debug given after the fork (cli sets these for child processes): the job carries them
os.environ["IRSA_EXPLORER_LOG"], os.environ["IRSA_EXPLORER_DEBUG"] = sys.argv[3], "1"
spawned = loader.spawn()  # takes it: no interpreter started
forked = spawned.process
kube = KubeSource(kubeconfig=sys.argv[1])
aws = AwsSource.from_env(json.loads(sys.argv[2]))
inventory, chains = loader.load_in_process(kube, aws, None, kube.default_cluster_name(), discover_issuer=False,
                                           spawned=spawned)
here, here_chains = load_and_resolve(kube, aws, None, kube.default_cluster_name(), discover_issuer=False)
again = loader.spawn()  # the next load's loader: a fresh interpreter, as without prefork
started = Path(f"/proc/{again.process.pid}/cmdline").read_bytes().split(b"\0")
again.process.stdin.close()
# prefork with a thread running: refused (a fork would copy locks other threads hold)
stop = threading.Event()
threading.Thread(target=stop.wait).start()
refused = not loader.prefork()
stop.set()
print(json.dumps({
    "forked_pid": forked.pid, "forked_exit": forked.returncode, "is_forked": type(forked).__name__,
    "same": {"pods": list(inventory.pods) == list(here.pods) and inventory.pods == here.pods,
             "service_accounts": inventory.service_accounts == here.service_accounts,
             "roles": inventory.roles == here.roles, "chains": chains == here_chains},
    "pods": len(inventory.pods), "verdicts": {p.name: chains[u].verdict.value for u, p in inventory.pods.items()},
    "next_is_fresh": b"irsa_explorer.sources.loader" in started, "next_exit": again.process.wait(60),
    "refused_with_a_thread": refused,
    "logged_by_the_forked_loader": f" {forked.pid} " in Path(sys.argv[3]).read_text(),
}))
"""


def test_a_loader_forked_ahead_loads_as_a_fresh_one_and_is_taken_once(lab, tmp_path):
    """The classroom's apps (forked by the app zygote) take a loader forked before they run
    (`prefork`) instead of starting an interpreter: the same inventory and chains; the next
    load starts a fresh one; no fork while another thread runs. In a process of its own: pytest's
    has threads, and prefork refuses to fork there."""
    import json
    import subprocess
    import sys

    log = tmp_path / "debug.log"
    ran = subprocess.run([sys.executable, "-c", PREFORKED, str(lab.kubeconfig), json.dumps(dict(lab.aws_env)), str(log)],
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    said = json.loads(ran.stdout.strip().splitlines()[-1])
    assert said["is_forked"] == "ForkedLoader" and said["forked_exit"] is not None  # waited for, not left a zombie
    assert all(said["same"].values()), said["same"]
    assert said["pods"] >= 3
    assert said["verdicts"]["eks-iam-test3"] == "ok" and said["verdicts"]["eks-iam-test1"] == "broken"
    assert said["next_is_fresh"] and said["next_exit"] == 0
    assert said["refused_with_a_thread"]
    assert said["logged_by_the_forked_loader"]  # to the log named after it was forked
    assert dict(lab.aws_env)["AWS_SECRET_ACCESS_KEY"] not in log.read_text()


def test_a_loader_forked_ahead_and_never_used_ends_with_its_parent(tmp_path):
    """An app that ends before its first load (the tab closed while the lab started) leaves no loader."""
    import subprocess
    import sys

    script = ("from irsa_explorer.sources import loader; import irsa_explorer.sources.inventory; "
              "assert loader.prefork(); print(loader._preforked[0][0].pid, flush=True)")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    pid = int(ran.stdout.split()[0])

    def ended() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state == "Z"  # ended, not yet reaped by whoever it was handed to

    give_up = time.monotonic() + 60  # a hang guard
    while not ended():
        assert time.monotonic() < give_up, f"the loader forked ahead ({pid}) outlived its parent"
        time.sleep(0.05)
