"""Shared frame for the list views (service accounts, roles, nodes, findings):
a table keyed by object, updated by diff, and the selected object's details beside it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from rich.text import Text
from textual.containers import Container
from textual.content import Content
from textual.widgets import DataTable, Footer

from irsa_explorer.model import ObjectRef
from irsa_explorer.navigation import VIEW_TITLES, Location
from irsa_explorer.screens.view import ViewScreen
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.breadcrumbs import Breadcrumbs
from irsa_explorer.widgets.format import shown as literal_text
from irsa_explorer.widgets.prompt_bar import PromptBar


@dataclass(frozen=True)
class Col:
    """How a list column fits the table's width. `flex`: takes the room the others leave, its
    text cut in the middle (an eksctl role name keeps its start and its unique end); `most`:
    never wider than this, cut in the middle too; `drop`: left out when the table is too
    narrow for every column, the highest first (the table never scrolls sideways)."""

    flex: bool = False
    most: int | None = None
    drop: int = 0
    least: int = 16  # flex: narrower than this, the optional columns are dropped instead
    cut: str = "middle"  # or "end": where a name too long loses its text (a node's tells itself apart first)


PADDING = 2  # a DataTable cell's padding, both sides


class Shortened(str):
    """A cell's whole text, with a shorter form shown when the whole one does not fit (a role
    name without the `eksctl-CLUSTER-` every eksctl role starts with). `/text` matches the whole."""

    short: str

    def __new__(cls, text: str, short: str) -> Shortened:
        cell = super().__new__(cls, text)
        cell.short = short
        return cell


def middle(text: str, width: int) -> str:
    """`text` in `width` cells, cut in the middle with an ellipsis."""
    if len(text) <= width:
        return text
    if width < 2:
        return "…"[:max(width, 0)]
    head = width // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[len(text) - tail:] if tail else "")


def cut_end(text: str, width: int) -> str:
    """`text` in `width` cells, cut at the end with an ellipsis."""
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"[:max(width, 0)]


class KeyedTable(DataTable):
    """A DataTable synced by diff from {key: cells}, fitted to its width (see `Col`)."""

    def __init__(self, columns: tuple[tuple, ...], **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.columns_spec: tuple[tuple[str, str], ...] = tuple((c[0], c[1]) for c in columns)
        self.fits: dict[str, Col] = {c[0]: (c[2] if len(c) > 2 else Col()) for c in columns}
        self._raw: dict[str, tuple] = {}
        self._rows: dict[str, tuple] = {}
        self._layout: tuple[tuple[int, ...], dict[int, int]] | None = None  # shown columns, widths to cut at

    def on_mount(self) -> None:
        self._layout = self._fit()
        self._add_columns()

    def on_resize(self) -> None:
        self._relayout()

    def _add_columns(self) -> None:
        shown = self._layout[0] if self._layout else range(len(self.columns_spec))
        for i in shown:
            key, label = self.columns_spec[i]
            self.add_column(label, key=key)

    def _fit(self) -> tuple[tuple[int, ...], dict[int, int]]:
        """Which columns to show and the widths to cut the flexible or bounded ones at."""
        specs = [self.fits[key] for key, _ in self.columns_spec]
        natural = [len(label) for _, label in self.columns_spec]
        for cells in self._raw.values():
            for i, cell in enumerate(cells):
                natural[i] = max(natural[i], len(str(cell)))
        for i, spec in enumerate(specs):
            if spec.most is not None:
                natural[i] = min(natural[i], max(spec.most, len(self.columns_spec[i][1])))
        room = self.scrollable_content_region.width or self.size.width
        if room <= 0:  # not laid out yet: no cuts but the bounded ones
            return tuple(range(len(specs))), {i: natural[i] for i, s in enumerate(specs) if s.most is not None}
        shown = list(range(len(specs)))
        flex = [i for i, s in enumerate(specs) if s.flex]
        while True:
            fixed = sum(natural[i] + PADDING for i in shown if i not in flex)
            left = room - fixed - PADDING * len([i for i in flex if i in shown]) - 1  # one cell for a scrollbar
            optional = [i for i in shown if specs[i].drop]
            if not flex or left >= sum(specs[i].least for i in flex if i in shown) or not optional:
                break
            shown.remove(max(optional, key=lambda i: specs[i].drop))
        widths = {i: natural[i] for i, s in enumerate(specs) if s.most is not None}
        # the room left, shared: a column that needs less than its share leaves the rest to the others
        pending = sorted((i for i in flex if i in shown), key=lambda i: natural[i])
        while pending:
            i = pending.pop(0)
            widths[i] = max(min(natural[i], left // (len(pending) + 1)), len(self.columns_spec[i][1]), 4)
            left -= widths[i]
        return tuple(shown), widths

    def _cells(self, cells: tuple) -> tuple:
        shown, widths = self._layout or (tuple(range(len(cells))), {})
        specs = [self.fits[key] for key, _ in self.columns_spec]
        out = []
        for i in shown:
            cell = cells[i]
            if i in widths:
                text = cell.short if isinstance(cell, Shortened) and len(cell) > widths[i] else str(cell)
                # drawn form first (a JWT's signature hidden, control characters escaped), then cut:
                # cut first, a token's last characters would be left for the sanitiser to miss
                cell = (cut_end if specs[i].cut == "end" else middle)(literal_text(text), widths[i])
            # a str cell would be read as markup by the DataTable: values are drawn literally
            out.append(Text(literal_text(cell), end="") if isinstance(cell, str) else cell)
        return tuple(out)

    def _relayout(self) -> None:
        layout = self._fit()
        if layout == self._layout:
            return
        self._layout = layout
        selected = self.selected_key
        self.clear(columns=True)
        self._add_columns()
        self._rows = {}
        for key, cells in self._raw.items():
            self._rows[key] = shown = self._cells(cells)
            self.add_row(*shown, key=key)
        if selected is not None:
            self.select_key(selected)

    def sync(self, rows: dict[str, tuple]) -> None:
        self._raw = dict(rows)
        layout = self._fit()
        if layout != self._layout:
            self._relayout()
            return
        shown_keys = [self.columns_spec[i][0] for i in self._layout[0]] if self._layout else [k for k, _ in self.columns_spec]
        for key in [k for k in self._rows if k not in rows]:
            self.remove_row(key)
            del self._rows[key]
        for key, raw in rows.items():
            cells = self._cells(raw)
            old = self._rows.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            elif old != cells:
                for col, new, before in zip(shown_keys, cells, old):
                    if new != before:
                        self.update_cell(key, col, new)
            self._rows[key] = cells

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None

    def select_key(self, key: str) -> bool:
        if key not in self._rows:
            return False
        self.move_cursor(row=self.get_row_index(key))
        return True


class ListScreen(ViewScreen):
    """Subclasses define VIEW, COLUMNS, `rows()`, `key_for(ref)`, `ref_for(key)` and `detail()`."""

    COLUMNS: tuple[tuple[str, str], ...] = ()
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-medium"), (160, "-wide")]

    def __init__(self, state: ExplorerState) -> None:
        super().__init__(state, id=f"{self.VIEW}-screen", classes="list-screen")
        self.needle = ""

    def compose(self) -> ComposeResult:
        yield Breadcrumbs(id="crumbs")
        with Container(id="body"):
            table = KeyedTable(self.COLUMNS, id="list")
            table.border_title = VIEW_TITLES[self.VIEW]
            yield table
            yield from self.compose_detail()
        yield PromptBar(id="prompt")
        yield Footer()

    def compose_detail(self) -> ComposeResult:
        raise NotImplementedError

    def rows(self) -> dict[str, tuple]:
        raise NotImplementedError

    def key_for(self, ref: ObjectRef) -> str | None:
        return ref.name

    def subtitle_note(self) -> str:
        """What the rows leave out, said under the table (" · …"), or ""."""
        return ""

    def search_text(self, key: str, cells: tuple) -> str:
        """What `/text` matches a row on: its cells (as shown uncut) and its key (an ARN …)."""
        return " ".join(map(str, cells)) + " " + key

    def ref_for(self, key: str) -> ObjectRef | None:
        raise NotImplementedError

    def detail(self, key: str | None) -> None:
        raise NotImplementedError

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def on_mount(self) -> None:
        self.refresh_data()
        self.table.focus()

    def refresh_data(self) -> None:
        if not self.live:
            return
        rows = self.rows()
        if self.needle:
            needle = self.needle.lower()
            rows = {k: v for k, v in rows.items() if needle in self.search_text(k, v).lower()}
        self.table.sync(rows)
        # content, not markup: it holds what was typed
        self.table.border_subtitle = Content(f"{len(rows)}" + (f" · /{self.needle}" if self.needle else "") + self.subtitle_note())
        self.detail(self.table.selected_key)

    def set_filter(self, needle: str) -> None:
        self.needle = needle
        self.refresh_data()

    def show_location(self, location: Location) -> None:
        if location.ref is not None:
            key = self.key_for(location.ref)
            if key is not None and not self.table.select_key(key):
                self.set_filter("")
                self.table.select_key(key)
        self.table.focus()
        self.detail(self.table.selected_key)

    def location(self) -> Location:
        key = self.table.selected_key
        return Location(self.VIEW, self.ref_for(key) if key else None)

    @on(DataTable.RowHighlighted, "#list")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.detail(self.table.selected_key)
        self.app.note_location(self.location())

    @on(DataTable.RowSelected, "#list")
    def _selected(self, event: DataTable.RowSelected) -> None:
        # enter on a row focuses its details, whose names are links
        detail = self.query(".detail")
        if detail:
            detail.first().focus()

    @on(PromptBar.FilterChanged)
    def _filter_changed(self, event: PromptBar.FilterChanged) -> None:
        self.set_filter(event.text)
