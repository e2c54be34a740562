"""Token pane: which token, its decoded header and claims, times in words, the signature check.

The raw JWT is read only when the user asks (`t` projected IRSA token via exec `cat`, `p` the
EKS Pod Identity token, `d` the default token, `T` a fresh TokenRequest after confirming). Its signature stays masked until
`s` reveals it — that token's only: each new reading starts masked again.

A token is whatever the file holds: claims of the wrong type or out of range read "invalid:
why" (the decoder's words), never a crash; values are drawn literally and bounded (format).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.content import Content
from textual.binding import Binding
from textual.message import Message

from irsa_explorer.messages import post_up
from irsa_explorer.model import IRSA_VOLUME, POD_IDENTITY_VOLUME, ExpectedToken, Pod
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.format import line, literal, relative, shown, stamp
from irsa_explorer.widgets.panes.detail import DetailPane, heading, note, row, ticking_row

if TYPE_CHECKING:
    from irsa_explorer.analysis.tokens import DecodedToken, SignatureCheck
    from irsa_explorer.sources.livecheck import TokenReading

TIME_CLAIMS = (("iat", "issued", "issued_at"), ("nbf", "not before", "not_before"), ("exp", "expires", "expires_at"))


def mask(raw: str) -> str:
    """The token with its signature masked: the signature is what makes it a usable credential."""
    from irsa_explorer.analysis.tokens import mask_signature

    return mask_signature(raw)


class TokenPane(DetailPane):
    TITLE = "Token"
    PANE_ID = "token"
    BINDINGS = [
        Binding("t", "read('irsa')", "IRSA token", id="token.irsa", tooltip="Read the projected IRSA token from the pod (exec cat)"),
        Binding("p", "read('pod-identity')", "Pod Identity token", id="token.pod_identity", tooltip="Read the EKS Pod Identity token from the pod (exec cat)"),
        Binding("d", "read('default')", "Default token", id="token.default", tooltip="Read the default service-account token from the pod"),
        Binding("T", "read('fresh')", "TokenRequest", id="token.fresh", tooltip="Mint a fresh token with TokenRequest (asks first)"),
        Binding("s", "reveal", "Reveal sig", id="token.reveal", tooltip="Show or mask the token signature"),
    ]

    @dataclass
    class Requested(Message):
        """The user wants a token of this pod read (which: irsa, pod-identity, default, fresh)."""

        pod_uid: str
        which: str

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state: ExplorerState | None = None
        self.pod: Pod | None = None
        self.revealed = False
        self.reading: TokenReading | None = None  # the reading `revealed` is about
        self.loading_which: str | None = None
        self.expected: ExpectedToken | None = None  # the chain's token for the pod

    def show(self, state: ExplorerState, pod: Pod | None) -> None:
        if pod is None or self.pod is None or pod.uid != self.pod.uid:
            self.revealed = False
        self.state, self.pod = state, pod
        uid = pod.uid if pod else None
        if (reading := state.tokens.get(uid) if uid else None) is not self.reading:
            # a reveal is for the signature the user looked at, not the next token read (t, d, T)
            self.reading, self.revealed = reading, False
        chain = state.chains.get(uid) if uid else None
        # the token the chain's trust decision was made with (shared by the pods it holds for)
        self.expected = chain.token if chain else None
        # what compose reads: the pod, its token view, the loading and reveal flags, the chain's
        # token (not the inventory: each loading stage is a new one, and rebuilding for it is a layout pass)
        self.date(*[("pod spec", FactsWanted(), "pods")] if pod else [])
        # the objects themselves, not their ids: an id may be reused once its object is freed
        self.rebuild((pod, state.tokens.get(uid), self.loading_which, self.revealed, self.expected))

    def action_read(self, which: str) -> None:
        if self.pod is not None:
            post_up(self, self.Requested(self.pod.uid, which))

    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self.rebuild(None)

    def compose(self) -> ComposeResult:
        pod, state = self.pod, self.state
        if pod is None or state is None:
            yield note("No pod selected.")
            return
        yield heading("Tokens this pod mounts")
        if not pod.projected_tokens:
            yield note("no projected service-account tokens in the pod spec")
        for token in pod.projected_tokens:
            aud = token.audience or "the API server (default audience)"
            life = f"{token.expiration_seconds} s" if token.expiration_seconds else "default lifetime"
            # by volume: `path` is the file's name inside it ("token"), not where it is mounted
            irsa = {IRSA_VOLUME: ("(IRSA)", "$success"), POD_IDENTITY_VOLUME: ("(Pod Identity)", "$success")}.get(
                token.volume
            )
            # kube-api-access-<random>: the suffix means nothing to a reader
            volume = "kube-api-access-…" if token.volume.startswith("kube-api-access-") else token.volume
            yield row(volume, line(f"{token.path} · aud {aud} · {life}", " " if irsa else None, irsa))
        if self.expected is not None:
            yield from self._expected(self.expected)
        yield note("t: read the IRSA token · p: Pod Identity token · d: default token · T: fresh TokenRequest · "
                   "s: reveal signature")
        view = state.tokens.get(pod.uid)
        if self.loading_which:
            yield note(f"reading the {self.loading_which} token…")
        if view is None:
            return
        yield heading(f"Token: {view.source}")
        if view.path:
            yield row("read from", view.path)
        if view.at:
            yield row("read at", stamp(view.at))
        if view.error:
            yield row("error", literal(view.error, "$error"))
            return
        # the claims first: they are what is read; the raw token after them
        yield from self._decoded(view, state.now())
        if view.raw:
            yield heading("Raw token")
            if self.revealed:  # what `s` is for: the one place a signature is drawn
                yield row("", literal(view.raw, reveal=True))
            else:
                yield row("", line(mask(view.raw), (" (s reveals the signature)", "$text-muted")))

    @staticmethod
    def _expected(token: ExpectedToken) -> ComposeResult:
        """The claims the pod's token carries by its spec: what the chain was worked out with."""
        yield heading("What it presents (from the pod spec)")
        yield row("file", token.path)
        yield row("iss", token.issuer or "unknown: the cluster's issuer is not known")
        yield row("sub", token.subject)
        yield row("aud", ", ".join(token.audiences))

    def _decoded(self, view: TokenReading, now: datetime) -> ComposeResult:
        from irsa_explorer.analysis.tokens import DecodedToken  # loaded once a token was read

        decoded = view.decoded
        if not isinstance(decoded, DecodedToken):  # a TokenError: why it is not a readable JWT
            yield row("decode", literal(decoded, "$error"))
            return
        claims = decoded.claims
        yield heading("Claims")
        expected = self.expected
        presented = {"iss": expected.issuer, "sub": expected.subject, "aud": list(expected.audiences)} if expected else {}
        for key in ("iss", "sub", "aud"):
            value = claims.get(key)
            said = presented.get(key)
            if said and (value == said or (key == "aud" and [value] == said)):
                # said once: the pod spec's value above is this claim's
                yield row(key, literal("as the pod spec presents it (above)", "$text-muted"))
            else:
                yield row(key, value if isinstance(value, str) else json_value(value))
        # times as the decoder read them: a claim it could not read (1e20, NaN, a string) is
        # "invalid" with its words, never converted here
        for key, words, attribute in TIME_CLAIMS:
            moment = getattr(decoded, attribute)
            if moment is not None:
                yield ticking_row(words, lambda at, moment=moment: f"{stamp(moment)} ({relative(moment, at)})", now)
            elif key in claims:
                yield row(words, invalid(decoded, key))
        if decoded.expires_at is not None:
            yield ticking_row("remaining", lambda at: self._remaining(decoded, at), now)
        kube = decoded.kubernetes
        if kube is not None:
            yield heading("kubernetes.io")
            yield row("namespace", str(kube.namespace))
            for part, (name, uid) in (("pod", (kube.pod_name, kube.pod_uid)),
                                      ("serviceaccount", (kube.service_account_name, kube.service_account_uid)),
                                      ("node", (kube.node_name, kube.node_uid))):
                if name is not None or uid is not None:
                    yield row(part, line(str(name), (f" uid {shown(uid)}", "$text-muted")))
            if kube.warn_after is not None:
                moment = kube.warn_after
                yield ticking_row("warn after", lambda at: f"{stamp(moment)} ({relative(moment, at)})", now)
            elif isinstance(claims.get("kubernetes.io"), dict) and "warnafter" in claims["kubernetes.io"]:
                yield row("warn after", invalid(decoded, "warnafter"))
        elif "kubernetes.io" in claims:
            yield row("kubernetes.io", invalid(decoded, "kubernetes.io"))
        other = [p for p in decoded.problems if not any(f"'{key}'" in p for key in _SHOWN_CLAIMS)]
        for problem in other:
            yield row("invalid", literal(problem, "$error"))
        yield heading("Header")
        yield row("", json_value(decoded.header))
        yield heading("Signature")
        yield row("", self._signature_words(view.signature))

    @staticmethod
    def _remaining(decoded: DecodedToken, now: datetime) -> Content:
        left = decoded.remaining(now)
        if left is None or left.total_seconds() <= 0:
            return literal("expired", "$error")
        lifetime = decoded.lifetime
        share = f", {left / lifetime:.0%} of its lifetime" if lifetime and lifetime.total_seconds() > 0 else ""
        return literal(f"{relative(decoded.expires_at, now)}{share}", "$success")

    @staticmethod
    def _signature_words(check: SignatureCheck | None) -> Content:
        from irsa_explorer.analysis.tokens import SignatureStatus

        if check is None:
            return literal("cannot check: the cluster's JWKS is not known", "$warning")
        style = {SignatureStatus.VERIFIED: "$success", SignatureStatus.INVALID: "$error"}.get(check.status, "$warning")
        return line((check.status.value, style), f" — {check.reason}" if check.reason else None)


# claims drawn on rows of their own: their problems are said there, the others under "invalid"
_SHOWN_CLAIMS = ("iat", "nbf", "exp", "warnafter", "kubernetes.io")


def invalid(decoded: DecodedToken, key: str) -> Content:
    """'invalid: why' for a claim the decoder could not read (its words, else a generic one)."""
    why = next((p for p in decoded.problems if f"'{key}'" in p), f"claim {key!r} cannot be read")
    return literal(f"invalid: {why}", "$error")


def json_value(value: Any) -> str:
    """A claim or header that is not a string, as one line of JSON: bounded and literal (a
    document nested too deep for the encoder says so instead)."""
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as error:
        return f"(cannot be drawn: {type(error).__name__})"
