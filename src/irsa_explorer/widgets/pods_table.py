"""The pods table: one row per pod, drawn from the state on demand, so ten thousand pods cost
what the forty rows on screen cost.

Why not Textual's DataTable: it keeps its own copy of every cell, measures each new cell and
walks its rows on redraws. With 10,000 pods that is seconds of event-loop time while pages and
verdicts arrive (bench/: 8.6 s to every verdict, key presses waiting up to 1.5 s). Here the
table holds only the sorted, filtered list of pod uids and each column's width; a row's cells
are made from the pod and its chain when the row is drawn (`render_line`, Textual's line API),
so a verdict arriving is a redraw of the visible rows, and a page of pods an append.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from irsa_explorer.model import IdentityChain, Mechanism, Pod, Verdict
from irsa_explorer.pods_query import PodQuery, parse
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.format import MECHANISM_WORDS, VERDICT_RICH, VERDICT_STYLE, age, shown


@dataclass(frozen=True)
class Column:
    """A column of the table. Which columns show, and how wide, is worked out for the width
    there is (`PodsTable.layout`): by `priority` (0: always; the higher, the sooner dropped),
    each first at its `comfort` width (never more than its widest cell), then the room left
    grows them to their widest cell. A cell wider than its column is cut with an ellipsis —
    in the middle for names (`middle`), whose ends tell them apart."""

    key: str
    label: str
    short: str  # the label when the column is narrower than `label`
    priority: int
    minimum: int  # narrowest it is shown (unless its widest cell is narrower)
    comfort: int
    fixed: int | None = None  # always this wide (words that change after the row is shown)
    middle: bool = False
    right: bool = False
    cap: int | None = None  # never wider than this (None: its widest cell)


# The verdict right after the pod's name: it is the answer. Phase, restarts and age before
# mechanism, service account and node: a half-screen table (120 columns) keeps them.
COLUMNS = (
    Column("namespace", "Namespace", "NS", 2, 6, 12, middle=True),
    Column("pod", "Pod", "Pod", 0, 10, 20, middle=True),
    Column("verdict", "Verdict", "Verdict", 0, 9, 9, fixed=9),
    Column("phase", "Phase", "Phase", 1, 5, 9, cap=18),
    Column("restarts", "Restarts", "Rst", 3, 3, 3, right=True),
    Column("age", "Age", "Age", 1, 5, 5, fixed=5),
    Column("mechanism", "Mechanism", "Mechanism", 4, 11, 11, fixed=11),
    Column("sa", "Service account", "SA", 5, 8, 16, middle=True),
    Column("node", "Node", "Node", 6, 8, 14, middle=True),
)
COLUMN = {column.key: index for index, column in enumerate(COLUMNS)}
# The room left once the columns are chosen goes to these first, up to their widest cell: a
# phase whole (CrashLoopBackOff) before the rest of a long name.
GROW_ORDER = ("phase", "pod", "namespace", "sa", "node", "restarts")

# The table's own words where the panes' are longer than the column ("Pod Identity").
TABLE_MECHANISM_WORDS = {**MECHANISM_WORDS, Mechanism.POD_IDENTITY: "PodIdentity"}
GAP = 1  # blank cells between columns, and before the first
PENDING = "…"  # mechanism and verdict before the chain is resolved
VERDICT_STYLES: dict[Verdict | None, Style] = {
    **{verdict: Style.parse(style) for verdict, style in VERDICT_RICH.items()},
    None: Style(dim=True),
}
# Worst first: what triage looks at. A pod whose chain is still being worked out goes last.
VERDICT_RANK: dict[Verdict | None, int] = {
    Verdict.BROKEN: 0, Verdict.UNKNOWN: 1, Verdict.WARNING: 2, Verdict.OK: 3, None: 4,
}
SORT_ARROWS = ("↓", "↑")  # the column sorted on, in its first order / reversed

# kubectl STATUS words of a pod that failed or cannot run; of one not (yet) running
_FAILED_STATUSES = {
    "Error", "Failed", "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "OOMKilled",
    "CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "ContainerCannotRun",
    "RunContainerError", "Evicted", "DeadlineExceeded", "StartError", "ContainerStatusUnknown",
}
_WAITING_STATUSES = {"Pending", "ContainerCreating", "PodInitializing", "Terminating", "Unknown"}
PHASE_STYLES = {"failed": Style(color="red", bold=True), "waiting": Style(color="yellow"), "done": Style(dim=True)}


def phase_kind(pod: Pod) -> str:
    """How the pod stands, for its colour: "failed" (its phase is Failed, or kubectl's STATUS
    names an error), "waiting", "done" (completed) or "running"."""
    status = pod.status or pod.phase
    if pod.phase == "Failed" or status in _FAILED_STATUSES or status.startswith(("ExitCode:", "Signal:")):
        return "failed"
    if status.startswith("Init:"):
        step = status.removeprefix("Init:")
        return "waiting" if "/" in step and step.replace("/", "").isdigit() else "failed"
    if pod.phase == "Succeeded" or status == "Completed":
        return "done"
    if pod.phase in ("Pending", "Unknown") or status in _WAITING_STATUSES:
        return "waiting"
    return "running"


_PHASE_RANK = {"failed": 0, "waiting": 1, "running": 2, "done": 3}


NAME_LIMIT = 253  # the longest name Kubernetes allows (a DNS subdomain)


def literal(text: str, limit: int = 80) -> str:
    """A cluster's words as one line of printable text: the API server checks names, not a
    status's reason, which must not reach the terminal as control codes; bounded in size."""
    text = text[:limit]
    return text if text.isprintable() else shown(text, limit=limit)  # the TUI's one sanitiser: `\x1b`, visibly


