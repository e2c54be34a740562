"""Live checks: who a pod really is, and what a service account's token would get from STS.

`who_am_i` runs `aws sts get-caller-identity` inside a container (exec, argv list, never a
shell), falling back to a python3/boto3 one-liner when the image has no aws CLI, and reads the
answer or the SDK's error text. Reading only: the pod itself makes the call with whatever
credentials its SDK finds.

`read_token` reads a token a pod mounts (exec `cat`), or mints one with TokenRequest (which
writes, so only after the user confirmed), and checks it.

`exec_command` says what an exec here is, as the kubectl command that does the same: what the
TUI shows before it runs one (commands.ask_before), and what --readonly refuses.

`what_would_sa_get` WRITES to the cluster: it mints a service-account token (TokenRequest) for
the audience the webhook would use, then presents it to STS AssumeRoleWithWebIdentity (unsigned,
as a pod's SDK does) — or, for a Pod Identity account, to EKS Auth AssumeRoleForPodIdentity — and
calls GetCallerIdentity with the result; given the engine's prediction
(analysis.prediction), it says whether AWS agrees. Callers must ask the user to confirm first.
The token is used in memory only: never logged, stored, returned, or shown in a repr.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from irsa_explorer.sources.aws import AwsSource, StsResult
from irsa_explorer.sources.kube import ClusterError, ExecResult, KubeSource
from irsa_explorer.analysis import arns
from irsa_explorer.model import service_account_subject
from irsa_explorer.analysis.prediction import Agreement, SaPrediction, agrees, compare_answer, token_audience
from irsa_explorer.analysis.tokens import DecodedToken, SignatureCheck, TokenError, decode_token, mask_tokens, verify_signature
from irsa_explorer.model import (
    DEFAULT_AUDIENCE,
    DEFAULT_TOKEN_PATH,
    IRSA_TOKEN_PATH,
    POD_IDENTITY_TOKEN_PATH,
    EffectiveIdentity,
    Finding,
    IssuerInfo,
    Mechanism,
    ObjectRef,
    Pod,
)

AWS_CLI_ARGV = ["aws", "sts", "get-caller-identity", "--output", "json"]
# The same question through boto3, for images with Python but no aws CLI. Errors go to stderr
# in the CLI's words so one parser reads both.
PYTHON_ARGV = [
    "python3",
    "-c",
    "import json,sys\n"
    "try:\n"
    "    import boto3\n"
    "    r = boto3.client('sts').get_caller_identity()\n"
    "    print(json.dumps({k: r[k] for k in ('UserId', 'Account', 'Arn')}))\n"
    "except Exception as e:\n"
    "    print(e, file=sys.stderr)\n"
    "    sys.exit(254)\n",
]

_SDK_ERROR = re.compile(r"An error occurred \((?P<code>[^)]+)\) when calling the (?P<op>\w+) operation: (?P<msg>.*)")

# The catalogue's error strings (failure-catalogue.md) → what they mean, in words.
_HINTS: list[tuple[str, str]] = [
    ("Unable to locate credentials", "no credentials found: nothing injected and no instance role reachable (IMDS blocked?)"),
    ("No OpenIDConnect provider found", "no IAM OIDC provider for the cluster's issuer in the role's account"),
    ("Incorrect token audience", "the token's audience is not in the OIDC provider's client IDs"),
    ("Not authorized to perform sts:AssumeRoleWithWebIdentity", "the role's trust policy does not allow this service account"),
    ("doesn't match configured thumbprint", "the OIDC provider's thumbprint does not match the issuer's certificate"),
    ("Request ARN is invalid", "the role ARN in the annotation is malformed"),
    ("Token expired", "the token expired: the app cached it instead of re-reading the file"),
    ("MaxSessionDuration", "the requested session duration exceeds the role's maximum"),
    ("unable to read file", "the token file is not readable by the container's user (set fsGroup)"),
    ("permission denied", "the token file is not readable by the container's user (set fsGroup)"),
    ("Unsupported host '169.254.170.23'", "the SDK is too old for EKS Pod Identity"),
    ("169.254.170.23", "the EKS Pod Identity agent is unreachable"),
    ("Connect timeout on endpoint URL", "STS is unreachable from the pod (no NAT? regional endpoint?)"),
    ("EKS does not have permissions to assume the associated role",
     "EKS refused the associated role: a hostNetwork pod, or a trust policy that does not allow pods.eks.amazonaws.com "
     "sts:AssumeRole and sts:TagSession for this pod's session tags"),
]
# The SDK's error → the engine's finding codes that explain it for a given pod, best first (a code
# ending in "_" is a prefix). When the pod's chain has one, the hint is that finding, not a guess.
_EXPLAINED_BY: list[tuple[str, tuple[str, ...]]] = [
    ("EKS does not have permissions to assume the associated role",
     ("POD_IDENTITY_HOST_NETWORK", "POD_IDENTITY_TRUST_INVALID", "TRUST_")),
    ("169.254.170.23", ("POD_IDENTITY_AGENT_MISSING", "POD_IDENTITY_AGENT_UNKNOWN")),
    ("Unable to locate credentials", ("IMDS_HOP_LIMIT", "IMDS_DISABLED", "FARGATE_NO_CREDENTIALS")),
    ("IMDSv1 has been disabled", ("IMDS_HOP_LIMIT",)),
    ("No OpenIDConnect provider found", ("NO_OIDC_PROVIDER",)),
    ("Incorrect token audience", ("AUDIENCE_NOT_IN_CLIENT_IDS",)),
    ("Not authorized to perform sts:AssumeRoleWithWebIdentity", ("TRUST_",)),
    ("STS regional endpoints option", ("STS_REGIONAL_ENDPOINTS_INVALID",)),
]


def same_role(identity_arn: str | None, role_arn: str | None) -> bool | None:
    """Whether an assumed-role ARN is a session of the role ARN (analysis.arns: the one ARN rule)."""
    return arns.same_role(identity_arn, role_arn)


@dataclass(frozen=True)
class LiveResult:
    """What `sts get-caller-identity` said inside one container, at one moment."""

    pod: ObjectRef
    container: str
    at: datetime
    command: str  # "aws" or "python3" (what answered)
    ok: bool
    arn: str | None = None
    account: str | None = None
    user_id: str | None = None
    exit_code: int | None = None
    error_code: str | None = None  # e.g. "AccessDenied", "InvalidIdentityToken"
    error_message: str | None = None  # the SDK's words, tokens masked
    hint: str | None = None  # what the error means (from the failure catalogue)
    intended_role_arn: str | None = None
    matches_intended: bool | None = None  # None: nothing intended, or no answer
    # Whether the pod got what the engine says it gets (an identity, or no credentials at
    # all): None when the engine could not tell, or was not asked.
    agrees_with_engine: bool | None = None


def _hint(text: str, findings: tuple[Finding, ...]) -> str | None:
    """What the error means for this pod: the engine's finding that explains it when the pod's
    chain has one, else what the error means in general."""
    for needle, codes in _EXPLAINED_BY:
        if needle not in text:
            continue
        for code in codes:
            found = next((f for f in findings if f.code == code or (code.endswith("_") and f.code.startswith(code))), None)
            if found is not None:
                return found.title
    return next((words for needle, words in _HINTS if needle in text), None)


def _parse_error(stderr: str, findings: tuple[Finding, ...] = ()) -> tuple[str | None, str, str | None]:
    text = mask_tokens(stderr).strip()
    code = None
    match = _SDK_ERROR.search(text)
    if match:
        code, message = match.group("code"), match.group("msg").strip()
    else:
        message = text.splitlines()[-1] if text else "no output"
        for candidate in ("InvalidIdentityToken", "ExpiredTokenException", "AccessDenied"):
            if candidate in text:
                code = candidate
                break
    return code, message, _hint(text, findings)


def who_am_i_container(pod: Pod) -> str | None:
    """The container `who_am_i` asks in by default: the first that is not an init container."""
    return next((c.name for c in pod.containers if not c.init), None)


def exec_command(pod: Pod, container: str | None, argv: list[str]) -> str:
    """The kubectl command that runs what an exec here runs, quoted as a shell would."""
    where = ["-c", container] if container else []
    return shlex.join(["kubectl", "exec", "-n", pod.namespace, pod.name, *where, "--", *argv])


def _not_found(result: ExecResult) -> bool:
    return result.exit_code == 127 or "executable file not found" in (result.stderr or "")


def who_am_i(
    kube: KubeSource,
    pod: Pod,
    container: str | None = None,
    intended_role_arn: str | None = None,
    timeout: float = 30,
    findings: tuple[Finding, ...] = (),
    expected: EffectiveIdentity | None = None,
) -> LiveResult:
    """Ask the pod itself which AWS identity it gets (exec of get-caller-identity).

    `container` defaults to the first (non-init) container; `intended_role_arn` defaults to the
    container's AWS_ROLE_ARN. `findings`: the pod's chain's, so an error's hint is the engine's
    finding that explains it; `expected`: the chain's effective identity, which the answer is
    compared with. Raises cluster.ClusterError when exec itself is impossible.
    """
    if container is None:
        container = who_am_i_container(pod)
        if container is None:
            raise ClusterError(f"pod {pod.namespace}/{pod.name} has no containers")
    spec = next((c for c in pod.containers if c.name == container), None)
    if intended_role_arn is None and spec is not None:
        intended_role_arn = spec.env_value("AWS_ROLE_ARN")

    command = "aws"
    result = kube.exec(pod.namespace, pod.name, container, AWS_CLI_ARGV, timeout=timeout)
    if _not_found(result):
        command = "python3"
        result = kube.exec(pod.namespace, pod.name, container, PYTHON_ARGV, timeout=timeout)
    at = datetime.now(timezone.utc)
    base = dict(
        pod=pod.ref,
        container=container,
        at=at,
        command=command,
        exit_code=result.exit_code,
        intended_role_arn=intended_role_arn,
    )
    if _not_found(result):
        return LiveResult(
            ok=False,
            error_message="the image has neither the aws CLI nor python3: cannot ask from inside",
            **base,
        )
    if result.exit_code == 0:
        try:
            answer = json.loads(result.stdout)
            arn = answer["Arn"]
        except (ValueError, KeyError, TypeError):
            return LiveResult(
                ok=False,
                error_message=f"unexpected output: {mask_tokens(result.stdout)[:200]}",
                **base,
            )
        return LiveResult(
            ok=True,
            arn=arn,
            account=answer.get("Account"),
            user_id=answer.get("UserId"),
            matches_intended=same_role(arn, intended_role_arn),
            agrees_with_engine=agrees(expected, True, arn),
            **base,
        )
    code, message, hint = _parse_error(result.stderr or result.stdout, findings)
    return LiveResult(ok=False, error_code=code, error_message=message, hint=hint,
                      agrees_with_engine=agrees(expected, False, None), **base)


@dataclass(frozen=True)
class CheckStep:
    """One step of the opt-in check, with what happened in words."""

    name: str  # "token-request", "assume-role-with-web-identity" / "assume-role-for-pod-identity", "get-caller-identity"
    ok: bool
    detail: str
    error_code: str | None = None


@dataclass(frozen=True)
class SaCheck:
    """What a service account's token gets from AWS for a role, beside the engine's prediction
    (when one was given) and whether they agree. Holds no token, no credentials."""

    namespace: str
    service_account: str
    role_arn: str
    audience: str
    steps: tuple[CheckStep, ...] = ()
    claims: dict = field(default_factory=dict, compare=False)  # iss, sub, aud, exp of the minted token
    arn: str | None = None  # the identity finally obtained
    mechanism: Mechanism = Mechanism.IRSA
    prediction: SaPrediction | None = field(default=None, compare=False)
    agreement: Agreement | None = None

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def answered(self) -> bool:
        """AWS was asked (the token was minted and presented)."""
        return len(self.steps) > 1

    @property
    def failed(self) -> CheckStep | None:
        """The step that failed, with AWS's (or the API server's) exact words."""
        return next((step for step in self.steps if not step.ok), None)


SA_CHECK_STEPS = {
    Mechanism.IRSA: ("token-request", "assume-role-with-web-identity", "get-caller-identity"),
    Mechanism.POD_IDENTITY: ("token-request", "assume-role-for-pod-identity", "get-caller-identity"),
}


def what_would_sa_get(
    kube: KubeSource,
    aws: AwsSource,
    namespace: str,
    sa: str,
    role_arn: str | None = None,
    audience: str | None = None,
    expiration_seconds: int = 600,
    *,
    prediction: SaPrediction | None = None,
    cluster_name: str | None = None,
    on_step: Callable[[CheckStep], None] | None = None,
) -> SaCheck:
    """TokenRequest → AssumeRoleWithWebIdentity → GetCallerIdentity (IRSA), or TokenRequest →
    EKS Auth AssumeRoleForPodIdentity → GetCallerIdentity (Pod Identity), each step's result,
    told to `on_step` as it happens.

    `prediction` (analysis.prediction.predict_service_account): the engine's answer, which
    names the mechanism, the role and the audience the webhook's token would carry (the
    account's audience annotation, else sts.amazonaws.com; pods.eks.amazonaws.com for Pod
    Identity); the result says whether AWS agrees. Without one: IRSA for `role_arn` and
    `audience` (default sts.amazonaws.com). `cluster_name`: EKS Auth's cluster.

    WRITES to the cluster (a TokenRequest, create serviceaccounts/token, in the audit log):
    call only after the user confirmed. The token lives in this function's memory only: never
    logged, stored, returned; AssumeRoleWithWebIdentity is sent unsigned, as a pod's SDK sends it.
    """
    mechanism = prediction.mechanism if prediction is not None else Mechanism.IRSA
    role_arn = role_arn or (prediction.role_arn if prediction is not None else None) or ""
    audience = audience or (token_audience(prediction) if prediction is not None else DEFAULT_AUDIENCE)
    common = dict(namespace=namespace, service_account=sa, role_arn=role_arn, audience=audience,
                  mechanism=mechanism, prediction=prediction)
    steps: list[CheckStep] = []

    def said(step: CheckStep) -> None:
        steps.append(step)
        if on_step is not None:
            on_step(step)

    def done(claims: dict, arn: str | None = None, answer: StsResult | None = None) -> SaCheck:
        agreement = None
        if prediction is not None:
            agreement = compare_answer(prediction, answer is not None, bool(answer and answer.ok),
                                       arn or (answer.arn if answer else None), answer.error_code if answer else None)
        return SaCheck(steps=tuple(steps), claims=claims, arn=arn, agreement=agreement, **common)

    if mechanism not in SA_CHECK_STEPS or not role_arn:
        said(CheckStep("token-request", False, "not asked: the service account names no role and has no "
                                               "Pod Identity association, so there is nothing to ask AWS for"))
        return done({})
    try:
        token = kube.create_token(namespace, sa, audience, expiration_seconds)
    except ClusterError as error:
        said(CheckStep("token-request", False, mask_tokens(str(error))))
        return done({})
    import jwt  # here, not at the top: PyJWT loads `cryptography` (8 MB), and this module is loaded
    # by every explorer once its pods are in (probe pods left behind), not only by a check

    try:
        raw_claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raw_claims = {}
    claims = {k: raw_claims.get(k) for k in ("iss", "sub", "aud", "exp") if k in raw_claims}
    said(CheckStep(
        "token-request",
        True,
        f"token minted for {claims.get('sub', service_account_subject(namespace, sa))}, "
        f"audience {audience}, valid {expiration_seconds}s",
    ))
    if mechanism is Mechanism.POD_IDENTITY:
        assumed = _assume_role_for_pod_identity(aws, cluster_name, token)
        exchange = "assume-role-for-pod-identity"
    else:
        assumed = aws.assume_role_with_web_identity(role_arn, token)
        exchange = "assume-role-with-web-identity"
    del token  # nothing below needs it
    if not assumed.ok:
        said(CheckStep(exchange, False, mask_tokens(assumed.error or "failed"), assumed.error_code))
        return done(claims, answer=assumed)
    said(CheckStep(exchange, True, f"{'EKS Auth' if mechanism is Mechanism.POD_IDENTITY else 'STS'} returned {assumed.arn}"))
    who = aws.caller_identity_with(assumed.credentials or {})
    if not who.ok:
        said(CheckStep("get-caller-identity", False, mask_tokens(who.error or "failed"), who.error_code))
        return done(claims, assumed.arn, assumed)
    said(CheckStep("get-caller-identity", True, f"the credentials are {who.arn}"))
    return done(claims, who.arn, assumed)


def _assume_role_for_pod_identity(aws: AwsSource, cluster_name: str | None, token: str) -> StsResult:
    """EKS Auth's AssumeRoleForPodIdentity, as the Pod Identity agent calls it (signed with the
    caller's credentials: it needs eks-auth:AssumeRoleForPodIdentity). Where EKS Auth does not
    answer (a region or endpoint without it), the result says it is not available."""
    if not cluster_name:
        return StsResult(False, error_message="not available: the EKS cluster's name is not known "
                                              "(--cluster NAME), and EKS Auth needs it")
    from botocore.exceptions import ClientError, EndpointConnectionError, UnknownServiceError

    try:
        answer = aws.client("eks-auth").assume_role_for_pod_identity(clusterName=cluster_name, token=token)
    except ClientError as error:
        err = error.response.get("Error", {})
        return StsResult(False, error_code=err.get("Code"), error_message=err.get("Message"))
    except (EndpointConnectionError, UnknownServiceError) as error:
        return StsResult(False, error_message=f"not available: EKS Auth does not answer here ({error})")
    except Exception as error:
        return StsResult(False, error_message=str(error))
    raw = answer.get("credentials") or {}
    credentials = {"AccessKeyId": raw.get("accessKeyId"), "SecretAccessKey": raw.get("secretAccessKey"),
                   "SessionToken": raw.get("sessionToken")}
    user = answer.get("assumedRoleUser") or {}
    return StsResult(True, arn=user.get("arn"), user_id=user.get("assumeRoleId"), credentials=credentials)


# --- reading a pod's token (the token pane) ---------------------------------------------------

# which → (the file in the container, what it is). "fresh" is a TokenRequest instead.
TOKEN_FILES = {
    "irsa": (IRSA_TOKEN_PATH, "projected IRSA token"),
    "pod-identity": (POD_IDENTITY_TOKEN_PATH, "EKS Pod Identity token"),
    "default": (DEFAULT_TOKEN_PATH, "default service-account token"),
}
FRESH_TOKEN_SECONDS = 600


@dataclass(frozen=True)
class TokenReading:
    """A token a user asked to see, decoded and its signature checked, or why it could not be
    read. The raw JWT stays in memory only: out of the repr, which crash reports print."""

    source: str  # "projected IRSA token", "default service-account token", "fresh TokenRequest …"
    path: str | None  # the file it was read from (None: minted)
    raw: str | None = field(repr=False)
    decoded: DecodedToken | TokenError | None = None
    signature: SignatureCheck | None = None  # None: the cluster's JWKS is not known
    error: str | None = None
    at: datetime | None = None


def token_source(which: str) -> str:
    """What a `which` names, in words."""
    return "fresh TokenRequest" if which == "fresh" else TOKEN_FILES.get(which, TOKEN_FILES["default"])[1]


def token_container(pod: Pod, path: str) -> str | None:
    """The first non-init container that mounts the token's directory (else the first one)."""
    folder = path.rsplit("/", 1)[0]
    regular = [c for c in pod.containers if not c.init]
    for container in regular:
        if any(mount == folder or folder.startswith(mount.rstrip("/") + "/") for _, mount in container.volume_mounts):
            return container.name
    return regular[0].name if regular else None


