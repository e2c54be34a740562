"""`irsa-explorer lab serve`: the simulated EKS cluster and AWS account, for real kubectl and aws.

Starts the Kubernetes API server and the AWS endpoint on 127.0.0.1 (free ports), lets the AWS
side trust the cluster's token issuer, replays the scenario through the real APIs, writes
DIR/kubeconfig and DIR/aws.env, prints how to use them and a line `ready`, then serves until
Ctrl-C or SIGTERM. Everything it started stops with it.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import secrets
import shlex
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from irsa_explorer.lab.launcher import STOP_WITH_PARENT_ENV
from irsa_explorer.lab.scenario import Scenario, ScenarioApplyError, ScenarioError, apply_scenario, load_scenario
from irsa_explorer.lab.spec import LabCluster

KUBE_SERVICE = "kube"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


class OptionError(ValueError):
    """A --latency/--throttle/--scale value that cannot be used."""


# --- options ---------------------------------------------------------------------------------


def parse_latency(text: str | None) -> dict[str, float]:
    """`kube=40ms,iam=120ms,sts=0.06s` → {"kube": 0.04, "iam": 0.12, "sts": 0.06} (seconds)."""
    result: dict[str, float] = {}
    for service, value in _pairs(text, "--latency", "kube=40ms,iam=120ms"):
        match = _DURATION.match(value)
        if not match:
            raise OptionError(f"--latency {service}={value}: write a duration like 40ms or 0.2s")
        amount = float(match.group(1))
        seconds = amount / 1000 if match.group(2) in (None, "ms") else amount
        if seconds > MAX_LATENCY_S:
            raise OptionError(f"--latency {service}={value}: at most {MAX_LATENCY_S:g}s (0 to {MAX_LATENCY_S:g}s)")
        result[service] = seconds
    return result


MAX_LATENCY_S = 60.0  # an answer slower than this is a hang, which the lab does not simulate
THROTTLE_RANGE = (0.01, 100_000.0)  # requests per second


def parse_throttle(text: str | None) -> dict[str, float]:
    """`iam=20,sts=50` → requests per second each service accepts before Throttling."""
    result: dict[str, float] = {}
    for service, value in _pairs(text, "--throttle", "iam=20"):
        try:
            rate = float(value.removesuffix("/s"))
        except ValueError:
            raise OptionError(f"--throttle {service}={value}: write requests per second, e.g. iam=20") from None
        low, high = THROTTLE_RANGE
        if not low <= rate <= high:  # also nan and inf, which compare false either way
            raise OptionError(f"--throttle {service}={value}: the rate must be between {low:g} and {high:g} requests per second")
        result[service] = rate
    return result


def _pairs(text: str | None, option: str, example: str) -> Iterator[tuple[str, str]]:
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        service, sep, value = part.partition("=")
        if not sep or not service.strip() or not value.strip():
            raise OptionError(f"{option} {part!r}: write service=value pairs, e.g. {example}")
        yield service.strip().lower(), value.strip()


def check_options(args: argparse.Namespace) -> None:
    """--latency, --throttle and --scale checked (OptionError: one line with the allowed range)."""
    parse_latency(getattr(args, "latency", None))
    parse_throttle(getattr(args, "throttle", None))
    _parse_scale(getattr(args, "scale", None))


def _parse_scale(text: str | None):
    """`--scale pods=N,…` → lab.scale.ScaleSpec, or None without the option."""
    if not text:
        return None
    from irsa_explorer.lab.scale import parse_scale

    try:
        return parse_scale(text)
    except ValueError as problem:
        raise OptionError(str(problem)) from None


def eksctl_context(cluster: LabCluster, user: str = "lab") -> str:
    """The context name eksctl writes: USER@CLUSTER.REGION.eksctl.io (tools parse the cluster from it)."""
    return f"{user}@{cluster.name}.{cluster.region}.eksctl.io"


# --- the running lab ---------------------------------------------------------------------------


@dataclass
class RunningLab:
    """Both servers of one lab, with the scenario applied."""

    scenario: Scenario
    kube: Any  # KubeApiServer
    aws: Any  # AwsLab
    variables: dict[str, str] = field(default_factory=dict)
    ready_seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per start-up phase
    # The scenario's `users:` → their bearer tokens (kept in memory; written only into DIR/kubeconfig).
    user_tokens: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def cluster(self) -> LabCluster:
        return self.scenario.cluster

    @property
    def context(self) -> str:
        return eksctl_context(self.cluster)

    def user_context(self, user: str) -> str:
        """The kubeconfig context of one of the scenario's `users:`, e.g. dev@CLUSTER.REGION.eksctl.io."""
        return eksctl_context(self.cluster, user)

    def kubeconfig_document(self) -> dict[str, Any]:
        """The admin's kubeconfig (current context) plus one context per scenario user.

        A namespace-limited user's context names its first namespace, as a real restricted
        kubeconfig would: kubectl and the explorer then start there."""
        document = self.kube.kubeconfig(self.context, user=self.context)
        for user in self.scenario.users:
            context = self.user_context(user.name)
            document["users"].append({"name": context, "user": {"token": self.user_tokens[user.name]}})
            settings: dict[str, str] = {"cluster": self.context, "user": context}
            if user.namespaces:
                settings["namespace"] = user.namespaces[0]
            document["contexts"].append({"name": context, "context": settings})
        return document

    def write_files(self, directory: Path) -> tuple[Path, Path]:
        """DIR/kubeconfig and DIR/aws.env (+ empty AWS config files), readable by the owner only."""
        directory.mkdir(parents=True, exist_ok=True)
        kubeconfig = directory / "kubeconfig"
        _write_private(kubeconfig, yaml.safe_dump(self.kubeconfig_document(), sort_keys=False))
        config, credentials = directory / "aws-config", directory / "aws-credentials"
        for empty in (config, credentials):
            _write_private(empty, "")
        key, secret = self.aws.admin_credentials
        env = {
            "AWS_ENDPOINT_URL": self.aws.endpoint_url,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": self.cluster.region,
            "AWS_REGION": self.cluster.region,
            # Files of the lab's own: a user's real profiles and SSO sessions cannot leak into the lab.
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        }
        if self.aws.member_accounts:
            env["IRSA_EXPLORER_ACCOUNT_PROFILES"] = self._write_member_profiles(config, credentials)
        aws_env = directory / "aws.env"
        lines = ["# source this file: the aws CLI and boto3 then talk to the lab's AWS account"]
        lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
        _write_private(aws_env, "\n".join(lines) + "\n")
        return kubeconfig, aws_env


    def _write_member_profiles(self, config: Path, credentials: Path) -> str:
        """A profile per member account, as an organization's users write them: `member-ACCOUNT`
        assumes the account's OrganizationAccountAccessRole with the admin's keys (profile
        `lab`). Returns the explorer's `--account-profile` mapping for them."""
        from irsa_explorer.lab.aws.server import MEMBER_ACCESS_ROLE

        key, secret = self.aws.admin_credentials
        _write_private(credentials, f"[lab]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
        sections, mapping = [], []
        # The aws CLI caches an assumed role's keys in ~/.aws/cli/cache by the profile's role
        # settings: a session name of this lab's own keeps another lab's cached (and, for this
        # lab, invalid) keys from being used within the hour.
        session = f"lab-{secrets.token_hex(4)}"
        for account in self.aws.member_accounts:
            sections.append(
                f"[profile member-{account}]\nrole_arn = arn:aws:iam::{account}:role/{MEMBER_ACCESS_ROLE}\n"
                f"role_session_name = {session}\n"
                f"source_profile = lab\nregion = {self.cluster.region}\nendpoint_url = {self.aws.endpoint_url}\n"
            )
            mapping.append(f"{account}=member-{account}")
        _write_private(config, "\n".join(sections))
        return ",".join(mapping)


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (the kubeconfig and aws.env hold lab credentials)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def kube_api_client(kube: Any, directory: Path):
    """A kubernetes ApiClient for the lab's API server, as its admin (for applying scenarios)."""
    from kubernetes.client import ApiClient, Configuration

    ca = directory / "ca.crt"  # the client reads the CA from a file; a CA certificate is public
    ca.write_bytes(kube.ca_pem)
    config = Configuration(host=kube.url)
    config.ssl_ca_cert = str(ca)
    config.api_key = {"authorization": kube.admin_token}
    config.api_key_prefix = {"authorization": "Bearer"}
    return ApiClient(config)


def aws_session(aws: Any):
    """A boto3 Session holding the lab admin's keys (nothing read from the environment)."""
    import boto3

    from irsa_explorer.lab.scenario import botocore_session

    key, secret = aws.admin_credentials
    return boto3.Session(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=aws.region,
        botocore_session=botocore_session(),
    )


def member_session(aws: Any, account: str):
    """A boto3 Session acting in another account of the lab: the account is added (with its
    OrganizationAccountAccessRole) and the admin assumes that role over the wire."""
    import boto3

    role = aws.add_account(account)
    sts = aws_session(aws).client("sts", endpoint_url=aws.endpoint_url)
    creds = sts.assume_role(RoleArn=role, RoleSessionName="lab-scenario")["Credentials"]
    # A botocore session of its own: the shared one holds the admin's credentials.
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=aws.region)


