"""The walkthrough lab as a trainee meets it: real kubectl and the real aws CLI, nothing mocked.

Runs against the session's `walkthrough` lab. Tests that add objects use names of their own.
"""

from __future__ import annotations

import json
import shutil
import uuid

import pytest
from lab_e2e_shell import caller_identity, kubectl_json, shell, wait_for_phase

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.awscli,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
    pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed"),
]

ACCOUNT = "113534181560"
HOST = "oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
NODE_ROLE = "eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
SA_ROLE = "eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"
SA_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{SA_ROLE}"


def web_identity_trust(subject: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": subject}},
                }
            ],
        }
    )


def test_get_pods_all_namespaces_shows_the_three_pods(lab):
    lines = shell(lab, "kubectl get pods -A").stdout.strip().splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = {cols[1]: cols for cols in (line.split() for line in lines[1:])}
    assert rows["eks-iam-test1"][:5] == ["default", "eks-iam-test1", "0/1", "Error", "0"]
    assert rows["eks-iam-test2"][:5] == ["default", "eks-iam-test2", "1/1", "Running", "0"]
    assert rows["eks-iam-test3"][:5] == ["default", "eks-iam-test3", "1/1", "Running", "0"]


def test_logs_of_the_failed_pod_show_access_denied(lab):
    logs = shell(lab, "kubectl logs eks-iam-test1").stdout
    assert "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied" in logs


def test_describe_sa_my_sa(lab):
    described = shell(lab, "kubectl describe sa my-sa").stdout
    assert "Labels:              app.kubernetes.io/managed-by=eksctl" in described
    assert f"Annotations:         eks.amazonaws.com/role-arn: {SA_ROLE_ARN}" in described


def test_list_policies_query_as_written(lab):
    found = shell(
        lab, "aws iam list-policies --query 'Policies[?PolicyName==`AmazonS3ReadOnlyAccess`].Arn' --output text"
    ).stdout.strip()
    assert found == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def test_the_aws_cli_reaches_the_lab_through_aws_env_alone(lab):
    """aws.env's AWS_ENDPOINT_URL is honoured (botocore >= 1.31): no --endpoint-url needed."""
    me = json.loads(shell(lab, "aws sts get-caller-identity").stdout)
    assert me["Account"] == ACCOUNT
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/lab-admin"


def test_default_sa_pod_is_the_node_role(lab):
    identity = json.loads(caller_identity(lab, "eks-iam-test2").stdout)
    assert identity["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE}/i-")


def test_exec_with_whatever_kubectl_is_on_path(lab):
    """A trainee's plain `kubectl` (on this machine a dispatcher that picks kubectl 1.27 for a
    1.27 cluster, which execs over SPDY rather than websockets) works too."""
    done = shell(lab, "kubectl exec eks-iam-test2 -- aws sts get-caller-identity", pinned_kubectl=False)
    assert json.loads(done.stdout)["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE}/i-")


def test_my_sa_pod_is_my_sa_role(lab):
    identity = json.loads(caller_identity(lab, "eks-iam-test3").stdout)
    assert identity["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{SA_ROLE}/")


def test_the_irsa_token_is_mounted_where_the_env_says(lab):
    env = shell(lab, "kubectl exec eks-iam-test3 -- env").stdout
    assert f"AWS_ROLE_ARN={SA_ROLE_ARN}" in env.splitlines()
    assert "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token" in env.splitlines()
    # Only the claims leave the shell, never the token.
    payload = shell(
        lab,
        "t=$(kubectl exec eks-iam-test3 -- cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token); "
        "p=$(echo \"$t\" | cut -d. -f2 | tr '_-' '/+'); "
        "while [ $(( ${#p} % 4 )) -ne 0 ]; do p=\"$p=\"; done; echo \"$p\" | base64 -d",
    ).stdout
    claims = json.loads(payload)
    assert claims["aud"] == ["sts.amazonaws.com"]
    assert claims["sub"] == "system:serviceaccount:default:my-sa"
    assert claims["iss"] == f"https://{HOST}"


