"""The probe pod (the walkthrough's steps 2–3, done for the user): a throwaway pod running as a
service account, asked `aws sts get-caller-identity`, then deleted.

WRITES to the cluster: it creates a pod (create pods), execs in it (create pods/exec) and
deletes it (delete pods). Callers show the manifest and ask first (commands.ask_before);
--readonly refuses before anything here runs. Every write is reported as it happens through
`on_step`, so the user reads "created…", "running…", "deleted" as they happen.

The pod is labelled (`PROBE_LABELS`) so that one left behind (the explorer killed mid-probe, a
delete that failed) is recognised and offered for deletion on the next start
(`leftover_probes`). Its own command ends after `PROBE_SECONDS` and `activeDeadlineSeconds`
stops it on a real cluster, so even a forgotten probe stops running by itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import yaml
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from irsa_explorer.model import IdentityChain, Pod, Unavailable
from irsa_explorer.sources.kube import ClusterError, KubeSource
from irsa_explorer.sources.kube_convert import pod_from_dict
from irsa_explorer.sources.livecheck import LiveResult, mask_tokens, who_am_i

# The walkthrough's image (amazon/aws-cli:latest, docker.io); public.ecr.aws/aws-cli/aws-cli is
# the same image on ECR Public, for clusters that cannot pull from Docker Hub.
DEFAULT_PROBE_IMAGE = "amazon/aws-cli:latest"
PROBE_CONTAINER = "probe"
PROBE_LABELS = {"app.kubernetes.io/managed-by": "irsa-explorer", "irsa-explorer/probe": "true"}
PROBE_SELECTOR = "irsa-explorer/probe=true"
PROBE_SECONDS = 600  # the pod's own `sleep`: long enough to ask, short enough to end by itself
RUNNING_TIMEOUT = 120.0  # pulling the image on a fresh node can take a minute
DELETE_TIMEOUT = 60.0


def is_probe(pod: Pod) -> bool:
    """Whether a pod is one of ours (its label, as PROBE_SELECTOR selects it)."""
    return pod.labels.get("irsa-explorer/probe") == "true"


def probe_name() -> str:
    """A fresh name: irsa-explorer-probe-<6 hex>."""
    return f"irsa-explorer-probe-{secrets.token_hex(3)}"


def probe_manifest(namespace: str, service_account: str, image: str = DEFAULT_PROBE_IMAGE,
                   name: str | None = None) -> dict[str, Any]:
    """The pod a probe creates, exactly as it is sent (and shown before it is)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name or probe_name(),
            "namespace": namespace,
            "labels": dict(PROBE_LABELS),
        },
        "spec": {  # what a reader checks first comes first: the account and the image
            "serviceAccountName": service_account,
            "containers": [{
                "name": PROBE_CONTAINER,
                "image": image,
                "command": ["sleep", str(PROBE_SECONDS)],
            }],
            "restartPolicy": "Never",
            "activeDeadlineSeconds": PROBE_SECONDS,
            "terminationGracePeriodSeconds": 1,  # `sleep` ignores SIGTERM: no point waiting 30 s
        },
    }


def manifest_yaml(manifest: dict[str, Any]) -> str:
    """The manifest as `kubectl apply -f` would take it."""
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=None, width=200)


@dataclass(frozen=True)
class ProbeStep:
    """One thing the probe did, in words, as it happened."""

    name: str  # "create", "running", "who-am-i", "delete"
    ok: bool
    words: str
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc), compare=False)


@dataclass(frozen=True)
class ProbeResult:
    """What a probe did and found. `deleted` False means the pod may still be there (its name
    is in `steps`): the next start offers to delete it."""

    namespace: str
    name: str
    service_account: str
    image: str
    steps: tuple[ProbeStep, ...]
    pod: Pod | None = None  # as it was once Running (what the webhook injected)
    chain: IdentityChain | None = None  # the engine's chain for it
    live: LiveResult | None = None  # what sts get-caller-identity said inside
    created: bool = False
    deleted: bool = False

    @property
    def ok(self) -> bool:
        return self.live is not None and self.live.ok and self.deleted


def run_probe(
    kube: KubeSource,
    manifest: dict[str, Any],
    *,
    on_step: Callable[[ProbeStep], None] | None = None,
    resolve: Callable[[Pod], IdentityChain | None] | None = None,
    running_timeout: float = RUNNING_TIMEOUT,
    delete_timeout: float = DELETE_TIMEOUT,
) -> ProbeResult:
    """Create the probe pod, wait until it runs, ask it who it is, delete it — each step
    reported to `on_step` as it happens. `resolve`: the engine's chain for the pod as created
    (its answer is compared with it). Never raises for what the cluster answers: each failure
    is a step; the pod is deleted whatever happened once it was created."""
    metadata, spec = manifest["metadata"], manifest["spec"]
    namespace, name = metadata["namespace"], metadata["name"]
    steps: list[ProbeStep] = []
    result: dict[str, Any] = dict(namespace=namespace, name=name, service_account=spec.get("serviceAccountName", "default"),
                                  image=spec["containers"][0]["image"])

    def step(kind: str, ok: bool, words: str) -> None:
        said = ProbeStep(kind, ok, words)
        steps.append(said)
        if on_step is not None:
            on_step(said)

    try:
        response = kube.core.full().create_namespaced_pod(namespace, manifest, _preload_content=False)
        created = pod_from_dict(_json(response))
    except Exception as error:
        step("create", False, f"not created: {mask_tokens(str(kube.failure(f'create pod {namespace}/{name}', error)))}")
        return ProbeResult(steps=tuple(steps), **result)
    step("create", True, f"created pod {namespace}/{name} (image {result['image']}, service account "
                         f"{result['service_account']})")
    pod: Pod | None = None
    chain: IdentityChain | None = None
    live: LiveResult | None = None
    try:
        pod, why = _wait_running(kube, namespace, name, created.resource_version, running_timeout)
        if pod is None:
            step("running", False, why)
        else:
            step("running", True, f"running on node {pod.node_name or '(unknown)'}")
            chain = resolve(pod) if resolve is not None else None
            try:
                live = who_am_i(kube, pod, PROBE_CONTAINER, findings=chain.findings if chain else (),
                                expected=chain.effective if chain else None)
            except ClusterError as error:
                step("who-am-i", False, f"exec failed: {mask_tokens(str(error))}")
            else:
                answer = live.arn if live.ok else f"{live.error_code or 'error'}: {live.error_message}"
                step("who-am-i", live.ok, f"aws sts get-caller-identity: {answer}")
    finally:
        deleted, words = delete_probe(kube, namespace, name, delete_timeout)
        step("delete", deleted, words)
    return ProbeResult(steps=tuple(steps), pod=pod, chain=chain, live=live, created=True, deleted=deleted, **result)


