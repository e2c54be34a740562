"""The lab API server through the official `kubernetes` client, over HTTPS."""

from __future__ import annotations

import json
import threading
import time

import jwt
import pytest
import requests
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream
from lab_kube_waits import wait_phase

from irsa_explorer import model


def _pod(name: str, *, sa: str | None = None, command=None, args=None, image="busybox:1.36",
         annotations=None, labels=None, env=None, restart="Never") -> k8s.V1Pod:
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, annotations=annotations, labels=labels),
        spec=k8s.V1PodSpec(
            service_account_name=sa, restart_policy=restart,
            containers=[k8s.V1Container(name="main", image=image, command=command, args=args, env=env)],
        ),
    )


def _sleeper(name: str, **kw) -> k8s.V1Pod:
    return _pod(name, command=["sleep", "36000"], **kw)


def _env(container: k8s.V1Container) -> dict[str, str]:
    return {e.name: e.value for e in container.env or []}


# --- auth and discovery ----------------------------------------------------------------------


def test_missing_or_wrong_token_is_401_status(kube_lab) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = requests.get(kube_lab.server.url + "/api/v1/pods", headers=headers,
                                verify=str(kube_lab.ca_file), timeout=10)
        assert response.status_code == 401
        assert response.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def test_issuer_discovery_is_public_and_verifies_tokens(kube_lab, core: k8s.CoreV1Api) -> None:
    config = requests.get(kube_lab.server.url + "/.well-known/openid-configuration",
                          verify=str(kube_lab.ca_file), timeout=10).json()
    assert config["issuer"] == kube_lab.cluster.issuer
    # The client turns the JSON body into a Python repr for this str-typed call: read it raw.
    response = k8s.OpenidApi(kube_lab.api_client()).get_service_account_issuer_open_id_keyset(
        _preload_content=False)
    keys = jwt.PyJWKSet.from_dict(json.loads(response.data))
    request = k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(
        audiences=["sts.amazonaws.com"], expiration_seconds=3600))
    result = core.create_namespaced_service_account_token("default", "default", request)
    raw = result.status.token
    key = keys[jwt.get_unverified_header(raw)["kid"]].key
    claims = jwt.decode(raw, key, algorithms=["RS256"], audience="sts.amazonaws.com",
                        issuer=kube_lab.cluster.issuer)
    sa = core.read_namespaced_service_account("default", "default")
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert claims["kubernetes.io"]["serviceaccount"] == {"name": "default", "uid": sa.metadata.uid}
    assert claims["exp"] - claims["iat"] == 3600
    assert result.status.expiration_timestamp is not None


def test_token_request_rejects_short_expiration(core: k8s.CoreV1Api) -> None:
    request = k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(audiences=["x"], expiration_seconds=60))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service_account_token("default", "default", request)
    assert err.value.status == 422 and "less than 10 minutes" in err.value.body


def test_discovery_lists_resources_with_short_names(kube_lab) -> None:
    resources = k8s.CoreV1Api(kube_lab.api_client()).get_api_resources()
    by_name = {r.name: r for r in resources.resources}
    assert {"pods", "serviceaccounts", "nodes", "namespaces", "events", "secrets", "configmaps",
            "pods/exec", "pods/log", "serviceaccounts/token"} <= set(by_name)
    assert by_name["pods"].short_names == ["po"] and by_name["serviceaccounts"].short_names == ["sa"]
    assert by_name["nodes"].short_names == ["no"] and by_name["namespaces"].short_names == ["ns"]
    assert "watch" in by_name["pods"].verbs and by_name["nodes"].namespaced is False
    version = k8s.VersionApi(kube_lab.api_client()).get_code()
    assert version.git_version.startswith("v" + kube_lab.cluster.version)


