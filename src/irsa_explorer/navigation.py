"""Where the user is and where they have been: browser-like back/forward over locations.

A `Location` names a view (pods, service accounts, roles, nodes, findings), the object it is
focused on and, in the pods view, the pane that is open. History is plain data so it is easy to
test on its own; `location_for` says where an object is shown, and the app turns a location
into screen changes in one place (`IrsaExplorerApp.go`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from irsa_explorer.analysis.arns import role_name_of
from irsa_explorer.model import ObjectRef
from irsa_explorer.state import ExplorerState

VIEWS = ("pods", "sa", "roles", "nodes", "findings")
VIEW_TITLES = {
    "pods": "Pods",
    "sa": "Service accounts",
    "roles": "Roles",
    "nodes": "Nodes",
    "findings": "Findings",
}
# The pods view's panes, in the order the chain reads.
PANES = ("service-account", "token", "role", "trust-policy", "live-identity", "cloudtrail")
PANE_TITLES = {
    "service-account": "SA",
    "token": "Token",
    "role": "Role",
    "trust-policy": "Trust",
    "live-identity": "Live",
    "cloudtrail": "Trail",
}

PANE_SHORT = {
    "service-account": "sa",
    "token": "token",
    "role": "role",
    "trust-policy": "trust",
    "live-identity": "live",
    "cloudtrail": "trail",
}


@dataclass(frozen=True)
class Location:
    """One place in the app: a view, the object it shows and (pods view) the open pane."""

    view: str
    ref: ObjectRef | None = None
    pane: str | None = None

    @property
    def crumb(self) -> str:
        """A short label for breadcrumbs: 'eks-iam-test3:role', 'roles:Role1', 'SAs'."""
        if self.ref is None:
            return VIEW_TITLES.get(self.view, self.view)
        name = self.ref.name
        if self.ref.kind in ("Role", "TrustPolicy"):
            name = role_name_of(name)
        if len(name) > 28:
            name = name[:27] + "…"
        if self.view == "pods":
            return f"{name}:{PANE_SHORT[self.pane]}" if self.pane else name
        return f"{self.view}:{name}"


class History:
    """Back/forward like a browser: going somewhere new drops the forward stack."""

    def __init__(self, start: Location, limit: int = 200) -> None:
        self._entries: list[Location] = [start]
        self._index = 0
        self._limit = limit

    @property
    def current(self) -> Location:
        return self._entries[self._index]

    @property
    def can_back(self) -> bool:
        return self._index > 0

    @property
    def can_forward(self) -> bool:
        return self._index < len(self._entries) - 1

    def visit(self, location: Location) -> bool:
        """Record a new location; returns False when it is where we already are."""
        if location == self.current:
            return False
        del self._entries[self._index + 1 :]
        self._entries.append(location)
        if len(self._entries) > self._limit:
            del self._entries[0]
        self._index = len(self._entries) - 1
        return True

    def replace(self, location: Location) -> None:
        """Refine where we are (e.g. the cursor moved to another pod) without a new step; one
        that makes it the step before is that step (back would stay in place otherwise)."""
        if self._index > 0 and self._entries[self._index - 1] == location:
            del self._entries[self._index]
            self._index -= 1
            return
        self._entries[self._index] = location

    def back(self) -> Location | None:
        if not self.can_back:
            return None
        self._index -= 1
        return self.current

    def forward(self) -> Location | None:
        if not self.can_forward:
            return None
        self._index += 1
        return self.current

    def trail(self, length: int = 4) -> list[Location]:
        """The last few locations up to the current one, for breadcrumbs."""
        return self._entries[max(0, self._index - length + 1) : self._index + 1]


@dataclass
class Navigate(Message):
    """Posted by any link (with `messages.post_up`): go to this object. Where it is shown is
    decided in one place, `location_for`."""

    ref: ObjectRef
    pane: str | None = None


def location_for(ref: ObjectRef, pane: str | None, current: Location, state: ExplorerState) -> Location | None:
    """Which view shows this object. The selected pod's own service account and role open in
    its panes (a second follow of the same link opens their view); the rest in their views."""
    pod_ref = current.ref if current.view == "pods" and current.ref and current.ref.kind == "Pod" else None
    pod = state.pod_by_ref(pod_ref.namespace, pod_ref.name) if pod_ref else None
    kind = ref.kind
    if kind == "Pod":
        return Location("pods", ref, pane)
    if kind == "View":
        return Location(ref.name)
    if kind == "ServiceAccount":
        own = pod is not None and (pod.namespace, pod.service_account) == (ref.namespace, ref.name)
        if own and pane is None and current.pane != "service-account":
            return Location("pods", pod_ref, "service-account")
        return Location("sa", ref)
    if kind == "Role":
        chain = state.chains.get(pod.uid) if pod else None
        if chain is not None and chain.intended_role_arn == ref.name and current.pane != "role":
            return Location("pods", pod_ref, "role")
        return Location("roles", ref)
    if kind == "TrustPolicy":
        return Location("roles", ObjectRef("Role", ref.name))
    if kind == "Node":
        return Location("nodes", ref)
    if kind == "Finding":
        return Location("findings", ref)
    if kind == "Namespace":
        return Location("pods")
    return None
