"""A lesson file is read and checked whole before anything starts: every problem with the
file, its line and what is wrong (the scenario parser's style)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from irsa_explorer.lessons import CHECKS, LessonError, builtin_lessons, load_lesson, parse_lesson
from irsa_explorer.lessons.format import PANES
from irsa_explorer.navigation import PANES as EXPLORER_PANES

GOOD = """\
title: My lesson
scenario: fresh-cluster
steps:
  - id: provider
    title: The provider
    pane: chain
    explanation: the issuer ${issuer}
    commands:
      - eksctl: eksctl utils associate-iam-oidc-provider --cluster ${cluster} --approve
        run: aws iam create-open-id-connect-provider --url ${issuer} --client-id-list sts.amazonaws.com
      - echo "$${HOME}"
    hints: [one, two]
    check:
      - oidc_provider_exists: {issuer: cluster}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(LessonError) as raised:
        parse_lesson(textwrap.dedent(text), source="lesson.yaml")
    return [str(p) for p in raised.value.problems]


def test_the_builtin_walkthrough_reads_and_starts_from_fresh_cluster() -> None:
    assert "walkthrough" in builtin_lessons()
    lesson = load_lesson("walkthrough")
    assert lesson.scenario_path is not None and lesson.scenario_path.name == "fresh-cluster.yaml"
    assert [s.id for s in lesson.steps] == ["node-role", "default-token", "oidc-provider", "iam-service-account", "irsa-pod"]
    assert all(s.checks for s in lesson.steps)
    last = lesson.steps[-1].checks[0]
    assert last.name == "pod" and last.args["name"] == "default/eks-iam-test3" and last.args["effective_role"] == "annotated"
    # eksctl is shown beside what the lab runs; variables are the cluster's values
    oidc = lesson.step("oidc-provider")
    assert oidc is not None and oidc.commands[0].eksctl and "eksctl utils associate-iam-oidc-provider" in oidc.commands[0].eksctl
    assert "aws iam create-open-id-connect-provider" in oidc.commands[1].run and "${" not in oidc.commands[1].run


def test_a_good_file_substitutes_variables_and_keeps_shell_ones() -> None:
    lesson = parse_lesson(GOOD, source="lesson.yaml")
    step = lesson.steps[0]
    assert "https://oidc.eks.us-east-2.amazonaws.com/id/" in step.explanation
    assert step.commands[0].eksctl == "eksctl utils associate-iam-oidc-provider --cluster eks-oidc-demo --approve"
    assert step.commands[1].run == 'echo "${HOME}"'
    assert step.hints == ("one", "two") and step.pane == "chain"


def test_an_unknown_check_says_so_with_its_line() -> None:
    said = problems(GOOD.replace("oidc_provider_exists:", "oidc_provider_exist:"))
    assert said == [
        "lesson.yaml, line 14: steps[0].check[0].oidc_provider_exist: unknown check 'oidc_provider_exist' "
        f"(checks: {', '.join(CHECKS)})"
    ]


def test_a_check_argument_it_does_not_take_names_its_line() -> None:
    said = problems(GOOD.replace("{issuer: cluster}", "{issuer: cluster, audience: sts}"))
    assert len(said) == 1 and said[0].startswith("lesson.yaml, line 14: steps[0].check[0].oidc_provider_exists.audience:")
    said = problems(GOOD.replace("- oidc_provider_exists: {issuer: cluster}", "- pod: {phase: Sleeping}"))
    assert any("line 14" in p and "phase: a pod phase" in p for p in said)
    assert any("pod needs name" in p for p in said)


def test_every_problem_at_once_each_with_its_place() -> None:
    text = GOOD.replace("pane: chain", "pane: trust").replace("${issuer}", "${isuer}", 1).replace("title: My lesson", "titel: My lesson")
    said = problems(text)
    assert any(p.startswith("lesson.yaml, line 1: titel: unknown top-level key") for p in said)
    assert any(p.startswith("lesson.yaml, line 6: steps[0].pane: no pane 'trust'") for p in said)
    assert any(p.startswith("lesson.yaml, line 7: steps[0].explanation: undefined variable ${isuer}") for p in said)


def test_a_step_without_a_check_or_an_id_is_refused() -> None:
    said = problems("""\
        scenario: fresh-cluster
        steps:
          - title: nothing to check
            id: Bad Id
    """)
    assert any("steps[0].id: a lower-case id" in p and "line 4" in p for p in said)
    assert any("steps[0].check: missing" in p for p in said)


def test_the_starting_scenario_is_checked_too() -> None:
    said = problems(GOOD.replace("scenario: fresh-cluster", "scenario: fresh-clustre"))
    assert said[0].startswith("lesson.yaml, line 2: scenario: no such file and no built-in scenario")


def test_an_embedded_scenario_s_problems_carry_the_lesson_file_s_lines() -> None:
    text = GOOD.replace("scenario: fresh-cluster\n", """\
scenario:
  cluster: {name: demo}
  steps:
    - include: fresh-cluster
    - aws: iam.create_rol
      params: {RoleName: x}
""")
    said = problems(text)
    assert len(said) == 1
    assert said[0].startswith("lesson.yaml, line 6: scenario.steps[1].aws: iam has no operation 'create_rol'")
    lesson = parse_lesson(text.replace("create_rol", "create_role").replace("{RoleName: x}", "{RoleName: x, AssumeRolePolicyDocument: '{}'}"),
                          source="lesson.yaml")
    assert lesson.scenario_path is None and lesson.scenario_text.startswith("cluster: {name: demo}")
    assert "${cluster}" not in lesson.steps[0].commands[0].eksctl and "demo" in lesson.steps[0].commands[0].eksctl


def test_a_hint_yaml_reads_as_a_mapping_asks_for_quotes() -> None:
    said = problems(GOOD.replace("hints: [one, two]", "hints:\n      - Three things: a, b"))
    assert any("steps[0].hints[0]: must be text (quote a hint" in p for p in said)


def test_the_lesson_panes_are_the_explorer_s() -> None:
    assert set(EXPLORER_PANES) <= set(PANES)  # a lesson may point at any pane of the pods view
    assert {"chain", "pods"} <= set(PANES) - set(EXPLORER_PANES)


def test_learn_with_a_bad_file_says_so_before_any_lab_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("oidc_provider_exists:", "oidc_provider_exist:"))
    done = subprocess.run([sys.executable, "-m", "irsa_explorer", "learn", str(bad), "--dir", str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{bad}, line 14: steps[0].check[0].oidc_provider_exist: unknown check" in done.stderr
    assert not (tmp_path / "d").exists()  # nothing started, nothing written


def test_the_examples_in_docs_lessons_md_are_valid_lessons(tmp_path: Path) -> None:
    import re

    docs = Path(__file__).resolve().parents[2] / "docs" / "lessons.md"
    examples = re.findall(r"```yaml\n(.*?)```", docs.read_text(), re.S)
    assert len(examples) == 2
    lessons = [parse_lesson(text, source=f"docs/lessons.md example {i}") for i, text in enumerate(examples)]
    assert lessons[0].steps[0].commands[0].eksctl and lessons[0].steps[0].checks[0].name == "oidc_provider_exists"
    assert lessons[1].kind == "challenge" and lessons[1].symptom and lessons[1].wrong_ways
