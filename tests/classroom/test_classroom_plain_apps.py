"""`classroom --no-app-zygote`: every tab's app started from scratch as textual-serve starts one
(argv, its own process group) — the path taken too when the zygote cannot start."""

from __future__ import annotations

import pytest
from classroom_drive import Classroom, cmdline, descendants, still_running, wait_for


def test_without_the_zygote_a_tab_gets_an_app_process_of_its_own_that_ends_with_the_tab(tmp_path) -> None:
    pytest.importorskip("textual_serve", reason="the [classroom] extra is not installed")
    room = Classroom(tmp_path / "room", "--no-app-zygote")
    try:
        assert room.status()["app_zygote"] is None and any("one process per tab" in line for line in room.banner)
        tab = room.open_tab("plain")
        tab.wait_lab_ready()
        wait_for(lambda: "Lesson: IRSA from scratch" in tab.text(), "the lesson panel")
        app = tab.status()["pid"]
        assert f"irsa_explorer learn walkthrough --dir {tab.directory}" in cmdline(app)
        processes = {app: cmdline(app), **descendants(app)}
        tab.close()
        wait_for(lambda: not still_running(processes), "the tab's app and what it started to end")
    finally:
        started = descendants(room.process.pid)
        assert room.stop() == 0, "".join(room.log)
        wait_for(lambda: not still_running(started), "the classroom's processes to end")