def test_service_account_token_has_no_rights_without_rbac(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    # As on EKS: a service account may authenticate and discover, but nothing is bound to it.
    token = core.create_namespaced_service_account_token("default", namespace, k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(audiences=["https://kubernetes.default.svc"]))).status.token
    as_sa = k8s.CoreV1Api(kube_lab.api_client(token))
    assert "pods" in {r.name for r in as_sa.get_api_resources().resources}
    user = f"system:serviceaccount:{namespace}:default"
    for call, message in (
        (lambda: as_sa.list_namespaced_pod(namespace),
         f'pods is forbidden: User "{user}" cannot list resource "pods" in API group "" in the namespace "{namespace}"'),
        (lambda: as_sa.create_namespaced_pod(namespace, _sleeper("nope")),
         f'pods is forbidden: User "{user}" cannot create resource "pods" in API group "" in the namespace "{namespace}"'),
    ):
        with pytest.raises(ApiException) as err:
            call()
        assert err.value.status == 403 and json.loads(err.value.body)["message"] == message
    sts_token = core.create_namespaced_service_account_token("default", namespace, k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(audiences=["sts.amazonaws.com"]))).status.token
    with pytest.raises(ApiException) as err:  # not meant for the API server: wrong audience
        k8s.CoreV1Api(kube_lab.api_client(sts_token)).list_namespaced_pod(namespace)
    assert err.value.status == 401
    # A token dies with its service account, even if one of the same name comes back.
    core.delete_namespaced_service_account("default", namespace)
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="default")))
    with pytest.raises(ApiException) as err:
        as_sa.get_api_resources()
    assert err.value.status == 401


# --- namespaces, defaults, admission --------------------------------------------------------


