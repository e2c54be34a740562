"""The `restricted-user` scenario's users as kubectl meets them: real Forbidden errors over the wire.

`lab serve` writes one extra context per scenario user into DIR/kubeconfig; the admin's stays
current. dev@… reads only namespace default; auditor@… reads default and team-b and may list
namespaces, but not pods across them.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

SUFFIX = "eks-oidc-demo.us-east-2.eksctl.io"
ADMIN, DEV, AUDITOR = f"lab@{SUFFIX}", f"dev@{SUFFIX}", f"auditor@{SUFFIX}"


@pytest.fixture(scope="module")
def restricted(lab_for):
    return lab_for("restricted-user")


@pytest.fixture(scope="module")
def kubectl(restricted, lab_env, tmp_path_factory):
    cache = tmp_path_factory.mktemp("kubectl-cache")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["kubectl", "--cache-dir", str(cache), *args],
            env=lab_env(restricted), capture_output=True, text=True, timeout=30,
        )

    return run


def test_kubeconfig_has_one_context_per_user_and_the_admin_stays_current(restricted):
    config = yaml.safe_load(restricted.kubeconfig.read_text())
    assert config["current-context"] == ADMIN == restricted.context
    contexts = {c["name"]: c["context"] for c in config["contexts"]}
    assert set(contexts) == {ADMIN, DEV, AUDITOR}
    assert contexts[DEV] == {"cluster": ADMIN, "user": DEV, "namespace": "default"}
    assert contexts[AUDITOR]["namespace"] == "default"  # the first of its namespaces
    tokens = {u["name"]: u["user"]["token"] for u in config["users"]}
    assert len(set(tokens.values())) == 3  # each user its own credential
    assert f"user context: {DEV} (reads default)" in restricted.banner
    assert f"user context: {AUDITOR} (reads default, team-b; lists namespaces)" in restricted.banner


def test_dev_get_pods_all_namespaces_is_kubectls_real_forbidden_error(kubectl):
    result = kubectl("--context", DEV, "get", "pods", "-A")
    assert result.returncode == 1
    assert (
        'Error from server (Forbidden): pods is forbidden: User "dev" cannot list resource "pods" '
        'in API group "" at the cluster scope'
    ) in result.stderr
    assert result.stdout == ""


def test_dev_reads_its_namespace_and_nothing_else(kubectl):
    mine = kubectl("--context", DEV, "get", "pods", "-o", "name")  # the context's namespace: default
    assert mine.returncode == 0, mine.stderr
    assert {"pod/eks-iam-test1", "pod/eks-iam-test2", "pod/eks-iam-test3"} == set(mine.stdout.split())
    other = kubectl("--context", DEV, "get", "pods", "-n", "team-b")
    assert other.returncode == 1
    assert 'cannot list resource "pods" in API group "" in the namespace "team-b"' in other.stderr
    for resource in ("nodes", "namespaces"):
        denied = kubectl("--context", DEV, "get", resource)
        assert denied.returncode == 1
        assert f'User "dev" cannot list resource "{resource}" in API group "" at the cluster scope' in denied.stderr
    can = kubectl("--context", DEV, "auth", "can-i", "list", "pods", "--all-namespaces")
    assert (can.returncode, can.stdout.strip()) == (1, "no")
    write = kubectl("--context", DEV, "delete", "pod", "eks-iam-test2", "--dry-run=server")
    assert write.returncode == 1 and 'cannot delete resource "pods"' in write.stderr  # a reader only


def test_auditor_lists_namespaces_but_not_pods_across_them(kubectl):
    namespaces = kubectl("--context", AUDITOR, "get", "namespaces", "-o", "name")
    assert namespaces.returncode == 0, namespaces.stderr
    assert {"namespace/default", "namespace/team-b", "namespace/kube-system"} <= set(namespaces.stdout.split())
    everywhere = kubectl("--context", AUDITOR, "get", "pods", "-A")
    assert everywhere.returncode == 1 and 'User "auditor" cannot list resource "pods"' in everywhere.stderr
    team_b = kubectl("--context", AUDITOR, "get", "pods", "-n", "team-b", "-o", "name")
    assert (team_b.returncode, team_b.stdout.split()) == (0, ["pod/batch"])
    can = kubectl("--context", AUDITOR, "auth", "can-i", "list", "namespaces")
    assert (can.returncode, can.stdout.strip()) == (0, "yes")  # SelfSubjectAccessReview agrees
    system = kubectl("--context", AUDITOR, "get", "pods", "-n", "kube-system")
    assert system.returncode == 1 and 'in the namespace "kube-system"' in system.stderr


def test_the_admin_context_still_sees_everything(kubectl):
    result = kubectl("get", "pods", "-A", "-o", "name")
    assert result.returncode == 0, result.stderr
    assert {"pod/eks-iam-test2", "pod/batch"} <= set(result.stdout.split())


def test_a_bad_users_entry_is_refused_with_where_it_is(tmp_path):
    from irsa_explorer.lab.scenario import ScenarioError, load_scenario

    inner = tmp_path / "inner.yaml"
    inner.write_text("users:\n  - {name: ok, cluster_read: [namespaces]}\nsteps:\n  - include: fresh-cluster\n")
    outer = tmp_path / "outer.yaml"
    outer.write_text(
        "users:\n"
        "  - name: Dev\n"
        "    namespaces: default\n"
        "    write: yes please\n"
        "    cluster_read: [pods]\n"
        "    role: admin\n"
        "  - name: lab\n"
        "steps:\n"
        "  - include: ./inner.yaml\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(outer)
    problems = {(p.where, p.line) for p in caught.value.problems}
    assert problems == {
        ("users[0].name", 2), ("users[0].namespaces", 3), ("users[0].write", 4), ("users[0].cluster_read", 5),
        ("users[0].role", 6), ("users[1].name", 7),
        ("users[0].cluster_read", 2),  # inner.yaml: cluster_read needs namespaces; included users are checked too
    }
    assert "a non-empty list of namespace names" in str(caught.value)
    good = tmp_path / "good.yaml"
    good.write_text("users:\n  - {name: dev, namespaces: [default], write: true}\nsteps:\n  - include: fresh-cluster\n")
    (user,) = load_scenario(good).users
    assert (user.name, user.namespaces, user.write, user.cluster_read) == ("dev", ("default",), True, ())
