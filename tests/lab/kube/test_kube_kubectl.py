"""Real kubectl against the lab API server: the walkthrough's commands, as a trainee types them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import jwt
import pytest
import yaml

from irsa_explorer import model

pytestmark = [pytest.mark.kubectl,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")]

WALKTHROUGH_POD = """\
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
"""

SLEEPER_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: eks-iam-test2
spec:
  serviceAccountName: my-sa
  containers:
    - name: my-aws-cli
      image: amazon/aws-cli:latest
      command: ['sleep', '36000']
  restartPolicy: Never
"""


def _wait_status(kube_lab, namespace: str, name: str, wanted: set[str], timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = kube_lab.kubectl("get", "pod", name, "-n", namespace, "--no-headers").stdout.split()
        if out[2] in wanted or time.monotonic() > deadline:
            return out[2]
        time.sleep(0.05)


def test_get_pods_all_namespaces_shows_table_columns(kube_lab, namespace: str) -> None:
    kube_lab.kubectl("apply", "-n", namespace, "-f", "-", input=SLEEPER_POD.replace("my-sa", "default"))
    assert _wait_status(kube_lab, namespace, "eks-iam-test2", {"Running"}) == "Running"
    lines = kube_lab.kubectl("get", "pods", "-A").stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    row = next(line.split() for line in lines if line.startswith(namespace))
    assert row[1:5] == ["eks-iam-test2", "1/1", "Running", "0"]
    wide = kube_lab.kubectl("get", "pods", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert wide[1].split()[6].endswith(".us-east-2.compute.internal")
    assert kube_lab.kubectl("get", "sa", "-n", namespace).stdout.split()[:5] == [
        "NAME", "SECRETS", "AGE", "default", "0"]
    assert kube_lab.kubectl("get", "nodes").stdout.splitlines()[0].split() == [
        "NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert kube_lab.kubectl("get", "ns").stdout.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]


def test_apply_walkthrough_pod_with_validation_and_reapply(kube_lab, namespace: str) -> None:
    created = kube_lab.kubectl("apply", "-n", namespace, "-f", "-", input=WALKTHROUGH_POD)
    assert created.stdout.strip() == "pod/eks-iam-test1 created"
    again = kube_lab.kubectl("apply", "-n", namespace, "-f", "-", input=WALKTHROUGH_POD)
    assert again.stdout.strip() == "pod/eks-iam-test1 unchanged"
    labelled = WALKTHROUGH_POD.replace("  name: eks-iam-test1\n", "  name: eks-iam-test1\n  labels: {team: a}\n")
    patched = kube_lab.kubectl("apply", "-n", namespace, "-f", "-", input=labelled)
    assert patched.stdout.strip() == "pod/eks-iam-test1 configured"
    pod = json.loads(kube_lab.kubectl("get", "pod", "eks-iam-test1", "-n", namespace, "-o", "json").stdout)
    assert pod["metadata"]["labels"] == {"team": "a"}
    assert pod["spec"]["containers"][0]["args"] == ["s3", "ls"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in pod["metadata"]["annotations"]
    # No role anywhere: the aws CLI ends in an error, as in the walkthrough.
    assert _wait_status(kube_lab, namespace, "eks-iam-test1", {"Error", "Completed"}) == "Error"


def test_annotate_sa_then_new_pod_gets_irsa_token(kube_lab, namespace: str) -> None:
    role = "arn:aws:iam::113534181560:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1"
    kube_lab.kubectl("create", "serviceaccount", "my-sa", "-n", namespace)
    kube_lab.kubectl("annotate", "sa", "my-sa", "-n", namespace, f"{model.ROLE_ARN_ANNOTATION}={role}")
    described = kube_lab.kubectl("describe", "sa", "my-sa", "-n", namespace).stdout
    assert f"Annotations:         {model.ROLE_ARN_ANNOTATION}: {role}" in described
    assert "Tokens:              <none>" in described
    kube_lab.kubectl("apply", "-n", namespace, "-f", "-", input=SLEEPER_POD)
    assert _wait_status(kube_lab, namespace, "eks-iam-test2", {"Running"}) == "Running"
    token = kube_lab.kubectl("exec", "eks-iam-test2", "-n", namespace, "--", "cat", model.IRSA_TOKEN_PATH).stdout
    jwks = json.loads(kube_lab.kubectl("get", "--raw", "/openid/v1/jwks").stdout)
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]].key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="sts.amazonaws.com",
                        issuer=kube_lab.cluster.issuer)
    assert claims["sub"] == f"system:serviceaccount:{namespace}:my-sa"
    assert claims["kubernetes.io"]["pod"]["name"] == "eks-iam-test2"
    failed = kube_lab.kubectl("exec", "eks-iam-test2", "-n", namespace, "--", "nosuchtool", check=False)
    assert failed.returncode == 127 and "executable file not found" in failed.stderr


def test_create_token_sends_protobuf_and_gets_a_token(kube_lab, namespace: str) -> None:
    token = kube_lab.kubectl("create", "token", "default", "-n", namespace, "--audience", "sts.amazonaws.com",
                             "--duration", "2h").stdout.strip()
    claims = kube_lab.signer.verify(token, "sts.amazonaws.com")
    assert claims["aud"] == ["sts.amazonaws.com"] and claims["exp"] - claims["iat"] == 7200
    assert claims["sub"] == f"system:serviceaccount:{namespace}:default"


def test_logs_of_finished_pod(kube_lab, namespace: str) -> None:
    kube_lab.kubectl("run", "hello", "-n", namespace, "--image=busybox", "--restart=Never", "--",
                     "echo", "hello from the lab")
    assert _wait_status(kube_lab, namespace, "hello", {"Completed", "Error"}) == "Completed"
    assert kube_lab.kubectl("logs", "hello", "-n", namespace).stdout == "hello from the lab\n"


def test_field_selector_yaml_shows_the_full_object(kube_lab, namespace: str) -> None:
    kube_lab.kubectl("create", "serviceaccount", "other", "-n", namespace)
    kube_lab.kubectl("apply", "-n", namespace, "-f", "-", input=WALKTHROUGH_POD)
    kube_lab.kubectl("apply", "-n", namespace, "-f", "-",
                     input=SLEEPER_POD.replace("my-sa", "other"))
    out = kube_lab.kubectl("get", "pods", "-n", namespace, "--field-selector=spec.serviceAccountName=default",
                           "-o", "yaml").stdout
    doc = yaml.safe_load(out)
    assert doc["kind"] == "List" and [p["metadata"]["name"] for p in doc["items"]] == ["eks-iam-test1"]
    pod = doc["items"][0]
    assert pod["spec"]["serviceAccountName"] == "default" and pod["spec"]["nodeName"]
    volume = next(v for v in pod["spec"]["volumes"] if v["name"].startswith("kube-api-access-"))
    assert volume["projected"]["sources"][0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert pod["status"]["qosClass"] == "BestEffort"
    assert {"phase", "conditions", "hostIP", "podIP", "startTime"} <= set(pod["status"])
    described = kube_lab.kubectl("describe", "pod", "eks-iam-test1", "-n", namespace).stdout
    assert "Service Account:  default" in described and "TokenExpirationSeconds:  3607" in described
    assert "Successfully assigned " + namespace + "/eks-iam-test1 to ip-" in described
    assert 'Pulling image "amazon/aws-cli:latest"' in described


NEWER_KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"


@pytest.mark.skipif(not os.path.exists(NEWER_KUBECTL), reason="no kubectl 1.32 beside the dispatcher")
def test_exec_with_kubectl_1_32_uses_websocket_v5(kube_lab, namespace: str) -> None:
    # The gcloud dispatcher picks kubectl 1.27 for this 1.27 lab (SPDY exec); 1.32 speaks websocket v5.
    kube_lab.kubectl("run", "ws", "-n", namespace, "--image=busybox", "--", "sleep", "3600")
    assert _wait_status(kube_lab, namespace, "ws", {"Running"}) == "Running"
    base = [NEWER_KUBECTL, "--kubeconfig", str(kube_lab.kubeconfig), "--cache-dir",
            str(kube_lab.cache_dir) + "-1.32", "-n", namespace]
    ok = subprocess.run(base + ["exec", "ws", "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace"],
                        capture_output=True, text=True, timeout=60)
    assert (ok.returncode, ok.stdout) == (0, namespace)
    failed = subprocess.run(base + ["exec", "-i", "ws", "--", "false"], capture_output=True, text=True,
                            input="", timeout=60)
    assert failed.returncode == 1 and "command terminated with exit code 1" in failed.stderr


def test_exec_it_as_in_the_walkthrough(kube_lab, namespace: str) -> None:
    kube_lab.kubectl("run", "it", "-n", namespace, "--image=amazon/aws-cli", "--command", "--", "sleep", "36000")
    assert _wait_status(kube_lab, namespace, "it", {"Running"}) == "Running"
    # `SA_TOKEN=$(kubectl exec -it …)`: no terminal, so kubectl warns and runs without a TTY.
    result = kube_lab.kubectl("exec", "-it", "it", "-n", namespace, "--", "cat",
                              "/var/run/secrets/kubernetes.io/serviceaccount/token", input="")
    claims = kube_lab.signer.verify(result.stdout, "https://kubernetes.default.svc")
    assert claims["kubernetes.io"]["pod"]["name"] == "it"
    assert claims["exp"] - claims["iat"] == 365 * 24 * 3600  # the extended default token


def test_server_dry_run_and_server_side_apply(kube_lab, namespace: str) -> None:
    dry = kube_lab.kubectl("run", "dry", "-n", namespace, "--image=busybox", "--dry-run=server", "-o", "json",
                           "--", "sleep", "60")
    admitted = json.loads(dry.stdout)
    assert admitted["spec"]["serviceAccountName"] == "default"  # admission ran…
    missing = kube_lab.kubectl("get", "pod", "dry", "-n", namespace, check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr  # …but nothing was stored
    manifest = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ssa\n"
    assert "serverside-applied" in kube_lab.kubectl("apply", "--server-side", "-n", namespace, "-f", "-",
                                                    input=manifest).stdout
    kube_lab.kubectl("apply", "--server-side", "-n", namespace, "-f", "-",
                     input=manifest + f"  annotations:\n    {model.ROLE_ARN_ANNOTATION}: arn:aws:iam::1:role/r\n")
    sa = json.loads(kube_lab.kubectl("get", "sa", "ssa", "-n", namespace, "-o", "json").stdout)
    assert sa["metadata"]["annotations"] == {model.ROLE_ARN_ANNOTATION: "arn:aws:iam::1:role/r"}


def test_unknown_fields_are_rejected_strictly_or_dropped(kube_lab, namespace: str) -> None:
    typo = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  serviceAcountName: my-sa\n"
            "  containers:\n  - name: c\n    image: busybox\n    command: [sleep, '3600']\n")
    strict = kube_lab.kubectl("apply", "-n", namespace, "-f", "-", input=typo, check=False)
    assert strict.returncode == 1
    assert 'strict decoding error: unknown field "spec.serviceAcountName"' in strict.stderr
    warned = kube_lab.kubectl("create", "--validate=warn", "-n", namespace, "-f", "-", input=typo)
    assert 'Warning: unknown field "spec.serviceAcountName"' in warned.stderr
    # The typo is gone and the pod runs as `default`, exactly the silent failure users hit.
    assert kube_lab.kubectl("get", "pod", "typo", "-n", namespace, "-o",
                            "jsonpath={.spec.serviceAccountName}").stdout == "default"


def test_run_interactive_attaches_and_reports_exit(kube_lab, namespace: str) -> None:
    # `kubectl run -i --rm …` attaches (or falls back to logs when the command already ended).
    ok = kube_lab.kubectl("run", "once", "-n", namespace, "-i", "--rm", "--restart=Never", "--image=busybox",
                          "--", "echo", "hello attach", input="")
    assert ok.stdout.startswith("hello attach\n")
    assert kube_lab.kubectl("get", "pod", "once", "-n", namespace, check=False).returncode == 1  # --rm
    failed = kube_lab.kubectl("run", "fails", "-n", namespace, "-i", "--restart=Never", "--image=busybox",
                              "--", "cat", "/nope", input="", check=False)
    assert failed.returncode == 1 and f"pod {namespace}/fails terminated (Error)" in failed.stderr
    # `sleep 2`: a loaded machine may take a second to start kubectl and see Running at all.
    kube_lab.kubectl("run", "slow", "-n", namespace, "--restart=Never", "--image=busybox", "--", "sleep", "2")
    assert _wait_status(kube_lab, namespace, "slow", {"Running"}) == "Running"
    attached = kube_lab.kubectl("attach", "slow", "-n", namespace)  # returns when `sleep 2` ends
    assert attached.returncode == 0
    assert _wait_status(kube_lab, namespace, "slow", {"Completed"}) == "Completed"
