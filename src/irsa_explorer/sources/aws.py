"""The AWS side: the EKS cluster, IAM OIDC providers and roles, node roles, Pod Identity.

boto3 only, with the usual credential chain, profile and region handling. The endpoint is
whatever botocore resolves (it honours `AWS_ENDPOINT_URL`, which is how the lab points us at
itself); `endpoint_url` is passed on only when a caller gives one explicitly.

Every lookup that fails becomes a `model.Unavailable` whose `kind` keeps "forbidden"
(with the IAM permission it needs) apart from "not-found" and "not-available": a role we may
not read must never look like a role that does not exist, and neither may look fine.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore import UNSIGNED
from botocore import exceptions as boto_errors
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError

from irsa_explorer.analysis.arns import account_of_arn, parse_role_arn
from irsa_explorer.model import (
    AttachedPolicy,
    Cluster,
    InstanceMetadataOptions,
    Node,
    OidcProvider,
    PodIdentityAssociation,
    Role,
    RolePolicies,
    Unavailable,
)
from irsa_explorer.sources.aws_accounts import ACCOUNT_PROFILES_ENV, OtherAccounts, parse_account_profiles
from irsa_explorer.sources.aws_answers import GarbledAnswer, checked_sender
from irsa_explorer.sources.aws_errors import (
    FORBIDDEN,
    NO_REGION,
    NOT_AVAILABLE,
    NOT_FOUND,
    unavailable_from,
)
from irsa_explorer.sources.botocore_data import shared_loader, tidy_search_paths

DESCRIBE_INSTANCES_BATCH = 200  # filter values per DescribeInstances call (the API allows 200)
DEFAULT_REQUEST_TIMEOUT = 10.0  # seconds to connect, and to wait between bytes (`--request-timeout`)
CONNECT_ATTEMPTS = 3  # a refused connection is tried this often (with botocore's backoff)


@dataclass(frozen=True)
class StsResult:
    """The answer of one STS call made for the opt-in check. Credentials never show in reprs."""

    ok: bool
    arn: str | None = None  # the assumed-role ARN on success
    account: str | None = None
    user_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    credentials: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def error(self) -> str | None:
        if self.ok:
            return None
        return f"{self.error_code}: {self.error_message}" if self.error_code else self.error_message


class AwsSource:
    """Reads one AWS account through boto3.

    Never raises for configuration: a profile that does not exist, no credentials, an expired
    SSO session, a failing credential_process or assume-role, no region — each is one
    `Unavailable` line with the command that fixes it (`problem()`), returned by every lookup
    instead of asking AWS. Every request has connect and read timeouts (`request_timeout`);
    an endpoint that gave no answer in time is not asked again by this source.
    """

    def __init__(
        self,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_workers: int = 8,
        list_roles_threshold: int = 200,
        credentials: tuple[str, str, str | None] | None = None,
        request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
        known_problem: Unavailable | None = None,
        account_profiles: dict[str, str] | None = None,
        config_file: str | None = None,
        credentials_file: str | None = None,
    ) -> None:
        """`known_problem`: what another AwsSource found (`handover`), not looked for again.
        `account_profiles`: {account: profile} to read roles of other accounts (aws_accounts.py);
        `config_file` / `credentials_file`: the AWS config files (default: botocore's, from $AWS_CONFIG_FILE…).

        `region`: as given (--region, the kubeconfig context's), else $AWS_REGION, else what
        botocore finds ($AWS_DEFAULT_REGION, the profile's). `profile`: as given, else
        $AWS_PROFILE or the default chain. `request_timeout` 0/None: no limit."""
        self._credentials = credentials
        self._settings = {"profile": profile, "endpoint_url": endpoint_url, "max_workers": max_workers,
                          "list_roles_threshold": list_roles_threshold, "request_timeout": request_timeout,
                          "account_profiles": dict(account_profiles or {}), "config_file": config_file,
                          "credentials_file": credentials_file}
        self.other_accounts = OtherAccounts(self, account_profiles or {})
        self.profile_name: str | None = profile or os.environ.get("AWS_PROFILE") or None
        self.request_timeout = request_timeout or None
        self.endpoint_url = endpoint_url
        self.max_workers = max_workers
        # ListRoles returns up to 1000 roles a page, GetRole one: when we need this many
        # roles (or more), paging the whole account is fewer calls than asking role by role
        # for any account with fewer than ~threshold×1000 roles.
        self.list_roles_threshold = list_roles_threshold
        timeouts = {"connect_timeout": self.request_timeout, "read_timeout": self.request_timeout} if self.request_timeout else {}
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": 8},  # throttling: IAM's limits are low
            max_pool_connections=max(10, max_workers * 2),
            **timeouts,
        )
        # The clients botocore makes for itself (STS for an assume-role profile, SSO) get the
        # same timeouts, with few retries.
        self._resolver_config = Config(retries={"mode": "standard", "max_attempts": CONNECT_ATTEMPTS}, **timeouts)
        self._clients: dict[tuple[str, bool], Any] = {}
        self._clients_lock = threading.Lock()
        self._profile_roles: dict[str, str | Unavailable] = {}
        self._caller: dict | Unavailable | None = None
        self._unanswered: dict[str, Exception] = {}  # endpoint host → the timeout it gave
        self._problem_lock = threading.Lock()
        self._problem: Unavailable | None = None
        self._checked = False
        self.session: Any = None
        self.region: str | None = None
        self._make_session(region or os.environ.get("AWS_REGION") or None)
        if known_problem is not None:
            self._problem, self._checked = known_problem, True

    def _make_session(self, region: str | None) -> None:
        key, secret, session_token = self._credentials or (None, None, None)
        core = botocore.session.Session()
        core.set_default_client_config(self._resolver_config)
        for name in ("config_file", "credentials_file"):  # a lab's files rather than $AWS_CONFIG_FILE's
            if self._settings.get(name):
                core.set_config_variable(name, self._settings[name])
        try:
            core.register_component("data_loader", shared_loader(core))
            self.session = boto3.session.Session(
                # the profile asked for, not session.profile_name: that says "default" when
                # none was, and naming a [default] that does not exist is ProfileNotFound
                profile_name=self._settings["profile"],
                region_name=region,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                aws_session_token=session_token,
                botocore_session=core,
            )
            tidy_search_paths(core)
            self.region = self.session.region_name
        except Exception as error:  # ProfileNotFound (from --profile or $AWS_PROFILE), a broken config file
            self.session = None
            self.region = region
            self._problem = self._unavailable(error, None)
            self._checked = True

    @classmethod
    def from_env(cls, env: dict[str, str], **kwargs: Any) -> "AwsSource":
        """An AwsSource configured by an environment mapping (e.g. a lab's aws.env) instead of
        os.environ, so several accounts can be used in one process."""
        key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        return cls(
            profile=kwargs.pop("profile", None),
            region=kwargs.pop("region", None) or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            endpoint_url=kwargs.pop("endpoint_url", None) or env.get("AWS_ENDPOINT_URL"),
            credentials=(key, secret, env.get("AWS_SESSION_TOKEN")) if key and secret else None,
            account_profiles=kwargs.pop("account_profiles", None) or parse_account_profiles(env.get(ACCOUNT_PROFILES_ENV)),
            config_file=env.get("AWS_CONFIG_FILE"), credentials_file=env.get("AWS_SHARED_CREDENTIALS_FILE"),
            **kwargs,
        )

    def handover(self) -> dict[str, Any]:
        """`AwsSource(**handover())` in another process reads the same account as the same
        principal: the region in use and the credentials as resolved here (a profile's SSO or
        assume-role session is not started again). In memory only: never written anywhere."""
        credentials = self._credentials
        problem = self.problem()
        if credentials is None and problem is None:
            try:
                resolved = self.session.get_credentials()
                frozen = resolved.get_frozen_credentials() if resolved is not None else None
            except Exception:  # the other process meets the same error per call and says it there
                frozen = None
            if frozen is not None:
                credentials = (frozen.access_key, frozen.secret_key, frozen.token)
        settings = dict(self._settings, region=self.region, credentials=credentials, known_problem=problem)
        if credentials is not None:
            settings["profile"] = None  # the credentials stand for the profile
        return settings

    def use_region(self, region: str | None) -> None:
        """Adopt a region found elsewhere (the kubeconfig context) when none was configured."""
        if region and not self.region:
            with self._clients_lock:
                if self.session is not None:
                    self._make_session(region)
                self.region = region
                self._clients.clear()
            with self._problem_lock:
                if self._problem is not None and self._problem.reason == NO_REGION:
                    self._problem, self._checked = None, False

    # -- what stops every lookup ------------------------------------------------------------

    def problem(self, verify: bool = False) -> Unavailable | None:
        """Why this source cannot ask AWS at all, in one line with the fix, or None.

        Checked once, without a request: the profile exists, credentials resolve (an SSO
        session, an assume-role profile and credential_process are resolved here, with
        timeouts), a region is known. `verify=True` also asks STS GetCallerIdentity (which no
        policy can deny), so keys AWS does not know, expired credentials or an endpoint that
        does not answer are found before anything else is asked.
        """
        with self._problem_lock:
            if not self._checked:
                self._checked = True
                self._problem = self._resolve_problem()
            found = self._problem
        if found is None and verify:
            caller = self.caller_identity()
            if isinstance(caller, Unavailable) and caller.kind != FORBIDDEN:
                return caller
        return found

    def _resolve_problem(self) -> Unavailable | None:
        if self.session is None:
            return self._problem
        try:
            resolved = self.session.get_credentials()
            if resolved is None:
                raise NoCredentialsError()
            resolved.get_frozen_credentials()  # deferred providers (SSO, assume-role, process) run now
        except Exception as error:
            return self._unavailable(error, None)
        if not self.region:
            return Unavailable(NO_REGION)
        return None

    def _unavailable(self, error: Exception, permission: str | None) -> Unavailable:
        return unavailable_from(error, permission, profile=self.profile_name, timeout=self.request_timeout)

    # -- clients ---------------------------------------------------------------------------

    def client(self, service: str, unsigned: bool = False) -> Any:
        """A shared client per service (botocore clients are thread-safe, sessions are not)."""
        key = (service, unsigned)
        with self._clients_lock:
            if key not in self._clients:
                if self.session is None:
                    raise RuntimeError(str(self._problem))
                config = self._config.merge(Config(signature_version=UNSIGNED)) if unsigned else self._config
                kwargs: dict[str, Any] = {"config": config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                if service in ("iam",) and not self.region:
                    kwargs["region_name"] = "us-east-1"  # IAM is global
                made = self.session.client(service, **kwargs)
                made.meta.events.register_first("before-send", self._refuse_unanswered)
                made.meta.events.register_first("needs-retry", self._bounded_retry)
                made.meta.events.register("before-send", checked_sender(made))  # garbled answers asked again
                self._clients[key] = made
            return self._clients[key]

    def _refuse_unanswered(self, request: Any = None, **_: Any) -> None:
        """botocore `before-send`: an endpoint that gave no answer in time is not asked again
        (hundreds of GetRole calls would each wait the whole timeout)."""
        host = urlsplit(getattr(request, "url", "") or "").netloc
        if host in self._unanswered:
            raise self._unanswered[host]

    def _bounded_retry(self, caught_exception: Exception | None = None, attempts: int = 0, **_: Any) -> None:
        """botocore `needs-retry`: a timeout is not retried (it waited the whole timeout already,
        and the endpoint is remembered as silent); a refused connection is tried
        CONNECT_ATTEMPTS times. Throttling and 5xx answers keep botocore's retries.
        Raising here ends the call with that error."""
        if isinstance(caught_exception, (boto_errors.ConnectTimeoutError, boto_errors.ReadTimeoutError)):
            host = urlsplit(str(caught_exception.kwargs.get("endpoint_url") or "")).netloc
            if host:
                self._unanswered.setdefault(host, caught_exception)
            raise caught_exception
        if isinstance(caught_exception, (boto_errors.EndpointConnectionError, GarbledAnswer)) and attempts >= CONNECT_ATTEMPTS:
            raise caught_exception

    # -- identity of the caller ----------------------------------------------------------------

    def caller_identity(self) -> dict | Unavailable:
        """Who our own credentials are: {"Account", "Arn", "UserId"}.

        Asked once. GetCallerIdentity needs no permission, so its failure (keys AWS does not
        know, expired credentials, no answer) stops every other lookup of this source too."""
        blocked = self.problem()
        if blocked is not None:
            return blocked
        if self._caller is None:
            try:
                answer = self.client("sts").get_caller_identity()
                self._caller = {k: answer[k] for k in ("Account", "Arn", "UserId")}
            except Exception as error:
                self._caller = self._unavailable(error, "sts:GetCallerIdentity")
                if self._caller.kind != FORBIDDEN:
                    with self._problem_lock:
                        self._problem = self._problem or self._caller
        return self._caller

    # -- EKS ---------------------------------------------------------------------------------

    def describe_cluster(self, name: str) -> Cluster | Unavailable:
        """The EKS cluster: ARN, region, account, OIDC issuer, version."""
        blocked = self.problem()
        if blocked is not None:
            return blocked
        try:
            raw = self.client("eks").describe_cluster(name=name)["cluster"]
        except Exception as error:
            result = self._unavailable(error, "eks:DescribeCluster")
            if result.kind == NOT_FOUND:
                return Unavailable(
                    f"cluster {name!r} not found in {self.region}", None, NOT_FOUND
                )
            return result
        arn = raw.get("arn", "")
        arn_parts = arn.split(":")
        return Cluster(
            name=raw.get("name", name),
            arn=arn,
            region=arn_parts[3] if len(arn_parts) > 4 else (self.region or ""),
            account=arn_parts[4] if len(arn_parts) > 4 else "",
            issuer=((raw.get("identity") or {}).get("oidc") or {}).get("issuer"),
            version=raw.get("version"),
        )

    def list_pod_identity_associations(
        self, cluster: str
    ) -> list[PodIdentityAssociation] | Unavailable:
        """Every Pod Identity association of the cluster, with its role.

        "Not available" (never an empty list) when this endpoint or botocore has no Pod
        Identity API: an empty list would claim there are no associations.
        """
        blocked = self.problem()
        if blocked is not None:
            return blocked
        eks = self.client("eks")
        if not hasattr(eks, "list_pod_identity_associations"):
            return Unavailable(
                "not available: this botocore has no EKS Pod Identity API", None, NOT_AVAILABLE
            )
        summaries: list[dict] = []
        try:
            for page in eks.get_paginator("list_pod_identity_associations").paginate(
                clusterName=cluster
            ):
                summaries.extend(page.get("associations") or [])
        except Exception as error:
            result = self._unavailable(error, "eks:ListPodIdentityAssociations")
            if result.kind == FORBIDDEN:
                return result
            if result.kind == NOT_FOUND:
                return Unavailable(f"cluster {cluster!r} not found in {self.region}", None, NOT_FOUND)
            if result.kind == NOT_AVAILABLE:
                return result
            # Anything else (no answer, an error this API should not give): the associations
            # are unknown — never an empty list that would read as "none".
            return Unavailable(f"not available: {result.reason}", None, NOT_AVAILABLE)

        def full(summary: dict) -> PodIdentityAssociation | Unavailable:
            # The list's summaries carry no role ARN: describe only those that lack one.
            detail = summary
            if not summary.get("roleArn"):
                try:
                    detail = eks.describe_pod_identity_association(
                        clusterName=cluster, associationId=summary["associationId"]
                    )["association"]
                except Exception as error:
                    return self._unavailable(error, "eks:DescribePodIdentityAssociation")
            return PodIdentityAssociation(
                association_id=detail.get("associationId", ""),
                cluster=detail.get("clusterName", cluster),
                namespace=detail.get("namespace", ""),
                service_account=detail.get("serviceAccount", ""),
                role_arn=detail.get("roleArn", ""),
                association_arn=detail.get("associationArn"),
            )

        with ThreadPoolExecutor(self.max_workers) as pool:
            results = list(pool.map(full, summaries))
        for result in results:
            if isinstance(result, Unavailable):
                return result  # a partial list would hide associations: all or unknown
        return results  # type: ignore[return-value]

    # -- IAM ---------------------------------------------------------------------------------

    def list_oidc_providers(self) -> list[OidcProvider] | Unavailable:
        """Every IAM OIDC provider of the account, with client IDs and thumbprints."""
        blocked = self.problem()
        if blocked is not None:
            return blocked
        iam = self.client("iam")
        try:
            arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
        except Exception as error:
            return self._unavailable(error, "iam:ListOpenIDConnectProviders")

        def get(arn: str) -> OidcProvider | Unavailable:
            try:
                raw = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
            except Exception as error:
                return self._unavailable(error, "iam:GetOpenIDConnectProvider")
            return OidcProvider(
                arn=arn,
                url=raw.get("Url", "").removeprefix("https://"),
                client_ids=tuple(raw.get("ClientIDList") or ()),
                thumbprints=tuple(raw.get("ThumbprintList") or ()),
            )

        with ThreadPoolExecutor(self.max_workers) as pool:
            providers = list(pool.map(get, arns))
        for provider in providers:
            if isinstance(provider, Unavailable):
                return provider  # without every provider's client IDs we cannot judge audiences
        return providers  # type: ignore[return-value]

    def get_roles(
        self, arns: Iterable[str], listed: "RoleListing | Unavailable | None" = None
    ) -> dict[str, Role | Unavailable]:
        """Each distinct role by its ARN: GetRole per role (bounded concurrency, retries), or
        ListRoles paging when that is cheaper (see `list_roles_threshold`).

        `listed`: the account's roles as `list_roles` returned them, when a caller paged them
        already (e.g. while other lookups ran); no ListRoles request is made again. When that
        listing was refused, roles are asked one by one, as without it.
        """
        wanted = sorted({a for a in arns if a})
        blocked = self.problem()
        if blocked is not None:
            return {arn: blocked for arn in wanted}
        results: dict[str, Role | Unavailable] = {}
        lookups: list[tuple[str, str, str, str]] = []  # (arn, account, path, name)
        others: list[str] = []
        caller = self.caller_identity()
        own_account = caller.get("Account") if isinstance(caller, dict) else None
        for arn in wanted:
            parsed = parse_role_arn(arn)
            if parsed is None:
                results[arn] = Unavailable("not a valid IAM role ARN", None, NOT_FOUND)
            elif own_account and parsed.account != own_account:
                others.append(arn)  # read in its own account, through the profile named for it
            else:
                lookups.append((arn, parsed.account, parsed.path, parsed.name))
        if others:
            results.update(self.other_accounts.roles(others))
        if not lookups:
            return results
        if isinstance(listed, RoleListing):
            for arn, _, _, name in lookups:
                results[arn] = listed.role(name)
            return results
        if listed is None and len(lookups) >= self.list_roles_threshold:
            listed = self._roles_by_listing(lookups)
            if listed is not None:
                results.update(listed)
                return results
        with ThreadPoolExecutor(self.max_workers) as pool:
            for arn, role in zip(
                [l[0] for l in lookups], pool.map(lambda l: self._get_role(*l), lookups)
            ):
                results[arn] = role
        return results

    def list_roles(self) -> "RoleListing | Unavailable":
        """Every role of the account, paging ListRoles (1000 a page, IAM's maximum), for
        `get_roles(arns, listed=…)`. Pages the whole account: it is meant to start before the
        roles wanted are all known, so it cannot stop at the last of them."""
        blocked = self.problem()
        if blocked is not None:
            return blocked
        raw: dict[str, dict] = {}
        try:
            pages = self.client("iam").get_paginator("list_roles").paginate(
                PaginationConfig={"PageSize": 1000}
            )
            for page in pages:
                for role in page.get("Roles") or []:
                    raw[role["RoleName"].lower()] = role  # role names are case-insensitive
        except Exception as error:
            return self._unavailable(error, "iam:ListRoles")
        return RoleListing(raw)

    def _get_role(self, arn: str, account: str, path: str, name: str) -> Role | Unavailable:
        try:
            raw = self.client("iam").get_role(RoleName=name)["Role"]
        except Exception as error:
            result = self._unavailable(error, "iam:GetRole")
            if result.kind == NOT_FOUND:
                return Unavailable(f"role does not exist: {name}", None, NOT_FOUND)
            return result
        return _role_from(raw)

    def _roles_by_listing(
        self, lookups: list[tuple[str, str, str, str]]
    ) -> dict[str, Role | Unavailable] | None:
        """Page ListRoles until every wanted role is seen. None when ListRoles is denied."""
        by_name = {name.lower(): arn for arn, _, _, name in lookups}  # role names are case-insensitive
        found: dict[str, Role | Unavailable] = {}
        try:
            # 1000 a page, IAM's maximum. ListRoles omits RoleLastUsed and PermissionsBoundary:
            # the price of the fewer calls, acceptable for a list view.
            pages = self.client("iam").get_paginator("list_roles").paginate(
                PaginationConfig={"PageSize": 1000}
            )
            for page in pages:
                for raw in page.get("Roles") or []:
                    arn = by_name.get(raw["RoleName"].lower())
                    if arn:
                        found[arn] = _role_from(raw)
                if len(found) == len(by_name):
                    break
        except Exception:
            return None  # e.g. iam:ListRoles denied while iam:GetRole is allowed: ask one by one
        for arn, _, _, name in lookups:
            found.setdefault(arn, Unavailable(f"role does not exist: {name}", None, NOT_FOUND))
        return found

    def role_policies(self, arn: str) -> RolePolicies | Unavailable:
        """The role's attached and inline permission policies (only when a user opens a role)."""
        parsed = parse_role_arn(arn)
        if parsed is None:
            return Unavailable("not a valid IAM role ARN", None, NOT_FOUND)
        blocked = self.problem()
        if blocked is not None:
            return blocked
        other = self.other_accounts.elsewhere(parsed.account)  # a role of another account: read there
        if other is not None:
            return other if isinstance(other, Unavailable) else other.role_policies(arn)
        name = parsed.name
        iam = self.client("iam")
        try:
            attached = [
                AttachedPolicy(p["PolicyName"], p["PolicyArn"])
                for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                for p in page.get("AttachedPolicies") or []
            ]
        except Exception as error:
            return self._unavailable(error, "iam:ListAttachedRolePolicies")
        try:
            names = [
                n
                for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
                for n in page.get("PolicyNames") or []
            ]
            inline = {
                n: iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"] for n in names
            }
        except Exception as error:
            return self._unavailable(error, "iam:GetRolePolicy")
        return RolePolicies(role_arn=arn, attached=tuple(attached), inline=inline)

    def policy_document(self, policy_arn: str) -> Any:
        """A managed policy's default version document (when a user opens an attached policy).

        Two calls, GetPolicy then GetPolicyVersion: IAM has no single call for the document.
        Returns the document (a dict) or Unavailable with the permission that was missing.
        """
        blocked = self.problem()
        if blocked is not None:
            return blocked
        other = self.other_accounts.elsewhere(account_of_arn(policy_arn) or "")
        if other is not None:
            return other if isinstance(other, Unavailable) else other.policy_document(policy_arn)
        iam = self.client("iam")
        try:
            version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
        except Exception as error:
            return self._unavailable(error, "iam:GetPolicy")
        try:
            return iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)[
                "PolicyVersion"
            ]["Document"]
        except Exception as error:
            return self._unavailable(error, "iam:GetPolicyVersion")

    # -- nodes -----------------------------------------------------------------------------------

    def node_roles(self, nodes: list[Node]) -> dict[str, str | Unavailable]:
        """Node name → the role ARN of its EC2 instance profile (the role un-injected pods get)."""
        return self.node_instances(nodes).roles

    def node_instances(self, nodes: list[Node]) -> "NodeInstances":
        """Each node's EC2 instance as DescribeInstances shows it (one call per 200 instances):
        the role of its instance profile, and its IMDS settings (MetadataOptions), which decide
        whether a pod reaches that role at all."""
        results: dict[str, str | Unavailable] = {}
        metadata: dict[str, InstanceMetadataOptions | Unavailable] = {}
        blocked = self.problem()
        if blocked is not None:
            return NodeInstances({node.name: blocked for node in nodes}, {node.name: blocked for node in nodes})
        by_instance: dict[str, list[str]] = {}
        for node in nodes:
            if node.instance_id:
                by_instance.setdefault(node.instance_id, []).append(node.name)
            else:
                results[node.name] = Unavailable(
                    f"not an EC2 node (providerID {node.provider_id or 'empty'})", None, NOT_FOUND
                )
        instance_ids = sorted(by_instance)
        profiles: dict[str, str | None] = {}  # instance id → instance profile ARN
        options: dict[str, InstanceMetadataOptions] = {}  # instance id → its IMDS settings
        ec2 = self.client("ec2")
        for start in range(0, len(instance_ids), DESCRIBE_INSTANCES_BATCH):
            batch = instance_ids[start : start + DESCRIBE_INSTANCES_BATCH]
            try:
                # A filter (not InstanceIds) so one vanished instance does not fail the batch.
                pages = ec2.get_paginator("describe_instances").paginate(
                    Filters=[{"Name": "instance-id", "Values": batch}]
                )
                for page in pages:
                    for reservation in page.get("Reservations") or []:
                        for instance in reservation.get("Instances") or []:
                            profile = instance.get("IamInstanceProfile") or {}
                            profiles[instance["InstanceId"]] = profile.get("Arn")
                            options[instance["InstanceId"]] = _metadata_options(instance)
            except Exception as error:
                failure = self._unavailable(error, "ec2:DescribeInstances")
                for instance_id in batch:
                    for name in by_instance[instance_id]:
                        results[name] = failure
                continue
        profile_arns = {arn for arn in profiles.values() if arn}
        with ThreadPoolExecutor(self.max_workers) as pool:
            list(pool.map(self._profile_role, profile_arns))
        for instance_id, names in by_instance.items():
            for name in names:
                if name in results:
                    continue
                if instance_id not in profiles:
                    results[name] = Unavailable(
                        f"EC2 instance {instance_id} not found in {self.region}", None, NOT_FOUND
                    )
                elif not profiles[instance_id]:
                    results[name] = Unavailable(
                        f"EC2 instance {instance_id} has no instance profile", None, NOT_FOUND
                    )
                else:
                    results[name] = self._profile_role(profiles[instance_id])  # type: ignore[arg-type]
                found = options.get(instance_id)
                metadata[name] = found if found is not None else results[name]  # type: ignore[assignment]
        for name, result in results.items():
            if isinstance(result, Unavailable):
                metadata.setdefault(name, result)
        return NodeInstances(results, metadata)

    def _profile_role(self, profile_arn: str) -> str | Unavailable:
        """The role of an instance profile, cached: many nodes share one profile."""
        if profile_arn in self._profile_roles:
            return self._profile_roles[profile_arn]
        name = profile_arn.rsplit("/", 1)[-1]
        try:
            roles = self.client("iam").get_instance_profile(InstanceProfileName=name)[
                "InstanceProfile"
            ].get("Roles") or []
            result: str | Unavailable = (
                roles[0]["Arn"]
                if roles
                else Unavailable(f"instance profile {name} has no role", None, NOT_FOUND)
            )
        except Exception as error:
            result = self._unavailable(error, "iam:GetInstanceProfile")
        self._profile_roles[profile_arn] = result
        return result

    # -- STS for the opt-in check -----------------------------------------------------------------

    def assume_role_with_web_identity(
        self, role_arn: str, token: str, session_name: str = "irsa-explorer-check"
    ) -> StsResult:
        """What STS answers for this token and role. Unsigned, as a pod's SDK calls it."""
        try:
            answer = self.client("sts", unsigned=True).assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName=session_name, WebIdentityToken=token
            )
        except ClientError as error:
            err = error.response.get("Error", {})
            return StsResult(False, error_code=err.get("Code"), error_message=err.get("Message"))
        except Exception as error:
            return StsResult(False, error_message=str(error))
        assumed = answer.get("AssumedRoleUser") or {}
        return StsResult(
            True,
            arn=assumed.get("Arn"),
            user_id=assumed.get("AssumedRoleId"),
            credentials=answer.get("Credentials"),
        )

    def caller_identity_with(self, credentials: dict[str, Any]) -> StsResult:
        """GetCallerIdentity signed with the given temporary credentials."""
        kwargs: dict[str, Any] = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials.get("SessionToken"),
            "config": self._config,
        }
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        try:
            # A fresh session: these credentials must not leak into the shared clients.
            sts = boto3.session.Session(region_name=self.region).client("sts", **kwargs)
            answer = sts.get_caller_identity()
        except ClientError as error:
            err = error.response.get("Error", {})
            return StsResult(False, error_code=err.get("Code"), error_message=err.get("Message"))
        except Exception as error:
            return StsResult(False, error_message=str(error))
        return StsResult(
            True, arn=answer.get("Arn"), account=answer.get("Account"), user_id=answer.get("UserId")
        )


class RoleListing:
    """The account's roles as ListRoles gave them, converted when asked for by name.

    ListRoles omits RoleLastUsed and PermissionsBoundary: the price of the fewer calls,
    acceptable for a list view (as in `get_roles`' own listing)."""

    def __init__(self, raw_by_lower_name: dict[str, dict]) -> None:
        self._raw = raw_by_lower_name

    def __len__(self) -> int:
        return len(self._raw)

    def role(self, name: str) -> Role | Unavailable:
        """The role of that name, or not-found: the listing holds every role of the account."""
        raw = self._raw.get(name.lower())
        if raw is None:
            return Unavailable(f"role does not exist: {name}", None, NOT_FOUND)
        return _role_from(raw)


@dataclass(frozen=True)
class NodeInstances:
    """`AwsSource.node_instances`: per node name, its instance profile's role and its IMDS settings
    (an Unavailable for either when DescribeInstances could not say, with the reason)."""

    roles: dict[str, str | Unavailable]
    metadata: dict[str, InstanceMetadataOptions | Unavailable]


def _metadata_options(instance: dict) -> InstanceMetadataOptions:
    options = instance.get("MetadataOptions") or {}
    hop_limit = options.get("HttpPutResponseHopLimit")
    return InstanceMetadataOptions(
        instance_id=instance["InstanceId"],
        http_tokens=options.get("HttpTokens"),
        hop_limit=int(hop_limit) if hop_limit is not None else None,
        http_endpoint=options.get("HttpEndpoint"),
        state=options.get("State"),
    )


def _role_from(raw: dict) -> Role:
    last_used = raw.get("RoleLastUsed") or {}
    arn = raw["Arn"]
    return Role(
        arn=arn,
        name=raw["RoleName"],
        account=account_of_arn(arn) or "",
        trust_policy=raw.get("AssumeRolePolicyDocument"),
        path=raw.get("Path", "/"),
        max_session_duration=raw.get("MaxSessionDuration"),
        permissions_boundary=(raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        last_used=last_used.get("LastUsedDate"),
        last_used_region=last_used.get("Region"),
        created=raw.get("CreateDate"),
    )
