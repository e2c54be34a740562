"""The built-in challenges (lessons/builtin/, `kind: challenge`), each on a lab of its own, over
the wire: it does not start complete, and the engine's finding for the starting state is the
code its "what you learned" names; its commands (the panel's `x`) work and change nothing; a
wrong way (done as a trainee would, with boto3 and the kubernetes client) is recognised,
explained, and completes nothing; the challenge's solution — a shell snippet, what `o` shows —
run through the real `aws` and `kubectl` completes it."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from lesson_drive import ISSUER_THUMBPRINT, Trainee

from irsa_explorer.lab.launcher import LabProcess
from irsa_explorer.lessons import Check, Command, LessonRun, builtin_lessons, evaluate, lesson_scenario_file, load_lesson, observe
from irsa_explorer.lessons import all_checks
from irsa_explorer.lessons.commands import run_command
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource

pytestmark = pytest.mark.skipif(not (shutil.which("kubectl") and shutil.which("aws")),
                                reason="a challenge's solution runs through the real kubectl and aws CLIs")

S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


class ChallengeTrainee(Trainee):
    """lesson_drive's trainee, with EC2 too (a node's instance metadata settings)."""

    def __init__(self, lab: LabProcess) -> None:
        super().__init__(lab)
        env = lab.aws_env
        self.ec2 = boto3.client("ec2", endpoint_url=lab.aws_endpoint, region_name=env["AWS_REGION"],
                                aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        self.endpoint, self.region = lab.aws_endpoint, env["AWS_REGION"]

    def iam_of(self, account: str | None):
        """IAM in the lab's account, or in a member account (as its OrganizationAccountAccessRole,
        which is what the lab's `member-ACCOUNT` profile does)."""
        if account is None:
            return self.iam
        creds = self.sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                     RoleSessionName="trainee")["Credentials"]
        return boto3.client("iam", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def looked(run: LessonRun, lab: LabProcess):
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        view = observe(kube, AwsSource.from_env(dict(lab.aws_env)), all_checks(run.lesson), kube.default_cluster_name())
        return run.observed(view), view
    finally:
        kube.close()


def progress(lab: LabProcess) -> dict:
    return json.loads((lab.directory / "progress.json").read_text())


def node_role(trainee: Trainee) -> str:
    roles = [r["RoleName"] for r in trainee.iam.list_roles()["Roles"] if "NodeInstanceRole" in r["RoleName"]]
    assert len(roles) == 1, roles
    return roles[0]


def s3_on_node_role(trainee: Trainee) -> Callable[[], None]:
    """The wrong way every challenge shares: S3 on the node role. Returns its undoing."""
    name = node_role(trainee)
    trainee.iam.attach_role_policy(RoleName=name, PolicyArn=S3_READ)
    return lambda: trainee.iam.detach_role_policy(RoleName=name, PolicyArn=S3_READ)


def open_trust(role: str, how: str, account: str | None = None) -> Callable[[ChallengeTrainee], Callable[[], None]]:
    """A trust opened to every service account: `*` in a StringLike sub, or the conditions deleted."""
    def wrong(trainee: ChallengeTrainee) -> Callable[[], None]:
        iam = trainee.iam_of(account)
        before = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        trust = json.loads(json.dumps(before))
        statement = trust["Statement"][0]
        if account is not None:  # the principal put right (the role's own account's provider), the sub opened
            statement["Principal"]["Federated"] = re.sub(r"::\d+:", f"::{account}:", statement["Principal"]["Federated"])
        if how == "no-condition":
            statement.pop("Condition")
        else:
            keys = dict(next(iter(statement["Condition"].values())))
            sub = next(k for k in keys if k.endswith(":sub"))
            keys[sub] = "system:serviceaccount:*"
            statement["Condition"] = {"StringLike": keys}
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))
        return lambda: iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(before))
    return wrong


# nightly-batch's credentials file (credentials-file-secret): the profile variables, the Secret's volume
BATCH_PROFILE = {"env": [{"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/etc/aws/credentials"}, {"name": "AWS_PROFILE", "value": "batch"}],
                 "volumeMounts": [{"name": "aws-credentials", "mountPath": "/etc/aws", "readOnly": True}],
                 "volumes": [{"name": "aws-credentials", "secret": {"secretName": "batch-aws-credentials"}}]}


