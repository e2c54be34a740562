"""One pattern of a JWT and one of an access key ID (analysis.tokens), and every writer that masks
them in a text agrees: the log file, a triage, the live check's errors, a finding quoting a
termination message, a value on screen, the screenshot export's list of tokens in view."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irsa_explorer import logfile, triage
from irsa_explorer.analysis.findings.builders import aws_error
from irsa_explorer.analysis.tokens import find_tokens, key_id_masked, mask_keys, mask_signatures, mask_tokens
from irsa_explorer.model import ContainerExit, Pod
from irsa_explorer.screens.export import tokens_in_view
from irsa_explorer.sources.livecheck import mask_tokens as livecheck_mask_tokens
from irsa_explorer.widgets.format import shown


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


HEADER = _b64({"alg": "RS256", "kid": "k1"})
PAYLOAD = _b64({"sub": "system:serviceaccount:app:web", "aud": ["sts.amazonaws.com"]})
SIGNATURE = "Zm9vYmFyYmF6" * 20 + "-_x"
TOKEN = f"{HEADER}.{PAYLOAD}.{SIGNATURE}"
KEY = "AKIAIOSFODNN7EXAMPLE"

# what leaves the screen: the whole token gone, whatever the writer
REDACTORS = {
    "log file": logfile.mask,
    "triage": triage.Redactor().text,
    "live check": livecheck_mask_tokens,
    "finding": lambda text: aws_error(_failed_pod(text)).text,
}


def _failed_pod(text: str) -> Pod:
    exit_ = ContainerExit("app", 254, "Error", message=f"An error occurred (AccessDenied) when calling the GetObject operation: {text}")
    return Pod("uid-1", "app", "p", "web", None, "Failed", "Error", None, exits=(exit_,))


@pytest.mark.parametrize("writer", REDACTORS, ids=list(REDACTORS))
@pytest.mark.parametrize("text", [
    f"token={TOKEN} rest",
    f'"token": "{TOKEN}"',
    f"Authorization: Bearer {TOKEN}",
    f"cut short: {HEADER}.{PAYLOAD[:20]}",  # a truncated message: the payload half gone, no signature
    f"wrapped: {HEADER}",  # a screen line or a log cut after the header
], ids=["bare", "json", "bearer", "truncated", "header-only"])
def test_every_writer_removes_the_whole_token(writer, text):
    out = REDACTORS[writer](text)
    assert HEADER not in out and PAYLOAD[:20] not in out and SIGNATURE[:12] not in out
    assert "eyJ" in text and "eyJ" not in out.replace("eyJ…(token masked)", "")


def test_the_screen_hides_the_signature_and_keeps_the_claims():
    out = shown(f"annotation: {TOKEN}")
    assert out == f"annotation: {HEADER}.{PAYLOAD}.<signature hidden>"
    assert shown(f"annotation: {TOKEN}", reveal=True) == f"annotation: {TOKEN}"
    # a token without a signature is no credential: drawn as it is
    assert shown(f"{HEADER}.{PAYLOAD}") == f"{HEADER}.{PAYLOAD}" == mask_signatures(f"{HEADER}.{PAYLOAD}")


def test_the_export_lists_the_tokens_in_view_whole():
    assert tokens_in_view({"a": f"x {TOKEN} y", "b": [f"({HEADER}.{PAYLOAD})"]}) == sorted([TOKEN, f"{HEADER}.{PAYLOAD}"])
    assert find_tokens("eyJ alone is a word, not a token") == []


@pytest.mark.parametrize("text", [
    f"key {KEY} used",
    f"AWS_ACCESS_KEY_ID={KEY}",
    f"id_{KEY}",  # inside an identifier: no word boundary before it
    f"'{KEY}'",
])
def test_the_log_file_and_a_triage_mask_a_key_id_alike(text):
    masked = text.replace(KEY, "AKIA…MPLE")
    assert logfile.mask(text) == triage.Redactor().text(text) == mask_keys(text) == masked
    assert key_id_masked(KEY) == "AKIA…MPLE"


def test_longer_runs_and_short_ids_are_not_keys():
    for text in ("AKIAEXAMPLE", f"X{KEY}", f"akia{KEY[4:]}"):
        assert mask_keys(text) == text


@given(st.text(alphabet="abcXYZ019_-.: \"'=", max_size=40), st.text(alphabet="abc .,:", max_size=20))
def test_no_text_around_a_token_lets_a_byte_of_its_signature_through(before, after):
    text = f"{before}{TOKEN}{after}"
    for writer in ("log file", "triage", "live check"):
        assert SIGNATURE[:16] not in REDACTORS[writer](text)
    assert SIGNATURE[:16] not in shown(text) and SIGNATURE[:16] not in mask_tokens(text)
