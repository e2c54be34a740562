"""Live checks against the walkthrough lab: exec of get-caller-identity in pods, and the opt-in
TokenRequest → AssumeRoleWithWebIdentity → GetCallerIdentity check."""

from __future__ import annotations

import time
import uuid


from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.livecheck import what_would_sa_get, who_am_i

ACCOUNT = "113534181560"
NODE_ROLE_NAME = "eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4"
MY_SA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"


def _pod(kube: KubeSource, name: str):
    return next(p for p in kube.list_pods("default").items if p.name == name)


def test_pod_without_irsa_is_the_node_role(kube) -> None:
    result = who_am_i(kube, _pod(kube, "eks-iam-test2"))
    assert result.ok and result.command == "aws" and result.exit_code == 0
    assert result.arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{NODE_ROLE_NAME}/")
    assert result.account == ACCOUNT
    assert result.intended_role_arn is None and result.matches_intended is None


def test_irsa_pod_is_its_role(kube) -> None:
    result = who_am_i(kube, _pod(kube, "eks-iam-test3"))
    assert result.ok, result
    assert ":assumed-role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO/" in result.arn
    assert result.intended_role_arn == MY_SA_ROLE
    assert result.matches_intended is True


def test_image_without_aws_or_python_says_so(lab, kube) -> None:
    from kubernetes import client, config

    name = f"no-cli-{uuid.uuid4().hex[:6]}"
    api = config.new_client_from_config(config_file=str(lab.kubeconfig), persist_config=False)
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(
        "default",
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
         "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}},
    )
    try:
        deadline = time.monotonic() + 10
        while _pod(kube, name).phase != "Running" and time.monotonic() < deadline:
            time.sleep(0.1)
        result = who_am_i(kube, _pod(kube, name))
        assert not result.ok and result.exit_code == 127
        assert result.command == "python3"
        assert "neither the aws CLI nor python3" in result.error_message
    finally:
        core.delete_namespaced_pod(name, "default")
        api.close()


def test_what_my_sa_would_get(kube, aws) -> None:
    check = what_would_sa_get(kube, aws, "default", "my-sa", MY_SA_ROLE)
    assert check.ok, check
    assert [s.name for s in check.steps] == ["token-request", "assume-role-with-web-identity", "get-caller-identity"]
    assert ":assumed-role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO/" in check.arn
    assert check.claims["sub"] == "system:serviceaccount:default:my-sa"
    assert "eyJ" not in repr(check)


def test_trust_refuses_another_service_account(kube, aws) -> None:
    check = what_would_sa_get(kube, aws, "default", "default", MY_SA_ROLE)
    assert not check.ok
    failed = check.steps[-1]
    assert failed.name == "assume-role-with-web-identity" and failed.error_code == "AccessDenied"
    assert "Not authorized to perform sts:AssumeRoleWithWebIdentity" in failed.detail


def test_wrong_audience_is_refused(kube, aws) -> None:
    check = what_would_sa_get(kube, aws, "default", "my-sa", MY_SA_ROLE, audience="sts.amazon.com")
    assert not check.ok
    assert check.steps[-1].error_code == "InvalidIdentityToken"
    assert "Incorrect token audience" in check.steps[-1].detail


def test_sts_refusal_inside_the_pod_is_read_from_the_sdk_error(lab_for) -> None:
    running = lab_for("no-oidc-provider")
    source = KubeSource(kubeconfig=str(running.kubeconfig))
    try:
        result = who_am_i(source, _pod(source, "eks-iam-test3"))
    finally:
        source.close()
    assert not result.ok and result.exit_code not in (0, None)
    assert result.error_code == "InvalidIdentityToken"
    assert result.error_message.startswith("No OpenIDConnect provider found in your account for https://oidc.eks.")
    assert "OIDC provider" in result.hint
    assert result.matches_intended is None
