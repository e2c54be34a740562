"""`kubectl auth can-i` / `whoami` against the lab: the self reviews answer exactly what the
server then enforces, for the admin, a service-account token and a namespace-scoped reader."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

KUBECTL_1_32 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
# kubectl on PATH is gcloud's dispatcher (1.27 for this lab); 1.32 sends the reviews as protobuf.
KUBECTLS = ["kubectl"] + ([KUBECTL_1_32] if os.path.exists(KUBECTL_1_32) else [])


def _kubectl_as(kube_lab, token: str | None, binary: str) -> Callable[..., subprocess.CompletedProcess]:
    config = kube_lab.kubeconfig
    if token is not None:
        config = kube_lab.kubeconfig.with_name(f"kubeconfig-{abs(hash(token))}")
        config.write_text(yaml.safe_dump(kube_lab.server.kubeconfig("lab", "someone", token=token)))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([binary, "--kubeconfig", str(config), "--cache-dir",
                               f"{kube_lab.cache_dir}-{os.path.basename(binary)}", *args],
                              capture_output=True, text=True, timeout=60)
    return run


def _can_i(kubectl, *args: str) -> str:
    result = kubectl("auth", "can-i", *args)
    answer = result.stdout.strip()
    assert result.returncode == (0 if answer == "yes" else 1), result.stderr  # kubectl's exit code contract
    return answer


@pytest.fixture(scope="module")
def reader_token(kube_lab) -> str:
    return kube_lab.server.add_user("team-a-reader", namespaces=["team-a"])


@pytest.mark.kubectl
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("binary", KUBECTLS)
def test_can_i_for_admin_reader_and_service_account(kube_lab, namespace: str, reader_token: str,
                                                     binary: str) -> None:
    admin = _kubectl_as(kube_lab, None, binary)
    assert _can_i(admin, "create", "pods") == "yes"
    assert _can_i(admin, "*", "*") == "yes"
    assert admin("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout == "kubernetes-admin"

    reader = _kubectl_as(kube_lab, reader_token, binary)
    assert _can_i(reader, "list", "pods", "-n", "team-a") == "yes"
    assert _can_i(reader, "get", "pods/log", "-n", "team-a") == "yes"
    assert _can_i(reader, "create", "pods", "-n", "team-a") == "no"
    assert _can_i(reader, "list", "pods", "-n", namespace) == "no"
    assert _can_i(reader, "list", "pods", "-A") == "no"
    assert _can_i(reader, "list", "nodes") == "no"
    assert _can_i(reader, "get", "namespace/team-a") == "yes"

    # A service account with no RBAC binding, as every fresh one on EKS: may ask, may not act.
    token = admin("create", "token", "default", "-n", namespace).stdout.strip()
    sa = _kubectl_as(kube_lab, token, binary)
    assert _can_i(sa, "list", "pods", "-n", namespace) == "no"
    assert _can_i(sa, "list", "pods", "-A") == "no"
    assert _can_i(sa, "delete", "pods", "-n", namespace) == "no"
    assert _can_i(sa, "create", "selfsubjectaccessreviews.authorization.k8s.io") == "yes"
    who = yaml.safe_load(sa("auth", "whoami", "-o", "yaml").stdout)["status"]["userInfo"]
    assert who == {"username": f"system:serviceaccount:{namespace}:default",
                   "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                              "system:authenticated"]}
    listed = sa("auth", "can-i", "--list", "-n", namespace).stdout
    resources = {line.split()[0] for line in listed.splitlines()[1:] if line.strip()}
    assert "selfsubjectaccessreviews.authorization.k8s.io" in resources
    assert not {"*", "*.*", "pods"} & resources, listed  # nothing beyond the reviews


def _review(api: k8s.AuthorizationV1Api, verb: str, resource: str, namespace: str | None,
            name: str | None = None) -> bool:
    attrs = k8s.V1ResourceAttributes(verb=verb, resource=resource, namespace=namespace, name=name)
    body = k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs))
    return api.create_self_subject_access_review(body).status.allowed


def _permitted(call: Callable[[], object]) -> bool:
    try:
        call()
    except ApiException as exc:
        if exc.status != 403:
            raise
        return False
    return True


def test_review_answers_match_what_the_server_enforces(kube_lab, namespace: str) -> None:
    token = kube_lab.server.add_user("ns-writer", namespaces=[namespace], write=True)
    with kube_lab.api_client(token) as api_client:
        authz, core = k8s.AuthorizationV1Api(api_client), k8s.CoreV1Api(api_client)
        cm = k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="probe"))
        cases = [
            ("list", "pods", namespace, lambda: core.list_namespaced_pod(namespace)),
            ("list", "pods", "default", lambda: core.list_namespaced_pod("default")),
            ("list", "pods", None, lambda: core.list_pod_for_all_namespaces()),
            ("create", "configmaps", namespace, lambda: core.create_namespaced_config_map(namespace, cm)),
            ("create", "configmaps", "default", lambda: core.create_namespaced_config_map("default", cm)),
            ("list", "nodes", None, lambda: core.list_node()),
        ]
        answers = [(verb, resource, ns, _review(authz, verb, resource, ns)) for verb, resource, ns, _ in cases]
        enforced = [(verb, resource, ns, _permitted(call)) for verb, resource, ns, call in cases]
    assert answers == enforced
    assert [allowed for *_, allowed in answers] == [True, False, False, True, False, False]


def test_review_needs_attributes(kube_lab) -> None:
    with kube_lab.api_client() as api_client:
        with pytest.raises(ApiException) as err:
            k8s.AuthorizationV1Api(api_client).create_self_subject_access_review(
                k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec()))
    assert err.value.status == 422


def test_discovery_lists_the_review_groups(kube_lab) -> None:
    with kube_lab.api_client() as api_client:
        groups = {g.name: g.preferred_version.version for g in k8s.ApisApi(api_client).get_api_versions().groups}
        resources = k8s.AuthorizationV1Api(api_client).get_api_resources().resources
    assert groups == {"authentication.k8s.io": "v1", "authorization.k8s.io": "v1", "apps": "v1"}  # apps: DaemonSets
    assert {r.name: r.verbs for r in resources} == {"selfsubjectaccessreviews": ["create"],
                                                   "selfsubjectrulesreviews": ["create"]}


@pytest.mark.kubectl
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_admin_impersonates_with_as_and_others_may_not(kube_lab, namespace: str, reader_token: str) -> None:
    admin = _kubectl_as(kube_lab, None, "kubectl")
    sa = f"system:serviceaccount:{namespace}:default"
    assert _can_i(admin, "list", "pods", "-A", "--as", sa) == "no"  # no RBAC binding, as on EKS
    assert _can_i(admin, "create", "pods", "-n", namespace, "--as", sa) == "no"
    assert _can_i(admin, "list", "pods", "-n", "team-a", "--as", "team-a-reader") == "yes"
    assert _can_i(admin, "list", "pods", "-n", namespace, "--as", "team-a-reader") == "no"
    assert _can_i(admin, "delete", "nodes", "--as", "bob", "--as-group", "system:masters") == "yes"
    denied = admin("get", "pods", "-n", namespace, "--as", "nobody")
    assert denied.returncode == 1 and 'User "nobody" cannot list resource "pods"' in denied.stderr
    who = admin("auth", "whoami", "--as", sa, "-o", "jsonpath={.status.userInfo.username}")
    assert who.stdout == sa
    masters = admin("auth", "whoami", "--as", "bob", "--as-group", "system:masters", "-o", "yaml")
    assert yaml.safe_load(masters.stdout)["status"]["userInfo"] == {
        "username": "bob", "groups": ["system:masters", "system:authenticated"]}
    reader = _kubectl_as(kube_lab, reader_token, "kubectl")
    refused = reader("get", "pods", "-n", "team-a", "--as", sa)
    assert refused.returncode == 1
    assert f'users "{sa}" is forbidden: User "team-a-reader" cannot impersonate' in refused.stderr