def test_namespace_comes_with_default_sa_and_root_ca(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    assert core.read_namespaced_service_account("default", namespace).metadata.uid
    ca = core.read_namespaced_config_map("kube-root-ca.crt", namespace)
    assert ca.data["ca.crt"] == kube_lab.server.ca_pem.decode()
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease", namespace} <= names


def test_pod_gets_eks_defaults_sa_volume_and_node(core: k8s.CoreV1Api, namespace: str) -> None:
    first = core.create_namespaced_pod(namespace, _sleeper("a"))
    second = core.create_namespaced_pod(namespace, _sleeper("b"))
    spec = first.spec
    assert spec.service_account_name == "default" and spec.service_account == "default"
    assert spec.dns_policy == "ClusterFirst" and spec.termination_grace_period_seconds == 30
    volume = next(v for v in spec.volumes if v.name.startswith("kube-api-access-"))
    sources = volume.projected.sources
    assert sources[0].service_account_token.expiration_seconds == 3607
    assert sources[1].config_map.name == "kube-root-ca.crt"
    assert sources[2].downward_api.items[0].field_ref.field_path == "metadata.namespace"
    mount = spec.containers[0].volume_mounts[0]
    assert (mount.name, mount.mount_path, mount.read_only) == (
        volume.name, "/var/run/secrets/kubernetes.io/serviceaccount", True)
    assert spec.containers[0].image_pull_policy == "IfNotPresent"
    assert {spec.node_name, second.spec.node_name} == {
        "ip-192-168-1-169.us-east-2.compute.internal", "ip-192-168-53-243.us-east-2.compute.internal"}
    pod = wait_phase(core, namespace, "a", ("Running",))
    assert pod.status.pod_ip and pod.status.host_ip and pod.status.start_time
    assert pod.status.qos_class == "BestEffort"
    assert {c.type: c.status for c in pod.status.conditions} == {
        "Initialized": "True", "Ready": "True", "ContainersReady": "True", "PodScheduled": "True"}
    assert pod.status.container_statuses[0].state.running is not None


def test_pod_with_unknown_service_account_is_forbidden(core: k8s.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(namespace, _sleeper("x", sa="nobody"))
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"].endswith('serviceaccount "nobody" not found')


def test_irsa_injection_follows_the_webhook(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    role = "arn:aws:iam::113534181560:role/s3-reader"
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(
        name="my-sa", annotations={model.ROLE_ARN_ANNOTATION: role, model.TOKEN_EXPIRATION_ANNOTATION: "100"})))
    pod = core.create_namespaced_pod(namespace, _sleeper("irsa", sa="my-sa"))
    env = _env(pod.spec.containers[0])
    assert env == {"AWS_STS_REGIONAL_ENDPOINTS": "regional", "AWS_DEFAULT_REGION": "us-east-2",
                   "AWS_REGION": "us-east-2", "AWS_ROLE_ARN": role,
                   "AWS_WEB_IDENTITY_TOKEN_FILE": model.IRSA_TOKEN_PATH}
    volume = next(v for v in pod.spec.volumes if v.name == model.IRSA_VOLUME)
    token = volume.projected.sources[0].service_account_token
    assert (token.audience, token.expiration_seconds, token.path) == ("sts.amazonaws.com", 600, "token")
    mounts = {m.mount_path: m for m in pod.spec.containers[0].volume_mounts}
    assert mounts[model.IRSA_TOKEN_DIR].read_only and mounts[model.IRSA_TOKEN_DIR].name == model.IRSA_VOLUME

    # A container that sets its own web identity, skip-containers and the skip label are left alone.
    own = _sleeper("own", sa="my-sa", env=[k8s.V1EnvVar(name="AWS_ROLE_ARN", value="mine"),
                                           k8s.V1EnvVar(name="AWS_REGION", value="eu-west-1")])
    assert _env(core.create_namespaced_pod(namespace, own).spec.containers[0]) == {
        "AWS_ROLE_ARN": "mine", "AWS_REGION": "eu-west-1"}
    skipped = core.create_namespaced_pod(namespace, _sleeper(
        "skip", sa="my-sa", annotations={model.SKIP_CONTAINERS_ANNOTATION: "main"}))
    assert skipped.spec.containers[0].env is None
    assert not any(v.name == model.IRSA_VOLUME for v in skipped.spec.volumes)
    labelled = core.create_namespaced_pod(namespace, _sleeper(
        "label", sa="my-sa", labels={model.SKIP_WEBHOOK_LABEL: "true"}))
    assert labelled.spec.containers[0].env is None

    # Audience annotation and a container that sets its own region.
    core.patch_namespaced_service_account("my-sa", namespace, {"metadata": {"annotations": {
        model.AUDIENCE_ANNOTATION: "custom-aud", model.TOKEN_EXPIRATION_ANNOTATION: None}}})
    region = core.create_namespaced_pod(namespace, _sleeper(
        "region", sa="my-sa", env=[k8s.V1EnvVar(name="AWS_REGION", value="eu-west-1")]))
    assert _env(region.spec.containers[0])["AWS_REGION"] == "eu-west-1"
    source = next(v for v in region.spec.volumes if v.name == model.IRSA_VOLUME).projected.sources[0]
    assert (source.service_account_token.audience, source.service_account_token.expiration_seconds) == (
        "custom-aud", 86400)


def test_webhook_mutates_on_create_only(core: k8s.CoreV1Api, namespace: str) -> None:
    before = core.create_namespaced_pod(namespace, _sleeper("before"))
    core.patch_namespaced_service_account("default", namespace, {"metadata": {"annotations": {
        model.ROLE_ARN_ANNOTATION: "arn:aws:iam::113534181560:role/late"}}})
    wait_phase(core, namespace, "before", ("Running",))
    old = core.read_namespaced_pod("before", namespace)
    assert old.metadata.uid == before.metadata.uid
    assert old.spec.containers[0].env is None
    assert not any(v.name == model.IRSA_VOLUME for v in old.spec.volumes)
    new = core.create_namespaced_pod(namespace, _sleeper("after"))
    assert _env(new.spec.containers[0])["AWS_ROLE_ARN"] == "arn:aws:iam::113534181560:role/late"


def test_webhook_outage_creates_pods_silently_unmutated(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    core.patch_namespaced_service_account("default", namespace, {"metadata": {"annotations": {
        model.ROLE_ARN_ANNOTATION: "arn:aws:iam::113534181560:role/r"}}})
    kube_lab.server.webhook.enabled = False
    try:
        pod = core.create_namespaced_pod(namespace, _sleeper("outage"))
    finally:
        kube_lab.server.webhook.enabled = True
    assert pod.spec.containers[0].env is None
    assert _env(core.create_namespaced_pod(namespace, _sleeper("back")).spec.containers[0])["AWS_ROLE_ARN"]


def test_pod_identity_association_wins_over_irsa(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(
        name="both", annotations={model.ROLE_ARN_ANNOTATION: "arn:aws:iam::113534181560:role/irsa"})))
    kube_lab.associations.roles[(namespace, "both")] = "arn:aws:iam::113534181560:role/pia"
    try:
        pod = core.create_namespaced_pod(namespace, _sleeper("pia", sa="both"))
    finally:
        del kube_lab.associations.roles[(namespace, "both")]
    env = _env(pod.spec.containers[0])
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == model.POD_IDENTITY_URI
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == model.POD_IDENTITY_TOKEN_PATH
    assert "AWS_ROLE_ARN" not in env
    volume = next(v for v in pod.spec.volumes if v.name == model.POD_IDENTITY_VOLUME)
    assert volume.projected.sources[0].service_account_token.audience == model.POD_IDENTITY_AUDIENCE
    wait_phase(core, namespace, "pia", ("Running",))
    raw = stream(core.connect_get_namespaced_pod_exec, "pia", namespace,
                 command=["cat", model.POD_IDENTITY_TOKEN_PATH], stdout=True, stderr=True, stdin=False, tty=False)
    claims = kube_lab.signer.verify(raw.strip(), model.POD_IDENTITY_AUDIENCE)
    assert claims["sub"] == f"system:serviceaccount:{namespace}:both"
    assert claims["kubernetes.io"]["pod"]["uid"] == pod.metadata.uid


# --- lifecycle, logs, exec ---------------------------------------------------------------------


def test_commands_run_to_completion_with_logs(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, _pod("ok", command=["echo", "hello"]))
    core.create_namespaced_pod(namespace, _pod("bad", command=["nosuchtool"]))
    ok = wait_phase(core, namespace, "ok", ("Succeeded", "Failed"))
    bad = wait_phase(core, namespace, "bad", ("Succeeded", "Failed"))
    assert ok.status.phase == "Succeeded"
    assert ok.status.container_statuses[0].state.terminated.reason == "Completed"
    assert core.read_namespaced_pod_log("ok", namespace) == "hello\n"
    assert bad.status.phase == "Failed"
    terminated = bad.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (127, "Error")
    assert "executable file not found" in core.read_namespaced_pod_log("bad", namespace)


def test_exec_reads_minted_irsa_token(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(
        name="my-sa", annotations={model.ROLE_ARN_ANNOTATION: "arn:aws:iam::113534181560:role/r"})))
    core.create_namespaced_pod(namespace, _sleeper("exec", sa="my-sa"))
    pod = wait_phase(core, namespace, "exec", ("Running",))
    raw = stream(core.connect_get_namespaced_pod_exec, "exec", namespace,
                 command=["cat", model.IRSA_TOKEN_PATH], stdout=True, stderr=True, stdin=False, tty=False)
    keys = jwt.PyJWKSet.from_dict(kube_lab.signer.jwks())
    claims = jwt.decode(raw.strip(), keys[kube_lab.signer.kid].key, algorithms=["RS256"],
                        audience="sts.amazonaws.com")
    node = core.read_node(pod.spec.node_name)
    sa = core.read_namespaced_service_account("my-sa", namespace)
    assert claims["kubernetes.io"] == {
        "namespace": namespace, "pod": {"name": "exec", "uid": pod.metadata.uid},
        "serviceaccount": {"name": "my-sa", "uid": sa.metadata.uid},
        "node": {"name": node.metadata.name, "uid": node.metadata.uid}}
    assert claims["exp"] - claims["iat"] == 86400
    namespace_file = stream(core.connect_get_namespaced_pod_exec, "exec", namespace,
                            command=["cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace"],
                            stdout=True, stderr=True, stdin=False, tty=False)
    assert namespace_file.strip() == namespace


