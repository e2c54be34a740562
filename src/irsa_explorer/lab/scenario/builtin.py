"""The scenarios shipped with the lab, and finding a scenario file by name or path (the lessons
find theirs with the same `named_or_file`).

The built-in files are package data in `irsa_explorer/lab/scenarios/*.yaml` (plural: the
collection of files; this package, singular, is the code that reads one).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from irsa_explorer.lab.scenario.errors import Problem, ScenarioError

BUILTIN_FOLDER = "scenarios"  # in irsa_explorer/lab, shipped as package data
DEFAULT_SCENARIO = "walkthrough"


def builtin_names(package: str, folder: str) -> list[str]:
    """Names of the `.yaml` files shipped in `package`'s `folder` (a name starting with `_` is a
    building block other files include, not listed). Scenarios and lessons are both found so."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in resources.files(package).joinpath(folder).iterdir()
        if entry.name.endswith(".yaml") and not entry.name.startswith("_")
    )


def named_or_file(name_or_file: str | Path, package: str, folder: str, relative_to: Path | None = None) -> Path | None:
    """The given file (first beside `relative_to`, the file that names it, when the path is
    relative), else — a bare name, no `/` — the built-in of that name in `package`'s `folder`;
    None when neither exists. Scenarios and lessons are both found so."""
    text = str(name_or_file)
    candidate = Path(text).expanduser()
    if relative_to is not None and not candidate.is_absolute():
        near = relative_to.parent / candidate
        if near.is_file():
            return near
    if candidate.is_file():
        return candidate.resolve()
    if "/" not in text:
        builtin = Path(str(resources.files(package).joinpath(folder).joinpath(text.removesuffix(".yaml") + ".yaml")))
        if builtin.is_file():
            return builtin
    return None


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with the lab (files starting with `_` are building blocks)."""
    return builtin_names("irsa_explorer.lab", BUILTIN_FOLDER)


def scenario_path(name_or_file: str | Path, relative_to: Path | None = None) -> Path:
    """A built-in scenario's file, or the given file. Raises ScenarioError when neither exists."""
    found = named_or_file(name_or_file, "irsa_explorer.lab", BUILTIN_FOLDER, relative_to)
    if found is not None:
        return found
    known = ", ".join(builtin_scenarios())
    raise ScenarioError(
        [Problem(str(name_or_file), "scenario", f"no such file and no built-in scenario of that name (built in: {known})")]
    )