def recreated(trainee: Trainee, pod: str, service_account: str, env: list[dict] | None = None, files: dict | None = None) -> None:
    """The pod deleted and made again (a pod's spec cannot be edited), as `kubectl replace --force`
    does: on the node it ran on, by the same scheduler (a Fargate pod stays on its Fargate node)."""
    namespace, name = pod.split("/")
    before = trainee.core.read_namespaced_pod(name, namespace)
    trainee.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    give_up = time.monotonic() + 120  # a hang guard
    while any(p.metadata.name == name for p in trainee.core.list_namespaced_pod(namespace).items):
        assert time.monotonic() < give_up, f"{pod} was never deleted"
        time.sleep(0.2)
    container: dict = {"name": "app", "image": "amazon/aws-cli:latest", "command": ["sleep", "36000"]}
    if env or files:
        container["env"] = [*(env or []), *(files or {}).get("env", [])]
    spec = {"serviceAccountName": service_account, "nodeName": before.spec.node_name,
            "schedulerName": before.spec.scheduler_name, "containers": [container]}
    if files:  # a credentials file a Secret puts in the pod
        container["volumeMounts"], spec["volumes"] = files["volumeMounts"], files["volumes"]
    trainee.core.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": before.metadata.labels}, "spec": spec})


def keys_of_a_new_user(trainee: Trainee) -> tuple[str, str]:
    trainee.iam.create_user(UserName="shortcut")
    key = trainee.iam.create_access_key(UserName="shortcut")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def keys_in_env(pod: str, service_account: str) -> Callable[[Trainee], None]:
    """An IAM user's access keys in the pod's environment. Not undone: the solution remakes the pod."""
    def wrong(trainee: Trainee) -> None:
        key_id, secret = keys_of_a_new_user(trainee)
        recreated(trainee, pod, service_account, [{"name": "AWS_ACCESS_KEY_ID", "value": key_id},
                                                  {"name": "AWS_SECRET_ACCESS_KEY", "value": secret}])
    return wrong


def keys_in_a_secret(pod: str, service_account: str) -> Callable[[Trainee], None]:
    """The keys moved out of the pod spec into a Secret the pod's env reads. Not undone."""
    def wrong(trainee: Trainee) -> None:
        namespace = pod.split("/")[0]
        key_id, secret = keys_of_a_new_user(trainee)
        trainee.core.create_namespaced_secret(namespace, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "aws-keys"},
                                                          "stringData": {"id": key_id, "secret": secret}})
        recreated(trainee, pod, service_account, [
            {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "aws-keys", "key": "id"}}},
            {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "aws-keys", "key": "secret"}}}])
    return wrong


def typo_as_client_id(trainee: Trainee) -> Callable[[], None]:
    """The misspelt audience made one of the OIDC provider's client IDs (the provider made again
    with both: the lab's IAM has no add-client-id-to-open-id-connect-provider)."""
    def provider(client_ids: list[str]) -> None:
        for found in trainee.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            trainee.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=found["Arn"])
        trainee.iam.create_open_id_connect_provider(Url=trainee.issuer(), ClientIDList=client_ids, ThumbprintList=[ISSUER_THUMBPRINT])
    provider(["sts.amazonaws.com", "sts.amazon.com"])
    return lambda: provider(["sts.amazonaws.com"])


