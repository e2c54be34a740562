"""The walkthrough, replayed with the real kubectl and aws CLI on the cluster eksctl just made.

Every kubectl and aws command of /work/shared/reference/irsa-walkthrough.md runs as written
(heredocs included), in order, against `fresh-cluster`; the eksctl steps, which need CloudFormation,
are done with the aws CLI and kubectl calls eksctl makes. One test, because each step builds on the
one before, exactly as in the walkthrough.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys

import pytest
from lab_e2e_shell import caller_identity, shell, wait_for_phase

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.awscli,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
    pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed"),
]

ACCOUNT = "113534181560"
ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
NODE_ROLE = "eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
SA_ROLE = "eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"

APPLY_TEST1 = """cat <<EOF | kubectl apply -f -
apiVersion: v1
kind: Pod
metadata:
  name: eks-iam-test1
spec:
  containers:
    - name: my-aws-cli
      image: amazon/aws-cli:latest
      args: ['s3', 'ls']         # execute aws s3 list
  restartPolicy: Never
EOF
"""

APPLY_TEST2 = """cat <<EOF | kubectl apply -f -
apiVersion: v1
kind: Pod
metadata:
  name: eks-iam-test2
spec:
  containers:
    - name: my-aws-cli
      image: amazon/aws-cli:latest
      command: ['sleep', '36000']
  restartPolicy: Never
EOF
"""


# Reads a JWT on stdin and the JWKS as argv[1]; prints header and verified claims (never the token).
DECODE_AND_VERIFY = (
    "import sys, json, jwt; t = sys.stdin.read().strip(); k = json.loads(sys.argv[1]);"
    "h = jwt.get_unverified_header(t);"
    "key = jwt.PyJWK([x for x in k[\"keys\"] if x[\"kid\"] == h[\"kid\"]][0]).key;"
    "c = jwt.decode(t, key, algorithms=[\"RS256\"], audience=\"https://kubernetes.default.svc\");"
    "print(json.dumps({\"header\": h, \"payload\": c}))"
)


def table(text: str) -> dict[str, dict[str, str]]:
    """kubectl's table output by NAME: {name: {COLUMN: value}}."""
    lines = text.strip().splitlines()
    header = lines[0].split()
    return {row.split()[0]: dict(zip(header, row.split())) for row in lines[1:]}


