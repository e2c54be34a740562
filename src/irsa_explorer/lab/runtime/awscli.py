"""The `aws` program of simulated lab containers.

It finds credentials the way botocore's default chain does, from the container's own env
and files (identity-contract.md, "Which credentials the SDK actually uses"):
env keys → assume-role profile → web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)
→ the shared credentials file, credential_process, the config file (AWS_PROFILE; files a pod
mounts from a Secret: aws_profiles.py) → container credentials
(AWS_CONTAINER_CREDENTIALS_FULL_URI, Pod Identity) → instance metadata of the pod's node. Then it calls the lab's AWS endpoint with boto3 and prints what aws CLI v2
prints, with its exit codes: 252 usage, 253 no credentials/region, 254 service error,
255 anything else. Tokens are read from the container's files and never printed.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore import UNSIGNED, xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, MetadataRetrievalError, ParamValidationError
from botocore.credentials import EnvProvider, InstanceMetadataProvider
from botocore.utils import ContainerMetadataFetcher, InstanceMetadataFetcher

import jmespath
import yaml

from irsa_explorer.lab.runtime.aws_profiles import ProfileError, SharedFiles

NO_CREDENTIALS = 'Unable to locate credentials. You can configure credentials by running "aws configure".'
NO_REGION = 'You must specify a region. You can also configure your region by running "aws configure".'
POD_IDENTITY_HOST = "169.254.170.23"
# These services answer without a region (global endpoints), as the real CLI does.
_GLOBAL_SERVICES = {"sts": "us-east-1", "iam": "us-east-1", "s3": "us-east-1"}
_UNSIGNED_OPERATIONS = {("sts", "AssumeRoleWithWebIdentity"), ("sts", "AssumeRoleWithSAML")}
_BOOLEAN_GLOBALS = {"debug", "no-verify-ssl", "no-paginate", "no-cli-pager", "no-sign-request", "no-cli-auto-prompt"}
_VALUE_GLOBALS = {"output", "query", "region", "endpoint-url", "profile", "color", "cli-read-timeout", "cli-connect-timeout", "ca-bundle"}
_USAGE = (
    "\nusage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\n"
    "To see help text, you can run:\n\n  aws help\n  aws <command> help\n  aws <command> <subcommand> help\n\n"
)
CLI_VERSION = "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.215-203.850.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off"

Output = tuple[str, str, int]


class CliExit(Exception):
    """Stop with this stderr text and exit code (the CLI's error paths)."""

    def __init__(self, stderr: str, code: int) -> None:
        super().__init__(stderr)
        self.stderr = stderr
        self.code = code


@contextmanager
def _cli_errors() -> Iterator[None]:
    """Turn botocore's failures into the CLI's output and exit codes: 254 for an error AWS
    answered, 252 for parameters botocore refused before sending, 255 for anything else."""
    try:
        yield
    except ClientError as error:
        raise CliExit(f"\n{error}\n", 254) from None
    except ParamValidationError as error:  # a BotoCoreError: must come first
        raise CliExit(f"\n{error}\n", 252) from None
    except BotoCoreError as error:
        raise CliExit(f"\n{error}\n", 255) from None


@dataclass(frozen=True)
class Invocation:
    command: list[str]  # positionals: service, operation, and (for s3) paths
    params: dict[str, list[str]]  # --kebab-name → values as typed
    flags: set[str]
    output: str
    query: str | None
    region: str | None


@dataclass(frozen=True)
class Container:
    """What the credential chain can see of the container running `aws`."""

    env: Mapping[str, str]
    files: Mapping[str, str]
    node_name: str | None
    host_network: bool = False
    pod_identity_agent: bool = True  # an EKS Pod Identity agent runs on the node: 169.254.170.23 answers


@dataclass(frozen=True)
class ResolvedCredentials:
    access_key: str
    secret_key: str
    token: str | None
    source: str  # "env", "web-identity", "container-role", "iam-role"


def parse(args: list[str]) -> Invocation:
    command: list[str] = []
    params: dict[str, list[str]] = {}
    flags: set[str] = set()
    globals_: dict[str, str] = {}
    current: str | None = None
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if name in _BOOLEAN_GLOBALS:
                flags.add(name)
                current = None
            elif name in _VALUE_GLOBALS:
                if not eq:
                    if index >= len(args):
                        raise CliExit(_USAGE + f"aws: error: argument --{name}: expected one argument\n", 252)
                    value = args[index]
                    index += 1
                globals_[name] = value
                current = None
            else:
                params.setdefault(name, [])
                if eq:
                    params[name].append(value)
                    current = None
                else:
                    current = name
        elif current is not None:
            params[current].append(arg)
        else:
            command.append(arg)
    output = globals_.get("output", "json")
    if output == "table":
        # Not simulated: printing JSON instead would pass for output the real CLI never gives.
        raise CliExit("\nThe lab's simulated aws CLI does not render --output table; use json, text or yaml.\n", 252)
    if output not in ("json", "text", "yaml", "yaml-stream"):
        raise CliExit(
            _USAGE + "aws: error: argument --output: Invalid choice, valid choices are:\n\njson | text | table | yaml | yaml-stream\n",
            252,
        )
    return Invocation(command, params, flags, output, globals_.get("query"), globals_.get("region"))


class AwsCli:
    """One simulated aws CLI shared by every container of a lab (it keeps no per-call state)."""

    def __init__(self, aws: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.aws = aws
        self.clock = clock
        self._local = threading.local()

    def _session(self) -> botocore.session.Session:
        # botocore sessions are not thread-safe; clients made from one are. One per thread.
        session = getattr(self._local, "session", None)
        if session is None:
            session = botocore.session.get_session()
            self._local.session = session
        return session

    def run(
        self,
        env: Mapping[str, str],
        files: Mapping[str, str],
        node_name: str | None,
        args: list[str],
        *,
        host_network: bool = False,
        pod_identity_agent: bool = True,
    ) -> Output:
        """Run `aws ARGS` in a container with this env, files and node; (stdout, stderr, code)."""
        container = Container(env, files, node_name, host_network, pod_identity_agent)
        try:
            if args == ["--version"]:
                return CLI_VERSION + "\n", "", 0
            invocation = parse(args)
            if len(invocation.command) < 2:
                raise CliExit(_USAGE + "aws: error: the following arguments are required: command\n", 252)
            return self._dispatch(invocation, container)
        except CliExit as stop:
            return "", stop.stderr, stop.code

    # --- commands ------------------------------------------------------------------------

    def _dispatch(self, call: Invocation, container: Container) -> Output:
        service, operation = call.command[0], call.command[1]
        if service == "s3" and operation == "ls":
            return self._s3_ls(call, container)
        model = self._service_model(service)
        operation_name = _operation_name(model, operation)
        if operation_name is None:
            raise CliExit(_USAGE + f"aws: error: argument operation: Invalid choice: '{operation}'\n", 252)
        if len(call.command) > 2:
            raise CliExit(_USAGE + f"aws: error: Unknown options: {', '.join(call.command[2:])}\n", 252)
        params = _operation_params(model.operation_model(operation_name), call.params)
        client = self._client(service, call, container, unsigned=(service, operation_name) in _UNSIGNED_OPERATIONS)
        method = getattr(client, xform_name(operation_name))
        with _cli_errors():
            if client.can_paginate(xform_name(operation_name)) and "no-paginate" not in call.flags:
                result = client.get_paginator(xform_name(operation_name)).paginate(**params).build_full_result()
            else:
                result = method(**params)
        result.pop("ResponseMetadata", None)
        return render(result, call.output, call.query), "", 0

    def _s3_ls(self, call: Invocation, container: Container) -> Output:
        client = self._client("s3", call, container)
        target = call.command[2] if len(call.command) > 2 else ""
        with _cli_errors():
            if not target:
                buckets = client.list_buckets().get("Buckets", [])
                lines = [f"{_cli_time(b['CreationDate'])} {b['Name']}" for b in buckets]
            else:
                bucket, _, prefix = target.removeprefix("s3://").partition("/")
                pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
                lines = []
                for page in pages:
                    for common in page.get("CommonPrefixes", []):
                        lines.append(f"{'PRE':>30} {common['Prefix'][len(prefix):]}")
                    for item in page.get("Contents", []):
                        lines.append(f"{_cli_time(item['LastModified'])} {item['Size']:>10} {item['Key'][len(prefix):]}")
        return "".join(line + "\n" for line in lines), "", 0

    # --- clients and credentials ---------------------------------------------------------

    def _service_model(self, service: str) -> Any:
        try:
            return self._session().get_service_model(service)
        except Exception:
            raise CliExit(_USAGE + f"aws: error: argument command: Invalid choice: '{service}'\n", 252) from None

    def _client(
        self,
        service: str,
        call: Invocation,
        container: Container,
        *,
        unsigned: bool = False,
    ) -> Any:
        env = container.env
        profile_region = _profile_region(env, container.files)  # a missing AWS_PROFILE stops here
        region = (call.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
                  or profile_region or _GLOBAL_SERVICES.get(service))
        if region is None:
            raise CliExit(NO_REGION + "\n", 253)
        if service == "sts":
            _check_sts_setting(env)
        # the CLI's own user agent, as CloudTrail records it ("… command/s3.ls")
        config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=30,
                        user_agent=f"{CLI_VERSION} command/{'.'.join(call.command[:2])}")
        if unsigned or "no-sign-request" in call.flags:
            return self._session().create_client(
                service, region_name=region, endpoint_url=self.aws.endpoint_url, config=config.merge(Config(signature_version=UNSIGNED))
            )
        creds = self.resolve_credentials(container, region)
        return self._session().create_client(
            service,
            region_name=region,
            endpoint_url=self.aws.endpoint_url,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
            config=config,
        )

    def resolve_credentials(self, container: Container, region: str) -> ResolvedCredentials:
        """botocore's default chain over the container's env and files (no config files in
        the lab images). Raises CliExit with the CLI's message when a provider fails."""
        env, files, node = container.env, container.files, container.node_name
        access_key, secret_key = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if access_key and secret_key:
            return ResolvedCredentials(access_key, secret_key, env.get("AWS_SESSION_TOKEN"), "env")
        if access_key or secret_key:
            missing = "AWS_SECRET_ACCESS_KEY" if access_key else "AWS_ACCESS_KEY_ID"
            raise CliExit(f"\nPartial credentials found in env, missing: {missing}\n", 253)

        shared = SharedFiles(env, files)  # AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE
        found = self._assume_role_profile(shared, container, region)
        if found is not None:
            return found
        role_arn, token_file = env.get("AWS_ROLE_ARN"), env.get("AWS_WEB_IDENTITY_TOKEN_FILE")
        if role_arn and token_file:
            return self._web_identity(role_arn, token_file, env, files, region)
        found = self._other_profiles(shared, env, files, region)
        if found is not None:
            return found

        full_uri = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        if full_uri:
            return self._container_credentials(full_uri, env, files, container.pod_identity_agent)

        if node and env.get("AWS_EC2_METADATA_DISABLED", "").lower() != "true":
            # Only ask for the host's vantage when it differs: the pod's is the default.
            if container.host_network:
                base_url = self.aws.imds_url(node, host_network=True)
            else:
                base_url = self.aws.imds_url(node)
            v1_disabled = env.get("AWS_EC2_METADATA_V1_DISABLED", "").lower() == "true"
            fetcher = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=base_url, env=dict(env),
                                              config={"ec2_metadata_v1_disabled": v1_disabled})
            try:
                found = fetcher.retrieve_iam_role_credentials()
            except MetadataRetrievalError as error:  # no token, and the IMDSv1 fallback is off
                raise CliExit(f"\n{error}\n", 255) from None
            if found:
                return ResolvedCredentials(found["access_key"], found["secret_key"], found["token"], "iam-role")
        raise CliExit(NO_CREDENTIALS + "\n", 253)

    def _assume_role_profile(self, shared: SharedFiles, container: Container, region: str) -> ResolvedCredentials | None:
        """An assume-role profile (second in botocore's chain, before web identity)."""
        if not shared.present:
            return None

        def sts_client(service: str, **kwargs: Any) -> Any:
            kwargs.setdefault("region_name", region)
            return self._session().create_client(service, endpoint_url=self.aws.endpoint_url, **kwargs)

        sourcer: list[Any] = [EnvProvider(environ=dict(container.env))]
        if container.node_name:
            fetcher = InstanceMetadataFetcher(timeout=2, num_attempts=1, env=dict(container.env),
                                              base_url=self.aws.imds_url(container.node_name, host_network=container.host_network))
            sourcer.append(InstanceMetadataProvider(iam_role_fetcher=fetcher))
        with _profile_errors():
            found = shared.assume_role(sts_client, sourcer)
        return ResolvedCredentials(found.access_key, found.secret_key, found.token, found.source) if found else None

    def _other_profiles(self, shared: SharedFiles, env: Mapping[str, str], files: Mapping[str, str],
                        region: str) -> ResolvedCredentials | None:
        """After web identity: a web-identity profile, SSO, the shared credentials file,
        credential_process, the config file — botocore's order."""
        if not shared.present:
            return None
        with _profile_errors():
            web = shared.web_identity()
            if web is not None:
                return self._web_identity(web[0], web[1], env, files, region)
            shared.sso()
            found = shared.shared_credentials()
            if found is None:
                shared.process()
                found = shared.config_file()
        return ResolvedCredentials(found.access_key, found.secret_key, found.token, found.source) if found else None

    def _web_identity(
        self, role_arn: str, token_file: str, env: Mapping[str, str], files: Mapping[str, str], region: str
    ) -> ResolvedCredentials:
        token = _read(files, token_file)
        if token is None:
            raise CliExit(f"\n[Errno 2] No such file or directory: '{token_file}'\n", 255)
        _check_sts_setting(env)
        session_name = env.get("AWS_ROLE_SESSION_NAME") or f"botocore-session-{int(self.clock())}"
        sts = self._session().create_client(
            "sts",
            region_name=region,
            endpoint_url=self.aws.endpoint_url,
            config=Config(signature_version=UNSIGNED, retries={"mode": "standard", "total_max_attempts": 3},
                          user_agent=CLI_VERSION),
        )
        with _cli_errors():
            answer = sts.assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName=session_name, WebIdentityToken=token
            )
        creds = answer["Credentials"]
        return ResolvedCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], "web-identity")

    def _container_credentials(self, full_uri: str, env: Mapping[str, str], files: Mapping[str, str],
                               agent: bool = True) -> ResolvedCredentials:
        headers: dict[str, str] = {}
        token_file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        if token_file:
            token = _read(files, token_file)
            if token is None:
                raise CliExit(f"\n[Errno 2] No such file or directory: '{token_file}'\n", 255)
            headers["Authorization"] = token
        elif env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
            headers["Authorization"] = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        url = self._reachable(full_uri, agent)
        fetcher = ContainerMetadataFetcher(sleep=lambda _seconds: None)
        try:
            answer = fetcher.retrieve_full_uri(url, headers=headers)
        except MetadataRetrievalError as error:
            raise CliExit(f"\nError when retrieving credentials from container-role: {error}\n", 255) from None
        return ResolvedCredentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer.get("Token"), "container-role")

    def _reachable(self, full_uri: str, agent: bool = True) -> str:
        """The Pod Identity agent's link-local address is the lab's agent URL when an agent pod
        runs on the node; nothing else link-local exists in the lab (an ECS agent would be at
        169.254.170.2). Nothing listening: botocore's connect timeout, in its words."""
        parts = urlsplit(full_uri)
        if parts.hostname == POD_IDENTITY_HOST and agent:
            return self.aws.pod_identity_agent_url.rstrip("/") + (parts.path or "/")
        raise CliExit("\nError when retrieving credentials from container-role: Error retrieving metadata: Received "
                      f'error when attempting to retrieve container metadata: Connect timeout on endpoint URL: "{full_uri}"\n',
                      255)


