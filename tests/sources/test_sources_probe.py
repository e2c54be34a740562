"""The probe pod and "what would this service account get", over the wire against the lab:
TokenRequest, STS and EKS Auth as the clients send them, a pod created, watched, exec'd into and
deleted through the API server — and what the engine predicted, beside what AWS answered."""

from __future__ import annotations

import pytest

from irsa_explorer.analysis.identity import resolve_chain
from irsa_explorer.analysis.prediction import MATCHES, predict_service_account
from irsa_explorer.model import Mechanism
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.inventory import load_inventory
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.livecheck import what_would_sa_get
from irsa_explorer.sources.probe import (
    PROBE_LABELS,
    PROBE_SELECTOR,
    delete_probe,
    leftover_probes,
    manifest_yaml,
    probe_manifest,
    run_probe,
)

ACCOUNT = "113534181560"
MY_SA_ROLE_NAME = "eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"


class Sources:
    def __init__(self, running) -> None:
        self.kube = KubeSource(kubeconfig=str(running.kubeconfig))
        self.aws = AwsSource.from_env(running.aws_env)
        self.inventory = load_inventory(self.kube, self.aws, None)

    def close(self) -> None:
        self.kube.close()


@pytest.fixture(scope="module")
def walkthrough(lab):
    sources = Sources(lab)
    yield sources
    sources.close()


def _probes(kube: KubeSource) -> list[str]:
    return [f"{p.namespace}/{p.name}" for p in kube.list_pods(None, label_selector=PROBE_SELECTOR).items]


def test_what_my_sa_would_get_is_its_role_as_predicted(walkthrough) -> None:
    prediction = predict_service_account(walkthrough.inventory, "default", "my-sa")
    assert prediction.mechanism is Mechanism.IRSA and prediction.audience == "sts.amazonaws.com"
    assert prediction.role_arn == f"arn:aws:iam::{ACCOUNT}:role/{MY_SA_ROLE_NAME}"
    steps = []
    check = what_would_sa_get(walkthrough.kube, walkthrough.aws, "default", "my-sa", prediction=prediction,
                              on_step=steps.append)
    assert check.ok, check
    assert [s.name for s in steps] == ["token-request", "assume-role-with-web-identity", "get-caller-identity"]
    assert check.arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{MY_SA_ROLE_NAME}/")
    assert check.agreement.verdict == MATCHES
    assert "eyJ" not in repr(check)


def test_payments_my_sa_gets_the_exact_access_denied(lab_for) -> None:
    sources = Sources(lab_for("sub-wrong-namespace"))
    try:
        prediction = predict_service_account(sources.inventory, "payments", "my-sa")
        assert prediction.expected_error == "AccessDenied"
        check = what_would_sa_get(sources.kube, sources.aws, "payments", "my-sa", prediction=prediction)
    finally:
        sources.close()
    assert not check.ok and check.arn is None
    failed = check.failed
    assert failed.name == "assume-role-with-web-identity" and failed.error_code == "AccessDenied"
    assert failed.detail == "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    assert check.agreement.verdict == MATCHES  # the engine said the trust refuses this sub


def test_an_account_without_a_role_asks_nothing(walkthrough) -> None:
    prediction = predict_service_account(walkthrough.inventory, "default", "default")
    assert prediction.mechanism is Mechanism.NONE
    check = what_would_sa_get(walkthrough.kube, walkthrough.aws, "default", "default", prediction=prediction)
    assert not check.answered and "nothing to ask" in check.steps[0].detail


def test_pod_identity_goes_through_eks_auth(lab_for) -> None:
    sources = Sources(lab_for("pod-identity"))
    try:
        association = next(a for a in sources.inventory.associations)
        prediction = predict_service_account(sources.inventory, association.namespace, association.service_account)
        assert prediction.mechanism is Mechanism.POD_IDENTITY and prediction.audience == "pods.eks.amazonaws.com"
        check = what_would_sa_get(sources.kube, sources.aws, association.namespace, association.service_account,
                                  prediction=prediction, cluster_name=sources.inventory.cluster.name)
    finally:
        sources.close()
    assert [s.name for s in check.steps][:2] == ["token-request", "assume-role-for-pod-identity"]
    assert check.ok, check
    assert check.arn.split("/")[1] == association.role_arn.rsplit("/", 1)[1]
    assert check.agreement.verdict == MATCHES


