"""Replaying a parsed scenario against a running lab, step by step, through the real APIs:
Kubernetes steps through the official `kubernetes` client, AWS steps through boto3, over the
same wire protocols kubectl and the aws CLI use."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from irsa_explorer.lab.scenario.errors import ScenarioApplyError
from irsa_explorer.lab.scenario.format import KUBE_API_VERSIONS, KUBE_KINDS, AwsStep, KubeStep, Scenario, Step, WaitStep, substitute


def apply_scenario(
    scenario: Scenario,
    api_client,
    boto_session,
    *,
    endpoint_url: str | None = None,
    on_step: Callable[[Step], None] | None = None,
    open_account: Callable[[str], Any] | None = None,
) -> dict[str, str]:
    """Replay every step in order against a running lab. Returns the final variables.

    `api_client` is a configured `kubernetes.client.ApiClient`; `boto_session` a `boto3.Session`
    holding the lab's credentials. `open_account(account_id)`: a boto3 Session acting in another
    account of the lab, for steps with `account:` (serve.py assumes the account's
    OrganizationAccountAccessRole). Raises ScenarioApplyError on the first refused step.
    """
    from kubernetes.client import AppsV1Api, CoreV1Api

    core = CoreV1Api(api_client)
    apps = AppsV1Api(api_client)
    variables = dict(scenario.variables())
    clients: dict[tuple[str | None, str], Any] = {}
    sessions: dict[str, Any] = {}
    for step in scenario.steps:
        if on_step:
            on_step(step)
        what = step.describe()
        try:
            if isinstance(step, KubeStep):
                manifest = substitute(step.manifest, variables)
                what = replace(step, manifest=manifest).describe()
                _apply_kube(apps if KUBE_API_VERSIONS.get(manifest["kind"]) == "apps/v1" else core, manifest)
            elif isinstance(step, AwsStep):
                account = step.account if step.account != scenario.cluster.account else None
                if (account, step.service) not in clients:
                    session = boto_session
                    if account is not None:
                        if open_account is None:
                            raise ValueError(f"this lab cannot act in account {account}")
                        if account not in sessions:
                            sessions[account] = open_account(account)
                        session = sessions[account]
                    clients[(account, step.service)] = session.client(
                        step.service, endpoint_url=endpoint_url, region_name=scenario.cluster.region
                    )
                variables.update(_apply_aws(clients[(account, step.service)], step, variables))
            elif isinstance(step, WaitStep):
                _wait_for_pod(core, step, variables)
        except ScenarioApplyError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the step that caused it
            raise ScenarioApplyError(step, exc, what) from exc
    return variables


def _apply_kube(core, manifest: dict[str, Any]) -> None:
    from kubernetes.client.exceptions import ApiException

    namespaced, suffix = KUBE_KINDS[manifest["kind"]]
    name = manifest["metadata"]["name"]
    ns_args: dict[str, str] = {}
    if namespaced:
        ns_args["namespace"] = manifest["metadata"].get("namespace") or "default"
        manifest = {**manifest, "metadata": {**manifest["metadata"], "namespace": ns_args["namespace"]}}
    # The answer is not needed, and not deserializing it keeps the step independent of how
    # strictly the client's models read every field the server fills in. Its body is read all
    # the same (`.data`): a connection released with a large answer unread (a 10 KB annotation)
    # hands the rest of it to the next request as its status line.
    try:
        getattr(core, f"create_{suffix}")(body=manifest, _preload_content=False, **ns_args).data
    except ApiException as exc:
        if exc.status != 409:
            raise
        # Already there: change it the way `kubectl annotate`/`apply` would, with a merge patch.
        getattr(core, f"patch_{suffix}")(
            name=name, body=manifest, _content_type="application/merge-patch+json", _preload_content=False, **ns_args
        ).data


def _apply_aws(client, step: AwsStep, variables: Mapping[str, str]) -> dict[str, str]:
    import jmespath

    response = getattr(client, step.operation)(**substitute(step.params, variables))
    saved = {}
    for name, expression in step.save.items():
        value = jmespath.search(expression, response)
        if value is None:
            raise ValueError(f"save.{name}: {expression!r} found nothing in the response")
        saved[name] = value if isinstance(value, str) else json.dumps(value, default=str)
    return saved


def _wait_for_pod(core, step: WaitStep, variables: Mapping[str, str]) -> None:
    name = substitute(step.pod, variables)
    namespace = substitute(step.namespace, variables)
    deadline = time.monotonic() + step.timeout
    phase = None
    while time.monotonic() < deadline:
        response = core.read_namespaced_pod(name, namespace, _preload_content=False)
        phase = json.loads(response.data).get("status", {}).get("phase")
        if phase in step.phases:
            return
        time.sleep(0.05)
    raise TimeoutError(f"pod {namespace}/{name} still {phase} after {step.timeout:g}s")
