"""What happens to a pod on CREATE in EKS, before it is stored.

In order: API defaulting, the ServiceAccount admission plugin (default SA, the
`kube-api-access-*` projected volume) and the EKS pod identity webhook (IRSA env and
`aws-iam-token` volume, or EKS Pod Identity when an association exists). The webhook runs on
CREATE only: annotating a service account later changes nothing in existing pods, which is
failure A.1 of the catalogue and exactly what the lab must reproduce.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import Any

from ... import model
from ..spec import LabCluster

PodIdentityLookup = Callable[[str, str], "str | None"]

SA_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
POD_IDENTITY_TOKEN_DIR = model.POD_IDENTITY_TOKEN_PATH.rsplit("/", 1)[0]
DEFAULT_TOKEN_EXPIRATION = 86400
MIN_TOKEN_EXPIRATION = 600
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's utilrand alphabet


class AdmissionError(Exception):
    """The pod is rejected: `code` 403 (Forbidden) or 422 (Invalid), with upstream's wording."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message


def random_suffix(length: int = 5) -> str:
    return "".join(random.choice(_SUFFIX_ALPHABET) for _ in range(length))


def _all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def apply_secret_defaults(secret: dict[str, Any]) -> None:
    """As the API server stores secrets: `stringData` folded into base64 `data`, type Opaque."""
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    secret.setdefault("type", "Opaque")


def apply_pod_defaults(pod: dict[str, Any]) -> None:
    """The defaults the API server fills into a pod spec (what `-o yaml` shows on EKS)."""
    spec = pod.setdefault("spec", {})
    if not spec.get("containers"):
        name = pod.get("metadata", {}).get("name", "")
        raise AdmissionError(422, "Invalid", f'Pod "{name}" is invalid: spec.containers: Required value')
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    tolerations = spec.setdefault("tolerations", [])
    # DefaultTolerationSeconds admission plugin.
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    for container in _all_containers(spec):
        default_container(container)


def default_container(container: dict[str, Any]) -> None:
    """A container's defaults as the API server fills them in (a pod's, a pod template's)."""
    image = container.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    latest = ":" not in tag or tag.endswith(":latest")
    container.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
    container.setdefault("resources", {})
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")


def admit_service_account(pod: dict[str, Any], sa: dict[str, Any] | None) -> None:
    """ServiceAccount admission: default SA, and the kube-api-access projected volume."""
    spec = pod["spec"]
    namespace = pod["metadata"]["namespace"]
    sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    if sa is None:
        raise AdmissionError(
            403,
            "Forbidden",
            f'pods "{pod["metadata"].get("name", "")}" is forbidden: error looking up service account '
            f"{namespace}/{sa_name}: serviceaccount \"{sa_name}\" not found",
        )
    spec["serviceAccountName"] = sa_name
    spec["serviceAccount"] = sa_name
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = sa.get("automountServiceAccountToken", True)
    if automount is False:
        return
    volumes = spec.setdefault("volumes", [])
    if any(v.get("name", "").startswith("kube-api-access-") for v in volumes):
        return
    volume_name = f"kube-api-access-{random_suffix()}"
    volumes.append(
        {
            "name": volume_name,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                        "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                ],
            },
        }
    )
    for container in _all_containers(spec):
        mounts = container.setdefault("volumeMounts", [])
        if not any(m.get("mountPath") == SA_TOKEN_DIR for m in mounts):
            mounts.append({"name": volume_name, "mountPath": SA_TOKEN_DIR, "readOnly": True})


def _parse_expiration(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the webhook ignores unparsable values and keeps its default


def _env_names(container: dict[str, Any]) -> set[str]:
    return {e.get("name") for e in container.get("env") or []}


def _add_env(container: dict[str, Any], pairs: list[tuple[str, str]]) -> None:
    env = container.setdefault("env", [])
    present = _env_names(container)
    for name, value in pairs:
        if name not in present:
            env.append({"name": name, "value": value})


def _add_projected_token(spec: dict[str, Any], volume: str, audience: str, expiration: int, path: str) -> None:
    volumes = spec.setdefault("volumes", [])
    if any(v.get("name") == volume for v in volumes):
        return
    volumes.append(
        {
            "name": volume,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"audience": audience, "expirationSeconds": expiration, "path": path}}
                ],
            },
        }
    )