def hop_limit_raised(trainee: Trainee) -> Callable[[], None]:
    """The hardened node's IMDS hop limit put back to 2 (what the symptom asks for)."""
    ec2 = trainee.ec2
    instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"] if i.get("PrivateIpAddress") == "192.168.1.169"]
    assert len(instances) == 1 and instances[0]["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    instance = instances[0]["InstanceId"]
    ec2.modify_instance_metadata_options(InstanceId=instance, HttpPutResponseHopLimit=2)
    return lambda: ec2.modify_instance_metadata_options(InstanceId=instance, HttpPutResponseHopLimit=1)


def s3_on_role(role: str) -> Callable[[Trainee], Callable[[], None]]:
    """S3 on a role the pod does not get (the Fargate pod execution role). Returns its undoing."""
    def wrong(trainee: Trainee) -> Callable[[], None]:
        trainee.iam.attach_role_policy(RoleName=role, PolicyArn=S3_READ)
        return lambda: trainee.iam.detach_role_policy(RoleName=role, PolicyArn=S3_READ)
    return wrong


def s3_to_user(user: str, inline: bool = False) -> Callable[[Trainee], Callable[[], None]]:
    """S3 granted to the IAM user whose keys the pod holds: AmazonS3FullAccess attached, or an
    inline policy allowing s3:*. Returns its undoing."""
    def wrong(trainee: Trainee) -> Callable[[], None]:
        if inline:
            document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
            trainee.iam.put_user_policy(UserName=user, PolicyName="batch-S3", PolicyDocument=json.dumps(document))
            return lambda: trainee.iam.delete_user_policy(UserName=user, PolicyName="batch-S3")
        arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
        trainee.iam.attach_user_policy(UserName=user, PolicyArn=arn)
        return lambda: trainee.iam.detach_user_policy(UserName=user, PolicyArn=arn)
    return wrong


def default_sa_annotated(namespace: str, role: str) -> Callable[[Trainee], Callable[[], None]]:
    """The namespace's default service account annotated with a role (`kubectl annotate sa default …`)."""
    def wrong(trainee: Trainee) -> Callable[[], None]:
        account = trainee.sts.get_caller_identity()["Account"]
        annotate = lambda value: trainee.core.patch_namespaced_service_account(  # noqa: E731
            "default", namespace, {"metadata": {"annotations": {"eks.amazonaws.com/role-arn": value}}})
        annotate(f"arn:aws:iam::{account}:role/{role}")
        return lambda: annotate(None)
    return wrong


def own_role_trusting_everyone(service_account: str, role: str) -> Callable[[Trainee], Callable[[], None]]:
    """A service account of its own, annotated with a new role whose trust's sub is
    `system:serviceaccount:*` (StringLike). Undone: the service account and the role deleted."""
    def wrong(trainee: Trainee) -> Callable[[], None]:
        namespace, name = service_account.split("/")
        account = trainee.sts.get_caller_identity()["Account"]
        host = trainee.issuer().removeprefix("https://")
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{host}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {f"{host}:aud": "sts.amazonaws.com", f"{host}:sub": "system:serviceaccount:*"}}}]}
        arn = trainee.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        trainee.core.create_namespaced_service_account(namespace, {
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "annotations": {"eks.amazonaws.com/role-arn": arn}}})

        def undo() -> None:
            trainee.core.delete_namespaced_service_account(name, namespace)
            trainee.iam.delete_role(RoleName=role)
        return undo
    return wrong


def borrowed_service_account(pod: str, service_account: str, own: str, files: dict | None = None,
                             keep_files: bool = False) -> Callable[[Trainee], Callable[[], None]]:
    """The pod made again as another workload's service account (with the credentials file it
    mounted when `keep_files`); undone: made again as `own`, as it was (with `files`)."""
    def wrong(trainee: Trainee) -> Callable[[], None]:
        recreated(trainee, pod, service_account, files=files if keep_files else None)
        return lambda: recreated(trainee, pod, own, files=files)
    return wrong


def remade_with(pod: str, service_account: str, env: list[dict], undo_env: list[dict] | None = None,
                undo_as: str | None = None) -> Callable[[Trainee], Callable[[], None] | None]:
    """The pod made again as `service_account` with `env`; undone (when `undo_env` is given): made
    again as `undo_as` with `undo_env`, as it was."""
    def wrong(trainee: Trainee) -> Callable[[], None] | None:
        recreated(trainee, pod, service_account, env)
        if undo_env is None:
            return None
        return lambda: recreated(trainee, pod, undo_as or service_account, undo_env)
    return wrong