def _json(response: Any) -> dict[str, Any]:
    import json

    return json.loads(response.data)


def _wait_running(kube: KubeSource, namespace: str, name: str, resource_version: str,
                  timeout: float) -> tuple[Pod | None, str]:
    """The pod once it is Running (watched, not polled), or None and why not: it ended, its
    image cannot be pulled, or it was not Running after `timeout` seconds (said so)."""
    last: Pod | None = None
    waiting = ""
    stream = k8s_watch.Watch()
    try:
        for event in stream.stream(
            kube.core.full().list_namespaced_pod, namespace, field_selector=f"metadata.name={name}",
            timeout_seconds=max(int(timeout), 1), _request_timeout=(kube.request_timeout or 10, timeout + 10),
        ):
            raw = event.get("raw_object") or {}
            if event.get("type") == "DELETED":
                return None, f"pod {namespace}/{name} was deleted before it ran"
            if event.get("type") == "ERROR" or not raw.get("metadata"):
                continue
            last = pod_from_dict(raw)
            if last.phase == "Running":
                return last, ""
            if last.phase in ("Succeeded", "Failed"):
                return None, f"pod {namespace}/{name} ended ({last.status or last.phase}) before it could be asked"
            waiting = _waiting_reason(raw)
            if waiting in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                           "CreateContainerError"):
                return None, f"pod {namespace}/{name} cannot start: {waiting}"
    except Exception as error:
        return None, f"watching pod {namespace}/{name} failed: {kube.failure('watch the probe pod', error)}"
    finally:
        stream.stop()
    still = f" (still {last.status or last.phase}{': ' + waiting if waiting else ''})" if last else ""
    return None, f"pod {namespace}/{name} was not Running after {timeout:.0f} s{still}: gave up waiting"


def _waiting_reason(raw: dict[str, Any]) -> str:
    for status in (raw.get("status") or {}).get("containerStatuses") or []:
        reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return ""


def delete_probe(kube: KubeSource, namespace: str, name: str, timeout: float = DELETE_TIMEOUT) -> tuple[bool, str]:
    """Delete a probe pod and wait (watching) until the API server no longer has it: True and
    "deleted …", or False and why not."""
    api = kube.core.full()
    try:
        api.delete_namespaced_pod(name, namespace, _preload_content=False)
    except ApiException as error:
        if error.status == 404:
            return True, f"deleted pod {namespace}/{name} (it was already gone)"
        return False, f"NOT deleted: {kube.failure(f'delete pod {namespace}/{name}', error)} — delete it with: " \
                      f"kubectl delete pod -n {namespace} {name}"
    except Exception as error:
        return False, f"NOT deleted: {kube.failure(f'delete pod {namespace}/{name}', error)} — delete it with: " \
                      f"kubectl delete pod -n {namespace} {name}"
    try:
        response = api.read_namespaced_pod(name, namespace, _preload_content=False)
        version = (_json(response).get("metadata") or {}).get("resourceVersion")
    except ApiException as error:
        if error.status == 404:
            return True, f"deleted pod {namespace}/{name}"
        version = None
    except Exception:
        version = None
    stream = k8s_watch.Watch()
    try:
        kwargs: dict[str, Any] = {"resource_version": version} if version else {}
        for event in stream.stream(api.list_namespaced_pod, namespace, field_selector=f"metadata.name={name}",
                                   timeout_seconds=max(int(timeout), 1),
                                   _request_timeout=(kube.request_timeout or 10, timeout + 10), **kwargs):
            if event.get("type") == "DELETED":
                return True, f"deleted pod {namespace}/{name}"
    except Exception:
        pass  # asked below, once more
    finally:
        stream.stop()
    try:
        api.read_namespaced_pod(name, namespace, _preload_content=False)
    except ApiException as error:
        if error.status == 404:
            return True, f"deleted pod {namespace}/{name}"
    except Exception:
        pass
    return False, (f"asked to delete pod {namespace}/{name}, but it was still there after {timeout:.0f} s "
                   f"(terminating?) — check with: kubectl get pod -n {namespace} {name}")


def leftover_probes(kube: KubeSource, namespace: str | None = None) -> list[Pod] | Unavailable:
    """Probe pods still in the cluster (one label-selected list; all namespaces unless
    `namespace`, falling back to the readable ones)."""
    try:
        return list(kube.list_pods(namespace, label_selector=PROBE_SELECTOR).items)
    except Exception as error:
        return Unavailable(str(kube.failure("list probe pods", error)), "list pods")