def test_exec_reports_exit_codes(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, _sleeper("codes"))
    wait_phase(core, namespace, "codes", ("Running",))
    client = stream(core.connect_get_namespaced_pod_exec, "codes", namespace, command=["nosuchtool"],
                    stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
    client.run_forever(timeout=10)
    assert client.returncode == 127
    assert "executable file not found" in client.read_stderr()
    core.create_namespaced_pod(namespace, _sleeper("envs", env=[k8s.V1EnvVar(name="GREETING", value="hi")]))
    wait_phase(core, namespace, "envs", ("Running",))
    client = stream(core.connect_get_namespaced_pod_exec, "envs", namespace, command=["env"],
                    stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
    client.run_forever(timeout=10)
    assert client.returncode == 0
    assert "GREETING=hi" in client.read_stdout().splitlines()


def test_exec_into_completed_pod_is_refused(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, _pod("done", command=["true"]))
    wait_phase(core, namespace, "done", ("Succeeded",))
    with pytest.raises(ApiException) as err:
        stream(core.connect_get_namespaced_pod_exec, "done", namespace, command=["cat", "/x"],
               stdout=True, stderr=True, stdin=False, tty=False)
    # The websocket client reports a refused upgrade as "Handshake status 400 …".
    assert "Handshake status 400" in str(err.value)


# --- list, selectors, pagination, watch, patch, delete ------------------------------------------


def test_list_selectors_and_pagination(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="other")))
    for i in range(7):
        core.create_namespaced_pod(namespace, _sleeper(
            f"p{i}", sa="other" if i % 2 else None, labels={"app": "web" if i < 4 else "db", "idx": str(i)}))
    names = lambda pods: sorted(p.metadata.name for p in pods.items)  # noqa: E731
    assert names(core.list_namespaced_pod(namespace, label_selector="app=web")) == ["p0", "p1", "p2", "p3"]
    assert names(core.list_namespaced_pod(namespace, label_selector="app!=web,idx notin (6)")) == ["p4", "p5"]
    assert names(core.list_namespaced_pod(namespace, label_selector="idx in (1,2),app")) == ["p1", "p2"]
    assert names(core.list_namespaced_pod(namespace, field_selector="spec.serviceAccountName=other")) == [
        "p1", "p3", "p5"]
    assert names(core.list_pod_for_all_namespaces(field_selector=f"metadata.namespace={namespace},"
                                                                 "metadata.name=p6")) == ["p6"]
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod(namespace, field_selector="spec.image=x")
    assert err.value.status == 400

    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_pod(namespace, limit=3, _continue=token)
        seen += [p.metadata.name for p in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"p{i}" for i in range(7)] and pages == 3
    # as kube-apiserver: a limit of 0 or less is no limit, not an empty page
    assert len(core.list_namespaced_pod(namespace, limit=-1).items) == 7