def test_probe_as_my_sa_reports_its_role_and_leaves_no_pod(walkthrough) -> None:
    manifest = probe_manifest("default", "my-sa")
    assert manifest["metadata"]["labels"] == PROBE_LABELS
    assert "serviceAccountName: my-sa" in manifest_yaml(manifest)
    steps = []
    result = run_probe(walkthrough.kube, manifest, on_step=steps.append,
                       resolve=lambda pod: resolve_chain(pod, walkthrough.inventory))
    assert [s.name for s in steps] == ["create", "running", "who-am-i", "delete"], steps
    assert all(s.ok for s in steps), steps
    assert steps[0].words.startswith("created pod default/irsa-explorer-probe-")
    assert steps[-1].words.startswith("deleted pod default/irsa-explorer-probe-")
    assert result.ok and result.deleted
    # the webhook injected IRSA into the probe as into any pod
    assert result.pod.containers[0].env_value("AWS_ROLE_ARN") == f"arn:aws:iam::{ACCOUNT}:role/{MY_SA_ROLE_NAME}"
    assert f":assumed-role/{MY_SA_ROLE_NAME}/" in result.live.arn
    assert result.chain.effective.arn == f"arn:aws:iam::{ACCOUNT}:role/{MY_SA_ROLE_NAME}"
    assert result.live.agrees_with_engine is True
    assert _probes(walkthrough.kube) == []
    names = [p.name for p in walkthrough.kube.list_pods(None).items]
    assert manifest["metadata"]["name"] not in names


def test_probe_with_an_image_that_cannot_start_is_still_deleted(walkthrough) -> None:
    # busybox has no aws CLI and no python3: the pod runs, the question cannot be asked
    result = run_probe(walkthrough.kube, probe_manifest("default", "my-sa", image="busybox:1.36"))
    assert result.created and result.deleted
    assert result.live is not None and not result.live.ok
    assert "neither the aws CLI nor python3" in result.live.error_message
    assert _probes(walkthrough.kube) == []


def test_a_probe_in_a_namespace_that_does_not_exist_is_not_created(walkthrough) -> None:
    result = run_probe(walkthrough.kube, probe_manifest("no-such-namespace", "my-sa"))
    assert not result.created and len(result.steps) == 1
    assert result.steps[0].name == "create" and not result.steps[0].ok
    assert "not created" in result.steps[0].words and "no-such-namespace" in result.steps[0].words


def test_leftover_probes_are_found_and_deleted(walkthrough) -> None:
    kube = walkthrough.kube
    manifest = probe_manifest("default", "my-sa", name="irsa-explorer-probe-leftover")
    kube.core.full().create_namespaced_pod("default", manifest, _preload_content=False)
    try:
        found = leftover_probes(kube)
        assert [f"{p.namespace}/{p.name}" for p in found] == ["default/irsa-explorer-probe-leftover"]
    finally:
        deleted, words = delete_probe(kube, "default", "irsa-explorer-probe-leftover")
    assert deleted and words == "deleted pod default/irsa-explorer-probe-leftover"
    assert leftover_probes(kube) == []


def test_the_ecr_public_image_runs_as_the_walkthrough_image_does(walkthrough) -> None:
    result = run_probe(walkthrough.kube, probe_manifest("default", "my-sa", image="public.ecr.aws/aws-cli/aws-cli:latest"))
    assert result.ok, result.steps
    assert f":assumed-role/{MY_SA_ROLE_NAME}/" in result.live.arn
    assert _probes(walkthrough.kube) == []


def test_a_reader_may_not_create_a_probe_and_is_told_which_permission(lab_for) -> None:
    lab = lab_for("least-privilege")
    kube = KubeSource(kubeconfig=str(lab.kubeconfig), context=lab.context.replace("lab@", "reader@", 1))
    try:
        result = run_probe(kube, probe_manifest("default", "my-sa"))
    finally:
        kube.close()
    assert not result.created and [s.name for s in result.steps] == ["create"]
    words = result.steps[0].words
    assert words.startswith("not created: ") and "forbidden" in words.lower() and "create" in words, words
