"""apps/v1 DaemonSets: what kube-apiserver checks and fills in, the `kubectl get ds` columns, and
the DaemonSet controller of kube-controller-manager reduced to what the lab's add-ons need.

EKS add-ons (eks-pod-identity-agent, aws-node, kube-proxy) are DaemonSets: one pod per node the
pod template may run on. Whether a node runs one decides, for Pod Identity, whether a pod there
gets credentials at all (failure catalogue F.18) — so the lab keeps them as the controller does:

- a node is eligible when the template's nodeSelector and required node affinity match its labels
  and every NoSchedule/NoExecute taint is tolerated (the template's tolerations plus those the
  controller adds to every daemon pod); one pod per eligible node, owned by the DaemonSet
  (ownerReference with its uid, controller: true), spec.nodeName set, the template's labels plus
  `pod-template-generation`;
- a pod stays on a node it may no longer be scheduled on as long as it may keep running there
  (a NoSchedule taint added later leaves it, counted as misscheduled), and is deleted when it may
  not (the node gone, its labels no longer selected, a NoExecute taint not tolerated);
- a template change (a generation) replaces the older pods, `maxUnavailable` at a time (RollingUpdate);
  OnDelete leaves them;
- pods matching the selector with no controller are adopted, as ClaimPods does; a deleted
  DaemonSet's pods are deleted with it (the garbage collector's background propagation).

Pod names are `<daemonset>-<5 characters>`, the suffix derived from the namespace, DaemonSet and
node names (the controller's are random): the same lab makes the same names, so seeded runs and
snapshots stay stable. The controller runs on a thread of its own, woken by the store's events;
it starts with the first DaemonSet, so labs without one pay nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from typing import TYPE_CHECKING, Any

from .admission import default_container
from .errors import ApiError
from .store import StoreError, WatchEvent, clone

if TYPE_CHECKING:
    from .server import KubeApiServer

log = logging.getLogger(__name__)

GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"
# What the controller adds to every daemon pod (AddOrUpdateDaemonPodTolerations), so that a node's
# conditions never evict the pods that keep the node working.
DAEMON_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                           "effect": "NoSchedule"}
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand.String alphabet


# --- the API server's part: validation and defaults ---------------------------------------------

def apply_daemonset_defaults(ds: dict[str, Any]) -> None:
    """Validate a new DaemonSet and fill in apps/v1's defaults (what `-o yaml` shows after create)."""
    problems = _problems(ds)
    if problems:
        _invalid(ds["metadata"].get("name", ""), problems)
    meta = ds["metadata"]
    meta["generation"] = 1
    meta.setdefault("annotations", {})[TEMPLATE_GENERATION] = "1"
    _default_spec(ds["spec"])
    ds["status"] = {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                    "numberReady": 0}


def daemonset_update(current: dict[str, Any], updated: dict[str, Any]) -> None:
    """An update (PUT or PATCH) of `current` into `updated`: the selector is immutable, a changed
    spec is a new generation, a changed template a new template generation."""
    problems = []
    if not isinstance(updated.get("spec"), dict) or updated["spec"].get("selector") != current["spec"].get("selector"):
        selector = (updated.get("spec") or {}).get("selector") or {}
        problems.append(("FieldValueInvalid", "spec.selector",
                         f'Invalid value: {_go_map(selector.get("matchLabels") or {})}: field is immutable'))
    problems += _problems(updated)  # in this order, as ValidateDaemonSetUpdate
    if problems:
        _invalid(current["metadata"]["name"], problems)
    _default_spec(updated["spec"])
    meta, old_meta = updated["metadata"], current["metadata"]
    generation = int(old_meta.get("generation") or 1)
    template_generation = (old_meta.get("annotations") or {}).get(TEMPLATE_GENERATION, "1")
    if updated["spec"] != current["spec"]:
        generation += 1
    if updated["spec"]["template"] != current["spec"]["template"]:
        template_generation = str(int(template_generation) + 1)
    meta["generation"] = generation
    meta.setdefault("annotations", {})[TEMPLATE_GENERATION] = template_generation


