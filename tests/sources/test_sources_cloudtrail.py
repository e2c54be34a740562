"""CloudTrail lookups against the walkthrough lab (LookupEvents over the wire): a pod's events
found from its chain, a role's, paging on demand, the permission it needs, garbage records."""

from __future__ import annotations

import json
import uuid

import pytest

from irsa_explorer.model import Mechanism, TrailEvent, parse_event
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.cloudtrail import more_of, pod_subject, recent_events, role_subject
from irsa_explorer.sources.inventory import load_and_resolve
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.livecheck import who_am_i

ACCOUNT = "113534181560"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
MY_SA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"


@pytest.fixture(scope="module")
def loaded(kube, aws):
    inventory, chains = load_and_resolve(kube, aws, "default", cluster_name="eks-oidc-demo")
    return inventory, chains, {pod.name: pod for pod in inventory.pods.values()}


def subject_of(loaded, name: str):
    inventory, chains, pods = loaded
    pod = pods[name]
    return pod, pod_subject(pod, chains[pod.uid], inventory.nodes.get(pod.node_name or ""))


def test_node_role_pod_shows_the_access_denied_of_its_s3_ls(loaded, aws):
    pod, subject = subject_of(loaded, "eks-iam-test1")
    assert loaded[1][pod.uid].mechanism is Mechanism.NODE_ROLE
    assert "every pod on node" in subject.note
    page = recent_events(aws, subject)
    denied = [e for e in page.events if e.name == "ListBuckets"]
    assert denied, page.events
    event = denied[0]
    assert event.denied and event.error_code == "AccessDenied" and event.source == "s3.amazonaws.com"
    assert event.identity.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE.rsplit('/', 1)[1]}/i-")
    assert event.role_arn == NODE_ROLE and event.identity_type == "AssumedRole"
    assert event.user_agent.startswith("aws-cli/2.") and event.user_agent.endswith("command/s3.ls")  # the pod's own CLI
    began = [e for e in page.events if e.name == "AssumeRole"]  # EC2 assumed the node role for the instance
    assert began and began[0].invoked_by == "ec2.amazonaws.com" and began[0].session_name == event.username
    assert began[0].time <= event.time


def test_irsa_pod_shows_its_web_identity_and_what_its_session_did(loaded, aws, kube):
    pod, subject = subject_of(loaded, "eks-iam-test3")
    assert who_am_i(kube, pod).ok
    page = recent_events(aws, subject)
    names = [e.name for e in page.events]
    assert "AssumeRoleWithWebIdentity" in names and "GetCallerIdentity" in names
    assumed = next(e for e in page.events if e.name == "AssumeRoleWithWebIdentity")
    assert assumed.subject == "system:serviceaccount:default:my-sa" and assumed.role_arn == MY_SA_ROLE
    assert assumed.error_code is None and assumed.identity_type == "WebIdentityUser"
    called = next(e for e in page.events if e.name == "GetCallerIdentity")
    assert called.role_arn == MY_SA_ROLE and called.username == assumed.session_name
    times = [e.time for e in page.events]
    assert times == sorted(times, reverse=True)  # newest first


def test_role_shows_who_assumed_it_and_pages_on_demand(loaded, aws, kube):
    _, _, pods = loaded
    for _ in range(2):
        assert who_am_i(kube, pods["eks-iam-test3"]).ok
    first = recent_events(aws, role_subject(MY_SA_ROLE), page_size=1)
    assert first.more and len([e for e in first.events if e.assumption]) == 1
    assert all(e.role_arn == MY_SA_ROLE for e in first.events)
    second = more_of(first, recent_events(aws, role_subject(MY_SA_ROLE), first.cursor, page_size=1))
    assumptions = [e for e in second.events if e.assumption]
    assert len(assumptions) == 2 and len({e.event_id for e in second.events}) == len(second.events)


def test_without_lookup_events_it_is_unknown_naming_the_permission(lab, lab_aws_client):
    iam = lab_aws_client(lab, "iam")
    name = f"no-trail-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    env = dict(lab.aws_env, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    found = recent_events(AwsSource.from_env(env), role_subject(MY_SA_ROLE))
    assert found.kind == "forbidden" and found.permission == "cloudtrail:LookupEvents"
    assert str(found).startswith("unknown:") and "cloudtrail:LookupEvents" in str(found)


@pytest.mark.parametrize("record", [
    None, 7, "", "not json", "[1, 2]", json.dumps({"userIdentity": "x", "requestParameters": [1]}),
    json.dumps({"userIdentity": {"type": 5, "sessionContext": {"sessionIssuer": "no"}},
                "requestParameters": {"tags": [None, {"key": "kubernetes-pod-name", "value": ["x"]}]}}),
    json.dumps({"errorCode": "A" * 100_000}), "{" * 5000, json.dumps({"eventTime": "yesterday"}),
])
def test_garbage_records_are_events_without_what_they_lack(record):
    event = parse_event({"EventId": "e1", "EventName": "[bold]GetRole[/]", "EventTime": "not a time", "CloudTrailEvent": record})
    assert isinstance(event, TrailEvent)
    assert event.event_id == "e1" and event.name == "[bold]GetRole[/]"
    assert event.error_code is None or len(event.error_code) <= 513
    assert parse_event(["not", "a", "dict"]) is None


def test_pod_identity_pod_shows_eks_assuming_its_role_and_what_its_session_did(lab_for):
    lab = lab_for("pod-identity")
    kube, aws = KubeSource(kubeconfig=str(lab.kubeconfig)), AwsSource.from_env(lab.aws_env)
    try:
        inventory, chains = load_and_resolve(kube, aws, "default", cluster_name=kube.default_cluster_name())
        pods = {pod.name: pod for pod in inventory.pods.values()}
        after = pods["uploader-after"]
        assert chains[after.uid].mechanism is Mechanism.POD_IDENTITY
        assert who_am_i(kube, after).ok
        page = recent_events(aws, pod_subject(after, chains[after.uid], inventory.nodes.get(after.node_name or "")))
    finally:
        kube.close()
    assumed = [e for e in page.events if e.name == "AssumeRole"]
    assert assumed and all(e.pod_name == "uploader-after" for e in assumed)
    assert assumed[0].invoked_by == "pods.eks.amazonaws.com" and assumed[0].subject == "default/uploader"
    called = [e for e in page.events if e.name == "GetCallerIdentity"]
    assert called and called[0].username == assumed[0].session_name