def short_node(name: str | None) -> str:
    """A node's name without the domain EKS appends (`.us-east-2.compute.internal`): the
    host part is what tells nodes apart, and the column stays narrow."""
    if not name:
        return "-"
    return name.split(".", 1)[0]


def row_words(pod: Pod, chain: IdentityChain | None) -> str:
    """What a text filter looks in: the row's words, in lower case."""
    return " ".join(
        [
            pod.namespace,
            pod.name,
            pod.service_account,
            pod.node_name or "",
            pod.status,
            chain.mechanism.value if chain else "",
            chain.verdict.value if chain else "",
        ]
    ).lower()


def pod_matches(pod: Pod, needle: str | PodQuery, state: ExplorerState) -> bool:
    """Whether the pod is one the filter keeps (`text`, `!text`, `-l selector`)."""
    query = parse(needle) if isinstance(needle, str) else needle
    if not query.active:
        return True
    return query.matches(row_words(pod, state.chains.get(pod.uid)) if query.text else "", pod.labels)


def mechanism_word(chain: IdentityChain | None) -> str:
    return TABLE_MECHANISM_WORDS.get(chain.mechanism, chain.mechanism.value) if chain else PENDING


def verdict_word(chain: IdentityChain | None) -> str:
    return VERDICT_STYLE[chain.verdict][0] if chain else PENDING


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis. Kubernetes names,
    phases and our own words are ASCII, so a character is a cell."""
    if len(text) <= width:
        return text.ljust(width)
    return text[: width - 1] + "…" if width > 0 else ""


def fit_middle(text: str, width: int) -> str:
    """`text` in exactly `width` cells, cut in the middle (`eks-iam-…-test1`): a pod's name
    starts with its workload's and ends with what tells its replicas apart."""
    if len(text) <= width:
        return text.ljust(width)
    if width <= 2:
        return text[:width - 1] + "…" if width > 0 else ""
    # the last `-part` whole (a replica's suffix, `-test1`) while the head keeps as much
    dash = text.rfind("-")
    tail = len(text) - dash if 0 < dash and len(text) - dash <= (width - 1) // 2 else (width - 1) // 2
    head = width - 1 - tail
    # a head that ends a few characters into a part (a ReplicaSet's hash) ends before it
    cut = text.rfind("-", 0, head) + 1
    if cut > 1 and head - cut <= 3:
        head = cut
    return (text[:head] + "…" + text[len(text) - tail:]).ljust(width)


SortKey = Callable[[Pod], tuple]


