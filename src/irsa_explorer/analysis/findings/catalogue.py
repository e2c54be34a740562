"""The findings catalogue: every failure of failure-catalogue.md that the APIs can show.

Each entry has a stable code (reports, filters and tests rely on it), a severity, a one-line
title, an explanation a trainee can follow, and a fix. `CATALOGUE` documents the generic
entry (docs/findings.md is generated from it); the builders (in the modules beside this one)
make a concrete `model.Finding` for one pod, with the evidence and a fix that names it.
"""

from __future__ import annotations

import sys

from dataclasses import dataclass

from irsa_explorer.model import Evidence, Finding, ObjectRef, Pod, Severity


@dataclass(frozen=True)
class FindingSpec:
    code: str
    severity: Severity
    title: str
    catalogue: str  # the entry of failure-catalogue.md, e.g. "A.1"
    explanation: str
    fix: str


CATALOGUE: dict[str, FindingSpec] = {}


def _spec(code: str, severity: Severity, catalogue: str, title: str, explanation: str, fix: str) -> str:
    CATALOGUE[code] = FindingSpec(code, severity, title, catalogue, explanation, fix)
    return code


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION = _spec(
    "IRSA_NOT_INJECTED_POD_PREDATES_ANNOTATION", E, "A.1, A.3",
    "Service account has a role, but the pod got no IRSA credentials",
    "The EKS pod identity webhook adds AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the aws-iam-token "
    "volume only when a pod is CREATED. This pod has none of them although its service account carries "
    "eks.amazonaws.com/role-arn: the pod most likely existed before the annotation was added (or the "
    "webhook, which EKS runs with failurePolicy Ignore, skipped it). The SDK falls back to the node's role.",
    "Recreate the pod: kubectl -n NS rollout restart deployment/NAME (or delete a bare pod and apply it again).",
)
ASSOCIATION_AFTER_POD = _spec(
    "ASSOCIATION_AFTER_POD", E, "F.21, A.1",
    "Pod Identity association exists, but the pod got no Pod Identity credentials",
    "EKS injects AWS_CONTAINER_CREDENTIALS_FULL_URI and the eks-pod-identity-token volume only when a pod "
    "is created. The association for this service account was created after the pod started, so the pod "
    "still uses whatever came before (usually the node's role).",
    "Recreate the pod: kubectl -n NS rollout restart deployment/NAME.",
)
ROLE_ARN_ANNOTATION_TYPO = _spec(
    "ROLE_ARN_ANNOTATION_TYPO", E, "A.2",
    "An annotation looks like eks.amazonaws.com/role-arn but is not exactly that key",
    "The webhook only reads the exact key eks.amazonaws.com/role-arn on the service account. A near miss "
    "such as eks.amazon.com/role-arn or eks.amazonaws.com/role_arn is ignored silently.",
    "kubectl -n NS annotate serviceaccount SA eks.amazonaws.com/role-arn=ROLE_ARN, remove the misspelt key, "
    "then restart the pods.",
)
ROLE_ARN_ON_POD = _spec(
    "ROLE_ARN_ON_POD", E, "A.2",
    "eks.amazonaws.com/role-arn is annotated on the pod, not on its service account",
    "IRSA is configured on the service account. The webhook ignores a role-arn annotation on the pod itself.",
    "Move the annotation to the service account the pod runs as, then restart the pod.",
)
CONTAINER_SETS_AWS_ROLE_ARN = _spec(
    "CONTAINER_SETS_AWS_ROLE_ARN", E, "A.4",
    "A container sets AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE itself",
    "When a container already defines AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE, the webhook injects "
    "neither into it. The container then uses its own value, or — with only one of the pair set — no web "
    "identity at all, falling back to the node's role.",
    "Remove AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE from the container spec and restart the pod.",
)
SKIPPED_CONTAINER = _spec(
    "SKIPPED_CONTAINER", W, "A.4",
    "A container was excluded from IRSA injection",
    "Containers named in the pod annotation eks.amazonaws.com/skip-containers, and every container of a pod "
    "labelled eks.amazonaws.com/skip-pod-identity-webhook, get no IRSA variables or token: they use the "
    "node's role.",
    "Remove the container from eks.amazonaws.com/skip-containers (or the skip label) if it needs the role, "
    "then restart the pod.",
)
STATIC_KEYS_IN_ENV = _spec(
    "STATIC_KEYS_IN_ENV", E, "A.5",
    "Static AWS access keys in the container environment",
    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY come first in every SDK's credential chain, so IRSA and Pod "
    "Identity are ignored. Long-lived keys in a pod spec or Secret are also a security risk: anyone who can "
    "read the pod or Secret can use them, and they never rotate by themselves.",
    "Remove the variables (and the Secret), give the service account a role with IRSA or Pod Identity, "
    "restart the pod, then deactivate the access key in IAM.",
)
STATIC_KEYS_MAYBE_FROM_SECRET = _spec(
    "STATIC_KEYS_MAYBE_FROM_SECRET", I, "A.5",
    "A container loads every key of a Secret into its environment",
    "envFrom copies all keys of the Secret into the environment. If the Secret holds AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, those static keys win over IRSA and Pod Identity. The Secret's content is not "
    "read by this tool, so this is only a possibility to check.",
    "kubectl -n NS get secret NAME -o jsonpath='{.data}' | jq 'keys' — and remove any AWS_* keys.",
)
NO_OIDC_PROVIDER = _spec(
    "NO_OIDC_PROVIDER", E, "C.8",
    "No IAM OIDC provider for the cluster's issuer",
    "STS accepts a service-account token only if the role's account has an IAM OIDC provider whose URL is "
    "the token's issuer. Without it every AssumeRoleWithWebIdentity fails with 'InvalidIdentityToken: No "
    "OpenIDConnect provider found in your account'.",
    "eksctl utils associate-iam-oidc-provider --cluster CLUSTER --approve",
)
AUDIENCE_NOT_IN_CLIENT_IDS = _spec(
    "AUDIENCE_NOT_IN_CLIENT_IDS", E, "C.10",
    "The token's audience is not a client ID of the OIDC provider",
    "STS rejects a token whose aud is not in the provider's client-ID list ('Incorrect token audience'). "
    "The audience comes from eks.amazonaws.com/audience (default sts.amazonaws.com).",
    "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ARN --client-id AUD "
    "(or fix the eks.amazonaws.com/audience annotation).",
)
TRUST_SUB_MISMATCH = _spec(
    "TRUST_SUB_MISMATCH", E, "C.9",
    "The role's trust policy does not accept this service account",
    "The trust policy's :sub condition names another namespace or service account than the one the pod "
    "runs as, so STS answers 'Not authorized to perform sts:AssumeRoleWithWebIdentity'.",
    "Put system:serviceaccount:NS:SA in the :sub condition of the role's trust policy.",
)
TRUST_WILDCARD_IN_STRINGEQUALS = _spec(
    "TRUST_WILDCARD_IN_STRINGEQUALS", E, "C.9",
    "A wildcard inside StringEquals in the trust policy",
    "Only StringLike expands * and ?. Under StringEquals, system:serviceaccount:NS:* means a service account "
    "literally named '*', so no real service account matches.",
    "Use StringLike for that condition key (or name the service account exactly).",
)
TRUST_SUB_UNDER_AUD_KEY = _spec(
    "TRUST_SUB_UNDER_AUD_KEY", E, "C.9",
    "The trust policy tests the subject under the :aud key",
    "A system:serviceaccount:… value is compared with the token's audience (sts.amazonaws.com), which can "
    "never match. The subject belongs under the ISSUER:sub key.",
    "Move the value to ISSUER:sub and test ISSUER:aud against sts.amazonaws.com.",
)
TRUST_AUDIENCE_MISMATCH = _spec(
    "TRUST_AUDIENCE_MISMATCH", E, "C.9",
    "The trust policy's :aud condition does not accept the token's audience",
    "The pod's token carries the audience from its projected volume (default sts.amazonaws.com); the "
    "trust policy wants another value.",
    "Test ISSUER:aud against the audience the token carries (normally sts.amazonaws.com).",
)
TRUST_CONDITION_KEY_PREFIX = _spec(
    "TRUST_CONDITION_KEY_PREFIX", E, "C.9",
    "A trust-policy condition key does not carry this cluster's issuer",
    "Web-identity condition keys are ISSUER_HOST_PATH:sub and ISSUER_HOST_PATH:aud. A key without that prefix, "
    "or with another cluster's issuer, is absent from the request, so its condition is false.",
    "Prefix the key with this cluster's issuer (without https://).",
)
TRUST_PRINCIPAL_NOT_PROVIDER = _spec(
    "TRUST_PRINCIPAL_NOT_PROVIDER", E, "C.9",
    "The trust policy's Federated principal is not this cluster's OIDC provider ARN",
    "The principal must be arn:aws:iam::ACCOUNT:oidc-provider/ISSUER_HOST_PATH, exactly. A missing "
    "oidc-provider/, the bare issuer URL, another region/ID (e.g. a recreated cluster) or another account "
    "does not match.",
    "Set Principal.Federated to the provider ARN of this cluster's issuer.",
)
TRUST_PRINCIPAL_TYPE = _spec(
    "TRUST_PRINCIPAL_TYPE", E, "C.9, F.19",
    "The role trusts another kind of principal than the mechanism uses",
    "IRSA needs a Federated principal (the OIDC provider); Pod Identity needs Service "
    "pods.eks.amazonaws.com. A role set up for one does not work with the other.",
    "Add a statement for the right principal, or switch the pod to the mechanism the role was made for.",
)
TRUST_ACTION_MISMATCH = _spec(
    "TRUST_ACTION_MISMATCH", E, "C.9",
    "The trust policy does not allow the action this mechanism uses",
    "IRSA calls sts:AssumeRoleWithWebIdentity; Pod Identity needs sts:AssumeRole and sts:TagSession.",
    "Add the missing action to the Allow statement.",
)
TRUST_EXPLICIT_DENY = _spec(
    "TRUST_EXPLICIT_DENY", E, "C.9",
    "An explicit Deny in the trust policy blocks this service account",
    "In IAM an explicit Deny always wins: a Deny statement whose principal, action and conditions match "
    "this token blocks it even though another statement allows it. STS answers 'Not authorized to perform "
    "sts:AssumeRoleWithWebIdentity'.",
    "Narrow or remove the Deny statement.",
)
TRUST_NOT_ALLOWED = _spec(
    "TRUST_NOT_ALLOWED", E, "C.9",
    "The role's trust policy does not allow this pod's token",
    "No Allow statement of the trust policy matches the token's issuer, subject and audience.",
    "Add a statement trusting this cluster's OIDC provider for system:serviceaccount:NS:SA.",
)
TRUST_POLICY_NOT_UNDERSTOOD = _spec(
    "TRUST_POLICY_NOT_UNDERSTOOD", I, "C.9",
    "The trust policy could not be evaluated",
    "The policy uses something this tool does not evaluate (or does not parse), so whether STS accepts "
    "the token is shown as unknown rather than guessed.",
    "Read the statement named in the evidence; try the live AssumeRoleWithWebIdentity check.",
)
MALFORMED_ROLE_ARN = _spec(
    "MALFORMED_ROLE_ARN", E, "C.12",
    "The role ARN is not a valid IAM role ARN",
    "The webhook injects whatever the annotation says; STS then rejects it with 'ValidationError ... "
    "Request ARN is invalid'.",
    "kubectl -n NS annotate serviceaccount SA --overwrite eks.amazonaws.com/role-arn=arn:aws:iam::ACCOUNT:role/NAME",
)
ROLE_NOT_FOUND = _spec(
    "ROLE_NOT_FOUND", E, "C.9",
    "The role named in the annotation does not exist",
    "IAM has no role with this ARN (deleted, renamed, or in another account), so STS cannot assume it.",
    "Create the role (e.g. eksctl create iamserviceaccount) or fix the ARN in the annotation.",
)
ROLE_LOOKUP_FAILED = _spec(
    "ROLE_LOOKUP_FAILED", I, "—",
    "The role could not be read, so its trust is unknown",
    "The role lookup was denied or failed. The chain shows 'unknown' for the role and its trust policy "
    "instead of guessing.",
    "Grant the viewer iam:GetRole (and iam:ListOpenIDConnectProviders, eks:ListPodIdentityAssociations).",
)
TOKEN_FILE_PERMISSIONS = _spec(
    "TOKEN_FILE_PERMISSIONS", W, "B.7",
    "A non-root container without fsGroup may not be able to read the token file",
    "On clusters before Kubernetes 1.19 the projected token is mode 0600 owned by root; a container running "
    "as another user gets 'WebIdentityErr: unable to read file ... permission denied'.",
    "Set spec.securityContext.fsGroup (e.g. 65534) on the pod, or upgrade the cluster.",
)
NODE_ROLE_FALLBACK = _spec(
    "NODE_ROLE_FALLBACK", W, "A, E.17",
    "No IRSA or Pod Identity: the pod uses the node's IAM role",
    "Nothing gives this pod its own AWS identity, so the SDK falls back to the EC2 instance metadata and "
    "gets the node's role — the same role every pod on the node shares. Granting that role more "
    "permissions would give them to every pod (least privilege). Calls it is not allowed fail with AccessDenied.",
    "Create a role for a service account (eksctl create iamserviceaccount --cluster CLUSTER --namespace NS "
    "--name SA --attach-policy-arn POLICY --approve), run the pod as that service account, recreate the pod.",
)
POD_FAILED_ON_NODE_ROLE = _spec(
    "POD_FAILED_ON_NODE_ROLE", E, "A, E.17",
    "The pod failed while running as its node's role",
    "Kubernetes says the pod failed (phase Failed, or a container that exited with an error or keeps "
    "crashing), and the only AWS identity it has is the node's instance role, which nothing chose for it: the "
    "SDK fell back to it. A node role allows what the node needs (pulling from ECR, the VPC CNI, joining EKS), "
    "so an application's own AWS calls fail with AccessDenied — the walkthrough's `aws s3 ls` is the textbook "
    "case. The pod is shown broken: it does not work, and its identity is the first suspect. The pod's logs "
    "confirm it: `l` on the pod in the explorer shows them, each AWS error marked with the finding that "
    "explains it (listing pods reads no logs: that would cost a request per pod).",
    "Confirm with `l` on the pod, or kubectl -n NS logs POD (AccessDenied … assumed-role/NODE_ROLE/i-… is "
    "this), then give the pod "
    "an identity of its own: eksctl create iamserviceaccount --cluster CLUSTER --namespace NS --name SA "
    "--attach-policy-arn POLICY_ARN --approve (or an EKS Pod Identity association), run the pod as that "
    "service account, recreate it.",
)
POD_FAILED_WITHOUT_CREDENTIALS = _spec(
    "POD_FAILED_WITHOUT_CREDENTIALS", E, "A, E.17",
    "The pod failed and gets no AWS credentials",
    "Kubernetes says the pod failed (phase Failed, or a container that exited with an error or keeps "
    "crashing), and the identity chain gives it no credentials: what was meant for it does not reach it, or "
    "nothing does and the node's metadata service is out of reach. If the pod calls AWS, its SDK ends with "
    "'Unable to locate credentials' or the error of the broken link — the other findings of the pod say "
    "which. The pod's logs confirm it: `l` on the pod in the explorer shows them, each AWS error marked "
    "with the finding that explains it.",
    "Confirm with `l` on the pod, or kubectl -n NS logs POD, then fix the broken link the pod's other findings "
    "name and "
    "recreate the pod.",
)
POD_FAILED_ACCESS_DENIED = _spec(
    "POD_FAILED_ACCESS_DENIED", E, "D.16",
    "The pod failed with AccessDenied although it gets the identity meant for it",
    "The pod failed, and the termination message Kubernetes keeps in its status (its last log lines with "
    "terminationMessagePolicy: FallbackToLogsOnError) shows AWS refusing a call. Its identity chain holds — it "
    "is the role meant for it — so what denies the call is what that role may do: its permission policies do "
    "not allow the action on that resource, or a permissions boundary, an SCP or the resource's own policy "
    "denies it.",
    "Open the role (its permission policies) and compare with the call that failed; aws iam "
    "simulate-principal-policy --policy-source-arn ROLE_ARN --action-names ACTION tells which statement decides.",
)
POD_IDENTITY_TRUST_INVALID = _spec(
    "POD_IDENTITY_TRUST_INVALID", E, "F.19",
    "The associated role's trust policy does not allow EKS Pod Identity",
    "Pod Identity needs a statement with Principal Service pods.eks.amazonaws.com and actions sts:AssumeRole "
    "and sts:TagSession. Without it EKS answers 'Trust policy of the role provided is invalid'.",
    "Add the Pod Identity statement (see the fix of the finding) to the role's trust policy.",
)
POD_IDENTITY_HOST_NETWORK = _spec(
    "POD_IDENTITY_HOST_NETWORK", E, "F.20",
    "Pod Identity does not work for hostNetwork pods",
    "A hostNetwork pod reaches the agent from the node's network namespace and EKS refuses it: "
    "'Unauthorized Exception! EKS does not have permissions to assume the associated role.'",
    "Run the pod without hostNetwork, or use IRSA for it.",
)
IRSA_ROLE_CHANGED = _spec(
    "IRSA_ROLE_CHANGED", W, "A.1",
    "The pod still uses the role its service account had when the pod was created",
    "AWS_ROLE_ARN was injected at pod creation. The service account's annotation has changed since; the "
    "running pod keeps the old role until it is recreated.",
    "Recreate the pod: kubectl -n NS rollout restart deployment/NAME.",
)
IRSA_SHADOWS_POD_IDENTITY = _spec(
    "IRSA_SHADOWS_POD_IDENTITY", W, "—",
    "The pod has both IRSA and Pod Identity variables; the SDK uses IRSA",
    "Every SDK reads web identity (AWS_ROLE_ARN) before container credentials (Pod Identity), so the "
    "association's role is not the one the pod gets.",
    "Remove the eks.amazonaws.com/role-arn annotation if Pod Identity is meant, then restart the pod.",
)
CROSS_ACCOUNT_PROVIDER_UNKNOWN = _spec(
    "CROSS_ACCOUNT_PROVIDER_UNKNOWN", I, "C.8",
    "The role is in another account: its OIDC provider cannot be checked from here",
    "STS looks the provider up in the role's account, which needs its own IAM OIDC provider for this cluster's "
    "issuer. IAM answers only for the account of the credentials asking, so the explorer reads another account "
    "only through a profile named for it (--account-profile ACCOUNT=PROFILE: an SSO or assume-role profile of "
    "your AWS config for that account). Without one, the provider, the role and its trust are unknown.",
    "irsa-explorer --account-profile ACCOUNT=PROFILE (repeatable; or IRSA_EXPLORER_ACCOUNT_PROFILES), with a "
    "profile that may call iam:ListOpenIDConnectProviders, iam:GetOpenIDConnectProvider and iam:GetRole there.",
)
TOKEN_EXPIRED = _spec(
    "TOKEN_EXPIRED", E, "C.13",
    "The token has expired",
    "STS refuses expired tokens ('ExpiredTokenException'). The kubelet rotates the file; an application "
    "that caches the token instead of re-reading the file ends up with an expired one.",
    "Re-read the token file on every STS call (all current SDKs do); upgrade an old SDK.",
)

