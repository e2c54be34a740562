"""Reading a lesson file and checking all of it before anything starts.

`load_lesson` raises `LessonError` naming the file, the line, where in the file (`steps[2].check[0]`)
and what is wrong, for every problem at once — the scenario parser's style and its `Problem`s
(lab/scenario/errors.py). Checked: YAML syntax, the keys, the starting scenario (fully, by the
scenario parser: an embedded one's problems carry the lesson file's lines), each step's
fields, each check's name and arguments (lessons/checks.py), `pane`, ids, and the ${variables}.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from pathlib import Path

import yaml

from irsa_explorer.lab.scenario import Problem, Scenario, ScenarioError, load_scenario, parse_scenario, substitute
from irsa_explorer.lab.scenario.builtin import builtin_names, named_or_file, scenario_path
from irsa_explorer.lab.scenario.format import ANY_DOLLAR_BRACE, builtin_variables
# The scenario parser's YAML loader that remembers each key's line: one way to read these files.
from irsa_explorer.lab.scenario.parse import _line_of, _LineLoader, _plain

from .checks import CHECKS, argument_problems
from .format import PANES, Check, Command, Lesson, LessonStep, WrongWay

BUILTIN_FOLDER = "builtin"  # irsa_explorer/lessons/builtin/*.yaml, package data
DEFAULT_LESSON = "walkthrough"
_TOP_KEYS = ("name", "title", "description", "kind", "scenario", "steps", "symptom", "goal", "wrong_ways")
_STEP_KEYS = ("id", "title", "explanation", "pane", "pod", "commands", "hints", "solution", "check", "learned")
_COMMAND_KEYS = ("run", "eksctl", "note")
_KINDS = ("lesson", "challenge")
_STEP_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


class LessonError(Exception):
    """A lesson file that cannot be used. Raised before any lab starts."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = "invalid lesson" if len(problems) == 1 else f"invalid lesson ({len(problems)} problems)"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in problems))


def builtin_lessons() -> list[str]:
    """Names of the lessons shipped with the explorer."""
    return builtin_names("irsa_explorer.lessons", BUILTIN_FOLDER)


def lesson_path(name_or_file: str | Path) -> Path:
    """A built-in lesson's file, or the given file. Raises LessonError when neither exists."""
    found = named_or_file(name_or_file, "irsa_explorer.lessons", BUILTIN_FOLDER)  # as a scenario is found
    if found is not None:
        return found
    known = ", ".join(builtin_lessons())
    raise LessonError([Problem(str(name_or_file), "lesson", f"no such file and no built-in lesson of that name (built in: {known})")])


def load_lesson(name_or_file: str | Path = DEFAULT_LESSON) -> Lesson:
    """Read and fully validate a lesson (built-in name or file). Raises LessonError."""
    path = lesson_path(name_or_file)
    return parse_lesson(path.read_text(encoding="utf-8"), source=str(path), path=path)


def parse_lesson(text: str, source: str = "<text>", path: Path | None = None) -> Lesson:
    """Parse and validate lesson text. All problems are collected and raised together."""
    problems: list[Problem] = []
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise LessonError([Problem(source, "yaml", f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                                   mark.line + 1 if mark else None)]) from None
    if not isinstance(document, dict):
        raise LessonError([Problem(source, "document", "a lesson is a mapping with `scenario:` and `steps:`")])
    for key in document:
        if key not in _TOP_KEYS:
            problems.append(Problem(source, str(key), f"unknown top-level key (expected {', '.join(_TOP_KEYS)})",
                                    _line_of(document, str(key))))
    scenario, scenario_file, scenario_text = _parse_scenario(document, text, source, path, problems)
    variables = builtin_variables(scenario.cluster) if scenario else {}
    kind = document.get("kind", "lesson")
    if kind not in _KINDS:
        problems.append(Problem(source, "kind", f"one of {', '.join(_KINDS)}", _line_of(document, "kind")))
    strings = {}
    for key in ("title", "description", "symptom", "goal"):
        strings[key] = _text(document, key, source, problems, variables)
    steps = _parse_steps(document, source, problems, variables)
    wrong_ways = _parse_wrong_ways(document, source, problems, variables)
    if problems:
        raise LessonError(problems)
    name = str(document.get("name") or (path.stem if path else source))
    return Lesson(
        name, source, strings["title"] or name, strings["description"], tuple(steps),
        scenario_path=scenario_file, scenario_text=scenario_text, variables=variables, kind=str(kind),
        symptom=strings["symptom"], goal=strings["goal"], wrong_ways=tuple(wrong_ways),
    )


# -- the starting lab ------------------------------------------------------------------------------