@contextlib.contextmanager
def run_lab(
    scenario: Scenario,
    *,
    latency: dict[str, float] | None = None,
    throttle: dict[str, float] | None = None,
    work_dir: Path | None = None,
    log: TextIO | None = None,
    seed: int | None = None,
) -> Iterator[RunningLab]:
    """Start both servers, trust the issuer, apply the scenario; stop everything on exit.

    One lab per process (moto keeps its state in process-wide backends). `work_dir` receives
    the API server's ca.crt (a temporary folder when None); `log` gets one line per step;
    `seed`: the same ids on every run (lab/determinism.py).
    """
    from irsa_explorer.lab.aws.server import AwsLab
    from irsa_explorer.lab.kube.server import KubeApiServer
    from irsa_explorer.lab.runtime.containers import Runtime
    from irsa_explorer.lab.tokens import TokenSigner

    began = time.monotonic()
    phases: dict[str, float] = {}
    mark = [began]

    def phase(name: str) -> None:
        now = time.monotonic()
        phases[name] = now - mark[0]
        mark[0] = now

    latency = dict(latency or {})
    kube_latency = latency.pop(KUBE_SERVICE, 0.0)
    cluster = scenario.cluster
    signer = TokenSigner(cluster.issuer)
    # Set-up is not traffic: the scenario is applied at full speed, and the injected latency
    # and throttling (and fresh request counters) start when the lab is ready.
    if seed is not None:
        from irsa_explorer.lab.determinism import seed_ids

        seed_ids(seed)
    aws = AwsLab(cluster)
    with contextlib.ExitStack() as stack:
        aws.start()
        stack.callback(aws.stop)
        # AWS would fetch the keys from the issuer's discovery URL; the lab hands them over.
        aws.register_issuer(cluster.issuer, signer.jwks())
        phase("aws")
        runtime = Runtime(aws)
        kube = KubeApiServer(cluster, runtime, signer, pod_identity_lookup=aws.pod_identity_role)
        kube.start_in_thread()
        stack.callback(kube.stop_in_thread)
        scratch = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="irsa-lab-apply-")))
        client = stack.enter_context(kube_api_client(kube, scratch))
        phase("kube")

        def announce(step) -> None:
            if log is not None:
                print(f"  {step.describe()}", file=log, flush=True)

        variables = apply_scenario(scenario, client, aws_session(aws), endpoint_url=aws.endpoint_url, on_step=announce,
                                   open_account=lambda account: member_session(aws, account))
        _register_nodes(client, aws)
        user_tokens = {
            user.name: kube.add_user(
                user.name,
                namespaces=list(user.namespaces) if user.namespaces is not None else None,
                write=user.write,
                cluster_read=list(user.cluster_read),
            )
            for user in scenario.users
        }
        aws.traffic.latency.update(latency)
        aws.traffic.throttle.update(throttle or {})
        kube.latency_s = kube_latency
        aws.reset_counters()
        kube.reset_counters()
        phase("scenario")
        yield RunningLab(scenario, kube, aws, variables, ready_seconds=time.monotonic() - began, phases=phases,
                         user_tokens=user_tokens)