del E, W, I


def _restart_fix(pod: Pod) -> str:
    """The command that recreates the pod through its controller, or deletes a bare pod."""
    template_hash = pod.labels.get("pod-template-hash")
    if template_hash and f"-{template_hash}-" in pod.name:
        deployment = pod.name.rsplit(f"-{template_hash}-", 1)[0]
        return f"kubectl -n {pod.namespace} rollout restart deployment/{deployment}"
    if "controller-revision-hash" in pod.labels:
        return f"kubectl -n {pod.namespace} delete pod {pod.name}   # its controller recreates it"
    return (
        f"kubectl -n {pod.namespace} get pod {pod.name} -o yaml > {pod.name}.yaml && "
        f"kubectl -n {pod.namespace} delete pod {pod.name} && kubectl apply -f {pod.name}.yaml"
    )


def _make(code: str, title: str | None = None, explanation: str | None = None,
          evidence: tuple[Evidence, ...] | list[Evidence] = (), fix: str | None = None) -> Finding:
    spec = CATALOGUE[code]
    # Interned: a finding's explanation and fix repeat for every pod of a kind (2,200 node-role
    # fallbacks at 10,000 pods held 3 MB of equal texts); one copy each, in every process.
    fix = spec.fix if fix is None else fix
    return Finding(code, spec.severity, title or spec.title, sys.intern(explanation) if explanation else spec.explanation,
                   tuple(evidence), sys.intern(fix) if fix else fix)


