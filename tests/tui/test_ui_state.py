"""The store the screens read: plain data, tested without a screen or a lab."""

from datetime import datetime, timezone

from irsa_explorer.messages import KubeChanged, LiveChecked, RoleDetails, TokenRead
from irsa_explorer.model import Inventory, Pod, Unavailable
from irsa_explorer.sources.livecheck import TokenReading
from irsa_explorer.state import ExplorerState

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def pod(uid: str, name: str, sa: str = "default", phase: str = "Running") -> Pod:
    return Pod(uid, "default", name, sa, "node-1", phase, phase, NOW)


def test_a_token_reading_repr_never_shows_the_token() -> None:
    raw = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"
    reading = TokenReading("projected IRSA token", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", raw)
    assert reading.raw == raw
    assert raw not in repr(reading) and "c2lnbmF0dXJl" not in repr(reading)


def test_pages_and_watch_events_make_new_inventories_and_leave_the_old_ones_alone() -> None:
    state = ExplorerState(clock=lambda: NOW)
    generation = state.load_started()
    assert state.add_pods(generation, [pod("u1", "a")], "ctx", None)
    first = state.inventory
    assert state.add_pods(generation, [pod("u2", "b")], "ctx", None)
    assert list(first.pods) == ["u1"] and list(state.inventory.pods) == ["u1", "u2"]
    # a page of an older load is dropped
    assert not state.add_pods(generation - 1, [pod("u9", "old")], "ctx", None)
    staged = Inventory(context="ctx", namespace=None, pods=dict(state.inventory.pods))
    assert state.stage_reached(generation, staged, "", {}) is True  # the same pods: no rows to add
    # a watch event: a new inventory; the staged one (a worker may hold it) is unchanged
    assert state.update(KubeChanged(generation, [("pods", "MODIFIED", pod("u1", "a", phase="Failed"))]))
    assert state.inventory is not staged and staged.pods["u1"].phase == "Running"
    assert state.inventory.pods["u1"].phase == "Failed" and "u1" in state.chains
    assert not state.update(KubeChanged(generation, [("pods", "MODIFIED", pod("u1", "a", phase="Failed"))]))  # nothing new
    assert state.update(KubeChanged(generation, [("pods", "DELETED", pod("u2", "b"))]))
    assert list(state.inventory.pods) == ["u1"] and list(staged.pods) == ["u1", "u2"]
    assert not state.update(KubeChanged(generation, [("pods", "DELETED", pod("u2", "b"))]))
    # an older load's watch is not heard
    assert not state.update(KubeChanged(generation - 1, [("pods", "ADDED", pod("u7", "c"))]))


def test_the_pods_by_service_account_follow_pages_and_stages() -> None:
    """The index behind pods_using is kept up to date page by page (not built again for each),
    kept when a stage brings the very pods the pages did, and built afresh when it does not."""
    from irsa_explorer.model import ServiceAccount

    app, other = ServiceAccount("sa-1", "default", "app"), ServiceAccount("sa-2", "default", "other")
    state = ExplorerState(clock=lambda: NOW)
    generation = state.load_started()
    state.add_pods(generation, [pod("u1", "a", "app")], "ctx", None)
    assert [p.name for p in state.pods_using(app)] == ["a"]  # the index is built here
    state.add_pods(generation, [pod("u2", "b", "app"), pod("u3", "c", "other")], "ctx", None)
    assert [p.name for p in state.pods_using(app)] == ["a", "b"]
    state.add_pods(generation, [pod("u2", "b", "other")], "ctx", None)  # listed again, now as another account
    assert [p.name for p in state.pods_using(app)] == ["a"] and [p.name for p in state.pods_using(other)] == ["b", "c"]
    staged = Inventory(context="ctx", namespace=None, pods=dict(state.inventory.pods))
    state.stage_reached(generation, staged, "checking AWS…", None)
    assert [p.name for p in state.pods_using(other)] == ["b", "c"]
    moved = Inventory(context="ctx", namespace=None, pods={**staged.pods, "u1": pod("u1", "a", "other")})
    state.stage_reached(generation, moved, "", {})  # other objects for the same uids: indexed again
    assert state.pods_using(app) == [] and [p.name for p in state.pods_using(other)] == ["a", "b", "c"]


def test_a_reload_keeps_the_shown_inventory_until_its_first_stage() -> None:
    state = ExplorerState(clock=lambda: NOW)
    state.add_pods(state.load_started(), [pod("u1", "a")], "ctx", None)
    shown = state.inventory
    reload = state.load_started()
    assert not state.add_pods(reload, [pod("u2", "b")], "ctx", None) and state.inventory is shown
    fresh = Inventory(context="ctx", namespace=None, pods={"u2": pod("u2", "b")})
    assert state.stage_reached(reload, fresh, "checking AWS…", None) is False  # other pods: rows to sync
    assert state.inventory is fresh and state.stage == "checking AWS…"
    assert state.stage_reached(reload - 1, shown, "", {}) is None and state.inventory is fresh


def test_role_details_are_asked_for_once_and_again_after_a_dropped_fetch_or_a_new_inventory() -> None:
    from irsa_explorer.model import Role

    arn = "arn:aws:iam::111122223333:role/app"
    state = ExplorerState(clock=lambda: NOW)
    assert state.role_to_fetch(arn) is None  # nothing loaded: the pane says so
    role = Role(arn, "app", "111122223333", {})
    state.stage_reached(state.load_started(), Inventory(context="ctx", namespace=None, roles={arn: role}), "", {})
    assert state.role_to_fetch(arn) is role
    assert state.role_to_fetch(arn) is None  # in flight
    state.role_fetch_dropped(arn)  # cancelled for another role's
    assert state.role_to_fetch(arn) is role
    state.apply(RoleDetails(arn, Unavailable("no"), []))
    assert state.role_to_fetch(arn) is None and state.assumers[arn] == []
    state.stage_reached(state.generation, state.inventory, "", {})  # a final stage: assumers again
    assert state.role_to_fetch(arn) is role and state.role_policies[arn] == Unavailable("no")


def test_a_failed_fetch_is_shown_where_it_was_asked_for() -> None:
    state = ExplorerState(clock=lambda: NOW)
    assert state.live_check_started("u1") and not state.live_check_started("u1")
    state.fetch_failed("live", "u1", "ApiException: forbidden")
    assert "u1" not in state.live_running and state.live_runs["u1"][-1].error == "ApiException: forbidden"
    state.token_loading["u1"] = "irsa"
    state.fetch_failed("token", "u1:irsa", "boom")
    assert "u1" not in state.token_loading
    assert state.tokens["u1"].error == "boom" and state.tokens["u1"].source == "projected IRSA token"
    state.fetch_failed("role", "arn:aws:iam::1:role/r", "boom")
    assert state.role_policies["arn:aws:iam::1:role/r"] == Unavailable("boom")
    state.apply(LiveChecked("u1", None))
    state.apply(TokenRead("u1", TokenReading("x", None, None, error="again")))
    assert len(state.live_runs["u1"]) == 2 and state.tokens["u1"].error == "again"