def _parse_scenario(document: dict, text: str, source: str, path: Path | None,
                    problems: list[Problem]) -> tuple[Scenario | None, Path | None, str | None]:
    raw, line = document.get("scenario"), _line_of(document, "scenario")
    if raw is None:
        problems.append(Problem(source, "scenario", "missing: the lab to start from (a scenario name or file, "
                                "or a scenario written here as a mapping)", _line_of(document)))
        return None, None, None
    if isinstance(raw, str):
        try:
            found = scenario_path(raw, relative_to=path)
            return load_scenario(found), found, None
        except ScenarioError as exc:
            problems.extend(exc.problems if len(exc.problems) > 1 or exc.problems[0].source != raw
                            else [Problem(source, "scenario", exc.problems[0].message, line)])
            return None, None, None
    if not isinstance(raw, dict):
        problems.append(Problem(source, "scenario", "a scenario name or file, or a scenario (cluster:, steps:)", line))
        return None, None, None
    embedded, offset = _embedded_text(text)
    try:
        return parse_scenario(embedded, source=source, path=None), None, embedded
    except ScenarioError as exc:
        for problem in exc.problems:  # the embedded scenario's lines are the lesson file's
            at_line = problem.line + offset if problem.line and problem.source == source else problem.line
            problems.append(replace(problem, where=f"scenario.{problem.where}", line=at_line))
        return None, None, None