def _annotation(ref: ObjectRef, key: str, value: str | None) -> Evidence:
    return Evidence(ref, f"metadata.annotations[{key}]", value)


def catalogue_markdown() -> str:
    """docs/findings.md, generated so the document cannot drift from the code."""
    lines = [
        "# Findings",
        "",
        "Every finding irsa-explorer reports, by stable code. Generated from",
        "`irsa_explorer.analysis.findings.CATALOGUE` (a test keeps this file in sync:",
        "regenerate with `python -m irsa_explorer.analysis.findings > docs/findings.md`).",
        "The *catalogue* column points at the entry of the failure catalogue it detects.",
        "Concrete findings name the pod, service account, role or cluster in their title, evidence and fix.",
        "",
        "| Code | Severity | Catalogue | Title |",
        "|---|---|---|---|",
    ]
    for spec in CATALOGUE.values():
        lines.append(f"| `{spec.code}` | {spec.severity} | {spec.catalogue} | {spec.title} |")
    for spec in CATALOGUE.values():
        lines += ["", f"## `{spec.code}`", "", f"**{spec.title}** ({spec.severity})", "",
                  spec.explanation, "", f"Fix: {spec.fix}"]
    lines += ["", "## Severity and verdict", ""] + [
        "An identity chain is *broken* when a link is broken or a finding is an error, *unknown* when a",
        "link could not be checked (a lookup was denied or not made), *warning* for the node role, static",
        "keys without an intended role, or a warning finding, and *ok* otherwise. `STATIC_KEYS_IN_ENV` is",
        "an error when the keys override an intended role and a warning when no role is configured.",
        "",
        "## Catalogue entries that the APIs cannot show",
        "",
    ] + [f"- {line}" for line in NOT_DETECTABLE]
    return "\n".join(lines) + "\n"


# failure-catalogue.md entries with no static detection here, and why (the live check covers some).
NOT_DETECTABLE = [
    "B.6 SDK too old: the SDK version inside an image is not visible from the pod spec; the live "
    "`sts get-caller-identity` check shows its effect.",
    "C.11 Thumbprint mismatch: AWS no longer checks thumbprints for EKS issuers; not evaluated.",
    "C.13 Expired token: only a token read from a pod (the live check) has an expiry; "
    "`findings.token_expired(...)` builds `TOKEN_EXPIRED` for that check, the spec alone never raises it.",
    "C.14 STS unreachable (no NAT, security groups) and, of F.18, IPv6 off on the node or a firewall in front of "
    "169.254.170.23: network paths are not in the inventory; the live check shows the connect timeout. (A Pod "
    "Identity agent pod missing or not running on the node is detected: `POD_IDENTITY_AGENT_MISSING`.)",
    "C.15 DurationSeconds above MaxSessionDuration: the requested duration is the application's choice.",
    "D.16 Permission policies that do not allow an action: the role's policies are fetched on demand for "
    "a role view, not judged per pod.",
    "F.22 Role chaining from a Pod Identity session: happens inside the application.",
]
