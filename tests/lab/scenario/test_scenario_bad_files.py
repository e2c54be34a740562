"""Scenario files of hostile shapes are refused before anything is applied, with the file and
the place named: deep nesting (no RecursionError), cluster values the lab would build paths,
ARNs or moto backends from (`region: ../../x`), a binary file."""

from __future__ import annotations

import pytest

from irsa_explorer.lab.scenario.errors import ScenarioError
from irsa_explorer.lab.scenario.parse import load_scenario, parse_scenario


def problems_of(text: str) -> str:
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(text, source="bad.yaml")
    return str(raised.value)


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_one_problem_not_a_recursion_error(depth: int) -> None:
    said = problems_of("cluster: " + "[" * depth + "]" * depth + "\nsteps: []\n")
    assert "bad.yaml: yaml: nested too deeply" in said and len(said) < 300


def test_deep_nesting_inside_a_step_is_refused_too() -> None:
    nested = "{a: " * 80 + "1" + "}" * 80
    said = problems_of(f"steps:\n  - kube: {nested}\n")
    assert "nested too deeply" in said


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("region", "'../../x'", "cluster.region: not an AWS region the lab knows, got '../../x'"),
        ("region", "us-east-9", "not an AWS region the lab knows"),
        ("name", "'a/b'", "cluster.name: must be an EKS cluster name"),
        ("issuer_id", "'../x'", "cluster.issuer_id: must be 32 hexadecimal digits"),
        ("version", "'1.27; rm'", "cluster.version: must be a Kubernetes version"),
    ],
)
def test_cluster_values_are_checked(key: str, value: str, expected: str) -> None:
    said = problems_of(f"cluster:\n  {key}: {value}\nsteps: []\n")
    assert "bad.yaml, line 2: " in said and expected in said, said


def test_good_cluster_values_pass() -> None:
    scenario = parse_scenario("cluster:\n  name: my-cluster_1\n  region: eu-west-1\n  version: '1.29'\n"
                              "  issuer_id: 0123456789ABCDEF0123456789abcdef\nsteps: []\n")
    assert scenario.cluster.region == "eu-west-1"


def test_a_binary_scenario_file_is_named(tmp_path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert f"{path}: file: not text" in str(raised.value)