def sort_key(column: str, state: ExplorerState) -> SortKey:
    """The key rows sort on for `column` in its first order (worst verdict, first-listed
    namespace and name, youngest, most restarts, failed phases first); namespace and name
    break ties."""
    chains = state.chains
    if column == "verdict":
        return lambda p: (VERDICT_RANK[c.verdict if (c := chains.get(p.uid)) else None], p.namespace, p.name)
    if column == "pod":
        return lambda p: (p.name, p.namespace)
    if column == "phase":
        return lambda p: (_PHASE_RANK[phase_kind(p)], p.status or p.phase, p.namespace, p.name)
    if column == "restarts":
        return lambda p: (-p.restarts, p.namespace, p.name)
    if column == "age":
        return lambda p: (-p.created.timestamp() if p.created else float("inf"), p.namespace, p.name)
    if column == "mechanism":
        return lambda p: (mechanism_word(chains.get(p.uid)), p.namespace, p.name)
    if column == "sa":
        return lambda p: (p.namespace, p.service_account, p.name)
    if column == "node":
        return lambda p: (p.node_name or "~", p.namespace, p.name)
    return lambda p: (p.namespace, p.name)


class PodsTable(ScrollView, can_focus=True):
    """Pods sorted by a column (`sort_by`; worst verdict first until told otherwise), filtered
    by a query and a verdict. `sync(state, filter)` brings the rows in line with the state;
    `add_pods` appends a page while loading. The cursor stays on its pod through all of them."""

    COMPONENT_CLASSES = {"pods-table--header", "pods-table--cursor"}
    DEFAULT_CSS = """
    PodsTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        &:focus {
            background-tint: $foreground 5%;
            & > .pods-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .pods-table--header { background-tint: $foreground 5%; }
        }
        & > .pods-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .pods-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .pods-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="pods.open", tooltip="Show this pod's chain"),
        Binding("up,k", "cursor_up", "Up", show=False, tooltip="Previous pod"),
        Binding("down,j", "cursor_down", "Down", show=False, tooltip="Next pod"),
        Binding("pageup", "page_up", "Page up", show=False, tooltip="A screenful up"),
        Binding("pagedown", "page_down", "Page down", show=False, tooltip="A screenful down"),
        Binding("home,g", "first", "First", show=False, tooltip="First pod"),
        Binding("end,G", "last", "Last", show=False, tooltip="Last pod"),
    ]

    class RowHighlighted(Message):
        """The cursor is on another pod (or on none: `uid` None)."""

        def __init__(self, table: PodsTable, uid: str | None, row: int) -> None:
            super().__init__()
            self.table, self.uid, self.cursor_row = table, uid, row

        @property
        def control(self) -> PodsTable:
            return self.table

    class RowSelected(Message):
        """Enter (or a click) on the pod under the cursor."""

        def __init__(self, table: PodsTable, uid: str, row: int) -> None:
            super().__init__()
            self.table, self.uid, self.cursor_row = table, uid, row

        @property
        def control(self) -> PodsTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._state: ExplorerState | None = None
        self._needle = ""
        self._query = PodQuery()
        self.verdict_filter: Verdict | None = None  # only pods with this verdict (None: every verdict)
        self.sort_column, self.sort_reversed = "verdict", False
        self._order: list[str] = []  # uids shown, in row order
        self._index: dict[str, int] | None = None  # uid → row, rebuilt when first asked after a change
        self._widths = self._label_widths()  # each column's widest cell so far
        self._layout: tuple[int, list[tuple[int, int]]] | None = None  # (width, [(column, width)])
        self._namespace_shown = True  # False when the view is one namespace (k9s: no NAMESPACE column)
        self._cursor = 0
        self._chosen = False  # a pod chosen (a key, a click, a link): resort keeps to it, even at the top
        self._highlighted: str | None = None  # the uid last announced by RowHighlighted
        self._empty_message = ""
        self._synced_filter: tuple[str, Verdict | None] = ("", None)

    # -- what the screen calls ----------------------------------------------------------------

    @property
    def empty_message(self) -> str:
        """What the table says when it has no rows (why, and what to do next)."""
        return self._empty_message

    @empty_message.setter
    def empty_message(self, message: str) -> None:
        if message != self._empty_message:
            self._empty_message = message
            self._layout_changed()

    @property
    def query(self) -> PodQuery:
        """The text filter as parsed (its `error` says why a selector could not be read)."""
        return self._query

    @property
    def filtering(self) -> bool:
        """Whether a filter (text, selector or verdict) hides pods."""
        return self._query.active or self.verdict_filter is not None

    def sync(self, state: ExplorerState, needle: str = "") -> None:
        """Rows for every pod of the state that matches `needle` (and `verdict_filter`),
        sorted; the cursor stays on its pod. When that pod is gone the cursor stays on the same
        row, or goes to the first match when the filter changed (the old row number means
        nothing among new matches)."""
        refiltered = (needle, self.verdict_filter) != self._synced_filter
        self._synced_filter = (needle, self.verdict_filter)
        if needle != self._query.source:
            self._query = parse(needle)
        self._state, self._needle = state, needle
        selected = self.selected_uid
        shown = [pod for pod in state.pods.values() if self._keeps(pod)] if self.filtering else list(state.pods.values())
        shown.sort(key=self._key(), reverse=self.sort_reversed)
        self._order = [pod.uid for pod in shown]
        self._index = None
        self._chosen = self._chosen and bool(shown)  # none left (a new load): the next load's top again
        self._widths = self._label_widths()
        self._measure(shown)
        self._layout_changed()
        row = self.row_index(selected) if selected else None
        if row is None and refiltered:
            self._set_cursor(0, scroll=True)
        else:
            self._set_cursor(self._cursor if row is None else row, scroll=row is not None)

    def resort(self) -> None:
        """The same rows in the order their sort column says now (verdicts arrived). The
        cursor stays on its pod, or at the top when it was there (where the load left it:
        the worst pod is what to see first)."""
        if self._state is None or not self._order:
            return
        selected, pods, key = self.selected_uid, self._state.pods, self._key()
        self._order.sort(key=lambda uid: key(pods[uid]), reverse=self.sort_reversed)
        self._index = None
        self.refresh()
        row = self.row_index(selected) if selected and (self._cursor or self._chosen) else 0
        self._set_cursor(self._cursor if row is None else row, scroll=row is not None)

    def sort_by(self, column: str) -> None:
        """Sort on `column`; on the column sorted on already, the other way round."""
        if column == self.sort_column:
            self.sort_reversed = not self.sort_reversed
        else:
            self.sort_column, self.sort_reversed = column, False
        self._layout = None  # the header's arrow moves
        self.resort()

    def add_pods(self, state: ExplorerState, pods: list[Pod]) -> None:
        """A page of new pods while loading: appended (sorted in when out of order)."""
        self._state = state
        # (a page that arrives after a full sync already has its rows)
        new = [pod for pod in pods if self.row_index(pod.uid) is None and self._keeps(pod)]
        if not new:
            return
        selected = self.selected_uid
        order, everything, key, reverse = self._order, state.pods, self._key(), self.sort_reversed
        last = everything.get(order[-1]) if order else None
        new.sort(key=key, reverse=reverse)
        order.extend(pod.uid for pod in new)
        if last is not None and _before(key(new[0]), key(last), reverse):
            order.sort(key=lambda uid: key(everything[uid]), reverse=reverse)  # rare: pages come sorted
            self._index = None
        elif self._index is not None:
            start = len(order) - len(new)
            self._index.update((uid, start + i) for i, uid in enumerate(order[start:]))
        self._measure(new)
        self._layout_changed()
        row = self.row_index(selected) if selected else None
        self._set_cursor(self._cursor if row is None else row, scroll=False)

    def pods_changed(self, state: ExplorerState, added: list[Pod], removed: set[str], moved: set[str] = frozenset()) -> None:
        """Watch events: rows for new pods sorted in, rows of pods gone taken out, the rows of
        pods that changed (`moved`: their verdict or phase may sort them elsewhere) put where
        they go now, every row on screen redrawn; no pass over every pod unless a filter is on
        (what matches it may have changed). The cursor stays on its pod, or on its row when
        that pod is gone."""
        if self.filtering:
            self.sync(state, self._needle)
            return
        self._state = state
        selected, order, pods = self.selected_uid, self._order, state.pods
        moving = [pods[uid] for uid in moved if uid in pods]
        if len(moving) + len(added) > len(order) // 8 + 64:  # a good part of them: one sort is cheaper
            self.sync(state, self._needle)
            return
        if removed or moving:
            gone = removed | {pod.uid for pod in moving}
            order[:] = [uid for uid in order if uid not in gone]
            self._index = None
        shown = set(order) if added or moving else set()
        key, reverse = self._key(), self.sort_reversed
        for pod in sorted([*added, *moving], key=key, reverse=reverse):
            if pod.uid not in shown:
                order.insert(_insertion_point(order, key(pod), lambda uid: key(pods[uid]), reverse), pod.uid)
                shown.add(pod.uid)
                self._index = None
        self._measure(added)
        self._measure(moving)
        self._layout_changed()
        row = self.row_index(selected) if selected in pods else None
        self._set_cursor(self._cursor if row is None else row, scroll=False)

    def verdict_counts(self) -> Counter:
        """How many pods (of the state, whatever the filter) have each verdict; None: their
        chain is still being worked out."""
        if self._state is None:
            return Counter()
        chains = self._state.chains
        return Counter(c.verdict if (c := chains.get(uid)) else None for uid in self._state.pods)

    def next_with(self, verdict: Verdict, step: int = 1) -> int | None:
        """The row of the next pod (`step` -1: the previous) with `verdict` after the cursor,
        wrapping round; None when no row has it."""
        count, chains, order = len(self._order), self._state.chains if self._state else {}, self._order
        for offset in range(1, count + 1):
            row = (self._cursor + step * offset) % count
            chain = chains.get(order[row])
            if chain is not None and chain.verdict is verdict:
                return row
        return None

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def selected_uid(self) -> str | None:
        return self._order[self._cursor] if 0 <= self._cursor < len(self._order) else None

    def row_index(self, uid: str) -> int | None:
        if self._index is None:
            self._index = {uid: row for row, uid in enumerate(self._order)}
        return self._index.get(uid)

    def select_uid(self, uid: str) -> bool:
        row = self.row_index(uid)
        if row is None:
            return False
        self.move_cursor(row=row)
        return True

    def move_cursor(self, *, row: int) -> None:
        self._chosen = True
        self._set_cursor(row, scroll=True)

    def row_cells(self, uid: str) -> dict[str, str]:
        """What row `uid` shows, by column key (as drawn, before fitting to widths)."""
        state = self._state
        pod = state.pods[uid]
        chain = state.chains.get(uid)
        return {
            "namespace": literal(pod.namespace, NAME_LIMIT),  # checked by a real API server, not by a proxy in between
            "pod": literal(pod.name, NAME_LIMIT),
            "verdict": verdict_word(chain),
            "phase": literal(pod.status or pod.phase),
            "restarts": str(pod.restarts),
            "age": age(pod.created, state.now()),
            "mechanism": mechanism_word(chain),
            "sa": literal(pod.service_account, NAME_LIMIT),
            "node": literal(short_node(pod.node_name), NAME_LIMIT),
        }

    def get_row(self, uid: str) -> tuple[str, ...]:
        """Row `uid`'s cells in column order."""
        cells = self.row_cells(uid)
        return tuple(cells[column.key] for column in COLUMNS)

    def get_row_at(self, row: int) -> tuple[str, ...]:
        return self.get_row(self._order[row])

    def shown_columns(self) -> list[str]:
        """The keys of the columns drawn at the table's width now."""
        return [COLUMNS[index].key for index, _ in self.layout(self.scrollable_content_region.width)]

    # -- keys and mouse -----------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self._cursor - self._visible_rows())

    def action_page_down(self) -> None:
        self.move_cursor(row=self._cursor + self._visible_rows())

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def action_select_cursor(self) -> None:
        uid = self.selected_uid
        if uid is not None:
            self.post_message(self.RowSelected(self, uid, self._cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:  # the border (its counts are links of their own)
            return
        if offset.y == 0:  # a column's header: sort on it (again: the other way round)
            x = GAP
            for index, w in self.layout(self.scrollable_content_region.width):
                if x <= offset.x < x + w + GAP:
                    self.sort_by(COLUMNS[index].key)
                    return
                x += w + GAP
            return
        row = int(self.scroll_y) + offset.y - 1
        if not 0 <= row < len(self._order):
            return
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row=row)

    # -- layout -------------------------------------------------------------------------------

    def layout(self, width: int) -> list[tuple[int, int]]:
        """(column, width) of the columns drawn in `width` cells, left to right. By priority,
        each at its comfort width while they fit; the pod and verdict columns always (the
        verdict whole, the pod's name cut as narrow as it must); then the room left grows
        them toward their widest cells."""
        if self._layout is not None and self._layout[0] == width:
            return self._layout[1]
        widest = self._widths
        narrowest = [col.fixed or min(col.minimum, widest[i]) for i, col in enumerate(COLUMNS)]
        comfortable = [col.fixed or min(col.comfort, widest[i]) for i, col in enumerate(COLUMNS)]
        chosen: dict[int, int] = {}
        used = GAP
        for i in sorted(range(len(COLUMNS)), key=lambda i: COLUMNS[i].priority):
            if i == COLUMN["namespace"] and not self._namespace_shown:
                continue
            if used + comfortable[i] + GAP <= width or COLUMNS[i].priority == 0:
                chosen[i] = comfortable[i]
                used += comfortable[i] + GAP
        # too wide with the columns that always show: the flexible ones down to their narrowest,
        # then the others dropped, lowest priority first, then the pod's name narrower still
        for i in sorted(chosen, key=lambda i: -COLUMNS[i].priority):
            if used > width and not COLUMNS[i].fixed:
                cut = min(used - width, chosen[i] - narrowest[i])
                chosen[i] -= cut
                used -= cut
        for i in sorted(chosen, key=lambda i: -COLUMNS[i].priority):
            if used > width and COLUMNS[i].priority > 0:
                used -= chosen.pop(i) + GAP
        pod = COLUMN["pod"]
        if used > width:
            cut = min(used - width, chosen[pod] - 1)
            chosen[pod] -= cut
            used -= cut
        # room left: toward the widest cell (and the whole label), in GROW_ORDER
        for key in GROW_ORDER:
            i = COLUMN[key]
            if i in chosen and used < width:
                target = max(widest[i], len(self._label(i, len(COLUMNS[i].label) + 1)))
                target = min(target, COLUMNS[i].cap or target)
                grow = max(0, min(width - used, target - chosen[i]))
                chosen[i] += grow
                used += grow
        self._layout = (width, sorted(chosen.items()))
        return self._layout[1]

    def show_namespace(self, shown: bool) -> None:
        """The Namespace column: shown across namespaces, not in a view of one (as k9s)."""
        if shown != self._namespace_shown:
            self._namespace_shown = shown
            self._layout_changed()

    def _label(self, index: int, width: int) -> str:
        """Column `index`'s header in `width` cells: its label or short label, with the sort
        arrow on the column sorted on."""
        column = COLUMNS[index]
        arrow = SORT_ARROWS[self.sort_reversed] if column.key == self.sort_column else ""
        label = column.label if len(column.label) + len(arrow) <= width else column.short
        return label + arrow

    # -- drawing ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_y = self.scroll_offset.y
        base = self.rich_style
        if y == 0:
            segments = self._header_segments(width)
            style = base + self.get_component_rich_style("pods-table--header")
        else:
            row = scroll_y + y - 1
            if not self._order and self.empty_message:
                return self._message_line(y - 1, width, base)
            if not 0 <= row < len(self._order) or self._state is None:
                return Strip.blank(width, base)
            cursor = row == self._cursor
            # the cursor's row in the cursor's colours alone: a red verdict on a blue bar is unreadable
            segments = self._row_segments(self._order[row], width, coloured=not cursor)
            style = base
            if cursor:
                style += self.get_component_rich_style("pods-table--cursor")
        strip = Strip(segments).crop(0, width).extend_cell_length(width)
        return strip.apply_style(style)

    def _message_lines(self, width: int) -> list[str]:
        return [wrapped for paragraph in self._empty_message.splitlines()
                for wrapped in (textwrap.wrap(paragraph, max(10, width - 2), break_on_hyphens=False) or [""])]

    def _message_line(self, line: int, width: int, base: Style) -> Strip:
        lines = self._message_lines(width)
        text = lines[line] if line < len(lines) else ""
        return Strip([Segment(" " * GAP + text, Style(italic=line == 0))]).crop(0, width).extend_cell_length(width).apply_style(base)

    def _header_segments(self, width: int) -> list[Segment]:
        segments = [Segment(" " * GAP)]
        for index, w in self.layout(width):
            label = self._label(index, w)
            text = label.rjust(w) if COLUMNS[index].right else fit(label, w)
            segments.append(Segment(text + " " * GAP))
        return segments

    def _row_segments(self, uid: str, width: int, coloured: bool = True) -> list[Segment]:
        pod = self._state.pods.get(uid)
        if pod is None:  # removed between a change and the redraw that follows it
            return []
        cells = self.row_cells(uid)
        chain = self._state.chains.get(uid)
        gap = " " * GAP
        segments = [Segment(gap)]
        for index, w in self.layout(width):
            column = COLUMNS[index]
            text = cells[column.key]
            if column.right:
                cell = text.rjust(w) if len(text) <= w else fit(text, w)
            elif column.middle:
                cell = fit_middle(text, w)
            else:
                cell = fit(text, w)
            style = None
            if column.key == "verdict":
                style = VERDICT_STYLES[chain.verdict if chain else None]
            elif column.key == "mechanism" and chain is None:
                style = VERDICT_STYLES[None]
            elif column.key == "phase":
                style = PHASE_STYLES.get(phase_kind(pod))
            elif column.key == "restarts" and pod.restarts:
                style = PHASE_STYLES["waiting"]
            segments += [Segment(cell, style if coloured else None), Segment(gap)]
        return segments

    # -- internals ----------------------------------------------------------------------------

    def _key(self) -> SortKey:
        return sort_key(self.sort_column, self._state) if self._state is not None else (lambda pod: (pod.namespace, pod.name))

    def _keeps(self, pod: Pod) -> bool:
        if self.verdict_filter is not None:
            chain = self._state.chains.get(pod.uid)
            if chain is None or chain.verdict is not self.verdict_filter:
                return False
        return pod_matches(pod, self._query, self._state)

    @staticmethod
    def _label_widths() -> list[int]:
        return [col.fixed or len(col.short) for col in COLUMNS]

    def _measure(self, pods: list[Pod]) -> None:
        """Widen the measured columns to fit `pods` (fixed columns keep their widths)."""
        if not pods:
            return
        w, at = self._widths, COLUMN
        before = list(w)
        w[at["namespace"]] = max(w[at["namespace"]], max(len(literal(p.namespace, NAME_LIMIT)) for p in pods))
        w[at["pod"]] = max(w[at["pod"]], max(len(literal(p.name, NAME_LIMIT)) for p in pods))
        w[at["sa"]] = max(w[at["sa"]], max(len(literal(p.service_account, NAME_LIMIT)) for p in pods))
        w[at["node"]] = max(w[at["node"]], max(len(literal(short_node(p.node_name), NAME_LIMIT)) for p in pods))
        w[at["phase"]] = max(w[at["phase"]], max(len(literal(p.status or p.phase)) for p in pods))
        w[at["restarts"]] = max(w[at["restarts"]], max(len(str(p.restarts)) for p in pods))
        if w != before:
            self._layout = None

    def _layout_changed(self) -> None:
        self._layout = None
        rows = len(self._order) or len(self._message_lines(self.scrollable_content_region.width))
        self.virtual_size = Size(0, rows + 1)  # + the header line; never wider than shown
        self.refresh()

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _set_cursor(self, row: int, *, scroll: bool) -> None:
        count = len(self._order)
        row = max(0, min(row, count - 1)) if count else 0
        if row != self._cursor:
            self._cursor = row
            self.refresh()
        if scroll and count:
            self._scroll_to_row(row)
        uid = self.selected_uid
        if uid != self._highlighted:
            self._highlighted = uid
            self.post_message(self.RowHighlighted(self, uid, row))

    def _scroll_to_row(self, row: int) -> None:
        if not self._scroll_now(row):
            # Textual ignores a scroll beyond what the last layout allowed (the rows just grew
            # from a handful to thousands): once more after the next refresh, to the cursor then
            self.call_after_refresh(lambda: self._scroll_now(self._cursor))

    def _scroll_now(self, row: int) -> bool:
        """Scroll the least that shows `row`; whether it is on screen now."""
        top, visible = int(self.scroll_y), self._visible_rows()
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, immediate=True)
        top = int(self.scroll_y)
        return top <= row < top + visible

    def on_resize(self) -> None:
        self._layout = None
        if not self._order and self._empty_message:
            self._layout_changed()  # the message wraps anew
        if self.row_count:
            self._scroll_to_row(self._cursor)


def _before(a: tuple, b: tuple, reverse: bool) -> bool:
    """Whether a row with key `a` goes before one with key `b`."""
    return a > b if reverse else a < b


def _insertion_point(order: list[str], key: tuple, key_of: Callable[[str], tuple], reverse: bool) -> int:
    """Where a row with `key` goes among `order` (sorted on `key_of`, `reverse`d or not):
    after the rows it does not go before."""
    low, high = 0, len(order)
    while low < high:
        middle = (low + high) // 2
        if _before(key, key_of(order[middle]), reverse):
            high = middle
        else:
            low = middle + 1
    return low
