"""The lab's scheduler keeps pods off nodes whose NoSchedule taints they do not tolerate (Fargate
nodes carry eks.amazonaws.com/compute-type=fargate:NoSchedule), by Kubernetes' toleration rules."""

from __future__ import annotations

import pytest

from irsa_explorer.lab.kube.server import _tolerated

FARGATE = {"key": "eks.amazonaws.com/compute-type", "value": "fargate", "effect": "NoSchedule"}


@pytest.mark.parametrize(("tolerations", "expected"), [
    ([], False),
    ([{"operator": "Exists"}], True),  # tolerates everything (DaemonSets, the agent add-on by default)
    ([{"key": "eks.amazonaws.com/compute-type", "operator": "Exists"}], True),
    ([{"key": "eks.amazonaws.com/compute-type", "operator": "Equal", "value": "fargate"}], True),
    ([{"key": "eks.amazonaws.com/compute-type", "value": "fargate", "effect": "NoSchedule"}], True),
    ([{"key": "eks.amazonaws.com/compute-type", "value": "ec2"}], False),
    ([{"key": "eks.amazonaws.com/compute-type", "operator": "Exists", "effect": "NoExecute"}], False),
    ([{"key": "dedicated", "operator": "Exists"}], False),
])
def test_tolerations(tolerations, expected):
    assert _tolerated(FARGATE, tolerations) is expected