def test_create_token_is_accepted_by_sts_for_my_sa_role(lab):
    done = shell(
        lab,
        "TOKEN=$(kubectl create token my-sa --audience sts.amazonaws.com) && "
        f"aws sts assume-role-with-web-identity --role-arn {SA_ROLE_ARN} --role-session-name trainee "
        "--web-identity-token \"$TOKEN\" --query AssumedRoleUser.Arn --output text",
    )
    assert done.stdout.strip() == f"arn:aws:sts::{ACCOUNT}:assumed-role/{SA_ROLE}/trainee"


def test_create_token_is_refused_for_a_role_trusting_another_sa(lab):
    role = f"trusts-other-sa-{uuid.uuid4().hex[:6]}"
    arn = shell(
        lab,
        f"aws iam create-role --role-name {role} --assume-role-policy-document '"
        + web_identity_trust("system:serviceaccount:default:other-sa")
        + "' --query Role.Arn --output text",
    ).stdout.strip()
    done = shell(
        lab,
        "TOKEN=$(kubectl create token my-sa --audience sts.amazonaws.com) && "
        f"aws sts assume-role-with-web-identity --role-arn {arn} --role-session-name trainee "
        "--web-identity-token \"$TOKEN\"",
        check=False,
    )
    assert done.returncode != 0
    assert "AccessDenied" in done.stderr
    assert "Not authorized to perform sts:AssumeRoleWithWebIdentity" in done.stderr


def test_annotating_an_sa_only_changes_pods_created_afterwards(lab):
    name = f"late-{uuid.uuid4().hex[:6]}"
    pod = """cat <<EOF | kubectl apply -f -
apiVersion: v1
kind: Pod
metadata:
  name: {pod}
spec:
  serviceAccountName: {sa}
  containers:
    - name: my-aws-cli
      image: amazon/aws-cli:latest
      command: ['sleep', '36000']
  restartPolicy: Never
EOF
"""
    shell(lab, "kubectl apply -f -", stdin=f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n")
    try:
        _annotation_reaches_only_later_pods(lab, pod, name)
    finally:
        # The walkthrough lab is shared: other suites read its default namespace and must not
        # find these deliberately broken pods there.
        shell(lab, f"kubectl delete pod {name}-before {name}-after --ignore-not-found; "
                   f"kubectl delete serviceaccount {name} --ignore-not-found", check=False)


def _annotation_reaches_only_later_pods(lab, pod: str, name: str) -> None:
    shell(lab, pod.format(pod=f"{name}-before", sa=name))
    shell(lab, f"kubectl annotate serviceaccount {name} eks.amazonaws.com/role-arn={SA_ROLE_ARN}")
    shell(lab, pod.format(pod=f"{name}-after", sa=name))

    before = kubectl_json(lab, f"get pod {name}-before")
    after = kubectl_json(lab, f"get pod {name}-after")
    before_env = {e["name"] for e in before["spec"]["containers"][0].get("env", [])}
    after_env = {e["name"]: e.get("value") for e in after["spec"]["containers"][0].get("env", [])}
    assert "AWS_ROLE_ARN" not in before_env and "AWS_WEB_IDENTITY_TOKEN_FILE" not in before_env
    assert after_env["AWS_ROLE_ARN"] == SA_ROLE_ARN
    assert after_env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
    assert "aws-iam-token" in {v["name"] for v in after["spec"]["volumes"]}
    assert "aws-iam-token" not in {v["name"] for v in before["spec"].get("volumes", [])}

    wait_for_phase(lab, f"{name}-before", ("Running",))
    wait_for_phase(lab, f"{name}-after", ("Running",))
    # The old pod still runs as the node role (the trust names my-sa, but it never gets that far).
    assert f"assumed-role/{NODE_ROLE}/" in json.loads(caller_identity(lab, f"{name}-before").stdout)["Arn"]
    # The new one holds a token for its own SA, which my-sa's role does not trust.
    refused = caller_identity(lab, f"{name}-after", check=False)
    assert refused.returncode != 0
    assert "Not authorized to perform sts:AssumeRoleWithWebIdentity" in refused.stderr
