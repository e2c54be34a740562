"""ListRoles started early: when the service accounts alone call for paging ListRoles,
load_inventory pages it while the associations and node roles are still being looked up, and
get_roles answers from that listing (no request again) with what it would have answered alone."""

from __future__ import annotations

import json
import urllib.request

import pytest

from irsa_explorer.sources.aws import AwsSource, RoleListing
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.sources.inventory import load_inventory
from irsa_explorer.model import Role, Unavailable

WALKTHROUGH_ROLE = "arn:aws:iam::113534181560:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"


def _aws_requests(lab) -> dict[str, int]:
    with urllib.request.urlopen(lab.aws_endpoint.rstrip("/") + "/_lab/stats", timeout=30) as response:
        body = json.loads(response.read())
    return body.get("counters", body)


def _since(lab, before: dict[str, int]) -> dict[str, int]:
    after = _aws_requests(lab)
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}


@pytest.fixture
def kube(lab):
    source = KubeSource(kubeconfig=str(lab.kubeconfig))
    yield source
    source.close()


def _comparable(roles: dict) -> dict:
    # ListRoles omits RoleLastUsed and PermissionsBoundary: compare what both calls return.
    return {
        arn: (role.arn, role.name, role.account, role.path, role.trust_policy) if isinstance(role, Role) else (role.reason, role.kind)
        for arn, role in roles.items()
    }


def test_listing_started_early_gives_the_roles_one_by_one_would(lab, kube) -> None:
    one_by_one = load_inventory(kube, AwsSource.from_env(lab.aws_env, list_roles_threshold=10**6), None, discover_issuer=False)
    before = _aws_requests(lab)
    listed = load_inventory(kube, AwsSource.from_env(lab.aws_env, list_roles_threshold=1), None, discover_issuer=False)
    made = _since(lab, before)
    assert made.get("iam:ListRoles") == 1, made
    assert "iam:GetRole" not in made, made
    assert WALKTHROUGH_ROLE in listed.roles and isinstance(listed.roles[WALKTHROUGH_ROLE], Role)
    assert _comparable(listed.roles) == _comparable(one_by_one.roles)


def test_get_roles_from_a_listing_asks_nothing_more(lab) -> None:
    aws = AwsSource.from_env(lab.aws_env)
    listing = aws.list_roles()
    assert isinstance(listing, RoleListing) and len(listing) >= 1
    missing = "arn:aws:iam::113534181560:role/no-such-role"
    shouting = WALKTHROUGH_ROLE.rsplit("/", 1)[0] + "/" + WALKTHROUGH_ROLE.rsplit("/", 1)[1].upper()
    before = _aws_requests(lab)
    roles = aws.get_roles([WALKTHROUGH_ROLE, missing, shouting, "not-an-arn"], listed=listing)
    assert not {k for k in _since(lab, before) if k.startswith("iam:")}
    assert isinstance(roles[WALKTHROUGH_ROLE], Role) and roles[WALKTHROUGH_ROLE].arn == WALKTHROUGH_ROLE
    assert isinstance(roles[shouting], Role)  # IAM role names are case-insensitive
    assert isinstance(roles[missing], Unavailable) and roles[missing].kind == "not-found"
    assert isinstance(roles["not-an-arn"], Unavailable)


def test_a_refused_listing_falls_back_to_one_by_one(lab) -> None:
    aws = AwsSource.from_env(lab.aws_env)
    refused = Unavailable("access denied: not allowed", "iam:ListRoles", "forbidden")
    before = _aws_requests(lab)
    roles = aws.get_roles([WALKTHROUGH_ROLE], listed=refused)
    made = _since(lab, before)
    assert made.get("iam:GetRole") == 1 and "iam:ListRoles" not in made
    assert isinstance(roles[WALKTHROUGH_ROLE], Role)


@pytest.fixture(scope="module")
def no_list_roles_env(lab, lab_aws_client) -> dict[str, str]:
    """A user who may do everything except iam:ListRoles (the lab enforces IAM for real)."""
    import uuid

    iam = lab_aws_client(lab, "iam")
    name = f"no-list-roles-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="everything-but-listroles", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"},
        ],
    }))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return dict(lab.aws_env, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])


def test_a_listing_that_may_not_be_read_says_so_and_roles_come_one_by_one(lab, kube, no_list_roles_env) -> None:
    aws = AwsSource.from_env(no_list_roles_env, list_roles_threshold=1)
    listing = aws.list_roles()
    assert isinstance(listing, Unavailable)
    assert listing.kind == "forbidden" and listing.permission == "iam:ListRoles"
    before = _aws_requests(lab)
    inventory = load_inventory(kube, aws, None, discover_issuer=False)
    made = _since(lab, before)
    assert made.get("iam:ListRoles") == 1 and made.get("iam:GetRole", 0) >= 1, made
    assert isinstance(inventory.roles[WALKTHROUGH_ROLE], Role)
