"""`e`: the selected pod's or role's triage, to share — a Markdown file (triage.py: the chain,
findings with fixes, the trust evaluation, the `w` runs and the CloudTrail events read) and an
SVG of the screen as it is, both redacted, in the export folder; `E` the same with account IDs
replaced too. The notification says where they are.

Nothing of a token leaves: the Markdown holds none (it is made from the engine's results), and
for the SVG the token panes are drawn once without the raw tokens read (their claims stay),
whatever `s` revealed; what the screenshot then holds is checked — JWT-shaped text and any
piece of a token read is blanked in place, and an SVG that still shows one is not written.
Files are the user's only (0600), in `$IRSA_EXPLORER_EXPORT_DIR` or the current folder —
never a temporary file.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irsa_explorer.analysis.tokens import JWT, find_tokens
from irsa_explorer.model import ObjectRef, Pod
from irsa_explorer.widgets.panes.token import TokenPane

if TYPE_CHECKING:
    from irsa_explorer.screens.view import ViewScreen
    from irsa_explorer.state import ExplorerState

EXPORT_DIR_ENV = "IRSA_EXPLORER_EXPORT_DIR"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_SVG_TEXT = re.compile(r"(<text\b[^>]*>)([^<]*)(</text>)")
_ACCOUNT = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_-]{6,}")
_LONE_PIECE = re.compile(r"^([^A-Za-z0-9_.-]*)([A-Za-z0-9_.-]{2,5})([^A-Za-z0-9_.-]*)$")  # a wrapped token's last line
_BESIDE_BLANK = re.compile(r"[A-Za-z0-9_.-]+(?=▒)|(?<=▒)[A-Za-z0-9_.-]+")


def export_directory(environ: dict[str, str] | None = None) -> Path:
    """Where exports go: `$IRSA_EXPLORER_EXPORT_DIR`, else the folder the explorer runs in."""
    env = os.environ if environ is None else environ
    return Path(env.get(EXPORT_DIR_ENV) or os.getcwd()).expanduser()


def file_stem(kind: str, name: str, at: datetime) -> str:
    """`irsa-triage-pod-default-eks-iam-test3-20261205-023512`: a name any filesystem takes."""
    safe = _UNSAFE_NAME.sub("_", name.replace("/", "-")).strip("._-")[:80] or kind
    return f"irsa-triage-{kind}-{safe}-{at:%Y%m%d-%H%M%S}"


def subject_of(screen: ViewScreen) -> tuple[str, Any] | None:
    """("pod", Pod) or ("role", ARN) for what is selected; a finding is its pod's."""
    state = screen.state
    location = screen.location() if hasattr(screen, "location") else None
    ref: ObjectRef | None = location.ref if location is not None else None
    if ref is None:
        return None
    if ref.kind == "Pod":
        pod = state.pod_by_ref(ref.namespace, ref.name)
        return ("pod", pod) if pod is not None else None
    if ref.kind == "Role":
        return "role", ref.name
    if ref.kind == "Finding" and ref.namespace:  # ObjectRef("Finding", code, "Pod NS/NAME")
        namespace, _, name = ref.namespace.removeprefix("Pod ").partition("/")
        pod = state.pod_by_ref(namespace, name)
        return ("pod", pod) if pod is not None else None
    return None


def trail_of(screen: ViewScreen, key: str) -> Any:
    """The CloudTrail events read for `key` ("pod:UID", "role:ARN") by a pane of this screen:
    None when none were looked up, the Unavailable when they could not be."""
    for pane in screen.query("*"):
        trails = getattr(pane, "trails", None)
        trail = trails.get(key) if isinstance(trails, dict) else None
        if trail is None:
            continue
        if getattr(trail, "failed", None) is not None:
            return trail.failed
        page = getattr(trail, "page", None)
        return list(page.events) if page is not None else None
    return None


def triage_document(screen: ViewScreen, kind: str, what: Any, accounts: bool) -> tuple[dict, str] | str:
    """The triage document and a name for its files, or why there is none yet."""
    from irsa_explorer import triage

    state = screen.state
    inventory = state.inventory
    if inventory is None:
        return "nothing is loaded yet"
    if kind == "pod":
        pod: Pod = what
        chain = state.chains.get(pod.uid)
        if chain is None:
            return f"the chain of {pod.namespace}/{pod.name} is not worked out yet"
        doc = triage.pod_document(inventory, chain, pod, live=state.live_runs.get(pod.uid, ()),
                                  trail=trail_of(screen, f"pod:{pod.uid}"), accounts=accounts)
        return doc, f"{pod.namespace}/{pod.name}"
    assumers = state.assumers.get(what)
    doc = triage.role_document(inventory, state.chains, what, assumers=assumers if assumers else None,
                               trail=trail_of(screen, f"role:{what}"), accounts=accounts)
    return doc, doc["role"]["name"] or what


def _hide_tokens(state: ExplorerState) -> dict[str, Any]:
    """The tokens read, swapped for copies without their raw text; the originals returned."""
    hidden = {}
    for uid, reading in list(state.tokens.items()):
        if getattr(reading, "raw", None):
            hidden[uid] = reading
            state.tokens[uid] = replace(reading, raw=None)
    return hidden


