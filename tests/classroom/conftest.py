"""One classroom per test session (per xdist worker): `irsa-explorer classroom --port 0` in a
subprocess; stopped at the end, and then nothing it started is left running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from classroom_drive import Classroom, descendants, still_running, wait_for


@pytest.fixture(scope="session")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    pytest.importorskip("textual_serve", reason="the [classroom] extra is not installed")
    room = Classroom(tmp_path_factory.mktemp("classroom"), "--spare-labs", "2")  # tabs open one at a time here
    yield room
    started = descendants(room.process.pid)
    assert room.stop() == 0, "".join(room.log)
    wait_for(lambda: not still_running(started), f"the classroom's processes to end: {still_running(started)}")