def test_resource_versions_increase(core: k8s.CoreV1Api, namespace: str) -> None:
    a = core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="rv")))
    b = core.patch_namespaced_service_account("rv", namespace, {"metadata": {"labels": {"x": "1"}}})
    listed = core.list_namespaced_service_account(namespace)
    assert int(a.metadata.resource_version) < int(b.metadata.resource_version) <= int(
        listed.metadata.resource_version)


def test_watch_streams_changes_and_resumes(core: k8s.CoreV1Api, namespace: str) -> None:
    listed = core.list_namespaced_pod(namespace)
    events: list[tuple[str, str, str]] = []

    def consume() -> None:
        w = watch.Watch()
        for event in w.stream(core.list_namespaced_pod, namespace, resource_version=listed.metadata.resource_version,
                              timeout_seconds=5):
            pod = event["object"]
            events.append((event["type"], pod.metadata.name, pod.status.phase))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    # No wait for the watch to open: it starts from the list's resourceVersion, so a pod created
    # before the request arrives is replayed from history, as kube-apiserver does.
    core.create_namespaced_pod(namespace, _sleeper("w"))
    wait_phase(core, namespace, "w", ("Running",))
    core.delete_namespaced_pod("w", namespace)
    thread.join(10)
    assert not thread.is_alive()
    assert events[0] == ("ADDED", "w", "Pending")
    assert ("MODIFIED", "w", "Running") in events
    assert events[-1][0] == "DELETED"

    # Resuming from the first event's resourceVersion replays what came after it.
    w = watch.Watch()
    replay = [e["type"] for e in w.stream(core.list_namespaced_pod, namespace,
                                          resource_version=listed.metadata.resource_version, timeout_seconds=1)]
    assert replay == [e[0] for e in events]


