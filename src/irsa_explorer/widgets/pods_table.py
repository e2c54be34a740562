"""The pods table: one row per pod uid, updated by diff so the cursor and scroll never jump."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from irsa_explorer.model import Pod
from irsa_explorer.screens.state import ExplorerState
from irsa_explorer.widgets.format import MECHANISM_WORDS, age, verdict_text

COLUMNS = (
    ("namespace", "Namespace"),
    ("pod", "Pod"),
    ("sa", "Service account"),
    ("mechanism", "Mechanism"),
    ("verdict", "Verdict"),
    ("node", "Node"),
    ("phase", "Phase"),
    ("age", "Age"),
)


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


class PodsTable(DataTable):
    """Pods keyed by uid. `sync(state, filter)` adds, updates and removes rows in place."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="pods.open", tooltip="Show this pod's chain"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._rows: dict[str, tuple] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def row_cells(self, pod: Pod, state: ExplorerState) -> tuple:
        chain = state.chains.get(pod.uid)
        mechanism = MECHANISM_WORDS.get(chain.mechanism, chain.mechanism.value) if chain else "…"
        # Rich Text, not str: DataTable parses every str cell as markup when it measures new
        # rows, which for a thousand pods is most of the time a keypress waits.
        return (
            Text(pod.namespace),
            Text(pod.name),
            Text(pod.service_account),
            Text(mechanism),
            verdict_text(chain.verdict if chain else None),
            Text(pod.node_name or "-"),
            Text(pod.status or pod.phase),
            Text(age(pod.created, state.now())),
        )

    def sync(self, state: ExplorerState, needle: str = "") -> None:
        """Bring rows in line with the state: diff by uid, sorted by namespace and name."""
        wanted = {
            uid: pod for uid, pod in state.pods.items() if pod_matches(pod, needle, state)
        }
        for uid in [u for u in self._rows if u not in wanted]:
            self.remove_row(uid)
            del self._rows[uid]
        added = False
        for uid, pod in wanted.items():
            cells = self.row_cells(pod, state)
            old = self._rows.get(uid)
            if old is None:
                self.add_row(*cells, key=uid)
                added = True
            elif old != cells:
                for (col, _), new, before in zip(COLUMNS, cells, old):
                    if new != before:
                        self.update_cell(uid, col, new)
            self._rows[uid] = cells
        if added:
            current = self.selected_uid
            self.sort("namespace", "pod", key=lambda cells: (str(cells[0]), str(cells[1])))
            if current:
                self.select_uid(current)

    @property
    def selected_uid(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # cursor outside the rows while the table changes
            return None
        return key.value

    def select_uid(self, uid: str) -> bool:
        if uid not in self._rows:
            return False
        index = self.get_row_index(uid)
        if index != self.cursor_row:
            self.move_cursor(row=index)
        return True
