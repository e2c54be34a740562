"""Shared frame for the list views (service accounts, roles, nodes, findings):
a table keyed by object, updated by diff, and the selected object's details beside it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import DataTable, Footer

from irsa_explorer.model import ObjectRef
from irsa_explorer.navigation import VIEW_TITLES, Location
from irsa_explorer.screens.view import ViewScreen
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.breadcrumbs import Breadcrumbs
from irsa_explorer.widgets.prompt_bar import PromptBar


class KeyedTable(DataTable):
    """A DataTable synced by diff from {key: cells}."""

    def __init__(self, columns: tuple[tuple[str, str], ...], **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.columns_spec = columns
        self._rows: dict[str, tuple] = {}

    def on_mount(self) -> None:
        for key, label in self.columns_spec:
            self.add_column(label, key=key)

    def sync(self, rows: dict[str, tuple]) -> None:
        for key in [k for k in self._rows if k not in rows]:
            self.remove_row(key)
            del self._rows[key]
        for key, cells in rows.items():
            old = self._rows.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            elif old != cells:
                for (col, _), new, before in zip(self.columns_spec, cells, old):
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
        if not self.is_mounted:
            return
        rows = self.rows()
        if self.needle:
            needle = self.needle.lower()
            rows = {k: v for k, v in rows.items() if needle in " ".join(map(str, v)).lower()}
        self.table.sync(rows)
        self.table.border_subtitle = f"{len(rows)}" + (f" · /{self.needle}" if self.needle else "")
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
