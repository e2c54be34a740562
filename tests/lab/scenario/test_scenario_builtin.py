"""Finding a scenario and finding a lesson by built-in name or by file: one lookup
(lab/scenario/builtin.py `named_or_file`), so both take the same names the same way."""

from __future__ import annotations

import pytest

from irsa_explorer.lab.scenario import ScenarioError
from irsa_explorer.lab.scenario.builtin import builtin_scenarios, named_or_file, scenario_path
from irsa_explorer.lessons import LessonError, builtin_lessons, lesson_path

FINDERS = [(scenario_path, ScenarioError, builtin_scenarios), (lesson_path, LessonError, builtin_lessons)]


@pytest.mark.parametrize("find,error,names", FINDERS, ids=["scenario", "lesson"])
def test_a_built_in_name_a_file_and_nothing(find, error, names, tmp_path, monkeypatch):
    assert "walkthrough" in names() and not any(n.startswith("_") for n in names())
    builtin = find("walkthrough")
    assert builtin.is_file() and find("walkthrough.yaml") == builtin
    own = tmp_path / "walkthrough.yaml"
    own.write_text("name: mine\n")
    monkeypatch.chdir(tmp_path)
    assert find("walkthrough.yaml") == own  # a file where the user is wins over the built-in
    assert find(str(own)) == own
    with pytest.raises(error, match="built in: .*walkthrough"):
        find("./no-such")  # a path is never looked up among the built-ins
    with pytest.raises(error, match="no such file"):
        find("no-such")


def test_a_relative_file_is_found_beside_the_file_that_names_it(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.yaml").write_text("name: base\n")
    including = tmp_path / "sub" / "lesson.yaml"
    assert named_or_file("base.yaml", "irsa_explorer.lab", "scenarios", relative_to=including) == tmp_path / "sub" / "base.yaml"
    assert named_or_file("base.yaml", "irsa_explorer.lab", "scenarios") is None
