"""The walkthrough's steps done as a trainee's aws and kubectl would do them, through the
official clients (boto3, kubernetes) against a lab — what the lesson tests drive the lab with.
Not a test module; imported by the tests beside it."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from kubernetes import client, config

from irsa_explorer.lab.launcher import LabProcess

ISSUER_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


class Trainee:
    """One trainee's clients on a lab: CoreV1Api as the kubeconfig's admin, IAM and EKS as aws.env's."""

    def __init__(self, lab: LabProcess) -> None:
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False))
        session = boto3.Session(aws_access_key_id=lab.aws_env["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=lab.aws_env["AWS_SECRET_ACCESS_KEY"],
                                region_name=lab.aws_env["AWS_REGION"])
        self.iam = session.client("iam", endpoint_url=lab.aws_endpoint)
        self.eks = session.client("eks", endpoint_url=lab.aws_endpoint)
        self.sts = session.client("sts", endpoint_url=lab.aws_endpoint)

    def pod(self, name: str, service_account: str | None = None, args: list[str] | None = None) -> None:
        container: dict[str, Any] = {"name": "my-aws-cli", "image": "amazon/aws-cli:latest"}
        if args is not None:
            container["args"] = args
        else:
            container["command"] = ["sleep", "36000"]
        spec: dict[str, Any] = {"containers": [container], "restartPolicy": "Never"}
        if service_account:
            spec["serviceAccountName"] = service_account
        self.core.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})

    def wait_phase(self, name: str, phases: tuple[str, ...], hang_guard: float = 120.0) -> None:
        """Until the pod reaches a phase (a hang guard, not a timing assumption)."""
        give_up = time.monotonic() + hang_guard
        while self.core.read_namespaced_pod(name, "default").status.phase not in phases:
            assert time.monotonic() < give_up, f"pod {name} never reached {phases}"
            time.sleep(0.2)

    def issuer(self) -> str:
        cluster = self.eks.list_clusters()["clusters"][0]
        return self.eks.describe_cluster(name=cluster)["cluster"]["identity"]["oidc"]["issuer"]

    def oidc_provider(self) -> None:
        self.iam.create_open_id_connect_provider(Url=self.issuer(), ClientIDList=["sts.amazonaws.com"],
                                                 ThumbprintList=[ISSUER_THUMBPRINT])

    def role_for(self, namespace: str, service_account: str, role_name: str) -> str:
        account = self.sts.get_caller_identity()["Account"]
        host = self.issuer().removeprefix("https://")
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{host}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{host}:aud": "sts.amazonaws.com",
                                           f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}"}}}]}
        return self.iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def attach_s3_read(self, role_name: str) -> None:
        self.iam.attach_role_policy(RoleName=role_name, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")

    def service_account(self, name: str, role_arn: str) -> None:
        """`kubectl create serviceaccount` then `kubectl annotate`: two requests, as kubectl makes them."""
        self.core.create_namespaced_service_account("default", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
        self.core.patch_namespaced_service_account(
            name, "default", {"metadata": {"annotations": {"eks.amazonaws.com/role-arn": role_arn}}})