def _problems(ds: dict[str, Any]) -> list[tuple[str, str, str]]:
    spec = ds.get("spec")
    problems: list[tuple[str, str, str]] = []  # (cause reason, field, message)
    if not isinstance(spec, dict):
        spec = {}
    selector = spec.get("selector")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    pod_spec = template.get("spec") or {}
    if not selector:
        problems.append(("FieldValueRequired", "spec.selector", "Required value"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        problems.append(("FieldValueInvalid", "spec.selector", "Invalid value: v1.LabelSelector{MatchLabels:"
                         "map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
                         "empty selector is invalid for daemonset"))
    if selector and not selector_matches(selector, labels):
        problems.append(("FieldValueInvalid", "spec.template.metadata.labels",
                         f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`"))
    if not pod_spec.get("containers"):
        problems.append(("FieldValueRequired", "spec.template.spec.containers", "Required value"))
    if pod_spec.get("restartPolicy", "Always") != "Always":
        problems.append(("FieldValueNotSupported", "spec.template.spec.restartPolicy",
                         f'Unsupported value: "{pod_spec["restartPolicy"]}": supported values: "Always"'))
    return problems


def _invalid(name: str, problems: list[tuple[str, str, str]]) -> None:
    """422 as apimachinery's NewInvalid words it: kubectl prints the causes, field by field."""
    texts = [f"{field}: {message}" for _, field, message in problems]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    raise ApiError(422, "Invalid", f'DaemonSet.apps "{name}" is invalid: {joined}',
                   {"name": name, "group": "apps", "kind": "DaemonSet",
                    "causes": [{"reason": r, "message": m, "field": f} for r, f, m in problems]})


def _default_spec(spec: dict[str, Any]) -> None:
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    template = spec["template"]
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    pod_spec = template["spec"]
    for key, value in (("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30),
                       ("dnsPolicy", "ClusterFirst"), ("securityContext", {}), ("schedulerName", "default-scheduler")):
        pod_spec.setdefault(key, value)
    for container in pod_spec["containers"]:
        default_container(container)


def _go_map(value: dict[str, Any]) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(value.items())) + "}"


# --- matching: selectors, node affinity, taints ------------------------------------------------

def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions) against labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_requirement(expr, labels) for expr in selector.get("matchExpressions") or [])


def _requirement(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _node_selected(pod_spec: dict[str, Any], node: dict[str, Any]) -> bool:
    """nodeSelector and required node affinity (nodeSelectorTerms are ORed, their parts ANDed)."""
    meta = node["metadata"]
    labels = meta.get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    fields = {"metadata.name": meta["name"]}
    return any(
        (term.get("matchExpressions") or term.get("matchFields"))
        and all(_requirement(e, labels) for e in term.get("matchExpressions") or [])
        and all(_requirement(e, fields) for e in term.get("matchFields") or [])
        for term in terms)


def tolerates(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    """Kubernetes' toleration rules (ToleratesTaint)."""
    for toleration in tolerations:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        if toleration.get("key") and toleration["key"] != taint.get("key"):
            continue
        if toleration.get("operator", "Equal") == "Exists":
            return True
        if toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def daemon_tolerations(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's tolerations and the controller's own, as a daemon pod carries them."""
    tolerations = [clone(t) for t in pod_spec.get("tolerations") or []]
    extra = list(DAEMON_TOLERATIONS) + ([HOST_NETWORK_TOLERATION] if pod_spec.get("hostNetwork") else [])
    for toleration in extra:
        if not any(t.get("key") == toleration["key"] and t.get("effect") == toleration["effect"] for t in tolerations):
            tolerations.append(dict(toleration))
    return tolerations


def node_should_run(pod_spec: dict[str, Any], node: dict[str, Any]) -> tuple[bool, bool]:
    """(should run: a new daemon pod may be placed there, should continue running: one there may stay),
    as NodeShouldRunDaemonPod answers them."""
    if not _node_selected(pod_spec, node):
        return False, False
    tolerations = daemon_tolerations(pod_spec)
    taints = (node.get("spec") or {}).get("taints") or []
    untolerated = [t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(t, tolerations)]
    return not untolerated, not any(t.get("effect") == "NoExecute" for t in untolerated)


def daemon_pod_name(namespace: str, ds_name: str, node_name: str, attempt: int = 0) -> str:
    digest = hashlib.sha256(f"{namespace}/{ds_name}/{node_name}/{attempt}".encode()).digest()
    return f"{ds_name}-" + "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:5])


# --- `kubectl get ds` --------------------------------------------------------------------------

DAEMONSET_COLUMNS = [
    ("Name", "string", 0, "name"), ("Desired", "integer", 0, ""), ("Current", "integer", 0, ""),
    ("Ready", "integer", 0, ""), ("Up-to-date", "integer", 0, ""), ("Available", "integer", 0, ""),
    ("Node Selector", "string", 0, ""), ("Age", "string", 0, ""), ("Containers", "string", 1, ""),
    ("Images", "string", 1, ""), ("Selector", "string", 1, ""),
]


def daemonset_cells(ds: dict[str, Any], age: str) -> list[Any]:
    """A row of kubectl's DaemonSet printer (printDaemonSet)."""
    status = ds.get("status") or {}
    spec = ds.get("spec") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    containers = pod_spec.get("containers") or []
    node_selector = ",".join(f"{k}={v}" for k, v in sorted((pod_spec.get("nodeSelector") or {}).items()))
    return [
        ds["metadata"]["name"], status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
        node_selector or "<none>", age,
        ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers),
        _selector_text(spec.get("selector") or {}),
    ]


def _selector_text(selector: dict[str, Any]) -> str:
    """metav1.FormatLabelSelector."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator", ""), expr.get("key", ""), expr.get("values") or []
        if op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {op.lower()} ({','.join(values)})")
    return ",".join(parts) or "<none>"


# --- the controller ----------------------------------------------------------------------------

def _controller_uid(pod: dict[str, Any]) -> str | None:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


class DaemonSetController:
    """Keeps every DaemonSet's pods and status; woken by the store's events (see the module doc)."""

    def __init__(self, server: KubeApiServer) -> None:
        self.server = server
        self.store = server.store
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._deleted_owners: set[str] = set()  # uids of deleted DaemonSets whose pods go with them
        self.store.subscribe(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:  # under the store lock, on any thread
        if event.resource == "daemonsets":
            if event.type == "DELETED":
                self._deleted_owners.add(event.stored.obj["metadata"].get("uid", ""))
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="lab-daemonset-controller", daemon=True)
                self._thread.start()
            self._wake.set()
        elif event.resource in ("pods", "nodes") and self._thread is not None:
            self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopped:
                return
            self._wake.clear()
            try:
                self.reconcile()
            except Exception:  # a bug here must not end the controller: log it, go on at the next event
                log.exception("the lab's DaemonSet controller failed")

    def reconcile(self) -> None:
        """One pass over every DaemonSet (and the pods of deleted ones)."""
        with self.store.lock:
            gone, self._deleted_owners = self._deleted_owners, set()
        for pod in self.store.items("pods"):
            if gone and _controller_uid(pod) in gone:
                self._delete_pod(pod)
        for ds in self.store.items("daemonsets"):
            self._sync(ds)

    def _sync(self, ds: dict[str, Any]) -> None:
        meta = ds["metadata"]
        ns, uid = meta["namespace"], meta["uid"]
        template = ds["spec"]["template"]
        generation = (meta.get("annotations") or {}).get(TEMPLATE_GENERATION, "1")
        by_node: dict[str, list[dict[str, Any]]] = {}
        for pod in self.store.items("pods", ns):
            owner = _controller_uid(pod)
            if owner is None and selector_matches(ds["spec"]["selector"], pod["metadata"].get("labels") or {}):
                pod = self._adopt(ds, pod)
                owner = uid if pod else None
            if owner == uid and pod:
                by_node.setdefault(pod["spec"].get("nodeName") or "", []).append(pod)
        nodes = {n["metadata"]["name"]: n for n in self.store.items("nodes")}
        strategy = ds["spec"].get("updateStrategy") or {}
        eligible: list[str] = []
        for node_name in sorted(set(nodes) | set(by_node)):
            pods = by_node.get(node_name, [])
            run, keep = node_should_run(template["spec"], nodes[node_name]) if node_name in nodes else (False, False)
            if run:
                eligible.append(node_name)
            if run and not pods:
                self._create_pod(ds, node_name, generation)
            elif not keep:
                for pod in pods:
                    self._delete_pod(pod, ds)
            elif len(pods) > 1:  # one daemon pod per node: the oldest stays
                for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or "")[1:]:
                    self._delete_pod(pod, ds)
        if strategy.get("type") == "RollingUpdate":
            self._roll(ds, eligible, generation)
        self._write_status(ds, generation)

    def _roll(self, ds: dict[str, Any], eligible: list[str], generation: str) -> None:
        """Replace pods of older templates, at most maxUnavailable nodes without a ready pod at once."""
        pods = self._owned_by_node(ds)
        rolling = (ds["spec"]["updateStrategy"].get("rollingUpdate") or {}).get("maxUnavailable", 1)
        if isinstance(rolling, str) and rolling.endswith("%"):
            budget = math.ceil(len(eligible) * int(rolling[:-1] or 0) / 100)
        else:
            budget = int(rolling)
        budget = max(budget, 1)
        unavailable = sum(1 for n in eligible if not any(_ready(p) for p in pods.get(n, [])))
        for node_name in eligible:
            old = [p for p in pods.get(node_name, []) if p["metadata"].get("labels", {}).get(GENERATION_LABEL) != generation]
            if not old or unavailable >= budget:
                continue
            for pod in old:
                self._delete_pod(pod, ds)
            self._create_pod(ds, node_name, generation)
            unavailable += 1

    def _owned_by_node(self, ds: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        uid = ds["metadata"]["uid"]
        pods: dict[str, list[dict[str, Any]]] = {}
        for pod in self.store.items("pods", ds["metadata"]["namespace"]):
            if _controller_uid(pod) == uid:
                pods.setdefault(pod["spec"].get("nodeName") or "", []).append(pod)
        return pods

    def _adopt(self, ds: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any] | None:
        ref = self._owner_reference(ds)

        def own(obj: dict[str, Any]) -> None:
            if _controller_uid(obj) is not None:
                raise StoreError(409, "Conflict", "already owned")
            obj["metadata"].setdefault("ownerReferences", []).append(ref)

        try:
            return self.store.mutate("pods", pod["metadata"]["namespace"], pod["metadata"]["name"], own)
        except StoreError:
            return None

    @staticmethod
    def _owner_reference(ds: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds["metadata"]["name"],
                "uid": ds["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    def _create_pod(self, ds: dict[str, Any], node_name: str, generation: str) -> None:
        meta = ds["metadata"]
        template = clone(ds["spec"]["template"])
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels[GENERATION_LABEL] = generation
        spec = template["spec"]
        spec["nodeName"] = node_name
        spec["tolerations"] = daemon_tolerations(spec)
        pod_meta: dict[str, Any] = {"namespace": meta["namespace"], "labels": labels,
                                    "generateName": f"{meta['name']}-",
                                    "ownerReferences": [self._owner_reference(ds)]}
        if (template.get("metadata") or {}).get("annotations"):
            pod_meta["annotations"] = dict(template["metadata"]["annotations"])
        for attempt in range(5):
            pod_meta["name"] = daemon_pod_name(meta["namespace"], meta["name"], node_name, attempt)
            try:
                created = self.server.create_object("pods", {"apiVersion": "v1", "kind": "Pod",
                                                             "metadata": pod_meta, "spec": spec})
            except StoreError as err:
                if err.code == 409:
                    continue
                self._event(ds, "FailedCreate", f"Error creating: {err.message}", "Warning")
                return
            except Exception as err:  # admission refused it: said on the DaemonSet, as the controller does
                self._event(ds, "FailedCreate", f"Error creating: {err}", "Warning")
                return
            self._event(ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
            return

    def _delete_pod(self, pod: dict[str, Any], ds: dict[str, Any] | None = None) -> None:
        try:
            self.server.delete_object("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        except StoreError:
            return  # already gone
        if ds is not None:
            self._event(ds, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    def _event(self, ds: dict[str, Any], reason: str, message: str, event_type: str = "Normal") -> None:
        try:
            self.server.runner.record_event(ds, reason, message, "daemonset-controller", event_type=event_type)
        except StoreError:
            pass  # the namespace is going away

    def _write_status(self, ds: dict[str, Any], generation: str) -> None:
        nodes = {n["metadata"]["name"]: n for n in self.store.items("nodes")}
        pods = self._owned_by_node(ds)
        template_spec = ds["spec"]["template"]["spec"]
        desired = current = misscheduled = ready = updated = 0
        for node_name in set(nodes) | set(pods):
            run = node_name in nodes and node_should_run(template_spec, nodes[node_name])[0]
            on_node = pods.get(node_name, [])
            if not run:
                misscheduled += bool(on_node)
                continue
            desired += 1
            current += bool(on_node)
            ready += any(_ready(p) for p in on_node)
            updated += any((p["metadata"].get("labels") or {}).get(GENERATION_LABEL) == generation for p in on_node)
        status: dict[str, Any] = {
            "currentNumberScheduled": current, "desiredNumberScheduled": desired, "numberMisscheduled": misscheduled,
            "numberReady": ready, "observedGeneration": ds["metadata"].get("generation", 1),
            "updatedNumberScheduled": updated, "numberAvailable": ready,
        }
        if desired - ready > 0:
            status["numberUnavailable"] = desired - ready
        if not ready:
            del status["numberAvailable"]  # omitempty, as the API shows a zero
        if not updated:
            del status["updatedNumberScheduled"]

        def write(obj: dict[str, Any]) -> None:
            if obj["metadata"]["uid"] != ds["metadata"]["uid"]:
                raise StoreError(409, "Conflict", "replaced")
            obj["status"] = status

        with self.store.lock:
            now = self.store.get("daemonsets", ds["metadata"]["namespace"], ds["metadata"]["name"])
            if now is None or now.get("status") == status:
                return
            try:
                self.store.mutate("daemonsets", ds["metadata"]["namespace"], ds["metadata"]["name"], write)
            except StoreError:
                pass