def sts_endpoints(value: str) -> list[dict]:
    return [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": value}]


FARGATE_EXECUTION_ROLE = "eksctl-eks-oidc-demo-cluster-FargatePodExecutionRole-Q3xJ8Tz2"

# pod-identity-agent-missing: the node with the agent, and the tainted batch node without one
AGENT_NODE, BATCH_NODE = "ip-192-168-1-169.us-east-2.compute.internal", "ip-192-168-53-243.us-east-2.compute.internal"
BATCH_TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}


def until(what: str, holds: Callable[[], bool]) -> None:
    give_up = time.monotonic() + 120  # a hang guard
    while not holds():
        assert time.monotonic() < give_up, f"never {what}"
        time.sleep(0.2)


def placed(trainee: Trainee, pod: str, service_account: str, node: str) -> None:
    """The pod deleted and made again on `node` (nodeName), tolerating the batch node's taint, Running."""
    namespace, name = pod.split("/")
    trainee.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    until(f"{pod} deleted", lambda: all(p.metadata.name != name for p in trainee.core.list_namespaced_pod(namespace).items))
    trainee.core.create_namespaced_pod(namespace, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "serviceAccountName": service_account, "nodeName": node, "tolerations": [BATCH_TOLERATION],
        "containers": [{"name": "app", "image": "amazon/aws-cli:latest", "command": ["sleep", "36000"]}]}})
    until(f"{pod} Running", lambda: trainee.core.read_namespaced_pod(name, namespace).status.phase == "Running")


def moved_off_the_node(trainee: Trainee) -> Callable[[], None]:
    """batch-uploader made again on the node that has an agent; undone: back on the batch node."""
    placed(trainee, "default/batch-uploader", "uploader", AGENT_NODE)
    return lambda: placed(trainee, "default/batch-uploader", "uploader", BATCH_NODE)


def agent_by_hand(trainee: Trainee) -> Callable[[], None]:
    """An agent pod made by hand on the batch node (the add-on's labels, image and command): the
    DaemonSet adopts it (its selector matches) but has no pod of its own there. Undone: deleted."""
    agent = trainee.core.read_namespaced_pod("eks-pod-identity-agent-4xk2p", "kube-system")
    container = agent.spec.containers[0]
    trainee.core.create_namespaced_pod("kube-system", {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "pod-identity-agent-batch", "labels": {k: v for k, v in agent.metadata.labels.items() if k.startswith("app.")}},
        "spec": {"nodeName": BATCH_NODE, "hostNetwork": True, "tolerations": [{"operator": "Exists"}],
                 "containers": [{"name": container.name, "image": container.image, "command": container.command,
                                 "args": container.args}]}})
    until("the hand-made agent Running",
          lambda: trainee.core.read_namespaced_pod("pod-identity-agent-batch", "kube-system").status.phase == "Running")

    def undo() -> None:
        trainee.core.delete_namespaced_pod("pod-identity-agent-batch", "kube-system", grace_period_seconds=0)
        until("the hand-made agent deleted", lambda: all(
            p.metadata.name != "pod-identity-agent-batch" for p in trainee.core.list_namespaced_pod("kube-system").items))
    return undo

Wrong = Callable[[Trainee], Callable[[], None] | None]


def named(explained: str, wrong: Wrong) -> tuple[str, Wrong]:
    """A wrong way that must be recognised as the one whose explanation starts `explained` (not
    merely as some wrong way: a challenge's wrong ways are tried in order, the first holding wins)."""
    return explained, wrong


