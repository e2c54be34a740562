"""`l` on a pod: its containers' recent logs, following while open, AWS errors highlighted and
linked to the finding that explains them.

One container instance at a time (a tab each: init containers, containers, previous instances
of restarted ones); `c` / `C` move between them. What the lines mean is decided by the engine
(`analysis.log_errors.explain_line`) against the pod's chain; this screen renders its answer.
Every line is untrusted: drawn as literal `Content` (never markup) by the one rendering rule
(control characters as their escapes, a token's signature hidden), at most `MAX_SHOWN` lines
per instance (the last ones, and it says so).

Reading is a thread worker per instance (`logs:UID:TARGET`); a running container's is a follow
that stays open until the screen closes, which shuts its stream (`LogFollow.close`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static, Tab, Tabs
from textual.widgets.option_list import Option

from irsa_explorer.analysis.log_errors import LogError, explain_line, first_explained
from irsa_explorer.model import IdentityChain, ObjectRef, Pod, Unavailable
from irsa_explorer.navigation import Location
from irsa_explorer.sources.logs import TAIL_LINES, ContainerLog, LogFollow, LogTarget, follows, log_targets, read_log
from irsa_explorer.widgets.format import shown as shown_text
from irsa_explorer.widgets import live
from irsa_explorer.widgets.prompt_bar import PromptBar

if TYPE_CHECKING:
    from irsa_explorer.app import IrsaExplorerApp
    from irsa_explorer.sources.kube import KubeSource

MAX_SHOWN = 2000  # lines kept per container instance while following (the oldest go first)

def visible(line: str) -> str:
    """A log line as drawn: the one rendering rule (`widgets.format.shown`) — every control
    character, escape sequence and bidi mark as its escape (`\\x1b`), a token's signature hidden.
    Lines are kept in this form, so the engine's spans and the filter work on what is shown."""
    return shown_text(line)


def _target_id(target: LogTarget) -> str:
    return f"log-{'init-' if target.init else ''}{'prev-' if target.previous else ''}{target.container}"


def _tab_label(target: LogTarget) -> str:
    return f"{'init ' if target.init else ''}{target.container}{' (previous)' if target.previous else ''}"


@dataclass
class _Shown:
    """What one container instance has shown so far."""

    target: LogTarget
    lines: deque[str]
    state: str = "loading…"  # "loading…", "following", "read", "ended", or why not (Unavailable)
    unavailable: Unavailable | None = None
    cut: bool = False  # older lines than these exist (tail, byte limit, MAX_SHOWN)
    dropped: int = 0  # lines dropped while following, past MAX_SHOWN


