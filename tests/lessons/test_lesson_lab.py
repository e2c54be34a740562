"""The walkthrough lesson on a lab of its own, over the wire: driven step by step with boto3 and
the kubernetes client (as a trainee's aws and kubectl), and with the lesson's own commands run
through the real `kubectl` and `aws` (the panel's `x`). The checks read the lab through the
explorer's sources and engine (`lessons.observe`); progress.json follows."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from lesson_drive import Trainee

from irsa_explorer.lab.launcher import LabProcess
from irsa_explorer.lessons import LessonRun, all_checks, lesson_scenario_file, load_lesson, observe
from irsa_explorer.lessons.commands import run_command
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource


@pytest.fixture
def fresh_lab(tmp_path: Path, lab_for) -> Iterator[LabProcess]:
    """A lab of this test's own, as `learn` starts it: the lesson's scenario, files in the lesson's folder."""
    lesson = load_lesson("walkthrough")
    with lab_for.fresh(lesson_scenario_file(lesson, tmp_path), tmp_path) as lab:
        yield lab


def looked(run: LessonRun, lab: LabProcess):
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        return run.observed(observe(kube, AwsSource.from_env(dict(lab.aws_env)), all_checks(run.lesson), kube.default_cluster_name()))
    finally:
        kube.close()


def progress(lab: LabProcess) -> dict:
    return json.loads((lab.directory / "progress.json").read_text())


def test_the_walkthrough_advances_step_by_step_as_a_trainee_does_it(fresh_lab: LabProcess) -> None:
    lab, trainee = fresh_lab, Trainee(fresh_lab)
    run = LessonRun(load_lesson("walkthrough"), lab.directory)
    assert progress(lab)["current"] == "node-role" and progress(lab)["complete"] is False

    advance = looked(run, lab)
    assert not advance and run.progress.current == "node-role"
    assert run.progress.steps[0].checks[0].passed is False
    assert run.progress.steps[0].checks[0].why == "pod default/eks-iam-test1 does not exist"

    trainee.pod("eks-iam-test1", args=["s3", "ls"])
    trainee.wait_phase("eks-iam-test1", ("Failed", "Succeeded"))
    trainee.pod("eks-iam-test2")
    trainee.wait_phase("eks-iam-test2", ("Running",))
    assert looked(run, lab).done == ("node-role", "default-token")
    assert "NodeInstanceRole" in run.progress.steps[0].checks[0].why

    trainee.oidc_provider()
    assert looked(run, lab).done == ("oidc-provider",)
    assert progress(lab)["current"] == "iam-service-account"

    # the role and the annotation first: the step is not done without its policy
    arn = trainee.role_for("default", "my-sa", "my-sa-role")
    trainee.service_account("my-sa", arn)
    assert not looked(run, lab).done
    checks = {c.check.split(" ")[0]: c for c in run.step_progress("iam-service-account").checks}
    assert checks["service_account_annotated"].passed and checks["role_trusts"].passed
    assert checks["role_has_policy"].passed is False and "not AmazonS3ReadOnlyAccess" in checks["role_has_policy"].why
    trainee.attach_s3_read("my-sa-role")
    assert looked(run, lab).done == ("iam-service-account",)

    trainee.pod("eks-iam-test3", service_account="my-sa")
    trainee.wait_phase("eks-iam-test3", ("Running",))
    advance = looked(run, lab)
    assert advance.done == ("irsa-pod",) and advance.completed

    saved = progress(lab)
    assert saved["lesson"] == "walkthrough" and saved["complete"] is True and saved["current"] is None
    assert [s["done"] for s in saved["steps"]] == [True] * 5 and all(s["done_at"] for s in saved["steps"])
    assert saved["steps"][-1]["checks"][0]["why"] == "pod default/eks-iam-test3: Running, gets my-sa-role, irsa, ok"


