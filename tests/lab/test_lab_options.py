"""The lab's own options are checked before anything starts: one line with the allowed range."""

from __future__ import annotations

import pytest

from irsa_explorer.cli import main
from irsa_explorer.lab.scale.spec import parse_scale
from irsa_explorer.lab.serve import OptionError, parse_latency, parse_throttle


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "1e9", "NaN/s"])
def test_throttle_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(OptionError, match=r"between 0\.01 and 100000 requests per second"):
        parse_throttle(f"iam={value}")


def test_throttle_in_range_passes() -> None:
    assert parse_throttle("iam=20,sts=0.5/s") == {"iam": 20.0, "sts": 0.5}


def test_latency_beyond_a_minute_is_refused() -> None:
    with pytest.raises(OptionError, match="at most 60s"):
        parse_latency("iam=100000s")
    assert parse_latency("iam=120ms") == {"iam": 0.12}


@pytest.mark.parametrize(("text", "said"), [("pods=10000000000", "pods=10000000000 is too many (0 to 100,000)"),
                                            ("pods=100,nodes=99999", "nodes=99999 is too many (0 to 5,000)")])
def test_scale_beyond_its_limits_is_refused(text: str, said: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_scale(text)
    assert said in str(raised.value)


@pytest.mark.parametrize(("argv", "said"), [
    (["lab", "--throttle", "iam=nan"], "irsa-explorer lab: --throttle iam=nan: the rate must be between"),
    (["lab", "--scale", "pods=10000000000"], "irsa-explorer lab: --scale: pods=10000000000 is too many"),
    (["lab", "serve", "--throttle", "iam=nan"], "irsa-explorer lab serve: --throttle iam=nan"),
])
def test_the_lab_commands_say_it_in_one_line_before_starting(argv, said, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(said) and err.count("\n") == 1, err


def test_a_refused_scenario_is_one_line_where_the_tui_shows_it(tmp_path) -> None:
    from irsa_explorer.sources.connect import lab_in_background
    from irsa_explorer.sources.kube import ClusterError

    bad = tmp_path / "bad.yaml"
    bad.write_text("cluster:\n  region: '../../x'\nsteps: []\n")
    connect, stop = lab_in_background(str(bad))
    try:
        with pytest.raises(ClusterError) as raised:
            connect()
    finally:
        stop()
    text = str(raised.value)
    assert text.startswith(f"the lab did not start: lab serve: invalid scenario: {bad}, line 2: cluster.region: ")
    assert "\n" not in text


def test_a_lab_without_a_folder_makes_its_own_and_removes_it() -> None:
    from irsa_explorer.lab.launcher import start_lab

    lab = start_lab("walkthrough")
    try:
        assert (lab.directory / "kubeconfig").exists()
    finally:
        lab.stop()
    assert not lab.directory.exists()
