"""IAM role pane: the role's facts, its policies (open one to read it) and who can assume it.

In the pods view, what the selected pod really gets from it: the chain's `EffectiveIdentity`
(for a pod on its node's role, that role is the one shown, so its policies can be read).
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.message import Message

from irsa_explorer.messages import post_up
from irsa_explorer.model import EffectiveIdentity, LinkStatus, Mechanism, ObjectRef, Role, RolePolicies, Unavailable
from irsa_explorer.sources.reread import FactsWanted
from irsa_explorer.state import ExplorerState
from irsa_explorer.widgets.format import (
    LINK_STYLE,
    MECHANISM_WORDS,
    Breakable,
    line,
    literal,
    plural,
    relative,
    stamp,
    value_or_unknown,
)
from irsa_explorer.widgets.link import Link
from irsa_explorer.widgets.panes.detail import LIST_LIMIT, DetailPane, arn_link, heading, more, note, row, ticking_row


class PolicyLink(Link):
    """A policy: enter opens its document. Inline policies carry it; attached (managed)
    ones carry only their ARN and the app fetches the document when opened."""

    @dataclass
    class Open(Message):
        """Open a policy: an inline one's document is here; a managed one's (`policy_arn`) is
        fetched by the app."""

        title: str
        document: Any  # an inline policy's JSON; None for a managed policy
        policy_arn: str | None = None

    def __init__(self, title: str, document: Any, policy_arn: str | None = None, **kwargs) -> None:
        if policy_arn is not None:
            copy_text = policy_arn
        else:
            try:
                copy_text = json.dumps(document, indent=2) if not isinstance(document, str) else document
            except (ValueError, TypeError, RecursionError):  # nested too deep to write out: the document shows why
                copy_text = ""
        super().__init__(title, None, copy_text=copy_text, **kwargs)
        self.title = title
        self.document = document
        self.policy_arn = policy_arn

    def action_follow(self) -> None:
        post_up(self, self.Open(self.title, self.document, self.policy_arn))


class RolePane(DetailPane):
    TITLE = "IAM role"
    PANE_ID = "role"

    @dataclass
    class Wanted(Message):
        """The pane shows a role whose policies / assumers are not loaded yet."""

        arn: str

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state: ExplorerState | None = None
        self.arn: str | None = None
        self.why_none = "No role."
        self.effective: EffectiveIdentity | None = None
        self.users: tuple[frozenset[str], int] | None = None  # the uids of the pods that get the role, how many are meant to
        self.nodes: tuple[str, ...] = ()  # the nodes whose instance role it is

    def show(self, state: ExplorerState, arn: str | None, why_none: str = "No role.",
             effective: EffectiveIdentity | None = None) -> None:
        """The role `arn`; `effective` is what the selected pod really gets (the chain's), if any."""
        self.state, self.arn, self.why_none, self.effective = state, arn, why_none, effective
        if arn and (arn not in state.role_policies or arn not in state.assumers):
            # `show` is called by the screen (the cursor moved) as well as by the app: post_up,
            # or a request made in the screen's handler would stop at the screen
            post_up(self, self.Wanted(arn))
        self.date(*[("role", FactsWanted(roles=frozenset({arn})), None)] if arn else [])
        # the objects themselves, not their ids: an id may be reused once its object is freed
        # who gets it: the store's index of the chains (not a pass over every pod)
        # uids, not sorted pods: a node role thousands of pods fall back to is shown on every
        # cursor move over them; sorting waits for a rebuild
        self.users = (state.role_getters(arn), state.role_users(arn)[0]) if arn and state.chains else None
        node_roles = state.inventory.node_roles if state.inventory and arn else {}
        self.nodes = tuple(sorted(name for name, role in node_roles.items() if role == arn))
        self.rebuild((arn, why_none, effective, state.role(arn), state.role_policies.get(arn or ""),
                      state.assumers.get(arn or ""), self.users, self.nodes))

    def compose(self) -> ComposeResult:
        state, arn = self.state, self.arn
        if state is None or not arn:
            yield note(self.why_none)
            return
        yield arn_link(arn, ObjectRef("Role", arn), classes="title-link")
        if self.effective is not None:
            yield from self._this_pod(self.effective, arn)
        role = state.role(arn)
        if role is None:
            yield note("loading the role…" if state.inventory else "not loaded")
            return
        if isinstance(role, Unavailable):
            yield row("role", value_or_unknown(role))
            return
        yield from self._facts(role, state)
        yield from self._policies(state.role_policies.get(arn))
        yield from self._users(state, arn)
        yield from self._assumers(state.assumers.get(arn))

    def _users(self, state: ExplorerState, arn: str) -> ComposeResult:
        """The pods that really get this role (the engine's effective identities): for a node
        role, every pod that falls back to it — who its permissions reach."""
        nodes = self.nodes
        if nodes:  # why pods get it without asking: it is these nodes' instance role
            yield heading(f"Instance role of {len(nodes)} node{'s' if len(nodes) > 1 else ''}")
            yield note("EC2 assumes it for the instance profile; every pod on these nodes without an identity "
                       "of its own gets it from the instance metadata service")
            for name in nodes[:LIST_LIMIT]:
                yield Link(name, ObjectRef("Node", name))
            yield from more(len(nodes), LIST_LIMIT, ":nodes lists every node and its role")
        if self.users is None:
            return
        uids, intended = self.users
        pods = [state.pods[uid] for uid in uids if uid in state.pods]
        yield heading(f"Pods that get it ({len(pods)})")
        meant = sum(1 for pod in pods if (chain := state.chains.get(pod.uid)) and chain.intended_role_arn == arn)
        if not pods:
            yield note("none" + (f": the {plural(intended, 'pod')} meant to get it do not" if intended else ""))
        elif meant < len(pods):
            why = ("nothing of their own, they fall back to it" if self.nodes
                   else "what their service account names now is another role, or none")
            yield note(f"{len(pods) - meant} of them not meant to: {why}")
        if pods and meant < intended:
            yield note(f"{plural(intended - meant, 'pod')} meant to get it do not")
        for pod in heapq.nsmallest(LIST_LIMIT, pods, key=lambda p: (p.namespace, p.name)):
            yield Link(f"{pod.namespace}/{pod.name}", pod.ref)
        yield from more(len(pods), LIST_LIMIT, "filter the pods view by the role's name")

    def _this_pod(self, effective: EffectiveIdentity, arn: str) -> ComposeResult:
        """What the selected pod gets, as the engine worked it out: this role, or which other
        identity and why."""
        mark = literal(*LINK_STYLE[effective.status])
        how = MECHANISM_WORDS.get(effective.mechanism, str(effective.mechanism))
        if effective.arn == arn and effective.mechanism is not Mechanism.NODE_ROLE:
            yield row("this pod gets", line(mark, f" this role ({how})"))
            return
        if effective.arn == arn:
            yield row("this pod gets", line(mark, f" its node's instance role ({how})"))
        elif effective.status is LinkStatus.UNKNOWN and effective.arn is None:
            yield row("this pod gets", line(mark, f" unknown ({how}) — {effective.label} if every link holds"))
        else:
            yield row("this pod gets", line(mark, f" {effective.label} ({how}), not this role"))
            if effective.arn:
                yield arn_link(effective.arn, ObjectRef("Role", effective.arn), prefix="   ")
        yield row("from", effective.source)
        yield row("why", effective.why)

    def _facts(self, role: Role, state: ExplorerState) -> ComposeResult:
        now = state.now()
        yield row("account", role.account)
        yield row("path", role.path)
        max_session = f"{role.max_session_duration // 3600} h ({role.max_session_duration} s)" if role.max_session_duration else "unknown"
        yield row("max session", max_session)
        if role.last_used:
            where = f" in {role.last_used_region}" if role.last_used_region else ""
            last = role.last_used
            yield ticking_row("last used", lambda at: f"{stamp(last)} ({relative(last, at)}){where}", now)
        else:
            yield row("last used", literal("never (or not tracked)", "$text-muted"))
        if role.permissions_boundary:
            yield row("boundary", role.permissions_boundary)
        else:
            yield row("boundary", literal("none", "$text-muted"))

    def _policies(self, policies: RolePolicies | Unavailable | None) -> ComposeResult:
        yield heading("Permission policies")
        if policies is None:
            yield note("loading policies…")
            return
        if isinstance(policies, Unavailable):
            yield row("policies", value_or_unknown(policies))
            return
        if not policies.attached and not policies.inline:
            yield note("none: this role can do nothing")
        for policy in policies.attached:
            link = PolicyLink(policy.arn, None, policy_arn=policy.arn, prefix="attached ")
            link.update(Breakable(link.content))  # wraps at '/' and ':'
            yield link
        for name, document in sorted(policies.inline.items()):
            yield PolicyLink(name, document, prefix="inline ")

    def _assumers(self, matches: Any) -> ComposeResult:
        from irsa_explorer.analysis.trust import Decision  # loaded once the reverse map ran

        yield heading("Who can assume it")
        if matches is None:
            yield note("working out which service accounts the trust policy accepts…")
            return
        if isinstance(matches, (Unavailable, str)):
            yield row("", value_or_unknown(matches))
            return
        if not matches:
            yield note("no service account in this inventory")
        for match in matches[:LIST_LIMIT]:
            ref = match.service_account
            label = f"{ref.namespace}/{ref.name}" if ref else "service accounts unknown"
            facts = [match.mechanism.value]
            if match.mechanism is Mechanism.IRSA:
                facts.append("annotated" if match.annotated else "not annotated: any pod of it can still assume the role")
            if match.decision is not Decision.ALLOW:
                facts.append(f"trust says {match.decision.value}: {match.reason}")
            yield Link(f"{label} ({'; '.join(facts)})", ref, copy_text=label)
            for pod in match.pods[:5]:
                yield Link(pod.name, pod, prefix="   pod ")
            yield from more(len(match.pods), 5, "see the service account")
        yield from more(len(matches), LIST_LIMIT, ":sa lists every service account")
