"""Lab scenarios: a YAML history of Kubernetes and AWS changes, replayed through the real APIs.

A scenario is what a trainer writes to set up a lab: a `cluster:` header (defaults are the
walkthrough's cluster) and `steps:` applied in order, so history matters — a pod created before
its service account was annotated keeps no IRSA env, exactly as on EKS. The format is described
in docs/scenarios.md.

    from irsa_explorer.lab.scenario import load_scenario, apply_scenario
    scenario = load_scenario("walkthrough")      # or a path; raises ScenarioError, nothing applied
    apply_scenario(scenario, api_client, boto3_session, endpoint_url=aws_endpoint)

Modules: format (the steps, users and variables a file says, as values), parse (reading and
checking a whole file before anything is applied), apply (replaying the steps through the
`kubernetes` client and boto3), builtin (finding a file by built-in name or path; the files
themselves are package data in ../scenarios/), errors (ScenarioError, ScenarioApplyError).
"""

from .apply import apply_scenario
from .builtin import DEFAULT_SCENARIO, builtin_scenarios, scenario_path
from .errors import Problem, ScenarioApplyError, ScenarioError
from .format import AwsStep, KubeStep, LabUser, Scenario, Step, WaitStep, substitute
from .parse import botocore_session, load_scenario, parse_scenario

__all__ = [
    "DEFAULT_SCENARIO",
    "AwsStep",
    "KubeStep",
    "LabUser",
    "Problem",
    "Scenario",
    "ScenarioApplyError",
    "ScenarioError",
    "Step",
    "WaitStep",
    "apply_scenario",
    "botocore_session",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
    "scenario_path",
    "substitute",
]
