"""IAM ARN parsing, in one place: role ARNs (the rule STS applies), their names and accounts,
and the role behind an STS session ARN."""

from __future__ import annotations

import re
from dataclasses import dataclass

# arn:PARTITION:iam::ACCOUNT:role/PATH/NAME — names allow letters, digits and +=,.@_-
_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(?P<account>\d{12}):"
    r"role/(?P<path_and_name>(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64})"
)


@dataclass(frozen=True)
class RoleArn:
    partition: str
    account: str
    path: str  # "/" or "/a/b/"
    name: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.path}{self.name}"


def parse_role_arn(value: str | None) -> RoleArn | None:
    """The parts of a well-formed IAM role ARN, or None if STS would call it invalid."""
    if not isinstance(value, str):
        return None
    match = _ROLE_ARN.fullmatch(value)
    if not match:
        return None
    path_and_name = match.group("path_and_name")
    head, _, name = path_and_name.rpartition("/")
    return RoleArn(match.group("partition"), match.group("account"), f"/{head}/" if head else "/", name)


def role_arn_problem(value: str) -> str:
    """In words, why a string is not a role ARN (for MALFORMED_ROLE_ARN)."""
    if value != value.strip():
        return "it has leading or trailing whitespace"
    if not value.startswith("arn:"):
        return "it does not start with arn:"
    parts = value.split(":", 5)
    if len(parts) < 6:
        return f"an ARN has 6 colon-separated parts, this has {len(parts)}"
    _, partition, service, region, account, resource = parts
    if service != "iam":
        return f"the service is {service!r}, a role ARN's is 'iam'"
    if region:
        return f"IAM ARNs have no region, this has {region!r}"
    if not re.fullmatch(r"\d{12}", account):
        return f"the account {account!r} is not 12 digits"
    if not resource.startswith("role/"):
        return f"the resource {resource!r} is not role/NAME"
    return "the role name has characters IAM does not allow"


def account_of_arn(value: str | None) -> str | None:
    """The account field of any ARN, or None."""
    if not isinstance(value, str):
        return None
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and re.fullmatch(r"\d{12}", parts[4]):
        return parts[4]
    return None


def role_name_of(value: str) -> str:
    """The role's name (what IAM and the panes call it); for what is not a role ARN, the text
    after its last `/` (e.g. a malformed annotation, shown as written)."""
    parsed = parse_role_arn(value)
    return parsed.name if parsed else value.rsplit("/", 1)[-1]


def role_name_of_identity(value: str | None) -> str | None:
    """The role an identity ARN stands for: `arn:…:sts::A:assumed-role/NAME/SESSION` (STS drops
    the role's path) or a role ARN → NAME; None for anything else (a user, garbage)."""
    parsed = parse_role_arn(value)
    if parsed is not None:
        return parsed.name
    if not isinstance(value, str):
        return None
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    name = parts[5].split("/")[1]
    return name or None


def same_role(identity_arn: str | None, role_arn: str | None) -> bool | None:
    """Whether an identity ARN (an assumed-role session, or the role itself) is the role ARN.

    arn:aws:sts::111:assumed-role/NAME/SESSION ↔ arn:aws:iam::111:role/some/path/NAME: session
    ARNs carry no path, so the account and the name decide (role names are unique in an
    account, case-insensitively). None when either is missing.
    """
    if not identity_arn or not role_arn:
        return None
    role = parse_role_arn(role_arn)
    name = role_name_of_identity(identity_arn)
    if role is None or name is None:
        return False
    return account_of_arn(identity_arn) == role.account and name.lower() == role.name.lower()
