"""The lab's CloudTrail: calls become events, LookupEvents serves them as AWS does (boto3 over
the JSON protocol): attribute filters, time range, newest first, paging, AWS's errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE = "trail-test-role"


@pytest.fixture(scope="module")
def role_arn(client, oidc_provider, trust_for) -> str:
    iam = client("iam")
    arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust_for("default", "my-sa")))["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="sts-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}))
    return arn


@pytest.fixture(scope="module")
def sts(aws_lab, cluster):
    return boto3.client("sts", region_name=cluster.region, endpoint_url=aws_lab.endpoint_url,
                        config=Config(signature_version=UNSIGNED))


@pytest.fixture(scope="module")
def trail(client):
    return client("cloudtrail")


def lookup(trail, key: str, value: str, **kwargs) -> list[dict]:
    return trail.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **kwargs)["Events"]


def record(event: dict) -> dict:
    return json.loads(event["CloudTrailEvent"])


def test_web_identity_call_and_the_sessions_own_calls_are_events(sts, role_arn, issuer, client, to_session, trail, cluster):
    token = issuer.token("default", "my-sa")
    answer = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="trail-session", WebIdentityToken=token)
    session = to_session(answer["Credentials"])
    client("sts", session).get_caller_identity()
    with pytest.raises(ClientError):
        client("s3", session).list_buckets()

    assumed = lookup(trail, "Username", "system:serviceaccount:default:my-sa")
    assert [e["EventName"] for e in assumed][:1] == ["AssumeRoleWithWebIdentity"]
    event = record(assumed[0])
    assert event["eventSource"] == "sts.amazonaws.com" and event["readOnly"] is True
    assert event["userIdentity"] == {
        "type": "WebIdentityUser",
        "principalId": f"{cluster.oidc_provider_arn}:sts.amazonaws.com:system:serviceaccount:default:my-sa",
        "userName": "system:serviceaccount:default:my-sa",
        "identityProvider": cluster.oidc_provider_arn,
    }
    assert event["requestParameters"] == {"roleArn": role_arn, "roleSessionName": "trail-session"}
    assert event["responseElements"]["credentials"]["accessKeyId"] == answer["Credentials"]["AccessKeyId"]
    text = assumed[0]["CloudTrailEvent"]
    assert token not in text and answer["Credentials"]["SecretAccessKey"] not in text
    assert answer["Credentials"]["SessionToken"] not in text
    assert {"ResourceType": "AWS::IAM::Role", "ResourceName": role_arn} in assumed[0]["Resources"]

    by_session = lookup(trail, "Username", "trail-session")
    assert [e["EventName"] for e in by_session] == ["ListBuckets", "GetCallerIdentity"]  # newest first
    denied = record(by_session[0])
    assert denied["eventSource"] == "s3.amazonaws.com" and denied["errorCode"] == "AccessDenied"
    identity = denied["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{cluster.account}:assumed-role/{ROLE}/trail-session"
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == role_arn
    assert identity["sessionContext"]["webIdFederationData"]["federatedProvider"] == cluster.oidc_provider_arn
    assert by_session[0]["AccessKeyId"] == answer["Credentials"]["AccessKeyId"]


def test_a_refused_web_identity_call_is_an_event_with_the_error(sts, role_arn, issuer, trail):
    with pytest.raises(ClientError):
        sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="refused",
                                          WebIdentityToken=issuer.token("payments", "my-sa"))
    event = record(lookup(trail, "Username", "system:serviceaccount:payments:my-sa")[0])
    assert event["errorCode"] == "AccessDenied"
    assert event["errorMessage"] == "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    assert event["responseElements"] is None
    assert lookup(trail, "ResourceName", role_arn)[0]["EventId"] == event["eventID"]


def test_filters_by_each_attribute(trail, client, cluster):
    client("iam").get_role(RoleName=ROLE)
    newest = trail.lookup_events(MaxResults=1)["Events"][0]
    assert newest["EventName"] == "GetRole" and newest["Username"] == "lab-admin"
    assert record(newest)["userIdentity"]["type"] == "IAMUser"
    for key, value in [("EventId", newest["EventId"]), ("EventName", "GetRole"), ("EventSource", "iam.amazonaws.com"),
                       ("AccessKeyId", newest["AccessKeyId"]), ("ResourceName", ROLE), ("ResourceType", "AWS::IAM::Role"),
                       ("ReadOnly", "true"), ("Username", "lab-admin")]:
        found = lookup(trail, key, value)  # with the admin's own LookupEvents calls since, for some keys
        assert newest["EventId"] in [e["EventId"] for e in found], key
        assert len(found) < len(trail.lookup_events()["Events"]), key  # a filter, not everything
    assert lookup(trail, "EventName", "NoSuchCall") == []
    assert all(e["ReadOnly"] == "false" for e in lookup(trail, "ReadOnly", "false"))


def test_time_range_and_paging(trail, client):
    iam = client("iam")
    for _ in range(5):
        iam.get_role(RoleName=ROLE)
    now = datetime.now(timezone.utc)
    assert lookup(trail, "EventName", "GetRole", EndTime=now - timedelta(days=1)) == []
    everything = lookup(trail, "EventName", "GetRole", StartTime=now - timedelta(hours=1))
    assert len(everything) >= 6
    assert [e["EventTime"] for e in everything] == sorted((e["EventTime"] for e in everything), reverse=True)

    first = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetRole"}], MaxResults=2)
    iam.get_role(RoleName=ROLE)  # a new event between pages moves nothing
    second = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetRole"}],
                                 MaxResults=2, NextToken=first["NextToken"])
    ids = [e["EventId"] for e in first["Events"] + second["Events"]]
    assert ids == [e["EventId"] for e in everything[:4]]

    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetRole"}], PaginationConfig={"PageSize": 3})
    assert len([e for page in pages for e in page["Events"]]) == len(everything) + 1


def test_errors_as_aws_words_them(trail):
    def code(**kwargs) -> str:
        with pytest.raises(ClientError) as caught:
            trail.lookup_events(**kwargs)
        return caught.value.response["Error"]["Code"]

    two = [{"AttributeKey": "EventName", "AttributeValue": "A"}, {"AttributeKey": "Username", "AttributeValue": "b"}]
    assert code(LookupAttributes=two) == "InvalidLookupAttributesException"
    assert code(LookupAttributes=[{"AttributeKey": "Nope", "AttributeValue": "x"}]) == "InvalidLookupAttributesException"
    now = datetime.now(timezone.utc)
    assert code(StartTime=now, EndTime=now - timedelta(hours=1)) == "InvalidTimeRangeException"
    assert code(MaxResults=51) == "InvalidMaxResultsException"
    assert code(NextToken="made-up") == "InvalidNextTokenException"
    first = trail.lookup_events(MaxResults=1)
    assert code(MaxResults=1, NextToken=first["NextToken"],
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetRole"}]) == "InvalidNextTokenException"


def test_lookup_events_needs_its_permission(client, cluster):
    iam = client("iam")
    iam.create_user(UserName="no-trail")
    key = iam.create_access_key(UserName="no-trail")["AccessKey"]
    session = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                            region_name=cluster.region)
    with pytest.raises(ClientError) as caught:
        client("cloudtrail", session).lookup_events()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "cloudtrail:LookupEvents" in caught.value.response["Error"]["Message"]


def test_pod_identity_exchange_is_eks_assume_role_with_the_pods_session_tags(aws_lab, client, cluster, issuer, policies,
                                                                            trust_for, trail):
    from botocore.exceptions import MetadataRetrievalError
    from botocore.utils import ContainerMetadataFetcher

    iam = client("iam")
    arn = iam.create_role(RoleName="trail-pod-identity",
                          AssumeRolePolicyDocument=json.dumps(policies["pod-identity"]))["Role"]["Arn"]
    client("eks").create_pod_identity_association(clusterName=cluster.name, namespace="trail",
                                                  serviceAccount="uploader", roleArn=arn)
    fetcher = ContainerMetadataFetcher(sleep=lambda _s: None)

    def agent():
        token = issuer.token("trail", "uploader", aud="pods.eks.amazonaws.com", pod="uploader-1")
        return fetcher.retrieve_full_uri(aws_lab.pod_identity_agent_url + "/v1/credentials", headers={"Authorization": token})

    answer = agent()
    found = lookup(trail, "ResourceName", arn)
    event = record(found[0])
    assert event["eventName"] == "AssumeRole" and event["eventSource"] == "sts.amazonaws.com"
    assert event["userIdentity"] == {"type": "AWSService", "invokedBy": "pods.eks.amazonaws.com"}
    tags = {t["key"]: t["value"] for t in event["requestParameters"]["tags"]}
    assert tags["kubernetes-pod-name"] == "uploader-1" and tags["kubernetes-namespace"] == "trail"
    assert tags["eks-cluster-name"] == cluster.name
    assert event["responseElements"]["credentials"]["accessKeyId"] == answer["AccessKeyId"]
    assert answer["SecretAccessKey"] not in found[0]["CloudTrailEvent"] and answer["Token"] not in found[0]["CloudTrailEvent"]

    iam.update_assume_role_policy(RoleName="trail-pod-identity", PolicyDocument=json.dumps(trust_for("trail", "uploader")))
    with pytest.raises(MetadataRetrievalError):
        agent()
    refused = record(lookup(trail, "ResourceName", arn)[0])
    assert refused["eventName"] == "AssumeRole" and refused["errorCode"] == "AccessDenied"
    assert refused["responseElements"] is None


def test_imds_credentials_are_ec2s_assume_role_once_per_session(aws_lab, client, cluster, trail):
    import urllib.request

    iam, ec2 = client("iam"), client("ec2")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                      "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName="trail-node-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.create_instance_profile(InstanceProfileName="trail-node-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="trail-node-profile", RoleName="trail-node-role")
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                 IamInstanceProfile={"Name": "trail-node-profile"})["Instances"][0]["InstanceId"]
    aws_lab.register_node("trail-node", instance)
    base = aws_lab.imds_url("trail-node", host_network=True)

    def credentials() -> dict:
        token = urllib.request.urlopen(urllib.request.Request(
            base + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})).read().decode()
        path = base + "/latest/meta-data/iam/security-credentials/trail-node-role"
        return json.loads(urllib.request.urlopen(urllib.request.Request(path, headers={"X-aws-ec2-metadata-token": token})).read())

    first, again = credentials(), credentials()
    assert first["AccessKeyId"] == again["AccessKeyId"]  # IMDS hands out the same session until it nears expiry
    found = [e for e in lookup(trail, "ResourceName", arn) if e["EventName"] == "AssumeRole"]
    assert len(found) == 1
    event = record(found[0])
    assert event["userIdentity"] == {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    assert event["requestParameters"]["roleSessionName"] == instance
