"""Findings about what a pod was given: injection, annotations, static keys, the OIDC provider,
the role, the node role. Each builder returns a `model.Finding` naming the pod and its fix."""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from irsa_explorer.model import (
    AUDIENCE_ANNOTATION,
    ContainerExit,
    ROLE_ARN_ANNOTATION,
    SKIP_CONTAINERS_ANNOTATION,
    SKIP_WEBHOOK_LABEL,
    Evidence,
    Finding,
    ObjectRef,
    OidcProvider,
    Pod,
    PodIdentityAssociation,
    ServiceAccount,
)

from ..arns import role_arn_problem, role_name_of
from ..log_errors import recognise
from ..tokens import mask_tokens
from ..trust import issuer_host_path
from .catalogue import (
    ASSOCIATION_AFTER_POD,
    AUDIENCE_NOT_IN_CLIENT_IDS,
    CATALOGUE,
    CONTAINER_SETS_AWS_ROLE_ARN,
    IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION,
    IRSA_ROLE_CHANGED,
    IRSA_SHADOWS_POD_IDENTITY,
    MALFORMED_ROLE_ARN,
    NO_OIDC_PROVIDER,
    NODE_ROLE_FALLBACK,
    POD_FAILED_ACCESS_DENIED,
    POD_FAILED_ON_NODE_ROLE,
    POD_FAILED_WITHOUT_CREDENTIALS,
    POD_IDENTITY_HOST_NETWORK,
    ROLE_ARN_ANNOTATION_TYPO,
    ROLE_ARN_ON_POD,
    ROLE_LOOKUP_FAILED,
    ROLE_NOT_FOUND,
    SKIPPED_CONTAINER,
    STATIC_KEYS_IN_ENV,
    STATIC_KEYS_MAYBE_FROM_SECRET,
    TOKEN_EXPIRED,
    TOKEN_FILE_PERMISSIONS,
    _annotation,
    _make,
    _restart_fix,
)


def irsa_not_injected(pod: Pod, sa: ServiceAccount, role_arn: str) -> Finding:
    created = f" (pod created {pod.created:%Y-%m-%d %H:%M:%S} UTC)" if pod.created else ""
    return _make(
        IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION,
        title=f"{sa.name} is annotated with a role, but pod {pod.name} got no IRSA credentials",
        explanation=CATALOGUE[IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION].explanation + created,
        evidence=[
            _annotation(sa.ref, ROLE_ARN_ANNOTATION, role_arn),
            Evidence(pod.ref, "spec.containers[*].env[AWS_ROLE_ARN]", None),
            Evidence(pod.ref, "spec.volumes[aws-iam-token]", None),
        ],
        fix=_restart_fix(pod),
    )


def association_after_pod(pod: Pod, association: PodIdentityAssociation) -> Finding:
    return _make(
        ASSOCIATION_AFTER_POD,
        title=f"Pod Identity association {association.association_id} exists, but pod {pod.name} was not injected",
        evidence=[
            Evidence(ObjectRef("PodIdentityAssociation", association.association_id), "roleArn", association.role_arn),
            Evidence(pod.ref, "spec.containers[*].env[AWS_CONTAINER_CREDENTIALS_FULL_URI]", None),
        ],
        fix=_restart_fix(pod),
    )


def annotation_typo(ref: ObjectRef, key: str, value: str, wanted_key: str = ROLE_ARN_ANNOTATION) -> Finding:
    namespace, kind = ref.namespace or "NS", ref.kind.lower()
    # Annotation values are free text from the cluster: quoted, so a copied fix runs only kubectl
    # (keys are Kubernetes qualified names, safe inside single quotes).
    fix = (f"kubectl -n {namespace} annotate {kind} {ref.name} {shlex.quote(f'{wanted_key}={value}')} '{key}-'"
           if ref.kind == "ServiceAccount" else CATALOGUE[ROLE_ARN_ANNOTATION_TYPO].fix)
    return _make(
        ROLE_ARN_ANNOTATION_TYPO,
        title=f"Annotation {key!r} on {ref} is not {wanted_key!r}",
        explanation=CATALOGUE[ROLE_ARN_ANNOTATION_TYPO].explanation.replace(
            "eks.amazonaws.com/role-arn on", f"{wanted_key} on"),
        evidence=[_annotation(ref, key, value)],
        fix=fix,
    )


