"""AWS steps in another account of the lab (`account:`): parsed, checked, described."""

from __future__ import annotations

import textwrap

import pytest

from irsa_explorer.lab.scenario import AwsStep, ScenarioError, load_scenario, parse_scenario


def test_an_aws_step_may_name_another_account():
    scenario = parse_scenario(textwrap.dedent("""
        steps:
          - aws: iam.list_roles
            account: "222233334444"
          - aws: iam.list_users
            account: 222233334444
          - aws: iam.list_groups
    """))
    steps = [s for s in scenario.steps if isinstance(s, AwsStep)]
    assert [s.account for s in steps] == ["222233334444", "222233334444", None]
    assert steps[0].describe() == "aws iam.list_roles in account 222233334444"


def test_an_account_is_twelve_digits():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(textwrap.dedent("""
            steps:
              - aws: iam.list_roles
                account: member
        """), source="bad.yaml")
    (problem,) = caught.value.problems
    assert "steps[0].account" in str(problem) and "12 digits" in str(problem) and "line 4" in str(problem)


def test_the_cross_account_scenario_acts_in_its_member_account():
    scenario = load_scenario("cross-account-irsa")
    accounts = {s.account for s in scenario.steps if isinstance(s, AwsStep)}
    assert accounts == {None, "222233334444"}
