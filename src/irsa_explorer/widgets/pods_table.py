"""The pods table: one row per pod uid, updated by diff so the cursor and scroll never jump."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from irsa_explorer.model import IdentityChain, Mechanism, Pod
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

# Mechanism and verdict arrive after the row ("…" first): fixed widths that fit every word
# (MECHANISM_WORDS, VERDICT_STYLE) keep them from being cut and the row from reflowing.
FIXED_WIDTHS = {"mechanism": 11, "verdict": 9}
# The table's own words where the panes' are longer than the column ("Pod Identity").
TABLE_MECHANISM_WORDS = {**MECHANISM_WORDS, Mechanism.POD_IDENTITY: "PodIdentity"}


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


class PodsTable(DataTable):
    """Pods keyed by uid. `sync(state, filter)` adds, updates and removes rows in place.

    Ten thousand rows cannot be added or updated in one go without the event loop stalling
    for seconds (DataTable measures every new cell when idle), so `sync` applies the first
    `CHUNK` changes at once and the rest in chunks on a short timer: between chunks key
    presses are answered and the added rows are measured. Rows near the cursor go first.
    """

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="pods.open", tooltip="Show this pod's chain"),
    ]
    CHUNK = 200  # rows per turn of the event loop: ~10-20 ms of work on a 2-core machine
    GAP_S = 0.005  # lets queued key presses and the idle measuring run between chunks

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._rows: dict[str, tuple] = {}  # uid → cells shown
        self._seen: dict[str, tuple] = {}  # uid → (pod, chain, age) the cells were made from
        self._pending: list[str] = []  # uids still to add or update, in the order to do them
        self._state: ExplorerState | None = None
        self._needle = ""
        self._last_key: tuple[str, str] = ("", "")  # the greatest (namespace, name) shown
        self._unsorted = False
        self._drain_timer = None
        self._reselect: str | None = None  # the pod to select again once a rebuild is done
        self._first_chunk = False  # the next chunk starts a sync: it holds the visible rows
        self._unrendered = 0  # cells changed since the table's render caches were last invalidated

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key, width=FIXED_WIDTHS.get(key))

    @staticmethod
    def chain_cells(chain: IdentityChain | None) -> tuple[Text, Text]:
        """The mechanism and verdict cells ("…" until the chain is resolved)."""
        mechanism = TABLE_MECHANISM_WORDS.get(chain.mechanism, chain.mechanism.value) if chain else "…"
        return Text(mechanism), verdict_text(chain.verdict if chain else None)

    def row_cells(self, pod: Pod, state: ExplorerState) -> tuple:
        # Rich Text, not str: DataTable parses every str cell as markup when it measures new
        # rows, which for a thousand pods is most of the time a keypress waits.
        return (
            Text(pod.namespace),
            Text(pod.name),
            Text(pod.service_account),
            *self.chain_cells(state.chains.get(pod.uid)),
            Text(short_node(pod.node_name)),
            Text(pod.status or pod.phase),
            Text(age(pod.created, state.now())),
        )

    @property
    def syncing(self) -> bool:
        """Whether changes are still being applied chunk by chunk."""
        return bool(self._pending)

    def sync(self, state: ExplorerState, needle: str = "") -> None:
        """Bring rows in line with the state: diff by uid, sorted by namespace and name.

        Removals happen at once; additions and updates start now and finish in chunks.
        """
        self._state, self._needle = state, needle
        if self._drain_timer is not None:  # this sync supersedes the chunks still to come
            self._drain_timer.stop()
            self._drain_timer = None
        wanted = {uid for uid, pod in state.pods.items() if pod_matches(pod, needle, state)}
        gone = [uid for uid in self._rows if uid not in wanted]
        if len(gone) > 64:
            # DataTable.remove_row renumbers every row: many removals are cheaper as a rebuild
            current = self.selected_uid
            self.clear()
            self._rows.clear()
            self._seen.clear()
            self._last_key = ("", "")
            self._unsorted = False
            self._reselect = current
        else:
            for uid in gone:
                self.remove_row(uid)
                del self._rows[uid]
                self._seen.pop(uid, None)
        pods = state.pods
        order = sorted(wanted, key=lambda uid: (pods[uid].namespace, pods[uid].name))
        # rows the user looks at first: from just above the visible window onwards
        start = max(0, (self.cursor_row if self._rows else 0) - self.size.height)
        shown = [uid for uid in order if uid in self._rows]
        if shown and start:
            first = shown[min(start, len(shown) - 1)]
            at = order.index(first)
            order = order[at:] + order[:at]
        self._pending = order
        self._pending.reverse()  # popped from the end
        self._first_chunk = True
        self._drain()

    def add_pods(self, state: ExplorerState, pods: list[Pod]) -> None:
        """New pods (a list page): queued after what is pending, without re-reading the others."""
        self._state = state
        self._pending[:0] = reversed([p.uid for p in pods if pod_matches(p, self._needle, state)])
        if self._drain_timer is None:
            self._drain()

    def _drain(self) -> None:
        self._drain_timer = None
        state = self._state
        if state is None:
            return
        pending, pods, chains = self._pending, state.pods, state.chains
        now = state.now()
        done = changed = 0
        while pending and done < self.CHUNK:
            uid = pending.pop()
            pod = pods.get(uid)
            if pod is None:
                continue
            chain = chains.get(uid)
            seen = (pod, chain, age(pod.created, now))
            before = self._seen.get(uid)
            if before is not None and before[0] is seen[0] and before[1] is seen[1] and before[2] == seen[2]:
                continue  # nothing this row shows has changed: no cells to build
            self._seen[uid] = seen
            old = self._rows.get(uid)
            if old is not None and before is not None and before[0] is pod and before[2] == seen[2]:
                # only the chain changed (the verdicts arriving): two cells, not eight
                cells = old[:3] + self.chain_cells(chain) + old[5:]
            else:
                cells = self.row_cells(pod, state)
            # an update costs a fraction of an add (no measuring, one refresh per chunk), and
            # each chunk costs a full redraw of a 10,000-row table: updates go in big chunks
            done += 1 if old is None else 0.1
            if old is None:
                self.add_row(*cells, key=uid)
                key = (pod.namespace, pod.name)
                if key < self._last_key:
                    self._unsorted = True
                else:
                    self._last_key = key
            elif old != cells:
                changed += self._update_row(uid, cells, old)
            self._rows[uid] = cells
        self._unrendered += changed
        if self._unrendered and (self._first_chunk or not pending):
            # DataTable.update_cell invalidates its render caches per cell, and a redraw of
            # 10,000 rows after each of 20,000 cells (every verdict arriving) would stall the
            # screen for seconds. The first chunk holds the rows on screen (see `sync`), so
            # they redraw at once; off-screen rows are drawn from the new cells when scrolled
            # to, and the last chunk invalidates once more for any drawn in between.
            self._update_count += 1
            self.refresh()
            self._unrendered = 0
        self._first_chunk = False
        if pending:
            self._drain_timer = self.set_timer(self.GAP_S, self._drain)
            return
        current = self._reselect or self.selected_uid
        self._reselect = None
        if self._unsorted:
            self._unsorted = False
            self.sort("namespace", "pod", key=lambda cells: (str(cells[0]), str(cells[1])))
            self._last_key = max(((str(c[0]), str(c[1])) for c in self._rows.values()), default=("", ""))
        if current:
            self.select_uid(current)

    def _update_row(self, uid: str, cells: tuple, old: tuple) -> int:
        """Put a row's changed cells in place; the caller refreshes once per chunk.

        Writes DataTable's cell store directly (as `update_cell` does, without its per-cell
        refresh); falls back to `update_cell` should that store ever change shape.
        """
        row = getattr(self, "_data", {}).get(RowKey(uid))
        changed = 0
        for (col, _), new, was in zip(COLUMNS, cells, old):
            if new == was:
                continue
            changed += 1
            if row is not None and col in row and (col in FIXED_WIDTHS or new.cell_len <= was.cell_len):
                row[col] = new
            else:  # wider than before: let DataTable measure the column again
                self.update_cell(uid, col, new, update_width=True)
        return changed

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