def test_a_role_that_trusts_another_service_account_keeps_the_step_open(fresh_lab: LabProcess) -> None:
    lab, trainee = fresh_lab, Trainee(fresh_lab)
    run = LessonRun(load_lesson("walkthrough"), None)
    trainee.oidc_provider()
    arn = trainee.role_for("payments", "my-sa", "wrong-sub-role")  # sub for payments/my-sa
    trainee.attach_s3_read("wrong-sub-role")
    trainee.service_account("my-sa", arn)
    looked(run, lab)
    trusts = next(c for c in run.step_progress("iam-service-account").checks if c.check.startswith("role_trusts"))
    assert trusts.passed is False and "does not accept default/my-sa" in trusts.why
    trainee.pod("eks-iam-test3", service_account="my-sa")
    trainee.wait_phase("eks-iam-test3", ("Running",))
    looked(run, lab)
    pod = run.step_progress("irsa-pod").checks[0]
    # the engine's effective identity, in its words: the trust refuses the token
    assert pod.passed is False and pod.why == "pod default/eks-iam-test3 gets no credentials, not the role its service account names (wrong-sub-role)"
    assert not run.step_progress("irsa-pod").done


@pytest.mark.skipif(not (shutil.which("kubectl") and shutil.which("aws")), reason="needs the real kubectl and aws CLIs")
def test_the_lesson_s_own_commands_complete_it_with_the_real_clis(fresh_lab: LabProcess) -> None:
    """What `x` runs, and what the panel tells a trainee to type: the real CLIs against the lab."""
    lab = fresh_lab
    run = LessonRun(load_lesson("walkthrough"), lab.directory)
    for step in run.lesson.steps:
        for command in step.commands:
            outcome = run_command(command, lab.directory)
            assert outcome.exit_code == 0, f"{step.id}: {command.run}\n{outcome.output}"
        advance = looked(run, lab)
        assert step.id in advance.done, f"{step.id}: {run.step_progress(step.id).checks}"
    assert progress(lab)["complete"] is True
    said = {c.command.run: c.output for c in [run_command(run.lesson.steps[-1].commands[-1], lab.directory)]}
    assert "assumed-role/my-sa-role/" in next(iter(said.values()))


def test_the_documented_challenge_sees_the_wrong_fix_and_the_right_one(tmp_path: Path, lab_for) -> None:
    """docs/lessons.md's challenge on sub-wrong-namespace: S3 on the node role is recognised and
    explained (and does not complete it); a trust that accepts payments/my-sa does."""
    import re

    from irsa_explorer.lessons import parse_lesson

    docs = (Path(__file__).resolve().parents[2] / "docs" / "lessons.md").read_text()
    lesson = parse_lesson(re.findall(r"```yaml\n(.*?)```", docs, re.S)[1], source="docs/lessons.md challenge")
    with lab_for.fresh(lesson_scenario_file(lesson, tmp_path), tmp_path) as lab:
        run, trainee = LessonRun(lesson, lab.directory), Trainee(lab)
        assert not looked(run, lab) and run.progress.steps[0].checks[0].why == "pod payments/checkout's verdict is broken, not ok"

        node_role = "eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
        trainee.iam.attach_role_policy(RoleName=node_role, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        advance = looked(run, lab)
        assert advance.wrong_way and advance.wrong_way.startswith("S3 on the node role") and not advance.done
        assert progress(lab)["wrong_way"] == advance.wrong_way
        trainee.iam.detach_role_policy(RoleName=node_role, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")

        trust = trainee.iam.get_role(RoleName="checkout-s3-reader")["Role"]["AssumeRolePolicyDocument"]
        text = json.dumps(trust).replace("system:serviceaccount:default:my-sa", "system:serviceaccount:payments:my-sa")
        trainee.iam.update_assume_role_policy(RoleName="checkout-s3-reader", PolicyDocument=text)
        advance = looked(run, lab)
        assert advance.done == ("fixed",) and advance.completed and progress(lab)["wrong_way"] is None
