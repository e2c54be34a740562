"""The report asks Kubernetes and AWS at the same time: an API server that cannot be reached must
still end the report with exit code 2 and the reason, not a hang or a traceback."""

from __future__ import annotations

import io
import socket
import time

import yaml

from irsa_explorer.cli import build_parser
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource
from irsa_explorer.report import main


def test_unreachable_api_server_is_exit_two_while_aws_answers(lab, tmp_path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = yaml.safe_load(lab.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    kube = KubeSource(kubeconfig=str(kubeconfig))
    aws = AwsSource.from_env(lab.aws_env)
    args = build_parser().parse_args(["report", "-A", "--format", "json"])
    out, err = io.StringIO(), io.StringIO()
    began = time.monotonic()
    try:
        code = main(args, stdout=out, stderr=err, sources=(kube, aws))
    finally:
        kube.close()
    assert code == 2, err.getvalue()
    assert out.getvalue() == ""
    assert err.getvalue().startswith(f"irsa-explorer report: cannot run: cannot connect to https://127.0.0.1:{port}: connection refused")
    assert err.getvalue().count("\n") == 1  # one line
    assert "Traceback" not in err.getvalue()
    assert time.monotonic() - began < 60