def role_arn_on_pod(pod: Pod, value: str) -> Finding:
    return _make(
        ROLE_ARN_ON_POD,
        title=f"Pod {pod.name} carries {ROLE_ARN_ANNOTATION}; the webhook reads it only from service account {pod.service_account}",
        evidence=[_annotation(pod.ref, ROLE_ARN_ANNOTATION, value)],
        fix=(f"kubectl -n {pod.namespace} annotate serviceaccount {pod.service_account} "
             f"{shlex.quote(f'{ROLE_ARN_ANNOTATION}={value}')} && {_restart_fix(pod)}"),
    )


def container_sets_aws_role_arn(pod: Pod, container: str, names: list[str], values: dict[str, str | None]) -> Finding:
    shown = ", ".join(f"{n}={values.get(n) or '(from a reference)'}" for n in names)
    return _make(
        CONTAINER_SETS_AWS_ROLE_ARN,
        title=f"Container {container} sets {', '.join(names)} itself, so the webhook skipped it",
        explanation=CATALOGUE[CONTAINER_SETS_AWS_ROLE_ARN].explanation + f" It sets {shown}.",
        evidence=[Evidence(pod.ref, f"spec.containers[{container}].env[{n}]", values.get(n)) for n in names],
    )


def skipped_container(pod: Pod, container: str, by_label: bool) -> Finding:
    if by_label:
        evidence = [Evidence(pod.ref, f"metadata.labels[{SKIP_WEBHOOK_LABEL}]", pod.labels.get(SKIP_WEBHOOK_LABEL))]
        title = f"Pod {pod.name} is labelled {SKIP_WEBHOOK_LABEL}: no container gets IRSA"
    else:
        evidence = [_annotation(pod.ref, SKIP_CONTAINERS_ANNOTATION, pod.annotations.get(SKIP_CONTAINERS_ANNOTATION))]
        title = f"Container {container} is listed in {SKIP_CONTAINERS_ANNOTATION}: it gets no IRSA"
    return _make(SKIPPED_CONTAINER, title=title, evidence=evidence)


def static_keys_in_env(pod: Pod, container: str, sources: list[tuple[str, str | None]], intended_role: str | None) -> Finding:
    """`sources`: (field, value-or-reference) pairs where keys were found; values are never shown."""
    names = [field.rsplit("[", 1)[-1].rstrip("]") for field, _ in sources]
    refs = sorted({ref for _, ref in sources if ref})
    shown = "env " + ", ".join(names) + (f" from {', '.join(refs)}" if refs else "")
    explanation = CATALOGUE[STATIC_KEYS_IN_ENV].explanation
    if intended_role:
        explanation += f" Here they override the intended role {intended_role}."
    return _make(
        STATIC_KEYS_IN_ENV,
        title=f"Container {container} has static AWS keys: {shown}",
        explanation=explanation,
        evidence=[Evidence(pod.ref, f, ref) for f, ref in sources],
    )


def static_keys_maybe_from_secret(pod: Pod, container: str, source: str) -> Finding:
    name = source.split()[1] if len(source.split()) > 1 else source
    return _make(
        STATIC_KEYS_MAYBE_FROM_SECRET,
        title=f"Container {container} loads {source} into its environment; AWS keys in it would override the role",
        evidence=[Evidence(pod.ref, f"spec.containers[{container}].envFrom", source)],
        fix=f"kubectl -n {pod.namespace} get secret {name} -o jsonpath='{{.data}}' | jq 'keys'",
    )


def no_oidc_provider(issuer: str, account: str, cluster: str | None, token_ref: ObjectRef) -> Finding:
    return _make(
        NO_OIDC_PROVIDER,
        title=f"No IAM OIDC provider for {issuer_host_path(issuer)} in account {account}",
        evidence=[Evidence(token_ref, "token.iss", issuer),
                  Evidence(ObjectRef("Account", account), "iam:ListOpenIDConnectProviders", None)],
        fix=f"eksctl utils associate-iam-oidc-provider --cluster {cluster or 'CLUSTER'} --approve",
    )


def audience_not_in_client_ids(provider: OidcProvider, audiences: tuple[str, ...], evidence: list[Evidence]) -> Finding:
    missing = [a for a in audiences if a not in provider.client_ids]
    aud = missing[0] if missing else (audiences[0] if audiences else "sts.amazonaws.com")
    return _make(
        AUDIENCE_NOT_IN_CLIENT_IDS,
        title=f"Token audience {', '.join(audiences) or '(none)'} is not in the provider's client IDs "
              f"({', '.join(provider.client_ids) or 'none'})",
        evidence=[*evidence, Evidence(ObjectRef("OidcProvider", provider.arn), "ClientIDList", ", ".join(provider.client_ids))],
        fix=(f"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {provider.arn} "
             f"--client-id {shlex.quote(aud)}   # or fix the {AUDIENCE_ANNOTATION} annotation"),
    )


