"""The member-account profiles `lab serve` writes work with the aws CLI lab after lab: the CLI
caches an assumed role's keys in ~/.aws/cli/cache by the profile's role settings, and a second
cross-account lab within the hour was handed the first one's keys (InvalidClientTokenId)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from irsa_explorer.lab.launcher import read_aws_env

MEMBER = "222233334444"


def _member_identity(directory: Path, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(read_aws_env(directory / "aws.env"), HOME=str(home))
    return subprocess.run(["aws", "--profile", f"member-{MEMBER}", "sts", "get-caller-identity", "--output", "text"],
                          env=env, capture_output=True, text=True, timeout=120)


def test_a_second_cross_account_lab_s_member_profile_works_with_the_same_cli_cache(lab_for, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for n in (1, 2):
        with lab_for.fresh("cross-account-irsa", tmp_path / f"lab{n}") as lab:
            answer = _member_identity(lab.directory, home)
            assert answer.returncode == 0, answer.stderr
            assert f"arn:aws:sts::{MEMBER}:assumed-role/OrganizationAccountAccessRole/" in answer.stdout
    assert list((home / ".aws" / "cli" / "cache").iterdir())  # the cache the second lab met was there
