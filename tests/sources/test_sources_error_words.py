"""Errors no source put into a sentence of its own still reach the screen in words: what kind
of failure it was and its message — never the exception's class name (issue 11)."""

from __future__ import annotations

import json
import ssl

import pytest

from irsa_explorer.sources.aws_errors import unavailable_from
from irsa_explorer.sources.error_words import in_words
from irsa_explorer.sources.kube import ClusterError
from irsa_explorer.sources.loader import _portable

CASES = [
    (TimeoutError("read from the endpoint"), "timed out: read from the endpoint"),
    (ConnectionRefusedError(111, "Connection refused"), "the connection was refused"),
    (ssl.SSLError("certificate verify failed"), "TLS failed"),
    (FileNotFoundError(2, "No such file", "/x/ca.crt"), "a file was not found"),
    (KeyError("metadata"), "a field was missing: 'metadata'"),
    (json.JSONDecodeError("Expecting value", "<html>", 0), "an answer was not valid JSON"),
    (RecursionError("maximum recursion depth exceeded"), "a document was nested too deeply"),
    (RuntimeError(""), "unexpected failure"),
    (RuntimeError("first line\nsecond line"), "unexpected failure: first line"),
]


@pytest.mark.parametrize(("error", "words"), CASES, ids=[type(e).__name__ for e, _ in CASES])
def test_an_error_is_said_in_words_without_its_class_name(error, words):
    said = in_words(error)
    assert said.startswith(words) and "\n" not in said
    assert type(error).__name__ not in said


def test_an_unexpected_aws_failure_names_no_class():
    said = unavailable_from(KeyError("Credentials"), "sts:GetCallerIdentity").reason
    assert said == "AWS call failed: a field was missing: 'Credentials'"
    assert "KeyError" not in said


def test_a_loading_failure_that_cannot_cross_the_pipe_is_said_in_words():
    class Unpicklable(Exception):  # local: pickle cannot find it by name
        pass

    portable = _portable(Unpicklable("the pods page ended early"))
    assert isinstance(portable, ClusterError)
    assert str(portable) == "loading failed: unexpected failure: the pods page ended early"
    assert "Unpicklable" not in str(portable)
    plain = ValueError("kept as it is")
    assert _portable(plain) is plain  # one that survives pickling is raised as it is
