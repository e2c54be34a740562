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

import bisect
from operator import attrgetter

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from irsa_explorer.model import IdentityChain, Mechanism, Pod, Verdict
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.format import MECHANISM_WORDS, VERDICT_RICH, VERDICT_STYLE, age

# The verdict right after the pod's name: it is the answer, and real pod names are long enough
# to push later columns off a half-screen table.
COLUMNS = (
    ("namespace", "Namespace"),
    ("pod", "Pod"),
    ("verdict", "Verdict"),
    ("mechanism", "Mechanism"),
    ("sa", "Service account"),
    ("node", "Node"),
    ("phase", "Phase"),
    ("age", "Age"),
)
COLUMN = {key: index for index, (key, _) in enumerate(COLUMNS)}

# Mechanism, verdict and age change after the row is shown ("…" first, ages grow): fixed widths
# that fit every word (MECHANISM_WORDS, VERDICT_STYLE, format.duration) keep the row from reflowing.
FIXED_WIDTHS = {"mechanism": 11, "verdict": 9, "age": 5}
# The table's own words where the panes' are longer than the column ("Pod Identity").
TABLE_MECHANISM_WORDS = {**MECHANISM_WORDS, Mechanism.POD_IDENTITY: "PodIdentity"}
PADDING = 1  # blank cells on each side of a column
PENDING = "…"  # mechanism and verdict before the chain is resolved
VERDICT_STYLES: dict[Verdict | None, Style] = {
    **{verdict: Style.parse(style) for verdict, style in VERDICT_RICH.items()},
    None: Style(dim=True),
}
_sort_key = attrgetter("namespace", "name")


def short_node(name: str | None) -> str:
    """A node's name without the domain EKS appends (`.us-east-2.compute.internal`): the
    host part is what tells nodes apart, and the column stays narrow."""
    if not name:
        return "-"
    return name.split(".", 1)[0]


