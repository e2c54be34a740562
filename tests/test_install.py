"""Installed as a user installs it: without the `[lab]` extra the lab commands say how to get it
(never a moto traceback); `--version`; the wheel's metadata carries the SPDX license and LICENSE.

The venv without the extra is real: `python -m venv`, with every package of this checkout's
venv linked into it except the lab's (moto, flask, aiohttp), so nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from irsa_explorer.cli import version

ROOT = Path(__file__).resolve().parents[1]
LAB_ONLY = ("moto", "flask", "aiohttp")  # the [lab] extra's own packages (aiohttp may also come with kubernetes)
HINT = "pip install 'irsa-explorer[lab]'"


@pytest.fixture(scope="module")
def venv_without_lab(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("venv-without-lab")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = Path(subprocess.run(
        [str(folder / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())
    for entry in ours.iterdir():
        if entry.name.lower().startswith(LAB_ONLY) or entry.name == "__pycache__":
            continue
        target = theirs / entry.name
        if not target.exists():
            target.symlink_to(entry)
    python = folder / "bin" / "python"
    found = subprocess.run([str(python), "-c", "import importlib.util as u; print([m for m in ('moto', 'flask', 'textual', 'irsa_explorer') if u.find_spec(m)])"],
                           check=True, capture_output=True, text=True).stdout
    assert found.strip() == "['textual', 'irsa_explorer']", found  # the lab's packages are not there
    return python


def run(python: Path, *args: str, home: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true"}
    return subprocess.run([str(python), "-m", "irsa_explorer", *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.parametrize("command", [["lab", "serve"], ["lab"], ["report", "--lab"]])
def test_without_the_lab_extra_the_lab_commands_say_how_to_get_it(venv_without_lab, tmp_path, command):
    done = run(venv_without_lab, *command, home=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.rstrip().endswith(HINT), done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_lab_extra_the_rest_still_works(venv_without_lab, tmp_path):
    done = run(venv_without_lab, "--version", home=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"irsa-explorer {version()}\n")
    done = run(venv_without_lab, "report", home=tmp_path)  # no kubeconfig in this HOME
    assert done.returncode == 2
    assert done.stderr.startswith(f"irsa-explorer report: cannot run: no kubeconfig: {tmp_path}/.kube/config does not exist")


def test_version_is_the_distributions():
    from importlib import metadata

    done = subprocess.run([sys.executable, "-m", "irsa_explorer", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == f"irsa-explorer {metadata.version('irsa-explorer')}\n"


def test_the_wheel_carries_the_spdx_license_and_the_license_file(tmp_path):
    """Built as pip and pipx build it (isolated, setuptools from the index); skipped offline."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and ("Could not find a version" in done.stderr or "No matching distribution" in done.stderr):
        pytest.skip("no package index to build the wheel with")
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("irsa_explorer-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        assert "License-Expression: Apache-2.0" in metadata.splitlines()
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
        assert "irsa_explorer/lab/scenarios/walkthrough.yaml" in names
    assert "Apache License" in (ROOT / "LICENSE").read_text().splitlines()[1]