def _restore_tokens(state: ExplorerState, hidden: dict[str, Any]) -> None:
    for uid, reading in hidden.items():
        shown = state.tokens.get(uid)
        if shown is not None and shown is not reading and getattr(shown, "raw", None) is None \
                and getattr(shown, "at", None) == getattr(reading, "at", None):
            state.tokens[uid] = reading  # not when a new reading arrived meanwhile


def tokens_in_view(*roots: Any) -> list[str]:
    """Every JWT-shaped value the store holds (an annotation, an env value, a finding quoting
    one): what a pane may draw, wrapped over lines no pattern can follow, so it is blanked by
    its text. Each object once (the chains share theirs)."""
    from dataclasses import fields, is_dataclass

    found: set[str] = set()
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.update(find_tokens(value))
            continue
        if value is None or isinstance(value, (int, float, bool, datetime)) or id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend(value)
        elif is_dataclass(value):
            stack.extend(getattr(value, f.name, None) for f in fields(value))
    return sorted(found)


def redact_svg(svg: str, tokens: list[str], accounts: bool) -> tuple[str, str | None]:
    """The screenshot's text with JWT-shaped runs and pieces of the tokens read blanked (same
    length: the layout holds), account IDs too if asked; and why it must not be written, if
    anything token-like is left."""
    pieces = [t for t in tokens if t]

    def blank(text: str) -> str:
        # a token, or its start where the screen wrapped it (the pattern needs no dot)
        text = JWT.sub(lambda m: "▒" * len(m.group(0)), text)
        text = _TOKEN_RUN.sub(lambda m: "▒" * len(m.group(0)) if any(m.group(0) in t for t in pieces) else m.group(0), text)
        # a token's first or last few characters beside what was blanked, or on a line of their own
        text = _BESIDE_BLANK.sub(lambda m: "▒" * len(m.group(0)) if any(m.group(0) in t for t in pieces) else m.group(0), text)
        text = _LONE_PIECE.sub(lambda m: m.group(1) + "▒" * len(m.group(2)) + m.group(3)
                               if any(t.endswith(m.group(2)) for t in pieces) else m.group(0), text)
        if accounts:
            text = _ACCOUNT.sub(lambda m: "X" * 12, text)
        return text

    def node(match: re.Match) -> str:
        text = html.unescape(match.group(2))
        return match.group(1) + html.escape(blank(text), quote=False).replace(" ", "&#160;") + match.group(3)

    out = _SVG_TEXT.sub(node, svg)
    shown = "".join(html.unescape(m.group(2)) for m in _SVG_TEXT.finditer(out))
    if "eyJ" in shown or any(t[i:i + 16] in shown for t in pieces for i in range(0, max(len(t) - 15, 1), 8)):
        return out, "the screen shows a token"
    return out, None


async def export_selected(screen: ViewScreen, accounts: bool = False) -> None:
    """`e` / `E` on a view: write the selected pod's or role's triage and an SVG of the screen."""
    app = screen.app
    subject = subject_of(screen)
    if subject is None:
        app.notify("e exports a pod or a role: select one in :pods, :roles or :findings", severity="warning", markup=False)
        return
    made = triage_document(screen, *subject, accounts)
    if isinstance(made, str):
        app.notify(f"Nothing exported: {made}", severity="warning", markup=False)
        return
    doc, name = made
    from irsa_explorer import triage

    markdown = triage.render_markdown(doc)
    state = screen.state
    tokens = [r.raw for r in state.tokens.values() if getattr(r, "raw", None)]
    tokens += tokens_in_view(state.inventory, state.chains, state.live_runs, state.role_policies, state.assumers)
    hidden = _hide_tokens(state)
    panes = list(screen.query(TokenPane))
    for pane in panes:
        # drawn now, without the raw tokens (no rebuild: a recompose scheduled for later would
        # empty the pane again while the screenshot is taken)
        await pane.recompose()

    def restore() -> None:
        _restore_tokens(state, hidden)
        for pane in panes:
            pane.rebuild(None)

    def finish() -> None:
        try:
            svg, refused = redact_svg(app.export_screenshot(title=f"irsa-explorer: {name}"), tokens, accounts)
        except Exception as error:  # the Markdown is still worth having
            svg, refused = None, f"the screenshot failed ({type(error).__name__})"
        finally:
            restore()
        write(app, subject[0], name, markdown, None if refused else svg, refused)

    if not screen.call_after_refresh(finish):  # the screen is closing: nothing is drawn any more
        restore()


def write(app: Any, kind: str, name: str, markdown: str, svg: str | None, svg_refused: str | None) -> list[Path]:
    """The files, the user's only; a notification naming them (or why they could not be written)."""
    from irsa_explorer.triage import write_private

    folder = export_directory()
    stem = file_stem(kind, name, datetime.now())
    written: list[Path] = []
    try:
        written.append(write_private(folder / f"{stem}.md", markdown))
        if svg is not None:
            written.append(write_private(folder / f"{stem}.svg", svg))
    except OSError as error:
        app.notify(f"Export failed: cannot write in {folder}: {error.strerror or error} "
                   f"(set {EXPORT_DIR_ENV} to a folder you can write)", severity="error", markup=False, timeout=15)
        return written
    said = " and ".join(str(path) for path in written)
    note = f" (no SVG: {svg_refused})" if svg_refused else ""
    app.notify(f"Triage of {name} written to {said}{note}", title="Exported", markup=False, timeout=15)
    return written
