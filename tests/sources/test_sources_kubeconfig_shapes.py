"""Kubeconfigs of every broken shape are one line naming the file and the place — never a
traceback (the TUI and `report` both print a ClusterError as it is)."""

from __future__ import annotations

import base64
import copy
import io
import os
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from irsa_explorer.cli import build_parser
from irsa_explorer.report import EXIT_CANNOT_RUN, main
from irsa_explorer.sources.kube import ClusterError, KubeSource

CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
BASE: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Config", "current-context": "c",
    "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data": CA}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
}


def variant(change: Callable[[dict], Any]) -> str:
    config = copy.deepcopy(BASE)
    change(config)
    return yaml.safe_dump(config)


CASES: dict[str, tuple[str | bytes, str]] = {
    "a top-level list": ("- a\n- b\n", "is not a kubeconfig (a YAML mapping)"),
    "contexts: 5": (variant(lambda c: c.__setitem__("contexts", 5)), "contexts is a number, not a list"),
    "clusters: 5": (variant(lambda c: c.__setitem__("clusters", 5)), "clusters is a number, not a list"),
    "users: a string": (variant(lambda c: c.__setitem__("users", "x")), "users is a string, not a list"),
    "a context that is a number": (variant(lambda c: c.__setitem__("contexts", [5])), "contexts[0] is a number"),
    "context: 5": (variant(lambda c: c["contexts"][0].__setitem__("context", 5)), "contexts[0] ('c').context is a number"),
    "a context without a name": (variant(lambda c: c["contexts"][0].pop("name")), "contexts[0] has no name"),
    "current-context: a list": (variant(lambda c: c.__setitem__("current-context", [1])), "current-context is a list"),
    "cluster: a string": (variant(lambda c: c["clusters"][0].__setitem__("cluster", "x")), "clusters[0] ('k').cluster is a string"),
    "server: 5": (variant(lambda c: c["clusters"][0]["cluster"].__setitem__("server", 5)), ".cluster.server is a number"),
    "server: not a URL": (variant(lambda c: c["clusters"][0]["cluster"].__setitem__("server", "not a url")), "is not an https:// URL"),
    "user: a list": (variant(lambda c: c["users"][0].__setitem__("user", [1])), "users[0] ('u').user is a list"),
    "token: 5": (variant(lambda c: c["users"][0]["user"].__setitem__("token", 5)), ".user.token is a number"),
    "exec: a string": (variant(lambda c: c["users"][0]["user"].__setitem__("exec", "aws")), ".user.exec is a string"),
    "exec args: 5": (variant(lambda c: c["users"][0]["user"].__setitem__("exec", {"command": "aws", "args": 5})), ".exec.args is not a list"),
    "exec env: strings": (variant(lambda c: c["users"][0]["user"].__setitem__("exec", {"command": "aws", "env": ["x"]})), ".exec.env[0] is not a mapping"),
    "namespace: a list": (variant(lambda c: c["contexts"][0]["context"].__setitem__("namespace", [1])), ".context.namespace is a list"),
    "proxy-url: not a URL": (variant(lambda c: c["clusters"][0]["cluster"].__setitem__("proxy-url", "::::")), "proxy-url '::::' is not a URL"),
    "bad base64 CA": (variant(lambda c: c["clusters"][0]["cluster"].__setitem__("certificate-authority-data", "!!notbase64")), "certificate-authority-data: certificate authority data is not valid base64"),
    "a CA that is no PEM": (variant(lambda c: c["clusters"][0]["cluster"].__setitem__("certificate-authority-data", "aGVsbG8=")), "is not a PEM block"),
    "a CA that is a number": (variant(lambda c: c["clusters"][0]["cluster"].__setitem__("certificate-authority-data", 5)), "certificate-authority-data is a number"),
    "a key that is no PEM": (variant(lambda c: c["users"][0]["user"].update({"client-certificate-data": CA, "client-key-data": "QUJD"})), "client-key-data: client key data is not a PEM block"),
    "5,000-deep nesting": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "a binary file": (os.urandom(64) + b"\xff\xfe\x00", "is not text (UTF-8 YAML)"),
    "an empty file": ("", "is empty"),
    "only comments": ("# nothing here\n", "is empty"),
    "a tab in the indentation": ("apiVersion: v1\n\tkind: x\n", "is not valid YAML (line 2)"),
    "a missing CA file": (variant(lambda c: c["clusters"][0].__setitem__(
        "cluster", {"server": "https://127.0.0.1:1", "certificate-authority": "/nonexistent/ca.crt"})), "/nonexistent/ca.crt"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_broken_kubeconfig_is_one_line_naming_the_file_and_the_place(name: str, tmp_path: Path) -> None:
    content, said = CASES[name]
    path = tmp_path / "kubeconfig"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ClusterError) as raised:
        KubeSource(kubeconfig=str(path))
    text = str(raised.value)
    assert str(path) in text and said in text, text
    assert "\n" not in text and "Error" not in text and len(text) < 400, text


@pytest.mark.parametrize("name", ["contexts: 5", "a binary file", "5,000-deep nesting", "a CA that is no PEM"])
def test_report_on_a_broken_kubeconfig_is_exit_two_and_one_line(name: str, tmp_path: Path) -> None:
    content, said = CASES[name]
    path = tmp_path / "kubeconfig"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out, err = io.StringIO(), io.StringIO()
    code = main(build_parser().parse_args(["report", "-A", "--kubeconfig", str(path)]), stdout=out, stderr=err)
    assert code == EXIT_CANNOT_RUN
    assert err.getvalue().count("\n") == 1 and said in err.getvalue() and "Traceback" not in err.getvalue()
