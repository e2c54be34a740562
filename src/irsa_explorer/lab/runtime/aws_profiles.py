"""The shared config and credentials files of a simulated container, as botocore reads them.

`AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` (default `$HOME/.aws/config` and
`$HOME/.aws/credentials`, HOME /root as in the aws-cli image) and `AWS_PROFILE` (else
`AWS_DEFAULT_PROFILE`, else `default`) name files that a pod mounts from a Secret or a ConfigMap
(the lab's kubelet serves them, lab/kube/lifecycle.py). The files live in the container's
`files` mapping, not on disk, so they are parsed here the way botocore's configloader parses a
file, and botocore's own providers read them through that: the assume-role profile
(`AssumeRoleProvider`: role_arn with source_profile or credential_source, role_session_name,
external_id, chains of them), the shared credentials file (`SharedCredentialProvider`) and the
config file (`ConfigProvider`). Their place in the chain is the SDK's (awscli.py): env keys →
assume-role profile → web identity → SSO → shared credentials file → credential_process →
config file → container credentials → instance metadata.

Not simulated, and said so: SSO (no token cache in a lab container — botocore's own message)
and credential_process (the lab's images have no such program — the error a missing program gives).
"""

from __future__ import annotations

import configparser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.configloader import build_profile_map
from botocore.credentials import (
    AssumeRoleProvider,
    CanonicalNameCredentialSourcer,
    ConfigProvider,
    CredentialProvider,
    SharedCredentialProvider,
)
from botocore.exceptions import ConfigNotFound, ConfigParseError

DEFAULT_HOME = "/root"  # the aws-cli image runs as root


class ProfileError(Exception):
    """The CLI stops: this stderr text and exit code."""

    def __init__(self, message: str, code: int = 255) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Frozen:
    access_key: str
    secret_key: str
    token: str | None
    source: str  # "assume-role", "shared-credentials-file", "config-file", "web-identity-profile"


class SharedFiles:
    """The container's view of the shared files: which paths, which profile, what they hold."""

    def __init__(self, env: Mapping[str, str], files: Mapping[str, str]) -> None:
        home = (env.get("HOME") or DEFAULT_HOME).rstrip("/")
        self.config_path = env.get("AWS_CONFIG_FILE") or f"{home}/.aws/config"
        self.credentials_path = env.get("AWS_SHARED_CREDENTIALS_FILE") or f"{home}/.aws/credentials"
        self.named = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
        self.profile = self.named or "default"
        self._env = env
        self._files = files
        self._full: dict[str, Any] | None = None

    # -- parsing, as botocore.configloader does it --

    def raw(self, path: str) -> dict[str, dict[str, Any]]:
        """botocore's raw_config_parse over the container's file (ConfigNotFound when absent)."""
        try:
            text = self._files[path]
        except KeyError:
            raise ConfigNotFound(path=path) from None
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(text, source=path)
        except configparser.Error:
            raise ConfigParseError(path=path) from None
        parsed: dict[str, dict[str, Any]] = {}
        for section in parser.sections():
            parsed[section] = {}
            for option in parser.options(section):
                value = parser.get(section, option)
                parsed[section][option] = _nested(value) if value.startswith("\n") else value
        return parsed

    def config(self, path: str | None = None) -> dict[str, Any]:
        """botocore's load_config: the config file's profiles (`[profile x]`, `[default]`)."""
        return build_profile_map(self.raw(path or self.config_path))

    def full_config(self) -> dict[str, Any]:
        """Session.full_config: the config file's profiles with the credentials file's merged in."""
        if self._full is None:
            try:
                full = self.config()
            except ConfigNotFound:
                full = {"profiles": {}}
            try:
                for name, values in self.raw(self.credentials_path).items():
                    full["profiles"].setdefault(name, {}).update(values)
            except ConfigNotFound:
                pass
            self._full = full
        return self._full

    @property
    def present(self) -> bool:
        return self.config_path in self._files or self.credentials_path in self._files

    def settings(self) -> dict[str, Any]:
        """The profile's settings (region, role_arn, …), {} when it has none."""
        return dict(self.full_config()["profiles"].get(self.profile) or {})

    def check_profile(self) -> None:
        """A profile named by AWS_PROFILE must exist, or botocore stops before any call."""
        if self.named and self.named not in self.full_config()["profiles"]:
            raise ProfileError(f"\nThe config profile ({self.named}) could not be found\n")

    # -- the providers, in the chain's order ------------------------------------------------

    def assume_role(self, client_creator: Callable[..., Any], sourcer: list[CredentialProvider]) -> Frozen | None:
        """An assume-role profile (role_arn with source_profile or credential_source), through
        botocore's AssumeRoleProvider: the AssumeRole call goes to the lab's STS."""
        provider = AssumeRoleProvider(
            load_config=self.full_config,
            client_creator=client_creator,
            cache={},
            profile_name=self.profile,
            credential_sourcer=CanonicalNameCredentialSourcer(sourcer),
            profile_provider_builder=_SourceProfiles(self),
        )
        return _frozen(provider.load(), "assume-role")

    def web_identity(self) -> tuple[str, str] | None:
        """(role_arn, web_identity_token_file) of a web-identity profile, if this is one."""
        settings = self.settings()
        if settings.get("role_arn") and settings.get("web_identity_token_file"):
            return settings["role_arn"], settings["web_identity_token_file"]
        return None

    def sso(self) -> None:
        settings = self.settings()
        if any(key.startswith("sso_") for key in settings):
            start = settings.get("sso_start_url") or settings.get("sso_session") or self.profile
            raise ProfileError(f"\nError loading SSO Token: Token for {start} does not exist\n")

    def shared_credentials(self, profile: str | None = None) -> Frozen | None:
        provider = SharedCredentialProvider(self.credentials_path, profile or self.profile, ini_parser=self.raw)
        return _frozen(provider.load(), "shared-credentials-file")

    def process(self) -> None:
        command = self.settings().get("credential_process")
        if command:
            program = command.split()[0] if command.split() else command
            raise ProfileError(f"\n[Errno 2] No such file or directory: '{program}'\n")

    def config_file(self, profile: str | None = None) -> Frozen | None:
        provider = ConfigProvider(self.config_path, profile or self.profile, config_parser=lambda path: self.full_config())
        return _frozen(provider.load(), "config-file")


class _SourceProfiles:
    """What AssumeRoleProvider asks for a source_profile that is not itself an assume-role
    profile (botocore's ProfileProviderBuilder, reduced to the files the lab serves)."""

    def __init__(self, files: SharedFiles) -> None:
        self.files = files

    def providers(self, profile_name: str, disable_env_vars: bool = False) -> list[CredentialProvider]:
        return [
            SharedCredentialProvider(self.files.credentials_path, profile_name, ini_parser=self.files.raw),
            ConfigProvider(self.files.config_path, profile_name, config_parser=lambda path: self.files.full_config()),
        ]


def _frozen(credentials: Any, source: str) -> Frozen | None:
    if credentials is None:
        return None
    frozen = credentials.get_frozen_credentials()
    return Frozen(frozen.access_key, frozen.secret_key, frozen.token, source)


def _nested(value: str) -> dict[str, str]:
    """A nested section (`s3 =` then indented lines), as botocore's _parse_nested reads it."""
    parsed = {}
    for line in value.splitlines():
        if not line.strip():
            continue
        key, _, item = line.partition("=")
        parsed[key.strip()] = item.strip()
    return parsed
