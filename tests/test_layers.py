"""The layers of docs/architecture.md, kept by the suite: import-linter's contracts (in
pyproject.toml) and the size of modules, so a new maintainer finds each piece in one guess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout



PACKAGE = ROOT / "src" / "irsa_explorer"


def test_no_module_is_over_800_lines_and_the_app_under_400() -> None:
    sizes = {path.relative_to(PACKAGE).as_posix(): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > 800} == {}
    assert sizes["app.py"] < 400  # the App, its bindings and routing; everything else has a room of its own
