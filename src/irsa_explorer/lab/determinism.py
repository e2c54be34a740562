"""`lab serve --seed N`: the same ids and times on every run, for snapshot tests.

A real account hands out random ids (EC2 instance ids, access key ids, Pod Identity association
ids), and so does the lab: moto draws them from its one `mock_random`, the API server its
generated names from `random`. Seeding both makes two labs of one scenario alike, id for id, as
long as what they create is created in the same order (the scenario's steps are applied one by
one; `lab.scale` seeds one request at a time when seeded). Kubernetes timestamps (creation,
container start and end) stand still at FROZEN_AT: a finding that names when a pod was created
reads the same every run, and a test pins its clock to them.
"""

from __future__ import annotations

import random

FROZEN_AT = "2026-01-01T00:00:00Z"


def seed_ids(seed: int) -> None:
    """Make the ids this process hands out from now on depend on `seed` alone, and stop its
    Kubernetes clock."""
    from moto.moto_api._internal import mock_random

    from irsa_explorer.lab.kube import store

    mock_random.seed(seed)
    random.seed(seed)
    store.FROZEN_NOW = FROZEN_AT


def id_random() -> random.Random:
    """The generator lab ids come from (moto's own, which `seed_ids` seeds)."""
    from moto.moto_api._internal import mock_random

    return mock_random