def test_the_walkthrough_as_written(lab_for):
    lab = lab_for("fresh-cluster")

    # 1. the cluster and the context eksctl saved
    assert shell(lab, "kubectl config current-context").stdout.strip().endswith("@eks-oidc-demo.us-east-2.eksctl.io")
    nodes = table(shell(lab, "kubectl get nodes").stdout)
    assert set(nodes) == {"ip-192-168-1-169.us-east-2.compute.internal", "ip-192-168-53-243.us-east-2.compute.internal"}
    assert {row["STATUS"] for row in nodes.values()} == {"Ready"}

    # 2. a pod with restart policy Never
    assert "pod/eks-iam-test1 created" in shell(lab, APPLY_TEST1).stdout

    # 3. see if the pod is running: Running at first, then Error
    first = table(shell(lab, "kubectl get pod").stdout)
    assert first["eks-iam-test1"]["STATUS"] in ("ContainerCreating", "Running", "Error")
    wait_for_phase(lab, "eks-iam-test1", ("Failed",))
    row = table(shell(lab, "kubectl get pod").stdout)["eks-iam-test1"]
    assert (row["READY"], row["STATUS"], row["RESTARTS"]) == ("0/1", "Error", "0")

    # 4. the logs say why: the node role may not list buckets
    logs = shell(lab, "kubectl logs eks-iam-test1").stdout
    assert "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied" in logs

    # The walkthrough's legacy token Secret: since Kubernetes 1.24 none is created for a service
    # account, so on this 1.27 cluster (as on EKS 1.27) the command finds nothing.
    legacy = shell(
        lab, "kubectl get secret default-token-m4tdn -o json | jq -r '.data.token' | base64 -d", check=False
    )
    assert 'secrets "default-token-m4tdn" not found' in legacy.stderr

    # the pods of the default SA, as YAML
    listing = shell(lab, "kubectl get pods --field-selector=spec.serviceAccountName=default -o yaml").stdout
    assert "kind: List" in listing and "name: eks-iam-test1" in listing
    assert "phase: Failed" in listing and "reason: Error" in listing
    assert "serviceAccountName: default" in listing
    assert "mountPath: /var/run/secrets/kubernetes.io/serviceaccount" in listing
    assert "kubectl.kubernetes.io/last-applied-configuration" in listing
    assert "AWS_ROLE_ARN" not in listing

    # another pod, sleeping, and its service-account token
    assert "pod/eks-iam-test2 created" in shell(lab, APPLY_TEST2).stdout
    wait_for_phase(lab, "eks-iam-test2", ("Running",))
    # As written (-it without a terminal: kubectl warns and runs it anyway); the token stays in
    # the shell and only its claims come out.
    decoded = shell(
        lab,
        "SA_TOKEN=$(kubectl exec -it eks-iam-test2 -- cat /var/run/secrets/kubernetes.io/serviceaccount/token)\n"
        "jwks=$(kubectl get --raw /openid/v1/jwks)\n"
        f"{shlex.quote(sys.executable)} -c '{DECODE_AND_VERIFY}' \"$jwks\" <<<\"$SA_TOKEN\"",
    ).stdout
    token = json.loads(decoded)
    assert token["header"]["alg"] == "RS256" and token["header"]["kid"]
    claims = token["payload"]
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert claims["aud"] == ["https://kubernetes.default.svc"]
    assert claims["kubernetes.io"]["pod"]["name"] == "eks-iam-test2"
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "default"
    assert claims["exp"] > claims["iat"] == claims["nbf"]

    # eksctl utils associate-iam-oidc-provider: the IAM provider for the cluster's issuer
    issuer = shell(lab, "aws eks describe-cluster --name eks-oidc-demo --query cluster.identity.oidc.issuer --output text").stdout.strip()
    assert issuer == ISSUER
    shell(
        lab,
        f"aws iam create-open-id-connect-provider --url {issuer} --client-id-list sts.amazonaws.com "
        "--thumbprint-list 9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
    )

    # eksctl create iamserviceaccount ... --attach-policy-arn $(aws iam list-policies --query ...)
    policy = shell(
        lab, "aws iam list-policies --query 'Policies[?PolicyName==`AmazonS3ReadOnlyAccess`].Arn' --output text"
    ).stdout.strip()
    assert policy == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    host = issuer.removeprefix("https://")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:aud": "sts.amazonaws.com",
                        f"{host}:sub": "system:serviceaccount:default:my-sa",
                    }
                },
            }
        ],
    }
    role_arn = shell(
        lab,
        f"aws iam create-role --role-name {SA_ROLE} --assume-role-policy-document '{json.dumps(trust)}' "
        "--query Role.Arn --output text",
    ).stdout.strip()
    shell(lab, f"aws iam attach-role-policy --role-name {SA_ROLE} --policy-arn {policy}")
    # (eksctl creates the SA through the API; `kubectl create serviceaccount` would do the same)
    shell(lab, "kubectl apply -f -", stdin="apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: my-sa\n")
    shell(lab, "kubectl label serviceaccount my-sa app.kubernetes.io/managed-by=eksctl")
    shell(lab, f"kubectl annotate serviceaccount my-sa eks.amazonaws.com/role-arn={role_arn}")

    described = shell(lab, "kubectl describe sa my-sa").stdout
    expected = {
        "Name": "my-sa",
        "Namespace": "default",
        "Labels": "app.kubernetes.io/managed-by=eksctl",
        "Annotations": f"eks.amazonaws.com/role-arn: arn:aws:iam::{ACCOUNT}:role/{SA_ROLE}",
    }
    fields = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in described.splitlines() if ":" in line}
    for key, value in expected.items():
        assert fields.get(key) == value, (key, described)

    # the pods made before stay on the node role; a pod made now with my-sa gets the role
    test2 = json.loads(caller_identity(lab, "eks-iam-test2").stdout)
    assert test2["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE}/i-")
    shell(
        lab,
        "kubectl run eks-iam-test3 --image=amazon/aws-cli:latest --restart=Never "
        "--overrides='{\"spec\":{\"serviceAccountName\":\"my-sa\"}}' --command -- sleep 36000",
    )
    wait_for_phase(lab, "eks-iam-test3", ("Running",))
    test3 = json.loads(caller_identity(lab, "eks-iam-test3").stdout)
    assert test3["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{SA_ROLE}/")
    assert test3["Account"] == ACCOUNT
