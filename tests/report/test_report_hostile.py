"""Hostile input in `report` (issue 14): whatever a cluster or an account holds, no format writes a
control character or an escape sequence to the reader's terminal (table and Markdown show them
as `\\x1b`; JSON's encoder escapes them), no JWT leaves unmasked, and the value is still there
to read.

- the built-in `hostile-input` lab through the installed command, in all three formats;
- Hypothesis: random hostile strings as pod and service-account names, annotations, trust
  conditions and env values, through the engine and every format.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent.parent / "analysis"))
from analysis_builders import ROLE_ARN, inventory, irsa_container, irsa_trust, pod, role, sa  # noqa: E402

from irsa_explorer import markdown_safe as md  # noqa: E402
from irsa_explorer.analysis.identity import resolve_all  # noqa: E402
from irsa_explorer.model import EnvVar  # noqa: E402
from irsa_explorer.report import build_report, render  # noqa: E402

FORMATS = ("table", "markdown", "json")
# bytes a terminal acts on: C0 controls but newline, DEL, and C1 controls / bidi marks as UTF-8
RAW = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
UNMASKED_JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{4,}")


def _installed_report(lab_env, lab, fmt: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "irsa_explorer", "report", "--format", fmt],
                          capture_output=True, env=lab_env(lab), timeout=300)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_hostile_input_lab_in_every_format_writes_no_escape_and_no_token(lab_for, lab_env, fmt):
    lab = lab_for("hostile-input")
    done = _installed_report(lab_env, lab, fmt)
    assert done.returncode == 1, done.stderr  # broken pods: the report ran to the end
    out = done.stdout + done.stderr
    assert b"\x1b" not in out and b"\x07" not in out and not RAW.search(out)
    assert not UNMASKED_JWT.search(out), UNMASKED_JWT.search(out)
    text = done.stdout.decode()
    if fmt == "json":
        report = json.loads(text)
        pods = {p["name"]: p for p in report["pods"]}
        assert pods["jwt-annotation-pod"]["intended_role_arn"] == "<token redacted>"
        reasons = json.dumps(pods["a-trust-bracket"]["trust"])
        assert "[$x]*\\u001b[2J" in reasons  # the value itself, escaped by the encoder
    elif fmt == "table":
        assert "'[' is not a valid role ARN" in text
    else:
        assert "\\x1b" in text and "`MALFORMED_ROLE_ARN`" in text  # shown, not sent; a code in a code span


# --- any value, any format -------------------------------------------------------------------------

hostile_text = st.lists(
    st.sampled_from(list("[]/$@#\\|*_`<>&=() abX:.-\n\t") + ["\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u2066",
                                                               "\u200b", "é", "\udcff", "eyJhbGciOiJSUzI1NiJ9.", "c2ln"]),
    min_size=1, max_size=20,
).map("".join)


def _report_with(value: str) -> dict:
    trust = irsa_trust(sub=value)
    trust["Statement"][0]["Sid"] = value
    pods = [pod(value, namespace=value, service_account="my-sa",
                containers=[irsa_container(extra_env=(EnvVar("GREETING", value),))]),
            pod("odd-pod", service_account="odd", containers=[irsa_container(role_arn=value)])]
    accounts = [sa("my-sa", namespace=value, **{"eks.amazonaws.com/audience": value}), sa("odd", role_arn=value)]
    inv = inventory(pods=pods, sas=accounts, roles=[role(ROLE_ARN, trust=trust)])
    return build_report(inv, resolve_all(inv))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=hostile_text)
@example(value="\x1b[2J|[bold]x[/]\n")
@example(value="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
def test_any_value_in_any_format_is_literal_and_safe(value):
    report = _report_with(value)
    for fmt in FORMATS:
        out = render(report, fmt).encode("utf-8", "surrogateescape")
        assert not RAW.search(out), (fmt, RAW.search(out))
        assert not UNMASKED_JWT.search(out), fmt
    if "eyJ" not in value:  # (anything shaped like a JWT may be masked: not the value itself then)  # the value itself, readable in each format
        name = report["pods"][0]["name"] if report["pods"][0]["name"] == value else report["pods"][1]["name"]
        assert name == value
        assert md.visible(value) in render(report, "table") or md.LIMIT < len(value)
        assert md.cell(value) in render(report, "markdown")
        assert value in {p["name"] for p in json.loads(render(report, "json"))["pods"]}
