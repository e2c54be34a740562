"""History and locations: plain data, tested without a screen."""

from irsa_explorer.model import ObjectRef
from irsa_explorer.navigation import History, Location

POD = ObjectRef("Pod", "eks-iam-test3", "default")
ROLE = ObjectRef("Role", "arn:aws:iam::113534181560:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO")


def test_back_and_forward_walk_the_steps_like_a_browser():
    history = History(Location("pods"))
    steps = [Location("pods", POD), Location("pods", POD, "service-account"), Location("pods", POD, "role")]
    for step in steps:
        assert history.visit(step)
    assert history.back() == steps[1]
    assert history.back() == steps[0]
    assert history.forward() == steps[1]
    # going somewhere new from the middle drops the forward steps
    history.visit(Location("roles", ROLE))
    assert not history.can_forward
    assert history.back() == steps[1]


def test_visiting_the_current_location_records_nothing():
    history = History(Location("pods", POD))
    assert not history.visit(Location("pods", POD))
    assert not history.can_back


def test_replace_refines_the_current_step_without_adding_one():
    history = History(Location("pods"))
    history.replace(Location("pods", POD))
    assert history.current == Location("pods", POD)
    assert not history.can_back


def test_back_at_the_start_and_forward_at_the_end_do_nothing():
    history = History(Location("pods"))
    assert history.back() is None
    assert history.forward() is None


def test_history_is_bounded():
    history = History(Location("pods"), limit=3)
    for name in "abcde":
        history.visit(Location("pods", ObjectRef("Pod", name, "default")))
    assert len(history.trail(10)) == 3
    assert history.trail(10)[0].ref.name == "c"


def test_crumbs_are_short():
    assert Location("pods", POD, "trust-policy").crumb == "eks-iam-test3:trust"
    assert Location("roles", ROLE).crumb.startswith("roles:eksctl-eks-oidc-demo-addon")
    assert len(Location("roles", ROLE).crumb) <= 34
    assert Location("sa").crumb == "Service accounts"


def test_a_step_refined_into_the_one_before_is_that_step():
    # the pod on screen deleted: the cursor's new pod is the step before; back must not stay in place
    history = History(Location("pods", POD))
    other = Location("pods", ObjectRef("Pod", "billing", "default"), "trust-policy")
    history.visit(other)
    history.visit(Location("pods", POD, "trust-policy"))
    history.replace(other)
    assert history.trail(10) == [Location("pods", POD), other]
    assert history.back() == Location("pods", POD)