def test_watch_without_resource_version_starts_with_current_state(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="s1")))
    started = time.monotonic()
    names = [(e["type"], e["object"].metadata.name)
             for e in watch.Watch().stream(core.list_namespaced_service_account, namespace, timeout_seconds=1)]
    assert sorted(names) == [("ADDED", "default"), ("ADDED", "s1")]
    assert time.monotonic() - started > 0.9  # the stream stayed open until timeoutSeconds ended it


def test_patch_types_and_delete(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="p")))
    core.patch_namespaced_service_account("p", namespace, [
        {"op": "add", "path": "/metadata/annotations", "value": {"a": "1"}}])  # JSON patch (a list)
    sa = core.patch_namespaced_service_account("p", namespace, {"metadata": {"annotations": {"b": "2"}}})
    assert sa.metadata.annotations == {"a": "1", "b": "2"}
    core.create_namespaced_pod(namespace, _sleeper("pp"))
    with pytest.raises(ApiException) as err:  # pods are immutable beyond images and a few fields
        core.patch_namespaced_pod("pp", namespace, {"spec": {"serviceAccountName": "p"}})
    assert err.value.status == 422
    patched = core.patch_namespaced_pod("pp", namespace, {"spec": {"containers": [
        {"name": "main", "image": "busybox:1.37"}]}})
    assert patched.spec.containers[0].image == "busybox:1.37"
    assert patched.spec.containers[0].command == ["sleep", "36000"]  # strategic merge kept the rest
    core.delete_namespaced_pod("pp", namespace)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("pp", namespace)
    assert err.value.status == 404 and json.loads(err.value.body)["reason"] == "NotFound"


def test_counters_and_stats(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    before = kube_lab.server.counters
    core.list_namespaced_pod(namespace)
    core.list_namespaced_pod(namespace)
    core.read_namespaced_service_account("default", namespace)
    after = kube_lab.server.counters
    assert after["list pods"] - before.get("list pods", 0) == 2
    assert after["get serviceaccount"] - before.get("get serviceaccount", 0) == 1
    stats = requests.get(kube_lab.server.url + "/_lab/stats", verify=str(kube_lab.ca_file), timeout=10,
                         headers={"Authorization": f"Bearer {kube_lab.server.admin_token}"}).json()
    assert stats["counters"]["list pods"] >= after["list pods"]


def test_latency_is_added_to_every_request(kube_lab, core: k8s.CoreV1Api) -> None:
    kube_lab.server.latency_s = 0.3
    try:
        started = time.perf_counter()
        core.list_namespace()
        slow = time.perf_counter() - started
    finally:
        kube_lab.server.latency_s = 0.0
    assert slow >= 0.3  # a lower bound holds however busy the machine is


def test_watch_from_a_compacted_resource_version_is_410() -> None:
    from irsa_explorer.lab.kube.store import Store, StoreError

    class SmallStore(Store):
        HISTORY = 3

    store = SmallStore()
    for i in range(5):
        store.create("namespaces", {"metadata": {"name": f"n{i}"}})
    with pytest.raises(StoreError) as err:
        store.subscribe(lambda event: None, since=1)
    assert err.value.code == 410
    backlog = store.subscribe(lambda event: None, since=store.resource_version - 2)
    assert [e.stored.obj["metadata"]["name"] for e in backlog] == ["n3", "n4"]


def test_watch_with_selector_sees_objects_enter_and_leave(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="m")))
    rv = core.list_namespaced_service_account(namespace).metadata.resource_version
    core.patch_namespaced_service_account("m", namespace, {"metadata": {"labels": {"irsa": "yes"}}})
    core.patch_namespaced_service_account("m", namespace, {"metadata": {"annotations": {"x": "1"}}})
    core.patch_namespaced_service_account("m", namespace, {"metadata": {"labels": {"irsa": None}}})
    seen = [e["type"] for e in watch.Watch().stream(core.list_namespaced_service_account, namespace,
                                                   label_selector="irsa=yes", resource_version=rv,
                                                   timeout_seconds=1)]
    assert seen == ["ADDED", "MODIFIED", "DELETED"]


