"""Scenario files: parsing and validation, no server needed.

A trainer's typo must be reported with the file, the step, the key path and the line, before
anything is applied; the built-in scenarios must all be valid and say what the lab needs.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from irsa_explorer.lab.scenario import (
    AwsStep,
    KubeStep,
    ScenarioError,
    WaitStep,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
    substitute,
)
from irsa_explorer.lab.spec import LabCluster

CATALOGUE = ["pod-before-annotation", "no-oidc-provider", "sub-wrong-namespace", "wrong-audience", "static-keys", "pod-identity"]


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(textwrap.dedent(text), source="bad.yaml")
    return [str(p) for p in caught.value.problems]


def test_every_named_builtin_exists_and_is_valid():
    names = builtin_scenarios()
    assert {"walkthrough", "fresh-cluster", *CATALOGUE} <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.steps, name
        assert scenario.description, name


def test_walkthrough_is_the_walkthrough_cluster():
    scenario = load_scenario("walkthrough")
    assert scenario.cluster == LabCluster()
    assert scenario.cluster.issuer == "https://oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
    kube = {(s.manifest["kind"], s.manifest["metadata"]["name"]) for s in scenario.steps if isinstance(s, KubeStep)}
    assert {
        ("Node", "ip-192-168-1-169.${region}.compute.internal"),
        ("Node", "ip-192-168-53-243.${region}.compute.internal"),
        ("Pod", "eks-iam-test1"),
        ("Pod", "eks-iam-test2"),
        ("Pod", "eks-iam-test3"),
        ("ServiceAccount", "my-sa"),
    } <= kube
    calls = [s.operation for s in scenario.steps if isinstance(s, AwsStep)]
    assert "create_open_id_connect_provider" in calls
    assert calls.count("run_instances") == 2


def test_walkthrough_trust_policy_is_what_eksctl_makes():
    scenario = load_scenario("walkthrough")
    role = next(
        s for s in scenario.steps
        if isinstance(s, AwsStep) and s.operation == "create_role" and "iamserviceaccount" in s.params["RoleName"]
    )
    document = json.loads(substitute(role.params, scenario.variables())["AssumeRolePolicyDocument"])
    statement = document["Statement"][0]
    host = "oidc.eks.us-east-2.amazonaws.com/id/8AF2D61DF335B97C72A2ADEA1614706B"
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::113534181560:oidc-provider/{host}"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        f"{host}:aud": "sts.amazonaws.com",
        f"{host}:sub": "system:serviceaccount:default:my-sa",
    }


def test_pod_before_annotation_replays_history_in_order():
    steps = load_scenario("pod-before-annotation").steps
    names = [
        (s.manifest["kind"], s.manifest["metadata"]["name"], bool(s.manifest["metadata"].get("annotations")))
        for s in steps
        if isinstance(s, KubeStep) and s.manifest["kind"] in ("Pod", "ServiceAccount")
    ]
    assert names == [
        ("ServiceAccount", "reports", False),
        ("Pod", "reports-before", False),
        ("ServiceAccount", "reports", True),
        ("Pod", "reports-after", False),
    ]


def test_cluster_header_overrides_and_defaults():
    scenario = parse_scenario("cluster: {name: other, region: eu-west-1}\nsteps: []\n")
    assert scenario.cluster.name == "other"
    assert scenario.cluster.account == LabCluster().account
    assert scenario.variables()["issuer_host"].startswith("oidc.eks.eu-west-1.amazonaws.com/id/")


def test_saved_values_become_variables_for_later_steps():
    scenario = parse_scenario(
        textwrap.dedent(
            """
            steps:
              - aws: iam.create_role
                params: {RoleName: r, AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}}
                save: {role_arn: Role.Arn}
              - kube:
                  apiVersion: v1
                  kind: ServiceAccount
                  metadata: {name: s, annotations: {eks.amazonaws.com/role-arn: "${role_arn}"}}
              - wait: {pod: p, phase: [Running, Failed]}
            """
        )
    )
    create, sa, wait = scenario.steps
    assert isinstance(create, AwsStep) and create.save == {"role_arn": "Role.Arn"}
    # Policy documents may be written as YAML; the API takes a JSON string.
    assert json.loads(create.params["AssumeRolePolicyDocument"]) == {"Version": "2012-10-17", "Statement": []}
    assert substitute(sa.manifest, {"role_arn": "arn:x"})["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:x"}
    assert isinstance(wait, WaitStep) and wait.phases == ("Running", "Failed")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps: [\n", ["bad.yaml, line 2: yaml: not valid YAML"]),
        ("- just a list\n", ["bad.yaml: document: a scenario is a mapping"]),
        ("cluster: {}\n", ["bad.yaml, line 1: steps: missing"]),
        ("steps: []\nsetps: []\n", ["bad.yaml, line 2: setps: unknown top-level key"]),
        ("cluster: {account: '12'}\nsteps: []\n", ["bad.yaml, line 1: cluster.account: an AWS account id is 12 digits"]),
        ("cluster: {zone: x}\nsteps: []\n", ["bad.yaml, line 1: cluster.zone: unknown key"]),
        ("steps:\n  - kube: {apiVersion: v1, kind: Pod}\n", ["bad.yaml, line 2: steps[0].kube.metadata.name: missing"]),
        ("steps:\n  - kube: {kind: Pod, metadata: {name: p}}\n", ["bad.yaml, line 2: steps[0].kube.apiVersion: missing"]),
        (
            "steps:\n  - kube: {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}\n",
            ["bad.yaml, line 2: steps[0].kube.kind: the lab does not serve kind 'Deployment'"],
        ),
        (
            "steps:\n  - kube: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{image: x}]}}\n",
            ["bad.yaml, line 2: steps[0].kube: not a valid Pod: V1Container name"],
        ),
        ("steps:\n  - kube: {apiVersion: v1, kind: Pod, metadata: {name: p}}\n", ["steps[0].kube.spec.containers: a Pod needs at least one container"]),
        ("steps:\n  - aws: iam.create_rol\n", ["bad.yaml, line 2: steps[0].aws: iam has no operation 'create_rol' (did you mean"]),
        ("steps:\n  - aws: iamx.create_role\n", ["steps[0].aws: unknown AWS service 'iamx'"]),
        ("steps:\n  - aws: CreateRole\n", ["steps[0].aws: write the call as service.operation"]),
        (
            "steps:\n  - aws: iam.create_role\n    params: {RoleName: r}\n",
            ['bad.yaml, line 3: steps[0].params: Missing required parameter in input: "AssumeRolePolicyDocument"'],
        ),
        (
            "steps:\n  - aws: iam.get_role\n    params: {RoleName: r, Color: blue}\n",
            ['steps[0].params: Unknown parameter in input: "Color"'],
        ),
        (
            "steps:\n  - aws: iam.get_role\n    params: {RoleName: r}\n    save: {arn: 'Role..Arn'}\n",
            ["bad.yaml, line 4: steps[0].save.arn: not a JMESPath expression"],
        ),
        (
            "steps:\n  - aws: iam.get_role\n    params: {RoleName: '${role}'}\n",
            ["steps[0].params.RoleName: undefined variable ${role}"],
        ),
        (
            "steps:\n  - aws: iam.get_role\n    params: {RoleName: '${role'}\n",
            ["steps[0].params.RoleName: malformed variable '${role'"],
        ),
        ("steps:\n  - wait: {pod: p, phase: Done}\n", ["steps[0].wait.phase: one pod phase or a list"]),
        ("steps:\n  - wait: {phase: Running, timeout: -1}\n", ["steps[0].wait.pod: missing", "steps[0].wait.timeout: seconds"]),
        ("steps:\n  - {kube: {}, aws: iam.get_role}\n", ["steps[0]: a step needs exactly one of"]),
        ("steps:\n  - aws: iam.get_role\n    parms: {}\n", ["bad.yaml, line 3: steps[0].parms: unknown key"]),
        ("steps:\n  - include: no-such-scenario\n", ["steps[0].include: no such file and no built-in scenario"]),
    ],
)
def test_bad_files_say_where_and_what(text, expected):
    found = problems_of(text)
    for fragment in expected:
        assert any(fragment in problem for problem in found), (fragment, found)


def test_a_variable_is_only_defined_after_the_step_that_saves_it():
    found = problems_of(
        """
        steps:
          - kube: {apiVersion: v1, kind: ServiceAccount, metadata: {name: "${later}"}}
          - aws: iam.get_role
            params: {RoleName: r}
            save: {later: Role.Arn}
        """
    )
    assert any("steps[0].kube.metadata.name: undefined variable ${later}" in p for p in found)


def test_all_problems_are_reported_together():
    found = problems_of(
        """
        steps:
          - aws: iam.create_rol
          - kube: {apiVersion: v1, kind: Pod}
          - wait: {pod: p, phase: Done}
        """
    )
    assert len(found) == 3


def test_errors_in_included_files_name_both_files(tmp_path: Path):
    (tmp_path / "base.yaml").write_text("steps:\n  - aws: iam.get_role\n    params: {}\n")
    top = tmp_path / "top.yaml"
    top.write_text("steps:\n  - include: base.yaml\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(top)
    (problem,) = caught.value.problems
    assert problem.source == str(tmp_path / "base.yaml")
    assert "RoleName" in problem.message


def test_include_cycles_are_refused(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("steps:\n  - include: b.yaml\n")
    (tmp_path / "b.yaml").write_text("steps:\n  - include: a.yaml\n")
    with pytest.raises(ScenarioError, match="includes itself"):
        load_scenario(tmp_path / "a.yaml")


def test_unknown_scenario_lists_the_builtins():
    with pytest.raises(ScenarioError, match="walkthrough"):
        load_scenario("nope")


def test_double_dollar_keeps_a_literal_brace_expression():
    scenario = parse_scenario(
        "steps:\n"
        "  - kube: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: "
        "[{name: c, image: i, args: [sh, -c, 'echo $${HOME} in ${region}']}]}}\n"
    )
    manifest = substitute(scenario.steps[0].manifest, scenario.variables())
    assert manifest["spec"]["containers"][0]["args"][2] == "echo ${HOME} in us-east-2"
