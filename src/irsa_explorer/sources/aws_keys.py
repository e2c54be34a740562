"""Whose static access keys pods carry: once per distinct key, never per pod.

Only keys the explorer can see without reading a Secret: the literal `AWS_ACCESS_KEY_ID`
values of pod specs. For each distinct key:
1. STS `GetAccessKeyInfo` — the key's account (any key, any account; it is decoded from the key);
2. for a key of the account the explorer reads (or of one it reads through `--account-profile`):
   IAM `GetAccessKeyLastUsed` — the user it belongs to; `NoSuchEntity` there means the key was
   deleted (the pod's calls fail with InvalidClientTokenId);
3. IAM `GetUser` — the user's ARN with its path, exactly as `get-caller-identity` shows it
   (without that permission: `arn:aws:iam::ACCOUNT:user/NAME`, said so).
Lookups run with bounded concurrency, like roles. Failures are `Unavailable` with the permission.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from irsa_explorer.model import AccessKeyOwner, Unavailable
from irsa_explorer.sources.aws_errors import FORBIDDEN, NOT_FOUND

if TYPE_CHECKING:
    from irsa_explorer.sources.aws import AwsSource

# Long-term (AKIA) and temporary (ASIA) key ids: 16-128 upper-case letters and digits.
_KEY_ID = re.compile(r"A[KS]IA[A-Z0-9]{12,124}")


def key_owners(aws: AwsSource, keys: Iterable[str | None]) -> dict[str, AccessKeyOwner | Unavailable]:
    """Each distinct access key id → its owner, or why it is unknown."""
    wanted = sorted({k for k in keys if k})
    results: dict[str, AccessKeyOwner | Unavailable] = {}
    lookups = []
    for key in wanted:
        if _KEY_ID.fullmatch(key):
            lookups.append(key)
        else:
            results[key] = Unavailable("not an AWS access key id", None, NOT_FOUND)
    if not lookups:
        return results
    blocked = aws.problem()
    if blocked is not None:
        return {**results, **{key: blocked for key in lookups}}
    caller = aws.caller_identity()
    own = caller.get("Account") if isinstance(caller, dict) else None
    with ThreadPoolExecutor(max(1, min(aws.max_workers, len(lookups)))) as pool:
        results.update(zip(lookups, pool.map(lambda key: _owner(aws, key, own), lookups)))
    return results


def _owner(aws: AwsSource, key: str, own: str | None) -> AccessKeyOwner | Unavailable:
    try:
        account = aws.client("sts").get_access_key_info(AccessKeyId=key)["Account"]
    except Exception as error:  # denied: a key of our own account is still found in IAM
        info = aws._unavailable(error, "sts:GetAccessKeyInfo")
        if own is None:
            return info
        found = _user(aws, key, own)
        if isinstance(found, Unavailable) and found.kind == NOT_FOUND:
            return Unavailable(f"not a key of account {own}, and its account is {info}", info.permission, info.kind)
        return found
    if account == own:
        return _user(aws, key, account)
    reader = aws.other_accounts.reader(account)  # an account read through --account-profile
    if not isinstance(reader, Unavailable):
        return _user(reader, key, account)
    return AccessKeyOwner(key, account)


def _user(aws: AwsSource, key: str, account: str) -> AccessKeyOwner | Unavailable:
    """The IAM user of a key of the account `aws` reads (GetAccessKeyLastUsed, then GetUser)."""
    iam = aws.client("iam")
    try:
        name = iam.get_access_key_last_used(AccessKeyId=key).get("UserName")
    except Exception as error:
        found = aws._unavailable(error, "iam:GetAccessKeyLastUsed")
        if found.kind == NOT_FOUND:
            return Unavailable(f"no access key {key[:4]}…{key[-4:]} in account {account} (deleted)", None, NOT_FOUND)
        return found
    if not name:
        return AccessKeyOwner(key, account)
    try:
        arn = iam.get_user(UserName=name)["User"]["Arn"]
    except Exception as error:
        denied = aws._unavailable(error, "iam:GetUser")
        if denied.kind != FORBIDDEN and denied.kind != NOT_FOUND:
            return denied
        arn = f"arn:aws:iam::{account}:user/{name}"  # without its path, if it has one
    return AccessKeyOwner(key, account, name, arn)
