"""A crash of the TUI is clean and honest (issue 14): one line on stderr with no secret in it
(no local variables, tokens and keys masked), the details only in the --debug log, and a
non-zero exit status. Run as the product runs it: a real App, in its own process."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

from irsa_explorer import launch

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SIGNATURE = "c2lnbmF0dXJlLW9mLWEtcmVhbC10b2tlbg"
JWT = f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZDpzIn0.{SIGNATURE}"

CRASHING_APP = textwrap.dedent(f'''
    import sys
    from textual.app import App
    from irsa_explorer import launch, logfile

    logfile.configure(debug="--debug" in sys.argv)

    class Crashing(launch.CleanCrash, App):
        def on_mount(self) -> None:
            env = {{"AWS_SECRET_ACCESS_KEY": "{SECRET_KEY}", "AWS_ACCESS_KEY_ID": "{KEY_ID}"}}
            token = "{JWT}"
            raise RuntimeError(f"boom: AWS_SECRET_ACCESS_KEY={{env['AWS_SECRET_ACCESS_KEY']}} token={{token}} "
                               f"key {{env['AWS_ACCESS_KEY_ID']}} Authorization: Bearer {{token}} \\x1b[2J")

    sys.exit(launch.run_app(Crashing(), headless=True))
''')


def _crash(tmp_path, *options: str) -> subprocess.CompletedProcess:
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_APP)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # --debug: ./irsa-explorer-debug.log
    return subprocess.run([sys.executable, str(script), *options], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)


def _no_secret(text: str) -> None:
    for secret in (SECRET_KEY, KEY_ID, SIGNATURE, "\x1b"):
        assert secret not in text, f"{secret!r} leaked"


def test_a_crash_is_one_masked_line_and_a_non_zero_status(tmp_path):
    done = _crash(tmp_path)
    assert done.returncode == 1, done
    output = done.stdout + done.stderr
    _no_secret(output)
    assert "RuntimeError: boom" in done.stderr and "AWS_SECRET_ACCESS_KEY=<redacted>" in done.stderr
    assert "Traceback" not in output and "locals" not in output
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("irsa-explorer:"), done.stderr
    assert "run with --debug" in done.stderr
    assert not list(tmp_path.glob("*.log"))  # no details written without --debug


def test_with_debug_the_traceback_is_in_the_log_without_locals_or_secrets(tmp_path):
    done = _crash(tmp_path, "--debug")
    assert done.returncode == 1
    _no_secret(done.stdout + done.stderr)
    log = (tmp_path / "irsa-explorer-debug.log").read_text()
    assert "Traceback" in log and "on_mount" in log
    _no_secret(log)
    assert "env = " not in log and "token = " not in log  # Rich's locals panel would print them
    assert str(tmp_path / "irsa-explorer-debug.log") in done.stderr


def test_the_explorer_the_cli_runs_has_the_clean_crash():
    chosen = launch.configured(argparse.Namespace(theme=None, readonly=False))
    assert chosen is not None and issubclass(chosen[0], launch.CleanCrash)
