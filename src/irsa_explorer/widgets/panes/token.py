"""Token pane: which token, its decoded header and claims, times in words, the signature check.

The raw JWT is read only when the user asks (`t` projected IRSA token via exec `cat`, `p` the
EKS Pod Identity token, `d` the default token, `T` a fresh TokenRequest after confirming). Its signature stays masked until
`s` reveals it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message

from irsa_explorer.messages import post_up
from irsa_explorer.model import IRSA_VOLUME, POD_IDENTITY_VOLUME, ExpectedToken, Pod
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.format import relative, stamp
from irsa_explorer.widgets.panes.detail import DetailPane, heading, note, row, ticking_row

if TYPE_CHECKING:
    from irsa_explorer.analysis.tokens import SignatureCheck
    from irsa_explorer.sources.livecheck import TokenReading

TIME_CLAIMS = (("iat", "issued"), ("nbf", "not before"), ("exp", "expires"))


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
        self.loading_which: str | None = None
        self.expected: ExpectedToken | None = None  # the chain's token for the pod

    def show(self, state: ExplorerState, pod: Pod | None) -> None:
        if pod is None or self.pod is None or pod.uid != self.pod.uid:
            self.revealed = False
        self.state, self.pod = state, pod
        uid = pod.uid if pod else None
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
            irsa = {IRSA_VOLUME: " [$success](IRSA)[/]", POD_IDENTITY_VOLUME: " [$success](Pod Identity)[/]"}.get(
                token.volume, ""
            )
            # kube-api-access-<random>: the suffix means nothing to a reader
            volume = "kube-api-access-…" if token.volume.startswith("kube-api-access-") else token.volume
            yield row(volume, f"{escape(token.path)} · aud {escape(aud)} · {life}{irsa}")
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
            yield row("read from", escape(view.path))
        if view.at:
            yield row("read at", stamp(view.at))
        if view.error:
            yield row("error", f"[$error]{escape(view.error)}[/]")
            return
        # the claims first: they are what is read; the raw token after them
        yield from self._decoded(view, state.now())
        if view.raw:
            yield heading("Raw token")
            if self.revealed:
                yield row("", escape(view.raw))
            else:
                yield row("", escape(mask(view.raw)) + " [$text-muted](s reveals the signature)[/]")

    @staticmethod
    def _expected(token: ExpectedToken) -> ComposeResult:
        """The claims the pod's token carries by its spec: what the chain was worked out with."""
        yield heading("What it presents (from the pod spec)")
        yield row("file", escape(token.path))
        yield row("iss", escape(token.issuer or "unknown: the cluster's issuer is not known"))
        yield row("sub", escape(token.subject))
        yield row("aud", escape(", ".join(token.audiences)))

    def _decoded(self, view: TokenReading, now: datetime) -> ComposeResult:
        from irsa_explorer.analysis.tokens import DecodedToken  # loaded once a token was read

        decoded = view.decoded
        if not isinstance(decoded, DecodedToken):  # a TokenError: why it is not a readable JWT
            yield row("decode", f"[$error]{escape(str(decoded))}[/]")
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
                yield row(key, "[$text-muted]as the pod spec presents it (above)[/]")
            else:
                yield row(key, escape(value if isinstance(value, str) else json.dumps(value)))
        for key, words in TIME_CLAIMS:
            value = claims.get(key)
            if isinstance(value, (int, float)):
                moment = datetime.fromtimestamp(value, timezone.utc)
                yield ticking_row(words, lambda at, moment=moment: f"{stamp(moment)} ({relative(moment, at)})", now)
        exp = claims.get("exp")
        if isinstance(exp, (int, float)):
            yield ticking_row("remaining", lambda at: self._remaining(claims, exp, at), now)
        kube = claims.get("kubernetes.io")
        if isinstance(kube, dict):
            yield heading("kubernetes.io")
            yield row("namespace", escape(str(kube.get("namespace"))))
            for part in ("pod", "serviceaccount", "node"):
                value = kube.get(part)
                if isinstance(value, dict):
                    yield row(part, f"{escape(str(value.get('name')))} [$text-muted]uid {escape(str(value.get('uid')))}[/]")
            if isinstance(kube.get("warnafter"), (int, float)):
                moment = datetime.fromtimestamp(kube["warnafter"], timezone.utc)
                yield ticking_row("warn after", lambda at: f"{stamp(moment)} ({relative(moment, at)})", now)
        yield heading("Header")
        yield row("", escape(json.dumps(decoded.header, sort_keys=True)))
        yield heading("Signature")
        yield row("", self._signature_words(view.signature))

    @staticmethod
    def _remaining(claims: dict, exp: float, now: datetime) -> str:
        left = exp - now.timestamp()
        if left <= 0:
            return "[$error]expired[/]"
        iat = claims.get("iat")
        share = ""
        if isinstance(iat, (int, float)) and exp > iat:
            share = f", {left / (exp - iat):.0%} of its lifetime"
        return f"[$success]{relative(datetime.fromtimestamp(exp, timezone.utc), now)}{share}[/]"

    @staticmethod
    def _signature_words(check: SignatureCheck | None) -> str:
        from irsa_explorer.analysis.tokens import SignatureStatus

        if check is None:
            return "[$warning]cannot check: the cluster's JWKS is not known[/]"
        style = {SignatureStatus.VERIFIED: "$success", SignatureStatus.INVALID: "$error"}.get(check.status, "$warning")
        text = f"[{style}]{escape(check.status.value)}[/]"
        return f"{text} — {escape(check.reason)}" if check.reason else text
