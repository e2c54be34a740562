"""The scenarios shipped with the lab, and finding a scenario file by name or path.

The built-in files are package data in `irsa_explorer/lab/scenarios/*.yaml` (plural: the
collection of files; this package, singular, is the code that reads one).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from irsa_explorer.lab.scenario.errors import Problem, ScenarioError

BUILTIN_FOLDER = "scenarios"  # in irsa_explorer/lab, shipped as package data
DEFAULT_SCENARIO = "walkthrough"


def _builtin_folder():
    return resources.files("irsa_explorer.lab").joinpath(BUILTIN_FOLDER)


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with the lab (files starting with `_` are building blocks)."""
    folder = _builtin_folder()
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and not entry.name.startswith("_")
    )


def scenario_path(name_or_file: str | Path, relative_to: Path | None = None) -> Path:
    """A built-in scenario's file, or the given file. Raises ScenarioError when neither exists."""
    text = str(name_or_file)
    candidate = Path(text).expanduser()
    if relative_to is not None and not candidate.is_absolute():
        near = relative_to.parent / candidate
        if near.is_file():
            return near
    if candidate.is_file():
        return candidate.resolve()
    if "/" not in text:
        builtin = Path(str(_builtin_folder().joinpath(text.removesuffix(".yaml") + ".yaml")))
        if builtin.is_file():
            return builtin
    known = ", ".join(builtin_scenarios())
    raise ScenarioError(
        [Problem(text, "scenario", f"no such file and no built-in scenario of that name (built in: {known})")]
    )