def test_follow_logs_waits_for_the_command(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    # `sleep 2` leaves margin for a loaded machine to notice Running late (it flaked with `sleep 1`).
    core.create_namespaced_pod(namespace, _pod("slow", command=["sleep", "2"]))
    running = wait_phase(core, namespace, "slow", ("Running",))
    # startedAt is stamped (to the second, rounded down) before the sleep begins: a follow that
    # waited for `sleep 2` returns at least 2 s after it, however late this test saw Running
    started = running.status.container_statuses[0].state.running.started_at.timestamp()
    assert core.read_namespaced_pod_log("slow", namespace, follow=True) == ""
    assert time.time() - started >= 2  # returned when `sleep 2` ended, not at once
    # the status follows the exit (as a kubelet reports it after the log stream ends): soon, not
    # necessarily before the follow returns
    wait_phase(core, namespace, "slow", ("Succeeded",), timeout=5)


def test_namespace_scoped_user_is_forbidden_cluster_wide(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    token = kube_lab.server.add_user("alice", namespaces=[namespace])
    alice = k8s.CoreV1Api(kube_lab.api_client(token))
    core.create_namespaced_pod(namespace, _sleeper("mine"))
    assert [p.metadata.name for p in alice.list_namespaced_pod(namespace).items] == ["mine"]
    assert alice.read_namespace(namespace).metadata.name == namespace
    for call, message in (
        (alice.list_pod_for_all_namespaces,
         'pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope'),
        (alice.list_node,
         'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope'),
        (lambda: alice.list_namespaced_pod("default"),
         'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"'),
        (lambda: alice.delete_namespaced_pod("mine", namespace),
         'pods "mine" is forbidden: User "alice" cannot delete resource "pods" in API group "" '
         f'in the namespace "{namespace}"'),
    ):
        with pytest.raises(ApiException) as err:
            call()
        assert err.value.status == 403 and json.loads(err.value.body)["message"] == message


def test_secret_string_data_is_stored_as_data_and_feeds_env(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(namespace, k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="aws-creds"),
                                                          string_data={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}))
    secret = core.read_namespaced_secret("aws-creds", namespace)
    assert secret.string_data is None and secret.type == "Opaque"
    assert secret.data == {"AWS_ACCESS_KEY_ID": "QUtJQUVYQU1QTEU="}
    pod = _sleeper("keys")
    pod.spec.containers[0].env_from = [k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="aws-creds"))]
    core.create_namespaced_pod(namespace, pod)
    wait_phase(core, namespace, "keys", ("Running",))
    env = stream(core.connect_get_namespaced_pod_exec, "keys", namespace, command=["env"],
                 stdout=True, stderr=True, stdin=False, tty=False)
    assert "AWS_ACCESS_KEY_ID=AKIAEXAMPLE" in env.splitlines()


def test_init_containers_run_first_and_can_fail_the_pod(kube_lab, core: k8s.CoreV1Api, namespace: str) -> None:
    good = _sleeper("init-ok")
    good.spec.init_containers = [k8s.V1Container(name="setup", image="busybox", command=["echo", "ready"])]
    core.create_namespaced_pod(namespace, good)
    pod = wait_phase(core, namespace, "init-ok", ("Running",))
    assert pod.status.init_container_statuses[0].state.terminated.exit_code == 0
    assert core.read_namespaced_pod_log("init-ok", namespace, container="setup") == "ready\n"
    bad = _sleeper("init-bad")
    bad.spec.init_containers = [k8s.V1Container(name="setup", image="busybox", command=["cat", "/missing"])]
    core.create_namespaced_pod(namespace, bad)
    pod = wait_phase(core, namespace, "init-bad", ("Failed",))
    assert pod.status.init_container_statuses[0].state.terminated.reason == "Error"
    table = requests.get(f"{kube_lab.server.url}/api/v1/namespaces/{namespace}/pods/init-bad",
                         verify=str(kube_lab.ca_file), timeout=10,
                         headers={"Authorization": f"Bearer {kube_lab.server.admin_token}",
                                  "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert table["rows"][0]["cells"][2] == "Init:Error"