# challenge: (the pod it is about, the wrong ways tried in turn — each done, looked at, undone
# when it returns its undoing; one that is not undone comes last, the solution replaces it)
CHALLENGES: dict[str, tuple[str, list[Wrong | tuple[str, Wrong]]]] = {
    "sub-wrong-namespace": ("payments/checkout", [open_trust("checkout-s3-reader", "wildcard-sub"),
                                                  open_trust("checkout-s3-reader", "no-condition"), s3_on_node_role]),
    "pod-before-annotation": ("default/reports-before", [s3_on_node_role, keys_in_env("default/reports-before", "reports")]),
    "no-oidc-provider": ("default/eks-iam-test3", [s3_on_node_role]),
    "wrong-audience": ("default/audience-typo", [typo_as_client_id, s3_on_node_role]),
    "static-keys": ("default/legacy-uploader", [s3_on_node_role, keys_in_a_secret("default/legacy-uploader", "my-sa")]),
    "pod-identity": ("default/uploader-before", [s3_on_node_role]),
    "pod-identity-no-tag-session": ("default/reporter", [s3_on_node_role]),
    "imds-hop-limit": ("default/hardened-app", [hop_limit_raised, s3_on_node_role]),
    "cross-account-irsa": ("reports/copied-trust", [open_trust("audit-reader", "wildcard-sub", "222233334444")]),
    "credentials-file-secret": ("default/nightly-batch", [
        named("S3 for batch-runner", s3_to_user("batch-runner")),
        named("S3 for batch-runner", s3_to_user("batch-runner", inline=True)),
        named("nightly-batch has IRSA now, but still mounts",
              borrowed_service_account("default/nightly-batch", "my-sa", "default", BATCH_PROFILE, keep_files=True)),
        named("nightly-batch borrowed my-sa", borrowed_service_account("default/nightly-batch", "my-sa", "default", BATCH_PROFILE)),
        named("the namespace's default service account",
              default_sa_annotated("default", "eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO")),
        named("nightly-batch's role trusts", own_role_trusting_everyone("default/nightly-batch", "nightly-batch-s3")),
        named("the user's keys moved", keys_in_env("default/nightly-batch", "default"))]),
    "sts-legacy-endpoint": ("default/legacy-sts", [
        named("AWS_STS_REGIONAL_ENDPOINTS now has a value",
              remade_with("default/legacy-sts", "my-sa", sts_endpoints("true"), undo_env=sts_endpoints("legacy"))),
        named("the warning went because IRSA went", remade_with("default/legacy-sts", "default", []))]),
    "fargate-no-node-role": ("fargate-apps/report-job", [
        named("S3 on the Fargate pod execution role", s3_on_role(FARGATE_EXECUTION_ROLE)),
        named("the namespace's default service account", default_sa_annotated("fargate-apps", "fargate-uploader")),
        named("report-job's role trusts", own_role_trusting_everyone("fargate-apps/report-job", "report-job-s3-reader")),
        named("report-job borrowed uploader's", borrowed_service_account("fargate-apps/report-job", "uploader", "default")),
        named("an IAM user's access keys in report-job", keys_in_env("fargate-apps/report-job", "default"))]),
    "pod-identity-agent-missing": ("default/batch-uploader", [
        named("S3 on the node role changes nothing", s3_on_node_role),
        named("batch-uploader gets its role, but", agent_by_hand),
        named("batch-uploader gets its role, but", moved_off_the_node)]),
}


def test_every_failure_scenario_named_by_the_issue_has_a_challenge() -> None:
    names = set(builtin_lessons())
    named_first = {"pod-before-annotation", "no-oidc-provider", "sub-wrong-namespace", "wrong-audience", "static-keys", "pod-identity"}
    assert named_first <= set(CHALLENGES) <= names
    # and the failure scenarios after them
    assert {"credentials-file-secret", "fargate-no-node-role", "sts-legacy-endpoint", "imds-hop-limit",
            "pod-identity-no-tag-session", "cross-account-irsa", "pod-identity-agent-missing"} <= set(CHALLENGES)
    # and every built-in challenge is tried here
    assert {n for n in names if load_lesson(n).kind == "challenge"} == set(CHALLENGES)
    for name in CHALLENGES:
        lesson = load_lesson(name)
        assert lesson.kind == "challenge" and lesson.symptom and lesson.goal and lesson.wrong_ways
        assert lesson.scenario_path is not None and lesson.scenario_path.stem == name
        assert lesson.scenario_path.parent.name == "scenarios"  # the scenario, never the challenge file itself
        for step in lesson.steps:
            assert len(step.hints) >= 2 and step.solution and re.match(r"[A-Z][A-Z0-9_]+: ", step.learned), step.id


