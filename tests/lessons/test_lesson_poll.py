"""The lesson's quiet poll (learn.py, lessons/observe.last_writes): every couple of seconds it
asks the lab's CloudTrail event history for the newest write of each account and reads the lab
whole only when that moved. Over the wire against a lab of its own: a trainee's IAM write
through boto3 advances the step by that poll; with nothing written the polls ask the history
and nothing else (counted in the lab's own event history: no full read went out); with keys
that may not read the history, every poll reads the lab whole, as before, and the lesson still
advances; a write in a member account is seen in that account's history. The safety net (a
full read every FULL_EVERY polls) is off (`lesson_full_every = None`) but where it is tested,
so nothing but the poll's own path can see an AWS change."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from lesson_drive import Trainee

from irsa_explorer.app import IrsaExplorerApp
from irsa_explorer.lab.launcher import LabProcess, start_lab
from irsa_explorer.learn import learn_app_class
from irsa_explorer.lessons import lesson_scenario_file, load_lesson
from irsa_explorer.lessons.observe import last_writes
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.connect import Sources
from irsa_explorer.sources.kube import KubeSource

SIZE = (160, 48)
FULL_READ_CALL = "ListOpenIDConnectProviders"  # every full read (load_and_resolve) makes it once


@pytest.fixture
def fresh_lab(tmp_path: Path) -> Iterator[LabProcess]:
    with start_lab(lesson_scenario_file(load_lesson("walkthrough"), tmp_path), tmp_path) as lab:
        yield lab


def learn_app(lab: LabProcess, aws_env: dict[str, str] | None = None, lesson: str = "walkthrough"):
    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    sources = Sources(kube, AwsSource.from_env(dict(aws_env or lab.aws_env)), None, kube.default_cluster_name(), kube.close)
    app = learn_app_class(IrsaExplorerApp)(sources=sources, lesson=load_lesson(lesson), directory=lab.directory,
                                           stale_after=None)
    app.lesson_full_every = None  # no safety-net read: only the poll's path sees AWS
    return app


async def until(pilot, condition, what: str, hang_guard: float = 120) -> None:
    """Let the app work until `condition()` holds; the guard only stops a hang (no timing target)."""
    deadline = time.monotonic() + hang_guard
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await pilot.pause(0.1)


def cloudtrail(lab: LabProcess):
    env = lab.aws_env
    return boto3.client("cloudtrail", endpoint_url=lab.aws_endpoint, region_name=env["AWS_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def calls(lab: LabProcess, name: str) -> int:
    """How many `name` calls the lab's account history holds (LookupEvents by EventName)."""
    pages = cloudtrail(lab).get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
    return sum(len(page["Events"]) for page in pages)


def polls_asked(lab: LabProcess) -> int:
    """The LookupEvents calls that asked for the newest write (last_writes'), not this test's own."""
    pages = cloudtrail(lab).get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "LookupEvents"}])
    asked = [json.loads(e["CloudTrailEvent"]).get("requestParameters") or {} for page in pages for e in page["Events"]]
    return sum(1 for parameters in asked if '"ReadOnly"' in json.dumps(parameters))


def explorer_loaded(app) -> bool:
    """The explorer's load is in and nothing but the watches and the lesson's looks still runs."""
    return app.state.inventory is not None and not [
        w for w in app.workers if w.group not in ("watch", "lesson", "lesson-run") and not w.is_finished]


async def quiet(pilot, app) -> None:
    """Until the explorer's own load is in (it reads the OIDC providers too, and its last stages
    make the lesson look again, a change — on a busy machine after the first polls) and a poll
    after it was answered by the history alone: from then on only a write makes the lesson read."""
    await until(pilot, lambda: app.lesson_run.observations > 0 and explorer_loaded(app), "the first reads")
    seen = app.lesson_reads["history"]
    await until(pilot, lambda: app.lesson_reads["history"] > seen, "a poll answered by the history after them")


def oidc_step_done(app) -> bool:
    return app.lesson_run.step_progress("oidc-provider").done


async def test_an_iam_write_advances_the_step_by_the_quiet_poll(fresh_lab: LabProcess) -> None:
    lab = fresh_lab
    app = learn_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await quiet(pilot, app)
        assert not oidc_step_done(app)
        full_reads = app.lesson_run.observations

        await asyncio.to_thread(Trainee(lab).oidc_provider)  # `aws iam create-open-id-connect-provider`
        await until(pilot, lambda: oidc_step_done(app), "the OIDC provider step done")
        assert app.lesson_advanced_by == "write"  # the poll saw a new write event, and read the lab
        assert app.lesson_reads["write"] >= 1 and app.lesson_reads["unread"] == 0
        assert app.lesson_run.observations > full_reads