@contextmanager
def _profile_errors() -> Iterator[None]:
    """A profile the SDK cannot use stops the CLI with botocore's words (or the service's)."""
    try:
        with _cli_errors():
            yield
    except ProfileError as stop:
        raise CliExit(stop.message, stop.code) from None


def _profile_region(env: Mapping[str, str], files: Mapping[str, str]) -> str | None:
    """The profile's region; a profile named by AWS_PROFILE that does not exist stops the
    CLI here, before any call, as botocore does."""
    shared = SharedFiles(env, files)
    if not shared.named and not shared.present:
        return None
    with _profile_errors():
        shared.check_profile()
        return shared.settings().get("region")


# --- parameters and output ---------------------------------------------------------------


def _operation_name(model: Any, operation: str) -> str | None:
    for name in model.operation_names:
        if xform_name(name).replace("_", "-") == operation:
            return name
    return None


def _operation_params(operation: Any, given: dict[str, list[str]]) -> dict[str, Any]:
    shape = operation.input_shape
    members = dict(shape.members) if shape is not None else {}
    by_option = {xform_name(name).replace("_", "-"): name for name in members}
    params: dict[str, Any] = {}
    unknown = []
    for option, values in given.items():
        negated = option.startswith("no-") and option[3:] in by_option
        member_name = by_option.get(option[3:] if negated else option)
        if member_name is None:
            unknown.append(f"--{option}")
            continue
        member = members[member_name]
        params[member_name] = _convert(member, values, negated, option)
    if unknown:
        raise CliExit(_USAGE + f"aws: error: Unknown options: {', '.join(unknown)}\n", 252)
    required = [xform_name(n).replace("_", "-") for n in (shape.required_members if shape is not None else [])]
    missing = [f"--{name}" for name in required if by_option[name] not in params]
    if missing:
        raise CliExit(_USAGE + f"aws: error: the following arguments are required: {', '.join(missing)}\n", 252)
    return params


