"""Other AWS accounts: where IRSA roles of a cluster may live (cross-account IRSA).

IAM answers only for the account of the credentials asking: `GetRole` on another account's role
and `ListOpenIDConnectProviders` there are not possible with the cluster account's credentials.
So another account is read the way the aws CLI reads it — through a profile of the user's AWS
config that the user names for it: `--account-profile ACCOUNT=PROFILE` (repeatable), or
`IRSA_EXPLORER_ACCOUNT_PROFILES="ACCOUNT=PROFILE,…"`. The profile is whatever botocore
resolves: an SSO profile of that account, an assume-role profile (`role_arn` +
`source_profile`, e.g. AWS Organizations' OrganizationAccountAccessRole or a read-only audit
role), keys. That is how multi-account tools work (Steampipe: a connection per account with its
profile; Prowler and ScoutSuite: a role assumed in each account — here expressed as a profile, so
MFA, SSO, caching and `credential_process` behave as in the CLI). Nothing is guessed: the
explorer never picks a profile by itself (it could start an SSO login or use an admin profile
the user did not mean). An account without a profile is "unknown", with the option that reads it.

Each account's source verifies it really is that account (GetCallerIdentity) before asking.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterable

from irsa_explorer.analysis.arns import parse_role_arn
from irsa_explorer.model import OidcProvider, Role, Unavailable

if TYPE_CHECKING:
    from irsa_explorer.sources.aws import AwsSource

ACCOUNT_PROFILES_ENV = "IRSA_EXPLORER_ACCOUNT_PROFILES"
PERMISSION = "a profile for that account (--account-profile ACCOUNT=PROFILE)"


def parse_account_profiles(values: Iterable[str] | str | None) -> dict[str, str]:
    """`["222233334444=prod-ro", …]` or "A=P,B=Q" → {account: profile}. ValueError naming a bad one."""
    if values is None:
        return {}
    parts = values.split(",") if isinstance(values, str) else [p for v in values for p in v.split(",")]
    out: dict[str, str] = {}
    for part in (p.strip() for p in parts):
        if not part:
            continue
        account, sep, profile = part.partition("=")
        account, profile = account.strip(), profile.strip()
        if not sep or not profile or not (account.isdigit() and len(account) == 12):
            raise ValueError(f"--account-profile {part!r}: write ACCOUNT=PROFILE, a 12-digit account id and a profile name")
        out[account] = profile
    return out


class OtherAccounts:
    """The accounts the user named a profile for, each an AwsSource of its own (made on first use)."""

    def __init__(self, base: AwsSource, profiles: dict[str, str]) -> None:
        self.base = base
        self.profiles = dict(profiles)
        self._lock = threading.Lock()
        self._sources: dict[str, AwsSource | Unavailable] = {}

    def reader(self, account: str) -> AwsSource | Unavailable:
        """A source reading `account` as its profile's principal, or why there is none."""
        with self._lock:
            found = self._sources.get(account)
            if found is None:
                found = self._sources[account] = self._open(account)
            return found

    def _open(self, account: str) -> AwsSource | Unavailable:
        from irsa_explorer.sources.aws import AwsSource

        profile = self.profiles.get(account)
        if profile is None:
            return Unavailable(f"no --account-profile names a profile for account {account}", PERMISSION)
        settings = self.base._settings
        source = AwsSource(profile=profile, region=self.base.region, endpoint_url=settings["endpoint_url"],
                           max_workers=settings["max_workers"], request_timeout=settings["request_timeout"],
                           config_file=settings.get("config_file"), credentials_file=settings.get("credentials_file"))
        problem = source.problem(verify=True)
        if problem is not None:
            return Unavailable(f"profile {profile} (for account {account}): {problem.reason}", problem.permission, problem.kind)
        caller = source.caller_identity()
        actual = caller.get("Account") if isinstance(caller, dict) else None
        if actual != account:
            return Unavailable(f"profile {profile} is for account {actual}, not {account} (--account-profile)", PERMISSION)
        return source

    def elsewhere(self, account: str) -> AwsSource | Unavailable | None:
        """None for the explorer's own account (and AWS-managed policies, account "aws");
        for another account, its source or why there is none."""
        if not account.isdigit():
            return None
        caller = self.base.caller_identity()
        own = caller.get("Account") if isinstance(caller, dict) else None
        return None if own is None or account == own else self.reader(account)

    def roles(self, arns: Iterable[str]) -> dict[str, Role | Unavailable]:
        """Roles of other accounts, each read in its own account (GetRole per distinct role)."""
        by_account: dict[str, list[str]] = {}
        for arn in arns:
            parsed = parse_role_arn(arn)
            if parsed is not None:
                by_account.setdefault(parsed.account, []).append(arn)
        results: dict[str, Role | Unavailable] = {}
        for account, wanted in by_account.items():
            reader = self.reader(account)
            if isinstance(reader, Unavailable):
                results.update(dict.fromkeys(wanted, reader))
            else:
                results.update(reader.get_roles(wanted))
        return results

    def providers(self, accounts: Iterable[str]) -> dict[str, list[OidcProvider] | Unavailable]:
        """Each account's IAM OIDC providers (STS looks there for an IRSA role of that account)."""
        out: dict[str, list[OidcProvider] | Unavailable] = {}
        for account in sorted(set(accounts)):
            reader = self.reader(account)
            out[account] = reader if isinstance(reader, Unavailable) else reader.list_oidc_providers()
        return out


def other_account_providers(aws: AwsSource, role_arns: Iterable[str]) -> dict[str, list[OidcProvider] | Unavailable]:
    """The OIDC providers of every account other than the explorer's that these roles live in."""
    caller = aws.caller_identity()
    own = caller.get("Account") if isinstance(caller, dict) else None
    accounts = {p.account for p in map(parse_role_arn, role_arns) if p is not None}
    return aws.other_accounts.providers(a for a in accounts if own and a != own)