def pod_matches(pod: Pod, needle: str, state: ExplorerState) -> bool:
    """Case-insensitive substring match over what the row shows."""
    if not needle:
        return True
    chain = state.chains.get(pod.uid)
    hay = " ".join(
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
    return needle.lower() in hay


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


class PodsTable(ScrollView, can_focus=True):
    """Pods sorted by namespace and name. `sync(state, filter)` brings the rows in line with the
    state; `add_pods` appends a page while loading. The cursor stays on its pod through both."""

    COMPONENT_CLASSES = {"pods-table--header", "pods-table--cursor"}
    DEFAULT_CSS = """
    PodsTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
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
        Binding("home", "first", "First", show=False, tooltip="First pod"),
        Binding("end", "last", "Last", show=False, tooltip="Last pod"),
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
        self._order: list[str] = []  # uids shown, in row order
        self._index: dict[str, int] | None = None  # uid → row, rebuilt when first asked after a change
        self._widths = [max(len(label), FIXED_WIDTHS.get(key, 0)) for key, label in COLUMNS]
        self._cursor = 0
        self._highlighted: str | None = None  # the uid last announced by RowHighlighted

    # -- what the screen calls ----------------------------------------------------------------

    def sync(self, state: ExplorerState, needle: str = "") -> None:
        """Rows for every pod of the state that matches `needle`, sorted; the cursor stays on
        its pod. When that pod is gone the cursor stays on the same row, or goes to the first
        match when the filter changed (the old row number means nothing among new matches)."""
        refiltered = needle != self._needle
        self._state, self._needle = state, needle
        selected = self.selected_uid
        pods = state.pods
        if needle:
            shown = [pod for pod in pods.values() if pod_matches(pod, needle, state)]
        else:
            shown = list(pods.values())
        shown.sort(key=_sort_key)
        self._order = [pod.uid for pod in shown]
        self._index = None
        self._widths = [max(len(label), FIXED_WIDTHS.get(key, 0)) for key, label in COLUMNS]
        self._measure(shown)
        self._layout_changed()
        row = self.row_index(selected) if selected else None
        if row is None and refiltered:
            self._set_cursor(0, scroll=True)
        else:
            self._set_cursor(self._cursor if row is None else row, scroll=row is not None)

    def add_pods(self, state: ExplorerState, pods: list[Pod]) -> None:
        """A page of new pods while loading: appended (sorted in when out of order)."""
        self._state = state
        # (a page that arrives after a full sync already has its rows)
        new = [pod for pod in pods if self.row_index(pod.uid) is None and pod_matches(pod, self._needle, state)]
        if not new:
            return
        selected = self.selected_uid
        order, everything = self._order, state.pods
        last = everything.get(order[-1]) if order else None
        new.sort(key=_sort_key)
        order.extend(pod.uid for pod in new)
        if last is not None and _sort_key(new[0]) < _sort_key(last):
            order.sort(key=lambda uid: _sort_key(everything[uid]))  # rare: pages come sorted
            self._index = None
        elif self._index is not None:
            start = len(order) - len(new)
            self._index.update((uid, start + i) for i, uid in enumerate(order[start:]))
        self._measure(new)
        self._layout_changed()
        row = self.row_index(selected) if selected else None
        self._set_cursor(self._cursor if row is None else row, scroll=False)

    def pods_changed(self, state: ExplorerState, added: list[Pod], removed: set[str]) -> None:
        """Watch events: rows for new pods sorted in, rows of pods gone taken out, every row
        on screen redrawn (their verdicts may have changed); no pass over every pod unless a
        filter is on (what matches it may have changed). The cursor stays on its pod, or on
        its row when that pod is gone."""
        if self._needle:
            self.sync(state, self._needle)
            return
        self._state = state
        selected, order, pods = self.selected_uid, self._order, state.pods
        if removed:
            order[:] = [uid for uid in order if uid not in removed]
            self._index = None
        shown = {uid for uid in order} if added else set()
        for pod in sorted(added, key=_sort_key):
            if pod.uid not in shown:
                order.insert(bisect.bisect_left(order, _sort_key(pod), key=lambda uid: _sort_key(pods[uid])), pod.uid)
                shown.add(pod.uid)
                self._index = None
        self._measure(added)
        self._layout_changed()
        row = self.row_index(selected) if selected in pods else None
        self._set_cursor(self._cursor if row is None else row, scroll=False)

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
        self._set_cursor(row, scroll=True)

    def row_cells(self, uid: str) -> dict[str, str]:
        """What row `uid` shows, by column key (as drawn, before fitting to widths)."""
        state = self._state
        pod = state.pods[uid]
        chain = state.chains.get(uid)
        return {
            "namespace": pod.namespace,
            "pod": pod.name,
            "verdict": verdict_word(chain),
            "mechanism": mechanism_word(chain),
            "sa": pod.service_account,
            "node": short_node(pod.node_name),
            "phase": pod.status or pod.phase,
            "age": age(pod.created, state.now()),
        }

    def get_row(self, uid: str) -> tuple[str, ...]:
        """Row `uid`'s cells in column order."""
        cells = self.row_cells(uid)
        return tuple(cells[key] for key, _ in COLUMNS)

    def get_row_at(self, row: int) -> tuple[str, ...]:
        return self.get_row(self._order[row])

    # -- keys and mouse -----------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self._set_cursor(self._cursor - 1, scroll=True)

    def action_cursor_down(self) -> None:
        self._set_cursor(self._cursor + 1, scroll=True)

    def action_page_up(self) -> None:
        self._set_cursor(self._cursor - self._visible_rows(), scroll=True)

    def action_page_down(self) -> None:
        self._set_cursor(self._cursor + self._visible_rows(), scroll=True)

    def action_first(self) -> None:
        self._set_cursor(0, scroll=True)

    def action_last(self) -> None:
        self._set_cursor(len(self._order) - 1, scroll=True)

    def action_select_cursor(self) -> None:
        uid = self.selected_uid
        if uid is not None:
            self.post_message(self.RowSelected(self, uid, self._cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:  # the header
            return
        row = int(self.scroll_y) + offset.y - 1
        if not 0 <= row < len(self._order):
            return
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self._set_cursor(row, scroll=True)

    # -- drawing ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if y == 0:
            segments = self._header_segments()
            style = base + self.get_component_rich_style("pods-table--header")
        else:
            row = scroll_y + y - 1
            if not 0 <= row < len(self._order) or self._state is None:
                return Strip.blank(width, base)
            segments = self._row_segments(self._order[row])
            style = base
            if row == self._cursor:
                style += self.get_component_rich_style("pods-table--cursor")
        strip = Strip(segments).crop(scroll_x, scroll_x + width).extend_cell_length(width)
        return strip.apply_style(style)

    def _header_segments(self) -> list[Segment]:
        pad = " " * PADDING
        return [Segment(pad + fit(label, w) + pad) for (_, label), w in zip(COLUMNS, self._widths)]

    def _row_segments(self, uid: str) -> list[Segment]:
        if uid not in self._state.pods:  # removed between a change and the redraw that follows it
            return []
        cells = self.row_cells(uid)
        chain = self._state.chains.get(uid)
        styles = {
            "verdict": VERDICT_STYLES[chain.verdict if chain else None],
            "mechanism": None if chain else VERDICT_STYLES[None],
        }
        pad = " " * PADDING
        segments = []
        for (key, _), width in zip(COLUMNS, self._widths):
            style = styles.get(key)
            if style is None:
                segments.append(Segment(pad + fit(cells[key], width) + pad))
            else:
                segments += [Segment(pad), Segment(fit(cells[key], width), style), Segment(pad)]
        return segments

    # -- internals ----------------------------------------------------------------------------

    def _measure(self, pods: list[Pod]) -> None:
        """Widen the measured columns to fit `pods` (fixed columns keep their widths)."""
        if not pods:
            return
        w, at = self._widths, COLUMN
        w[at["namespace"]] = max(w[at["namespace"]], max(len(p.namespace) for p in pods))
        w[at["pod"]] = max(w[at["pod"]], max(len(p.name) for p in pods))
        w[at["sa"]] = max(w[at["sa"]], max(len(p.service_account) for p in pods))
        w[at["node"]] = max(w[at["node"]], max(len(short_node(p.node_name)) for p in pods))
        w[at["phase"]] = max(w[at["phase"]], max(len(p.status or p.phase) for p in pods))

    def _layout_changed(self) -> None:
        width = sum(self._widths) + 2 * PADDING * len(self._widths)
        self.virtual_size = Size(width, len(self._order) + 1)  # + the header line
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
        if self.row_count:
            self._scroll_to_row(self._cursor)