def _register_nodes(api_client: Any, aws: Any) -> None:
    """Tell IMDS which EC2 instance backs each node (from the node's providerID)."""
    from kubernetes.client import CoreV1Api

    listing = json.loads(CoreV1Api(api_client).list_node(_preload_content=False).data)
    for node in listing.get("items", []):
        provider_id = node.get("spec", {}).get("providerID") or ""
        instance = provider_id.rsplit("/", 1)[-1]
        if provider_id.startswith("aws://") and instance.startswith("i-"):
            aws.register_node(node["metadata"]["name"], instance)


# --- the command -------------------------------------------------------------------------------


class _StoppedDuringStart(BaseException):  # like KeyboardInterrupt: through `except Exception`
    """A stop signal arrived while the lab was still starting."""


def _orphaned() -> bool:
    """True when started by launcher.start_lab and that process has died."""
    starter = os.environ.get(STOP_WITH_PARENT_ENV)
    return bool(starter) and starter_gone(starter, os.getppid())


def starter_gone(starter: str, parent: int) -> bool:
    """Whether the starter (a pid) is gone for a lab whose parent is `parent`: we were
    re-parented, or it is a zombie still — a process the OOM killer took keeps its children until
    its last thread is torn down (an xdist worker's 20 labs held 7 GB so, parent pid unchanged)."""
    if str(parent) != starter:
        return True
    try:
        stat = Path(f"/proc/{starter}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux): re-parenting alone tells
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def _usage(lab: RunningLab, directory: Path, kubeconfig: Path, aws_env: Path) -> str:
    return "\n".join(
        [
            f"lab: scenario {lab.scenario.name!r} — cluster {lab.cluster.name} in {lab.cluster.region}, account {lab.cluster.account}",
            f"kube: {lab.kube.url}",
            f"aws: {lab.aws.endpoint_url}",
            f"context: {lab.context}",
            *(f"user context: {lab.user_context(u.name)} ({_user_summary(u)})" for u in lab.scenario.users),
            *(f"member account: {a} (aws --profile member-{a} …; the explorer reads it through that profile)"
              for a in lab.aws.member_accounts),
            f"dir: {directory}",
            "",
            "Use it from another shell:",
            f"  export KUBECONFIG={shlex.quote(str(kubeconfig))}",
            f"  source {shlex.quote(str(aws_env))}",
            "  kubectl get pods -A",
            "  aws sts get-caller-identity",
            "  kubectl exec POD -- aws sts get-caller-identity   # who that pod really is",
            "  irsa-explorer        # the explorer on this lab",
            "Stop with Ctrl-C.",
            f"started in {lab.ready_seconds:.2f}s ("
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in lab.phases.items())
            # CPU time since the process began, imports included: the wall time of an idle machine.
            + f"); {time.process_time():.2f}s CPU in all",
        ]
    )