class LogLines(OptionList):
    """The lines of one container instance; enter or a click on an AWS error opens what explains it."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, tooltip="Next line"),
        Binding("up,k", "cursor_up", "Up", show=False, tooltip="Previous line"),
        Binding("home,g", "first", "First", show=False, tooltip="First line"),
        Binding("end,G", "last", "Last", show=False, tooltip="Last line"),
        Binding("n", "next_error", "Next error", id="logs.next_error", tooltip="Next AWS error line (wraps)"),
    ]

    def action_next_error(self) -> None:
        screen = cast("LogsScreen", self.screen)
        rows = sorted(screen.error_rows)
        if not rows:
            self.app.notify("No AWS error in these lines.", severity="warning")
            return
        current = self.highlighted if self.highlighted is not None else -1
        self.highlighted = next((row for row in rows if row > current), rows[0])


class LogsScreen(ModalScreen[None]):
    """The logs of one pod, over the whole screen; esc back to where `l` was pressed."""

    DEFAULT_CSS = """
    LogsScreen { align: left top; }
    LogsScreen > #logs-body { width: 100%; height: 1fr; border: round $primary; border-title-color: $text-accent; }
    LogsScreen #logs-note { height: auto; max-height: 6; padding: 0 1; color: $text-muted; }
    LogsScreen LogLines { height: 1fr; border: none; }
    LogsScreen Tabs { height: 2; }
    """
    BINDINGS = [
        Binding("escape", "close", "Back", id="logs.close", tooltip="Clear the filter, else back to the pod"),
        Binding("c", "container(1)", "Next container", id="logs.next_container", tooltip="The next container's log"),
        Binding("C,shift+c", "container(-1)", "Prev container", show=False, id="logs.previous_container",
                tooltip="The previous container's log"),
    ]

    @dataclass
    class Read(Message):
        """A worker read (or stopped following) one instance's log."""

        target: LogTarget
        log: ContainerLog | None = None  # a whole read; None: a follow's state only
        lines: tuple[str, ...] = ()  # a follow's new lines
        state: str | None = None  # "following", "ended"
        unavailable: Unavailable | None = None

    def __init__(self, pod: Pod, kube: KubeSource) -> None:
        super().__init__(id="logs-screen")
        self.pod, self.kube = pod, kube
        self.targets = log_targets(pod)
        self.shown = {t: _Shown(t, deque(maxlen=MAX_SHOWN)) for t in self.targets}
        self.current: LogTarget | None = self.targets[0] if self.targets else None
        self.needle = ""
        self.error_rows: dict[int, LogError] = {}
        self._follows: list[LogFollow] = []

    @property
    def explorer(self) -> IrsaExplorerApp:
        return cast("IrsaExplorerApp", self.app)

    def chain(self) -> IdentityChain | None:
        return self.explorer.state.chains.get(self.pod.uid)

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="logs-body") as body:
            body.border_title = f"Logs · {self.pod.namespace}/{self.pod.name}"
            body.border_subtitle = f"{self.pod.phase}{'' if self.pod.status in ('', self.pod.phase) else ', ' + self.pod.status}"
            yield Tabs(*(Tab(_tab_label(t), id=_target_id(t)) for t in self.targets), id="logs-tabs")
            yield Static(id="logs-note")
            yield LogLines(id="logs-lines")
        yield PromptBar(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        if self.current is None:
            self.query_one("#logs-note", Static).update(Content("This pod has no containers: no logs to read."))
            return
        for target in self.targets:
            self._start(target)
        self._draw()
        self.query_one(LogLines).focus()

    def on_unmount(self) -> None:
        for follow in self._follows:  # a thread blocked on a quiet stream: its read ends now
            follow.close()

    # -- reading (thread workers) ---------------------------------------------------------------

    def _start(self, target: LogTarget) -> None:
        post, kube, pod = self.post_message, self.kube, self.pod
        if follows(pod, target):
            follow = LogFollow(kube, pod.namespace, pod.name, target)
            self._follows.append(follow)
            work: Callable[[], None] = partial(_follow_log, post, follow)
        else:
            work = partial(_read_log, post, kube, pod, target)
        self.run_worker(work, name=f"logs:{pod.uid}:{_target_id(target)}", group="logs", thread=True,
                        exit_on_error=False, description=f"the log of {target.label}")

    @on(Read)
    def _read(self, message: Read) -> None:
        shown = self.shown.get(message.target)
        if shown is None:
            return
        if message.log is not None:
            if isinstance(message.log.lines, Unavailable):
                shown.unavailable, shown.state = message.log.lines, "unknown"
            else:
                shown.lines.extend(visible(line) for line in message.log.lines)
                shown.cut, shown.state = message.log.cut, "read"
        overflow = 0
        if message.lines:
            overflow = max(0, len(shown.lines) + len(message.lines) - MAX_SHOWN)
            shown.dropped += overflow
            shown.lines.extend(visible(line) for line in message.lines)
            if len(shown.lines) >= TAIL_LINES:
                shown.cut = True  # the follow began with the last TAIL_LINES lines
        if message.state is not None:
            shown.state = message.state
        if message.unavailable is not None:
            shown.unavailable = message.unavailable
        if message.target == self.current:
            # a follow's lines are added at the end; a whole read, or lines that pushed old ones out, redraw
            appended = len(message.lines) if message.log is None and not overflow else None
            self._draw(appended=appended)

    # -- drawing ----------------------------------------------------------------------------------

    def _note(self, shown: _Shown) -> Content:
        parts: list[Content] = []
        if shown.unavailable is not None:
            parts.append(Content.styled(str(shown.unavailable), "$text-warning"))
        elif shown.state == "loading…":
            parts.append(Content("loading…"))
        else:
            count = len(shown.lines)
            said = f"{count} line{'' if count == 1 else 's'}"
            if shown.cut or shown.dropped:
                said += f" — the last ones only (at most {TAIL_LINES} read, {MAX_SHOWN} kept); older lines not shown"
            said += {"following": " · following (new lines appear as the container writes them)",
                     "ended": " · the container stopped: the stream ended", "read": ""}.get(shown.state, "")
            parts.append(Content(said))
        if self.needle:
            matching = len(self._visible_lines(shown))
            parts.append(Content.assemble("filter ", (self.needle, "bold"),
                                          f": {matching} of {len(shown.lines)} lines match (esc clears)"))
        errors = [self.error_rows[row] for row in sorted(self.error_rows)]
        if (first := first_explained(errors)) is not None:
            how = (f"explained by {', '.join(first.findings)}" if first.explained
                   else "no finding of this pod explains it: enter opens its chain")
            parts.append(Content.assemble(
                (f"{len(errors)} AWS error line{'' if len(errors) == 1 else 's'}", "bold $text-error"),
                f" — {first.code}{f' ({first.operation})' if first.operation else ''}: {first.meaning}; {how}. "
                "n: next error · enter: open it"))
        keys = "j k g G: scroll · /: filter · esc: back"
        parts.append(Content.styled(keys + (" · c: next container" if len(self.targets) > 1 else ""), "$text-muted"))
        return Content("\n").join(parts)

    def _option(self, index: int, line: str, error: LogError | None) -> Option:
        text = Content(line)  # already drawn literally (`visible`)
        if error is None:
            return Option(text, id=f"l{index}")
        text = text.stylize("$text-error", 0, len(line)).stylize("bold reverse $error", error.start, error.end)
        chain = self.chain()
        titles = {f.code: f.title for f in chain.findings} if chain is not None else {}
        if error.explained:
            code = error.findings[0]
            link = Content.assemble("  ↳ ", (code, "bold underline $text-accent"), f" {titles.get(code, '')}",
                                    " (enter opens it)")
        else:
            link = Content.assemble("  ↳ ", (error.meaning, "italic"), " — no finding of this pod explains it "
                                    "(enter opens its chain)")
        return Option(text + Content("\n") + link, id=f"e{index}")

    def _visible_lines(self, shown: _Shown) -> list[str]:
        if not self.needle:
            return list(shown.lines)
        needle = self.needle.lower()
        return [line for line in shown.lines if needle in line.lower()]

    def _draw(self, appended: int | None = None) -> None:
        """Draw the current instance; `appended`: only that many new lines at the end (a follow)."""
        if not live(self) or self.current is None:
            return
        shown = self.shown[self.current]
        body = self.query_one(LogLines)
        lines = self._visible_lines(shown)
        chain = self.chain()
        at_end = body.highlighted is None or body.highlighted >= body.option_count - 1
        if appended is not None and not self.needle and not shown.dropped and appended <= len(lines):
            start = len(lines) - appended
            new = [(i, line, explain_line(line, chain)) for i, line in enumerate(lines[start:], start)]
            self.error_rows.update({i: e for i, _, e in new if e is not None})
            body.add_options([self._option(i, line, e) for i, line, e in new])
        else:
            errors = {i: e for i, line in enumerate(lines) if (e := explain_line(line, chain)) is not None}
            self.error_rows = errors
            body.clear_options()
            body.add_options([self._option(i, line, errors.get(i)) for i, line in enumerate(lines)])
            if errors:  # the first AWS error, where the eye should go
                body.highlighted = min(errors)
                at_end = False
        if at_end and body.option_count:
            body.highlighted = body.option_count - 1  # following: stay at the newest line
        self.query_one("#logs-note", Static).update(self._note(shown))

    # -- keys ---------------------------------------------------------------------------------------

    @on(Tabs.TabActivated, "#logs-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        event.stop()
        target = next((t for t in self.targets if _target_id(t) == event.tab.id), None)
        if target is not None and target != self.current:
            self.current = target
            self._draw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "container":  # one container instance: nothing to move to, not offered
            return len(self.targets) > 1
        return super().check_action(action, parameters)

    def action_container(self, step: int) -> None:
        if len(self.targets) < 2 or self.current is None:
            return
        index = (self.targets.index(self.current) + step) % len(self.targets)
        self.query_one(Tabs).active = _target_id(self.targets[index])

    def action_close(self) -> None:
        if self.needle:
            self.needle = ""
            self._draw()
            return
        self.dismiss(None)

    @on(PromptBar.Entered)
    def _filtered(self, message: PromptBar.Entered) -> None:
        message.stop()
        self.query_one(LogLines).focus()
        if message.mode == "filter":
            self._filter(message.text)
        else:
            from irsa_explorer.commands import run_command

            run_command(self.explorer, message.text)

    @on(PromptBar.FilterChanged)
    def _filter_typed(self, message: PromptBar.FilterChanged) -> None:
        message.stop()
        self._filter(message.text)  # the lines follow each key, as the pods table does

    def _filter(self, needle: str) -> None:
        if needle != self.needle:
            self.needle = needle
            self._draw()

    @on(OptionList.OptionSelected, "#logs-lines")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        error = self.error_rows.get(event.option_index)
        if error is None:
            return
        app, pod = self.explorer, self.pod
        self.dismiss(None)
        if error.explained:
            app.go(Location("findings", ObjectRef("Finding", error.findings[0], str(pod.ref))))
        else:
            from irsa_explorer.commands import focus_chain

            app.go(Location("pods", pod.ref))
            app.call_after_refresh(focus_chain, app)


def _read_log(post: Callable[[Message], Any], kube: KubeSource, pod: Pod, target: LogTarget) -> None:
    post(LogsScreen.Read(target, read_log(kube, pod.namespace, pod.name, target)))


def _follow_log(post: Callable[[Message], Any], follow: LogFollow) -> None:
    target = follow.target
    post(LogsScreen.Read(target, state="following"))
    for batch in follow.batches():
        post(LogsScreen.Read(target, lines=tuple(batch)))
    post(LogsScreen.Read(target, state="ended", unavailable=follow.ended))


def open_logs(app: IrsaExplorerApp, pod: Pod | None) -> None:
    """`l`: the pod's logs over the pods view (esc returns)."""
    if pod is None:
        app.notify("Select a pod first.", severity="warning")
        return
    if app.sources is None:
        app.notify("Not connected to a cluster yet.", severity="warning")
        return
    app.push_screen(LogsScreen(pod, app.sources.kube))
