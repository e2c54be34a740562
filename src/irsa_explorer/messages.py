"""What the app's workers post back to it: one dataclass per result, applied on the UI thread.

Messages a widget sends live in that widget (`RolePane.Wanted`, `TokenPane.Requested`, …) and
go up with `post_up`; `Navigate` is in navigation.py. Payloads that can be large (an inventory,
its chains, a page of pods) stay out of the repr: Textual's logs and crash reports print it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from textual.message import Message

from irsa_explorer.model import IdentityChain, Inventory, Pod, RolePolicies, Unavailable

if TYPE_CHECKING:  # the data layer is imported by the workers, after the first screen is drawn
    from textual.message_pump import MessagePump

    from irsa_explorer.analysis.reverse import AssumeMatch
    from irsa_explorer.sources.connect import Sources
    from irsa_explorer.sources.kube import WatchStatus
    from irsa_explorer.sources.livecheck import LiveResult, TokenReading
    from irsa_explorer.sources.reread import FactsRead

M = TypeVar("M", bound=Message)


def post_up(sender: MessagePump, message: M) -> M:
    """Post `message` from `sender`, to bubble up to the app whoever called `sender`.

    Textual takes a message's sender from the message pump that is active when the message is
    made, and stops a bubbling message once it reaches its sender (`MessagePump._on_message`:
    "parent is sender, so we stop propagation after parent"). A pane's method called from its
    screen's handler — the cursor moved, the screen shows the pane — would make the screen the
    sender, and the request would stop at the screen, never reaching the app. Naming the widget
    itself as the sender makes the message bubble all the way, from any caller.
    """
    sender.post_message(message.set_sender(sender))
    return message


@dataclass
class Connected(Message):
    """The sources are built (a lab started, a kubeconfig read)."""

    sources: Sources


@dataclass
class PodsPaged(Message):
    """Pods from one list page, ahead of the rest of the inventory (rows before verdicts)."""

    generation: int
    pods: list[Pod] = field(repr=False)

    def can_replace(self, message: Message) -> bool:
        """Pages queued back to back are taken in one go (toolong's way with floods of
        updates): each addition costs the pods table a layout pass. The page queued next
        takes this one's pods along, and this one is dropped."""
        if isinstance(message, PodsPaged) and message.generation == self.generation:
            message.pods = self.pods + message.pods
            return True
        return False


@dataclass
class InventoryStaged(Message):
    """An inventory as of one loading stage; with its chains once it is the final one."""

    generation: int
    stage: str  # what is still being done, in words ("" once final)
    inventory: Inventory = field(repr=False)
    chains: dict[str, IdentityChain] | None = field(default=None, repr=False)

    @property
    def final(self) -> bool:
        return self.chains is not None


@dataclass
class AwsChecked(Message):
    """Whether AWS can be asked at all: the one line that says why not (`AwsSource.problem`)."""

    problem: Unavailable | None


@dataclass
class KubeChanged(Message):
    """Watch events of the load `generation`, in order: (resource, kind, object), e.g.
    ("serviceaccounts", "MODIFIED", ServiceAccount(…))."""

    generation: int
    events: list[tuple[str, str, Any]] = field(repr=False)

    def can_replace(self, message: Message) -> bool:
        """Events queued back to back are taken in one go (a flood of them is one new
        inventory and one redraw): the batch queued next takes this one's events along."""
        if isinstance(message, KubeChanged) and message.generation == self.generation:
            message.events = self.events + message.events
            return True
        return False


@dataclass
class WatchSaid(Message):
    """A watch of the load `generation` was lost, is up again, or is forbidden."""

    generation: int
    status: WatchStatus


@dataclass
class FactsReread(Message):
    """AWS facts read again for the load `generation`."""

    generation: int
    read: FactsRead = field(repr=False)


@dataclass
class ChainsResolved(Message):
    """Chains a worker worked out against `inventory` (too many for the UI thread at once)."""

    generation: int
    inventory: Inventory = field(repr=False)
    chains: dict[str, IdentityChain] = field(repr=False)


@dataclass
class LiveChecked(Message):
    """`sts get-caller-identity` ran in a pod."""

    pod_uid: str
    result: LiveResult


@dataclass
class TokenRead(Message):
    """A token was read from a pod (or minted), or why it could not be."""

    pod_uid: str
    reading: TokenReading


@dataclass
class RoleDetails(Message):
    """A role's permission policies and the service accounts its trust policy accepts."""

    arn: str
    policies: RolePolicies | Unavailable
    assumers: list[AssumeMatch] | Unavailable = field(repr=False)


@dataclass
class PolicyDocumentRead(Message):
    """A managed policy's document, or why it could not be read."""

    arn: str
    document: dict[str, Any] | Unavailable = field(repr=False)


@dataclass
class CloudTrailRead(Message):
    """CloudTrail events for a pod or role (`key`: TrailSubject.key), posted to the pane that
    asked; `more`: the next pages of what it shows."""

    key: str
    result: Any = field(repr=False)  # model.TrailPage | Unavailable
    more: bool = False