def _embedded_text(text: str) -> tuple[str, int]:
    """The text of an embedded `scenario:` mapping as a file of its own, and the line it starts
    on (so its problems name the lesson file's lines)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = next(v for k, v in root.value if getattr(k, "value", None) == "scenario")
    start, end = node.start_mark, node.end_mark
    return textwrap.dedent(" " * start.column + text[start.index:end.index]), start.line


# -- steps -------------------------------------------------------------------------------------------


def _text(raw: dict, key: str, source: str, problems: list[Problem], variables: dict[str, str], where: str = "") -> str:
    value = raw.get(key)
    if value is None:
        return ""
    at = f"{where}{key}"
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems.append(Problem(source, at, "must be text", _line_of(raw, key)))
        return ""
    return _substituted(str(value).strip(), at, source, _line_of(raw, key), variables, problems)


def _substituted(value: str, at: str, source: str, line: int | None, variables: dict[str, str],
                 problems: list[Problem]) -> str:
    """${name} replaced by the scenario's variable; $${…} stays ${…} (a shell's own variable)."""
    for match in ANY_DOLLAR_BRACE.finditer(value):
        name = match.group(1)
        if not match.group(0).endswith("}") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            problems.append(Problem(source, at, f"malformed variable {match.group(0)!r} (write ${{name}}, or $${{name}} for the shell's)", line))
            return value
        if variables and name not in variables:
            problems.append(Problem(source, at, f"undefined variable ${{{name}}} (known: {', '.join(sorted(variables))}; "
                                    f"write $${{{name}}} for the shell's own)", line))
            return value
    return substitute(value, variables) if variables else value


def _parse_steps(document: dict, source: str, problems: list[Problem], variables: dict[str, str]) -> list[LessonStep]:
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(Problem(source, "steps", "a lesson needs a list of steps", _line_of(document, "steps") or _line_of(document)))
        return []
    steps: list[LessonStep] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_steps):
        where = f"steps[{index}]"
        if not isinstance(raw, dict):
            problems.append(Problem(source, where, "a step is a mapping with id, title, explanation and check", _line_of(document, "steps")))
            continue
        line = _line_of(raw)
        for key in raw:
            if key not in _STEP_KEYS:
                problems.append(Problem(source, f"{where}.{key}", f"unknown key (allowed here: {', '.join(_STEP_KEYS)})", _line_of(raw, key)))
        step_id = raw.get("id")
        if not isinstance(step_id, str) or not _STEP_ID.fullmatch(step_id):
            problems.append(Problem(source, f"{where}.id", "a lower-case id like `oidc-provider` (letters, digits, -)", _line_of(raw, "id") or line))
            step_id = f"step-{index + 1}"
        elif step_id in seen:
            problems.append(Problem(source, f"{where}.id", f"step id {step_id!r} is used twice", _line_of(raw, "id")))
        seen.add(step_id)
        texts = {key: _text(raw, key, source, problems, variables, f"{where}.") for key in ("title", "explanation", "solution", "learned", "pod")}
        if not texts["title"]:
            problems.append(Problem(source, f"{where}.title", "missing: a step needs a title", line))
        pane = raw.get("pane")
        if pane is not None and pane not in PANES:
            problems.append(Problem(source, f"{where}.pane", f"no pane {pane!r} (panes: {', '.join(PANES)})", _line_of(raw, "pane")))
            pane = None
        checks = _parse_checks(raw, where, source, problems, variables, required=True)
        steps.append(LessonStep(
            step_id, texts["title"], texts["explanation"], tuple(checks),
            commands=tuple(_parse_commands(raw, where, source, problems, variables)),
            hints=tuple(_parse_hints(raw, where, source, problems, variables)),
            solution=texts["solution"], pane=pane, pod=texts["pod"] or None, learned=texts["learned"], line=line,
        ))
    return steps


def _parse_commands(raw: dict, where: str, source: str, problems: list[Problem], variables: dict[str, str]) -> list[Command]:
    value = raw.get("commands")
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(source, f"{where}.commands", "a list of commands (text, or {run:, eksctl:, note:})", _line_of(raw, "commands")))
        return []
    commands = []
    for index, item in enumerate(value):
        at = f"{where}.commands[{index}]"
        if isinstance(item, str):
            commands.append(Command(_substituted(item.strip(), at, source, _line_of(raw, "commands"), variables, problems)))
            continue
        if not isinstance(item, dict):
            problems.append(Problem(source, at, "a command is text or a mapping {run:, eksctl:, note:}", _line_of(raw, "commands")))
            continue
        for key in item:
            if key not in _COMMAND_KEYS:
                problems.append(Problem(source, f"{at}.{key}", f"unknown key (allowed here: {', '.join(_COMMAND_KEYS)})", _line_of(item, key)))
        texts = {key: _text(item, key, source, problems, variables, f"{at}.") for key in _COMMAND_KEYS}
        if not texts["run"]:
            problems.append(Problem(source, f"{at}.run", "missing: the aws / kubectl command to type (what the lab runs)", _line_of(item)))
            continue
        commands.append(Command(texts["run"], texts["eksctl"] or None, texts["note"] or None))
    return commands


def _parse_hints(raw: dict, where: str, source: str, problems: list[Problem], variables: dict[str, str]) -> list[str]:
    value = raw.get("hints")
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(source, f"{where}.hints", "a list of hints, gentlest first", _line_of(raw, "hints")))
        return []
    for index, hint in enumerate(value):
        if not isinstance(hint, str):  # `- Step one: do X` is a mapping to YAML: quote it
            problems.append(Problem(source, f"{where}.hints[{index}]", "must be text (quote a hint that has `: ` in it)",
                                    _line_of(hint) or _line_of(raw, "hints")))
    if not all(isinstance(h, str) for h in value):
        return []
    return [_substituted(h.strip(), f"{where}.hints[{i}]", source, _line_of(raw, "hints"), variables, problems) for i, h in enumerate(value)]


def _parse_checks(raw: dict, where: str, source: str, problems: list[Problem], variables: dict[str, str],
                  required: bool) -> list[Check]:
    value = raw.get("check")
    if value is None:
        if required:
            problems.append(Problem(source, f"{where}.check", "missing: what the lab must show for the step to be done "
                                    f"(checks: {', '.join(CHECKS)})", _line_of(raw)))
        return []
    items = value if isinstance(value, list) else [value]
    checks: list[Check] = []
    for index, item in enumerate(items):
        at = f"{where}.check[{index}]"
        line = _line_of(item) or _line_of(raw, "check")
        if not isinstance(item, dict) or len(item) != 1:
            problems.append(Problem(source, at, f"one check per item, e.g. `- oidc_provider_exists: {{issuer: cluster}}` "
                                    f"(checks: {', '.join(CHECKS)})", line))
            continue
        name, args = next(iter(item.items()))
        kind = CHECKS.get(str(name))
        if kind is None:
            problems.append(Problem(source, f"{at}.{name}", f"unknown check {name!r} (checks: {', '.join(CHECKS)})", _line_of(item, str(name))))
            continue
        args = {} if args is None else args
        found = argument_problems(kind, args)
        for key, message in found:
            problems.append(Problem(source, f"{at}.{name}" + (f".{key}" if key else ""), message,
                                    (_line_of(args, key) if key else None) or _line_of(item, str(name))))
        if not found:
            plain = {str(k): v for k, v in _plain(args).items()}
            def sub(v, where):  # a text, or each text of a list (role_trusts_others' `only`)
                if isinstance(v, list):
                    return [sub(item, f"{where}[{i}]") for i, item in enumerate(v)]
                return _substituted(v, where, source, line, variables, problems) if isinstance(v, str) else v
            plain = {k: sub(v, f"{at}.{name}.{k}") for k, v in plain.items()}
            checks.append(Check(str(name), plain, _line_of(item, str(name))))
    return checks


def _parse_wrong_ways(document: dict, source: str, problems: list[Problem], variables: dict[str, str]) -> list[WrongWay]:
    value = document.get("wrong_ways")
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(source, "wrong_ways", "a list of {check: [...], explain: ...}", _line_of(document, "wrong_ways")))
        return []
    ways = []
    for index, item in enumerate(value):
        where = f"wrong_ways[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(source, where, "a mapping {check: [...], explain: ...}", _line_of(document, "wrong_ways")))
            continue
        for key in item:
            if key not in ("check", "explain"):
                problems.append(Problem(source, f"{where}.{key}", "unknown key (allowed here: check, explain)", _line_of(item, key)))
        checks = _parse_checks(item, where, source, problems, variables, required=True)
        explain = _text(item, "explain", source, problems, variables, f"{where}.")
        if not explain:
            problems.append(Problem(source, f"{where}.explain", "missing: why this fix is the wrong one", _line_of(item)))
        ways.append(WrongWay(tuple(checks), explain))
    return ways


def lesson_scenario_file(lesson: Lesson, directory: Path) -> Path:
    """The scenario file `lab serve` starts the lesson's lab from: the named one, or the
    embedded one written into `directory`."""
    if lesson.scenario_path is not None:
        return lesson.scenario_path
    target = Path(directory) / "lesson-scenario.yaml"
    target.write_text(lesson.scenario_text or "", encoding="utf-8")
    return target