def malformed_role_arn(ref: ObjectRef, field: str, value: str) -> Finding:
    fix = None
    if ref.kind == "ServiceAccount":
        fix = (f"kubectl -n {ref.namespace} annotate serviceaccount {ref.name} --overwrite "
               f"{ROLE_ARN_ANNOTATION}=arn:aws:iam::ACCOUNT:role/NAME")
    return _make(
        MALFORMED_ROLE_ARN,
        title=f"{value!r} is not a valid role ARN: {role_arn_problem(value)}",
        evidence=[Evidence(ref, field, value)],
        fix=fix,
    )


def role_not_found(role_arn: str, reason: str, evidence: list[Evidence]) -> Finding:
    return _make(
        ROLE_NOT_FOUND,
        title=f"Role {role_arn} does not exist",
        explanation=CATALOGUE[ROLE_NOT_FOUND].explanation + f" IAM said: {reason}.",
        evidence=[*evidence, Evidence(ObjectRef("Role", role_arn), "iam:GetRole", reason)],
    )


def role_lookup_failed(role_arn: str, reason: str, permission: str | None) -> Finding:
    return _make(
        ROLE_LOOKUP_FAILED,
        title=f"Role {role_arn} could not be read: {reason}",
        evidence=[Evidence(ObjectRef("Role", role_arn), "iam:GetRole", reason)],
        fix=f"Grant {permission} to the identity running this tool." if permission else None,
    )


def token_file_permissions(pod: Pod, version: str) -> Finding:
    return _make(
        TOKEN_FILE_PERMISSIONS,
        title=f"Pod {pod.name} runs as user {pod.run_as_user} without fsGroup on Kubernetes {version}",
        evidence=[Evidence(pod.ref, "spec.securityContext.runAsUser", str(pod.run_as_user)),
                  Evidence(pod.ref, "spec.securityContext.fsGroup", None)],
    )


def node_role_fallback(pod: Pod, node_role: str | None, annotated_in_namespace: list[str], cluster: str | None) -> Finding:
    explanation = CATALOGUE[NODE_ROLE_FALLBACK].explanation
    if node_role:
        explanation += f" Here that is {node_role} (node {pod.node_name})."
    if annotated_in_namespace:
        explanation += (f" Service accounts in {pod.namespace} that do have a role: "
                        f"{', '.join(sorted(annotated_in_namespace)[:5])} — is the pod running as the wrong one?")
    sa = pod.service_account if pod.service_account != "default" else "SA_NAME"
    return _make(
        NODE_ROLE_FALLBACK,
        title=f"Pod {pod.name} has no IRSA or Pod Identity and uses the node's role"
              + (f" {role_name_of(node_role)}" if node_role else ""),
        explanation=explanation,
        evidence=[Evidence(pod.service_account_ref, f"metadata.annotations[{ROLE_ARN_ANNOTATION}]", None),
                  Evidence(ObjectRef("Node", pod.node_name or "?"), "instance profile role", node_role)],
        fix=(f"eksctl create iamserviceaccount --cluster {cluster or 'CLUSTER'} --namespace {pod.namespace} "
             f"--name {sa} --attach-policy-arn POLICY_ARN --approve, set serviceAccountName: {sa} "
             f"on the pod, then recreate it ({_restart_fix(pod)})"),
    )


# What kubectl's STATUS says of a pod whose container exited with an error or keeps crashing
# (kube_convert.pod_status_text: the container's reason, else ExitCode:N). OOMKilled, Evicted,
# a signal, an image that cannot be pulled … are failures AWS credentials cannot cause: not these.
_FAILED_STATUSES = frozenset({"Error", "CrashLoopBackOff", "Init:Error", "Init:CrashLoopBackOff"})
_NOT_AWS_REASONS = frozenset({"OOMKilled", "Evicted", "DeadlineExceeded", "ContainerCannotRun", "StartError"})
# AWS CLI v2's exit codes (docs: "Command line return codes"): what a container running it ended with says
_AWS_CLI_CODES = {
    254: "the AWS CLI's code for an error the AWS service returned (AccessDenied is one)",
    253: "the AWS CLI's code for a configuration or credentials problem (e.g. 'Unable to locate credentials')",
}