def _convert(member: Any, values: list[str], negated: bool, option: str) -> Any:
    kind = member.type_name
    if kind == "boolean":
        return not negated
    if kind == "list":
        if len(values) == 1 and values[0].lstrip().startswith("["):
            return json.loads(values[0])
        return [_convert(member.member, [value], False, option) for value in values]
    if not values:
        raise CliExit(_USAGE + f"aws: error: argument --{option}: expected one argument\n", 252)
    value = values[0]
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("double", "float"):
        return float(value)
    if kind in ("structure", "map"):
        try:
            return json.loads(value)
        except ValueError:
            raise CliExit(f"\nError parsing parameter '--{option}': Invalid JSON: {shlex.quote(value)}\n", 252) from None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def render(result: Any, output: str, query: str | None) -> str:
    """Format as aws CLI v2 does: JSON with 4-space indent, tab-separated text, or YAML."""
    if query:
        result = jmespath.search(query, json.loads(json.dumps(result, default=_json_default)))
    if output == "text":
        return _text(result)
    if output in ("yaml", "yaml-stream"):
        plain = json.loads(json.dumps(result, default=_json_default))
        return yaml.safe_dump(plain, default_flow_style=False, sort_keys=False, allow_unicode=True)
    if result is None and query:
        return "null\n"
    return json.dumps(result, indent=4, default=_json_default, ensure_ascii=False) + "\n"