@pytest.mark.parametrize("name", sorted(CHALLENGES))
def test_a_challenge_wrong_ways_are_recognised_and_its_solution_completes_it(name: str, tmp_path: Path, monkeypatch, lab_for) -> None:
    pod, wrong_ways = CHALLENGES[name]
    # the CLIs as on a trainee's fresh machine: the aws CLI keeps assumed-role credentials in
    # ~/.aws/cli/cache by role ARN, and another lab's (a member profile's) would be taken for this one's
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    lesson = load_lesson(name)
    with lab_for.fresh(lesson_scenario_file(lesson, tmp_path), tmp_path) as lab:  # forked by the session's lab host
        run, trainee = LessonRun(lesson, lab.directory), ChallengeTrainee(lab)
        advance, view = looked(run, lab)
        assert not advance and not run.complete and progress(lab)["complete"] is False
        assert all(s.checks and not all(c.passed for c in s.checks) for s in run.progress.steps)
        # "what you learned" names the code the engine gave for the starting state
        code = lesson.steps[-1].learned.split(":")[0]
        found = evaluate(Check("pod", {"name": pod, "finding": code}), view)
        assert found.passed is True, found.why
        # what `x` runs looks at the lab and changes nothing: every command works through the real
        # CLIs (asking a broken pod who it is fails: that is the symptom) and the challenge stays open
        for step in lesson.steps:
            for command in step.commands:
                outcome = run_command(command, lab.directory)
                asks_the_pod = "aws sts get-caller-identity" in command.run
                assert outcome.exit_code is not None and (outcome.exit_code == 0 or asks_the_pod), f"{command.run}\n{outcome.output}"
        assert not looked(run, lab)[0]

        for tried in wrong_ways:
            explained, wrong = tried if isinstance(tried, tuple) else ("", tried)
            undo = wrong(trainee)
            advance, _ = looked(run, lab)
            assert advance.wrong_way and advance.wrong_way.startswith("Wrong way:"), (wrong, run.progress.wrong_way)
            assert advance.wrong_way.startswith(f"Wrong way: {explained}"), (explained, advance.wrong_way)
            assert not advance.done and not run.complete
            assert progress(lab)["wrong_way"] == advance.wrong_way and progress(lab)["complete"] is False
            if undo is not None:
                undo()
                assert looked(run, lab)[0].wrong_way is None and run.progress.wrong_way is None

        for step in lesson.steps:
            outcome = run_command(Command(step.solution), lab.directory)
            assert outcome.exit_code == 0, f"{step.id}: {outcome.output}"
            advance, _ = looked(run, lab)
            assert step.id in advance.done, run.step_progress(step.id).checks
        assert advance.completed and progress(lab)["complete"] is True and progress(lab)["wrong_way"] is None


def test_a_grant_to_a_user_is_read_from_iam_and_a_user_not_read_is_never_passed(lab_for) -> None:
    """user_has_policy (the credentials-file-secret challenge's wrong way) asks the lab's IAM:
    batch-runner's inline policy is there, a user that does not exist has none, and with keys
    IAM does not know the answer is unknown — never passed."""
    lab = lab_for("credentials-file-secret")
    checks = [Check("user_has_policy", {"user": "batch-runner", "policy": "assume-*"}),
              Check("user_has_policy", {"user": "batch-runner", "policy": "*S3*"}),
              Check("user_has_policy", {"user": "nobody-7f3a", "policy": "*"})]
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        view = observe(kube, AwsSource.from_env(dict(lab.aws_env)), checks, kube.default_cluster_name())
        outcomes = [evaluate(c, view) for c in checks]
        assert [o.passed for o in outcomes] == [True, False, False], outcomes
        assert "assume-deployer" in outcomes[0].why and "nobody-7f3a" in outcomes[2].why
        stranger = dict(lab.aws_env, AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY="not-the-lab-s")
        unread = observe(kube, AwsSource.from_env(stranger), checks[:1], kube.default_cluster_name())
        assert evaluate(checks[0], unread).passed is None, evaluate(checks[0], unread)
    finally:
        kube.close()