async def test_with_nothing_written_the_poll_asks_the_history_only(fresh_lab: LabProcess) -> None:
    lab = fresh_lab
    app = learn_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await quiet(pilot, app)
        reads = dict(app.lesson_reads)
        observations = app.lesson_run.observations
        full_calls, polled = calls(lab, FULL_READ_CALL), polls_asked(lab)

        await until(pilot, lambda: app.lesson_reads["history"] >= reads["history"] + 5, "five more quiet polls")
        after = dict(app.lesson_reads)
        assert after.get("write", 0) == reads.get("write", 0) and after.get("unread", 0) == 0, after
        assert app.lesson_run.observations == observations, (reads, after)  # the checks were not decided again
        # on the wire: the polls asked the lab's history, and no full read went out
        assert polls_asked(lab) >= polled + 5
        assert calls(lab, FULL_READ_CALL) == full_calls, "a full read of the lab while nothing was written"

        app.lesson_full_every = 2  # the safety net on: every other poll reads the lab whole regardless
        await until(pilot, lambda: app.lesson_reads["fallback"] >= 2, "two safety-net reads")
        assert calls(lab, FULL_READ_CALL) >= full_calls + 2


async def test_without_the_history_every_poll_reads_the_lab_whole(fresh_lab: LabProcess) -> None:
    """Keys that may read IAM, EKS and EC2 but not CloudTrail: LookupEvents is refused, so each
    poll reads the lab whole (today's behaviour) — the lesson never stops advancing."""
    lab = fresh_lab
    admin = Trainee(lab).iam
    admin.create_user(UserName="no-history")
    admin.put_user_policy(UserName="no-history", PolicyName="read-but-not-cloudtrail", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["iam:*", "eks:*", "ec2:*", "sts:*"], "Resource": "*"}]}))
    key = admin.create_access_key(UserName="no-history")["AccessKey"]
    env = dict(lab.aws_env, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    assert last_writes(AwsSource.from_env(dict(env))) is None  # refused: no history to go by
    assert last_writes(AwsSource.from_env(dict(lab.aws_env))) is not None

    app = learn_app(lab, env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.lesson_reads["unread"] >= 2, "polls that read the lab whole")
        assert app.lesson_reads["history"] == 0 and app.lesson_reads["write"] == 0
        await asyncio.to_thread(Trainee(lab).oidc_provider)
        await until(pilot, lambda: oidc_step_done(app), "the OIDC provider step done")
        assert app.lesson_advanced_by == "unread"


async def test_a_write_in_a_member_account_advances_the_challenge(tmp_path: Path) -> None:
    """The cross-account-irsa challenge is fixed in member account 222233334444 (as its
    OrganizationAccountAccessRole, what the lab's member profile does): that write is in the
    member account's history, not the cluster account's — the poll asks both."""
    lesson = load_lesson("cross-account-irsa")
    with start_lab(lesson_scenario_file(lesson, tmp_path), tmp_path) as lab:
        app = learn_app(lab, lesson="cross-account-irsa")
        async with app.run_test(size=SIZE) as pilot:
            await quiet(pilot, app)
            assert not app.lesson_run.complete
            source = AwsSource.from_env(dict(lab.aws_env))
            before = await asyncio.to_thread(last_writes, source)
            assert before is not None and len(before) == 2  # the cluster account's, then the member's

            def fix() -> None:
                trainee = Trainee(lab)
                env = lab.aws_env
                creds = trainee.sts.assume_role(RoleArn="arn:aws:iam::222233334444:role/OrganizationAccountAccessRole",
                                                RoleSessionName="trainee")["Credentials"]
                member = boto3.client("iam", endpoint_url=lab.aws_endpoint, region_name=env["AWS_REGION"],
                                      aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                      aws_session_token=creds["SessionToken"])
                host = trainee.issuer().removeprefix("https://")
                member.update_assume_role_policy(RoleName="audit-reader", PolicyDocument=json.dumps({
                    "Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::222233334444:oidc-provider/{host}"},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringEquals": {f"{host}:aud": "sts.amazonaws.com",
                                                       f"{host}:sub": "system:serviceaccount:reports:auditor"}}}]}))

            await asyncio.to_thread(fix)
            after = await asyncio.to_thread(last_writes, source)
            assert after is not None and after[0] == before[0] and after[1] != before[1]  # only the member's moved
            await until(pilot, lambda: app.lesson_run.complete, "the challenge complete")
            assert app.lesson_advanced_by == "write"