def _mount(container: dict[str, Any], volume: str, path: str) -> None:
    mounts = container.setdefault("volumeMounts", [])
    if not any(m.get("mountPath") == path for m in mounts):
        mounts.append({"name": volume, "mountPath": path, "readOnly": True})


class PodIdentityWebhook:
    """amazon-eks-pod-identity-webhook as EKS runs it (region known, regional STS on)."""

    def __init__(self, cluster: LabCluster, pod_identity_lookup: PodIdentityLookup | None = None) -> None:
        self.cluster = cluster
        self.pod_identity_lookup = pod_identity_lookup
        # EKS registers the webhook with failurePolicy Ignore: when it is down, pods are created
        # unmutated and nobody is told (catalogue A.3). Scenarios switch this off to show it.
        self.enabled = True

    def mutate(self, pod: dict[str, Any], sa: dict[str, Any]) -> None:
        """Inject Pod Identity (preferred) or IRSA into a pod being created."""
        if not self.enabled:
            return
        meta = pod["metadata"]
        if (meta.get("labels") or {}).get(model.SKIP_WEBHOOK_LABEL) == "true":
            return
        annotations = meta.get("annotations") or {}
        skipped = {
            name.strip()
            for name in annotations.get(model.SKIP_CONTAINERS_ANNOTATION, "").split(",")
            if name.strip()
        }
        spec = pod["spec"]
        containers = [c for c in _all_containers(spec) if c.get("name") not in skipped]
        namespace, sa_name = meta["namespace"], sa["metadata"]["name"]
        role = self.pod_identity_lookup(namespace, sa_name) if self.pod_identity_lookup else None
        if role:
            self._inject_pod_identity(spec, containers)
            return
        sa_annotations = sa["metadata"].get("annotations") or {}
        role_arn = sa_annotations.get(model.ROLE_ARN_ANNOTATION)
        if role_arn:
            self._inject_irsa(spec, containers, role_arn, sa_annotations, annotations)

    def _inject_irsa(self, spec, containers, role_arn, sa_annotations, pod_annotations) -> None:
        audience = sa_annotations.get(model.AUDIENCE_ANNOTATION) or model.DEFAULT_AUDIENCE
        expiration = (
            _parse_expiration(pod_annotations.get(model.TOKEN_EXPIRATION_ANNOTATION))
            or _parse_expiration(sa_annotations.get(model.TOKEN_EXPIRATION_ANNOTATION))
            or DEFAULT_TOKEN_EXPIRATION
        )
        expiration = max(expiration, MIN_TOKEN_EXPIRATION)
        injected = False
        for container in containers:
            names = _env_names(container)
            if "AWS_ROLE_ARN" in names or "AWS_WEB_IDENTITY_TOKEN_FILE" in names:
                continue  # the container chose its own web identity: the webhook leaves it alone
            _add_env(
                container,
                [
                    ("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
                    ("AWS_DEFAULT_REGION", self.cluster.region),
                    ("AWS_REGION", self.cluster.region),
                    ("AWS_ROLE_ARN", role_arn),
                    ("AWS_WEB_IDENTITY_TOKEN_FILE", model.IRSA_TOKEN_PATH),
                ],
            )
            _mount(container, model.IRSA_VOLUME, model.IRSA_TOKEN_DIR)
            injected = True
        if injected:
            _add_projected_token(spec, model.IRSA_VOLUME, audience, expiration, "token")

    def _inject_pod_identity(self, spec, containers) -> None:
        injected = False
        for container in containers:
            names = _env_names(container)
            if "AWS_CONTAINER_CREDENTIALS_FULL_URI" in names or "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in names:
                continue
            _add_env(
                container,
                [
                    ("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
                    ("AWS_DEFAULT_REGION", self.cluster.region),
                    ("AWS_REGION", self.cluster.region),
                    ("AWS_CONTAINER_CREDENTIALS_FULL_URI", model.POD_IDENTITY_URI),
                    ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", model.POD_IDENTITY_TOKEN_PATH),
                ],
            )
            _mount(container, model.POD_IDENTITY_VOLUME, POD_IDENTITY_TOKEN_DIR)
            injected = True
        if injected:
            _add_projected_token(
                spec, model.POD_IDENTITY_VOLUME, model.POD_IDENTITY_AUDIENCE, DEFAULT_TOKEN_EXPIRATION,
                model.POD_IDENTITY_VOLUME,
            )
