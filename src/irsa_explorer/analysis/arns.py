"""IAM ARN parsing: enough to tell a role ARN from a typo and to read its account."""

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
    parsed = parse_role_arn(value)
    return parsed.name if parsed else value.rsplit("/", 1)[-1]