def _user_summary(user: Any) -> str:
    """`reads default`, `reads and writes everything`, `reads default; lists namespaces` …"""
    verbs = "reads and writes" if user.write else "reads"
    text = f"{verbs} {', '.join(user.namespaces) if user.namespaces else 'everything'}"
    return text + "".join(f"; lists {resource}" for resource in user.cluster_read)


def main(args: argparse.Namespace) -> int:
    """Entry point of `irsa-explorer lab serve` (cli.py parses the options)."""
    # Start-up builds a large heap (moto's AWS-managed policies, service models): collecting it
    # over and over while it grows costs seconds and none of it is garbage. So no collection
    # until ready; then what exists is frozen, and at exit (everything stopped and removed) the
    # interpreter is spared a full collection of it too (seconds on a busy machine).
    gc.disable()
    try:
        return _serve(args, sys.stdout, sys.stderr)
    finally:
        gc.freeze()
        gc.enable()


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        latency = parse_latency(getattr(args, "latency", None))
        throttle = parse_throttle(getattr(args, "throttle", None))
        scale = _parse_scale(getattr(args, "scale", None))
        scenario = load_scenario(args.scenario or "walkthrough")
    except (OptionError, ScenarioError) as problem:
        print(f"lab serve: {problem}", file=err)
        return 2

    stop = threading.Event()
    serving = threading.Event()

    def on_stop_signal(*_: object) -> None:
        stop.set()
        if not serving.is_set():
            raise _StoppedDuringStart  # abandon start-up at once; the servers are stopped on the way out

    # Ctrl-C, SIGTERM, or the terminal closing: stop cleanly (ports freed, temporary folder removed).
    stopping = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, on_stop_signal) for sig in stopping}
    owned = None
    if getattr(args, "dir", None):
        directory = Path(args.dir).expanduser().resolve()
    else:
        owned = tempfile.TemporaryDirectory(prefix="irsa-lab-")
        directory = Path(owned.name)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        print(f"starting the lab (scenario {scenario.name})…", file=err, flush=True)
        seed = getattr(args, "seed", None)
        with run_lab(scenario, latency=latency, throttle=throttle, work_dir=directory, seed=seed) as lab:
            if scale is not None:
                from irsa_explorer.lab.scale import generate

                # The large cluster is added next to the scenario's objects (lab/scale.py).
                # seeded: one request at a time, so each node gets the same instance id every run
                workers = 1 if seed is not None else 8
                print(generate(scale, kube_server=lab.kube, aws_lab=lab.aws, workers=workers).summary(), file=out)
            if getattr(args, "claim", None) is not None:  # a lab host's spare (lab/host.py): started, it waits
                directory = args.claim(directory)  # for a trainee; their folder and output from then on
            kubeconfig, aws_env = lab.write_files(directory)
            print(_usage(lab, directory, kubeconfig, aws_env), file=out)
            serving.set()
            print("ready", file=out, flush=True)
            gc.freeze()
            gc.enable()
            while not stop.wait(0.5):
                if _orphaned():
                    print("the process that started the lab is gone", file=err, flush=True)
                    break
            print("stopping the lab", file=err, flush=True)
        return 0
    except ScenarioApplyError as problem:
        print(f"lab serve: the scenario could not be applied: {problem}", file=err)
        return 1
    except _StoppedDuringStart:
        print("lab serve: stopped before it was ready", file=err)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if owned is not None:
            owned.cleanup()