def read_token(
    kube: KubeSource,
    pod: Pod,
    which: str,
    audience: str = DEFAULT_AUDIENCE,
    *,
    jwks: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TokenReading:
    """One of a pod's tokens: "irsa", "pod-identity" or "default" is the file the pod mounts
    (exec `cat`, argv only); "fresh" mints one with TokenRequest, which WRITES to the cluster
    (callers ask the user first). The signature is checked against `jwks`, else the cluster's
    (`KubeSource.issuer()`, asked once). What the pod answers (no such file) comes back in the
    reading; a cluster that cannot be asked raises.
    """
    at = at or datetime.now(timezone.utc)
    path: str | None
    if which == "fresh":
        raw = kube.create_token(pod.namespace, pod.service_account, audience, FRESH_TOKEN_SECONDS)
        source, path = f"fresh TokenRequest (aud {audience}, {FRESH_TOKEN_SECONDS // 60} min)", None
    else:
        path, source = TOKEN_FILES.get(which, TOKEN_FILES["default"])
        result = kube.exec(pod.namespace, pod.name, token_container(pod, path), ["cat", path])
        raw = result.stdout.strip()
        if result.exit_code != 0 or not raw:
            why = mask_tokens(result.stderr.strip()) or f"cat exited with {result.exit_code}"
            return TokenReading(source, path, None, error=why, at=at)
    if jwks is None:
        issuer = kube.issuer()
        jwks = issuer.jwks if isinstance(issuer, IssuerInfo) else None
    signature = verify_signature(raw, jwks) if jwks is not None else None
    return TokenReading(source, path, raw, decode_token(raw), signature, at=at)