def _text(value: Any) -> str:
    """The CLI's text output: scalars of a dict in key order, lists tab-joined, nested
    dicts and lists of dicts one line each prefixed by their key in upper case."""
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if v is None:
            return "None"
        if isinstance(v, bool):
            return "True" if v else "False"
        if isinstance(v, datetime):
            return v.isoformat()
        return str(v)

    def walk(v: Any, title: str | None) -> None:
        if isinstance(v, dict):
            scalars = [scalar(v[k]) for k in sorted(v) if not isinstance(v[k], (dict, list))]
            if scalars:
                lines.append("\t".join(([title] if title else []) + scalars))
            for k in sorted(v):
                if isinstance(v[k], (dict, list)):
                    walk(v[k], k.upper())
        elif isinstance(v, list):
            if all(not isinstance(item, (dict, list)) for item in v):
                if v:
                    lines.append("\t".join(([title] if title else []) + [scalar(item) for item in v]))
            else:
                for item in v:
                    walk(item, title)
        else:
            lines.append(scalar(v))

    walk(value, None)
    return "".join(line + "\n" for line in lines)


def _cli_time(value: datetime) -> str:
    # Lab containers run in UTC, as the AWS CLI image does by default.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _check_sts_setting(env: Mapping[str, str]) -> None:
    """botocore refuses an AWS_STS_REGIONAL_ENDPOINTS other than legacy or regional when it makes
    an STS client (without an endpoint URL of its own, as in a pod; the lab's clients have one,
    so the check is made here). Which endpoint a valid value picks is invisible in the lab: every
    service answers at its one endpoint."""
    value = env.get("AWS_STS_REGIONAL_ENDPOINTS")
    if value and value not in ("legacy", "regional"):
        raise CliExit(f'\nSTS regional endpoints option {value} is invalid. Valid options are: "legacy", "regional"\n', 255)


def _read(files: Mapping[str, str], path: str) -> str | None:
    try:
        return files[path]
    except KeyError:
        return None