def pod_failure(pod: Pod) -> str | None:
    """How the pod failed, in words, when it ended (or keeps ending) in an error an AWS call
    can cause; None otherwise. Read from its phase, STATUS and containers' exit codes only (no
    logs, no request)."""
    status, phase = pod.status, pod.phase
    exits = [e for e in pod.exits if e.reason not in _NOT_AWS_REASONS]
    if pod.exits and not exits:
        return None  # every container that failed was killed for memory, evicted …: not an AWS call
    if status in _FAILED_STATUSES or status.startswith(("ExitCode:", "Init:ExitCode:")):
        ended = "keeps crashing" if "CrashLoopBackOff" in status else "ended in " + status
    elif phase == "Failed" and status in ("Failed", "Unknown", ""):
        ended = "ended in Failed"
    else:
        return None
    how = [f"phase {phase}"]
    how += [f"container {e.container}{' last' if e.last else ''} exited {e.exit_code}" for e in exits[:3]]
    said = aws_error(pod)
    if said is not None:
        how.append(f"it logged {said.code[:60]}")
    return f"{ended} ({'; '.join(how)})"


class SaidError(NamedTuple):
    """An AWS error a container's termination message shows."""

    exit: ContainerExit
    text: str  # the error as printed, from its start, bounded, any token masked
    code: str  # as printed: "AccessDenied", "Unable to locate credentials" …
    kind: str  # log_errors.KINDS' name: "access-denied", "trust-denied", "no-credentials" …


_QUOTED = 300  # characters of the error quoted, from where it starts


def aws_error(pod: Pod) -> SaidError | None:
    """The first AWS error a failed container's termination message shows (the kubelet keeps it
    in the pod's status; with terminationMessagePolicy: FallbackToLogsOnError, the last log
    lines), recognised as the logs screen recognises one (log_errors.recognise), quoted from its
    start, bounded, with any token masked; None if none."""
    for e in pod.exits:
        for line in (e.message or "").splitlines():
            found = recognise(line)
            if found is None:
                continue
            kind, code, start, _end, _operation = found
            begin = line.rfind("An error occurred (", max(0, start - 19), start)  # the CLI's form opens before its code
            text = line[begin if begin >= 0 else start:][:_QUOTED].strip()
            return SaidError(e, mask_tokens(text, "eyJ…(token masked)"), code, kind)
    return None


def _exit_hint(pod: Pod) -> str:
    """What the AWS error in a termination message, or else an AWS CLI container's exit code, says."""
    said = aws_error(pod)
    if said is not None:
        return f" Container {said.exit.container}'s termination message (kept in the pod's status) says: {said.text}"
    images = {c.name: c.image for c in pod.containers}
    for e in pod.exits:
        image = images.get(e.container, "")
        if e.exit_code in _AWS_CLI_CODES and ("aws-cli" in image or "awscli" in image):
            return f" Container {e.container} ({image}) exited {e.exit_code}: {_AWS_CLI_CODES[e.exit_code]}."
    return ""


def _exit_evidence(pod: Pod) -> list[Evidence]:
    def where(e: ContainerExit) -> str:
        return f"status.{'initC' if e.init else 'c'}ontainerStatuses[{e.container}].{'lastState' if e.last else 'state'}.terminated"

    out = [Evidence(pod.ref, f"{where(e)}.exitCode", str(e.exit_code)) for e in pod.exits[:3]]
    said = aws_error(pod)
    if said is not None:
        out.append(Evidence(pod.ref, f"{where(said.exit)}.message", said.text))
    return out


def pod_failed_on_node_role(pod: Pod, failure: str, node_role: str | None, cluster: str | None) -> Finding:
    role = role_name_of(node_role) if node_role else "NODE_ROLE"
    running_as = f"the node role {role}" if node_role else "its node's instance role (which one is unknown)"
    explanation = CATALOGUE[POD_FAILED_ON_NODE_ROLE].explanation + _exit_hint(pod)
    if node_role:
        explanation += f" Here the node role is {node_role} (node {pod.node_name})."
    sa = pod.service_account if pod.service_account != "default" else "SA_NAME"
    return _make(
        POD_FAILED_ON_NODE_ROLE,
        title=f"Pod {pod.name} {failure} while running as {running_as}",
        explanation=explanation,
        evidence=[Evidence(pod.ref, "status.phase", pod.phase),
                  Evidence(pod.ref, "status (kubectl STATUS)", pod.status), *_exit_evidence(pod),
                  Evidence(ObjectRef("Node", pod.node_name or "?"), "instance profile role", node_role)],
        fix=(f"l on the pod (its logs, the AWS error marked) or kubectl -n {pod.namespace} logs {pod.name} "
             f"--all-containers --tail 20 to confirm (AccessDenied for "
             f"assumed-role/{role}/i-…), then eksctl create iamserviceaccount --cluster {cluster or 'CLUSTER'} "
             f"--namespace {pod.namespace} --name {sa} --attach-policy-arn POLICY_ARN --approve, set "
             f"serviceAccountName: {sa} on the pod and recreate it ({_restart_fix(pod)})"),
    )


