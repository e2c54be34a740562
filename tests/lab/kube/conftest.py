"""One lab Kubernetes API server per test session, driven over HTTPS by real clients.

The server runs in-thread (start_in_thread) with the lab Runtime for container commands;
nodes are registered through the API like kubelets would. Tests that change state use
namespaces of their own, so they can run in any order.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from irsa_explorer.lab.kube.server import KubeApiServer
from irsa_explorer.lab.spec import LabCluster
from irsa_explorer.lab.tokens import TokenSigner

NODE_NAMES = (
    "ip-192-168-1-169.us-east-2.compute.internal",
    "ip-192-168-53-243.us-east-2.compute.internal",
)


class _NoAws:
    """The AWS side is not under test here: commands that would call AWS fail to connect."""

    endpoint_url = "http://127.0.0.1:9"
    pod_identity_agent_url = "http://127.0.0.1:9"

    def imds_url(self, node_name: str) -> str:
        return "http://127.0.0.1:9"


def make_runtime():
    from irsa_explorer.lab.runtime.containers import Runtime

    return Runtime(_NoAws())


@dataclass
class PodIdentityAssociations:
    """Stands in for the AWS side's association table: (namespace, sa) → role ARN."""

    roles: dict[tuple[str, str], str] = field(default_factory=dict)

    def __call__(self, namespace: str, sa: str) -> str | None:
        return self.roles.get((namespace, sa))


@dataclass
class KubeLab:
    server: KubeApiServer
    signer: TokenSigner
    cluster: LabCluster
    associations: PodIdentityAssociations
    kubeconfig: Path
    ca_file: Path
    cache_dir: Path

    def api_client(self, token: str | None = None) -> k8s.ApiClient:
        config = k8s.Configuration(host=self.server.url)
        config.ssl_ca_cert = str(self.ca_file)
        config.api_key = {"authorization": token or self.server.admin_token}
        config.api_key_prefix = {"authorization": "Bearer"}
        return k8s.ApiClient(config)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir), *args],
            input=input, capture_output=True, text=True, timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result


@pytest.fixture(scope="session")
def kube_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeLab]:
    cluster = LabCluster()
    signer = TokenSigner(cluster.issuer)
    associations = PodIdentityAssociations()
    server = KubeApiServer(cluster, make_runtime(), signer, pod_identity_lookup=associations,
                           pod_start_delay_s=0.01)
    server.start_in_thread()
    directory = tmp_path_factory.mktemp("lab-kube")
    kubeconfig = directory / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(server.kubeconfig("lab", "admin")))
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(server.ca_pem)
    lab = KubeLab(server, signer, cluster, associations, kubeconfig, ca_file, directory / "kubectl-cache")
    core = k8s.CoreV1Api(lab.api_client())
    for name in NODE_NAMES:
        core.create_node(k8s.V1Node(metadata=k8s.V1ObjectMeta(
            name=name, labels={"topology.kubernetes.io/zone": "us-east-2a"}),
            spec=k8s.V1NodeSpec(provider_id=f"aws:///us-east-2a/i-{uuid.uuid4().hex[:17]}")))
    yield lab
    server.stop_in_thread()


@pytest.fixture(scope="session")
def core(kube_lab: KubeLab) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(kube_lab.api_client())


@pytest.fixture
def namespace(core: k8s.CoreV1Api) -> Iterator[str]:
    """A fresh namespace per test (with its default SA and kube-root-ca.crt, as on EKS)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