def pod_failed_without_credentials(pod: Pod, failure: str, why: str) -> Finding:
    return _make(
        POD_FAILED_WITHOUT_CREDENTIALS,
        title=f"Pod {pod.name} {failure} and gets no AWS credentials",
        explanation=CATALOGUE[POD_FAILED_WITHOUT_CREDENTIALS].explanation + _exit_hint(pod) + f" Here: {why}",
        evidence=[Evidence(pod.ref, "status.phase", pod.phase),
                  Evidence(pod.ref, "status (kubectl STATUS)", pod.status), *_exit_evidence(pod)],
        fix=(f"l on the pod (its logs, the AWS error marked) or kubectl -n {pod.namespace} logs {pod.name} "
             f"--all-containers --tail 20 to confirm, fix the link the "
             f"pod's other findings name, then recreate it ({_restart_fix(pod)})"),
    )


_DENIED = ("access-denied", "trust-denied")  # log_errors' kinds of a refusal (AccessDenied, UnauthorizedOperation …)


def denied_as(pod: Pod) -> str | None:
    """The AWS error line of a failed container's termination message when it is a refusal
    (AccessDenied …), else None."""
    said = aws_error(pod)
    return said.text if said is not None and said.kind in _DENIED else None


def pod_failed_access_denied(pod: Pod, failure: str, identity: str, role_arn: str | None) -> Finding:
    said = denied_as(pod) or ""
    action = re.search(r"not authorized to perform: ([\w:*-]{1,128})", said)
    return _make(
        POD_FAILED_ACCESS_DENIED,
        title=f"Pod {pod.name} {failure}: AWS refused {identity}",
        explanation=CATALOGUE[POD_FAILED_ACCESS_DENIED].explanation + _exit_hint(pod),
        evidence=[Evidence(pod.ref, "status.phase", pod.phase), *_exit_evidence(pod),
                  *([Evidence(ObjectRef("Role", role_arn), "permission policies", None)] if role_arn else [])],
        fix=(f"aws iam simulate-principal-policy --policy-source-arn {role_arn or 'ROLE_ARN'} --action-names "
             f"{action.group(1) if action else 'ACTION'} (which statement decides), then allow the call in the "
             f"role's policies and run the pod again"),
    )


def pod_identity_host_network(pod: Pod) -> Finding:
    return _make(
        POD_IDENTITY_HOST_NETWORK,
        title=f"Pod {pod.name} uses hostNetwork, which EKS Pod Identity refuses",
        evidence=[Evidence(pod.ref, "spec.hostNetwork", "true")],
    )


def irsa_role_changed(pod: Pod, container: str, injected: str, annotated: str | None) -> Finding:
    now = f"now names {annotated}" if annotated else "no longer names a role"
    return _make(
        IRSA_ROLE_CHANGED,
        title=f"Pod {pod.name} uses {injected}, its service account {now}",
        evidence=[Evidence(pod.ref, f"spec.containers[{container}].env[AWS_ROLE_ARN]", injected),
                  _annotation(pod.service_account_ref, ROLE_ARN_ANNOTATION, annotated)],
        fix=_restart_fix(pod),
    )


def irsa_shadows_pod_identity(pod: Pod, irsa_role: str, association_role: str) -> Finding:
    return _make(
        IRSA_SHADOWS_POD_IDENTITY,
        title=f"Pod {pod.name} gets {irsa_role} through IRSA, not the associated {association_role}",
        evidence=[Evidence(pod.ref, "spec.containers[*].env[AWS_ROLE_ARN]", irsa_role),
                  Evidence(pod.ref, "spec.containers[*].env[AWS_CONTAINER_CREDENTIALS_FULL_URI]", None)],
    )


def token_expired(ref: ObjectRef, expired_at: str, now: str) -> Finding:
    return _make(
        TOKEN_EXPIRED,
        title=f"Token expired at {expired_at} (now {now})",
        evidence=[Evidence(ref, "token.exp", expired_at)],
    )
