"""`irsa-explorer classroom` over HTTP and textual-serve's websocket, as browsers use it: the
page, a tab's own app and lab, the roster (`/status`, `classroom status`), a tab closed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import yaml
from classroom_drive import Classroom, cmdline, descendants, listening_pid, still_running, wait_for


def kube_server(kubeconfig) -> str:
    document = yaml.safe_load(kubeconfig.read_text())
    return document["clusters"][0]["cluster"]["server"]


def tab_lab(tab) -> dict[int, str]:
    """The process serving the tab's API server (its own `lab serve`, or forked by the lab host)."""
    port = int(kube_server(tab.directory / "kubeconfig").rsplit(":", 1)[1].split("/")[0])
    pid = listening_pid(port)
    assert pid is not None, f"nothing listens on the tab's API server port {port}"
    return {pid: cmdline(pid)}


def classroom_status(classroom: Classroom, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "irsa_explorer", "classroom", "status", "--port", str(classroom.port),
                           *extra], capture_output=True, text=True, timeout=120, check=False)


def test_the_page_points_its_websocket_back_at_the_server_with_the_name_escaped(classroom: Classroom) -> None:
    code, page = classroom.get("/?name=" + "%3Cscript%3Ealert(1)%3C/script%3E%20Ada")
    assert code == 200
    assert f'data-session-websocket-url="ws://127.0.0.1:{classroom.port}/ws/' in page
    assert "<script>alert" not in page  # percent-encoded in the URL, not markup
    assert "%3Cscript%3Ealert%281%29%3C%2Fscript%3E%20Ada" in page
    assert classroom.get("/static/js/textual.js")[0] == 200  # xterm.js and textual-serve's client


def test_two_tabs_get_two_apps_two_labs_and_the_roster_lists_both_with_their_step(classroom: Classroom) -> None:
    ada, grace = classroom.open_tab("Ada"), classroom.open_tab("Grace")
    try:
        first, second = ada.wait_lab_ready(), grace.wait_lab_ready()
        assert first["directory"] != second["directory"]
        assert ada.directory.parent == grace.directory.parent == classroom.root
        # each its own lab: its own API server, written into its own folder by its own `lab serve`
        assert kube_server(ada.directory / "kubeconfig") != kube_server(grace.directory / "kubeconfig")
        # each app is the lesson's, on its own progress.json
        for tab in (ada, grace):
            status = wait_for(lambda t=tab: (s := t.status()).get("current_step") and s, "progress.json")
            assert status["lesson"] == "walkthrough" and status["current_step"] == "node-role"
            assert status["steps_done"] == 0 and status["steps_total"] >= 5 and status["complete"] is False
            wait_for(lambda t=tab: "Lesson: IRSA from scratch" in t.text(), "the lesson panel on the tab's screen")

        table = classroom_status(classroom)
        assert table.returncode == 0, table.stderr
        lines = table.stdout.splitlines()
        for name in ("Ada", "Grace"):
            row = next(line for line in lines if f"  {name}  " in line)
            assert "A pod with no AWS identity of its own" in row and "walkthrough" in row and "0/" in row
        as_json = json.loads(classroom_status(classroom, "--json").stdout)
        names = {t["name"]: t for t in as_json["trainees"] if t["connected"]}
        assert {"Ada", "Grace"} <= set(names)
        assert names["Ada"]["current_step"] == "node-role"

        code, page = classroom.get("/status")
        assert code == 200 and "Ada" in page and "Grace" in page and "A pod with no AWS identity of its own" in page
    finally:
        ada.close()
        grace.close()


def test_a_key_pressed_in_the_tab_reaches_its_app(classroom: Classroom) -> None:
    tab = classroom.open_tab("keys")
    try:
        tab.wait_lab_ready()
        wait_for(lambda: "Lesson: IRSA from scratch" in tab.text(), "the lesson panel")
        assert tab.status()["hints_used"] == 0
        tab.press("h")  # the lesson's hint key: the app counts it in progress.json
        wait_for(lambda: tab.status().get("hints_used") == 1, "the hint the key asked for")
    finally:
        tab.close()


def test_closing_a_tab_stops_its_app_and_its_lab(classroom: Classroom) -> None:
    tab = classroom.open_tab("leaving")
    tab.wait_lab_ready()
    app_pid = tab.status()["pid"]  # the app: a process of its own, or forked by the app zygote
    assert app_pid in descendants(classroom.process.pid)
    processes = {app_pid: cmdline(app_pid), **descendants(app_pid), **tab_lab(tab)}
    tab.close()
    wait_for(lambda: not still_running(processes), "the tab's app and lab to end")
    status = wait_for(lambda: (s := tab.status()) and not s["connected"] and s, "the trainee marked as left")
    assert status["left_at"] and status["lab"] == "stopped" and status["lab_ready_seconds"] is not None
    assert (tab.directory / "progress.json").is_file()  # the folder is kept: progress.json is the record


def test_an_untrusted_name_is_cleaned_and_escaped(classroom: Classroom) -> None:
    tab = classroom.open_tab("\x1b[31m<b>Eve</b>\u202e" + "x" * 200)
    try:
        name = tab.status()["name"]
        assert "\x1b" not in name and "\u202e" not in name and len(name) <= 40
        assert name.startswith("[31m<b>Eve</b>")
        code, page = classroom.get("/status")
        assert "&lt;b&gt;Eve&lt;/b&gt;" in page and "<b>Eve" not in page
    finally:
        tab.close()


def test_status_without_a_classroom_says_so_in_one_line(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "irsa_explorer", "classroom", "status", "--port", "9"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no classroom answers on http://127.0.0.1:9/status.json" in done.stderr


def test_an_app_that_dies_closes_its_tab_and_its_lab_stops(classroom: Classroom) -> None:
    tab = classroom.open_tab("crash")
    tab.wait_lab_ready()
    app_pid = tab.status()["pid"]  # the app: a process of its own, or forked by the app zygote
    assert app_pid in descendants(classroom.process.pid)
    processes = {app_pid: cmdline(app_pid), **descendants(app_pid), **tab_lab(tab)}
    os.kill(app_pid, signal.SIGKILL)  # no quit, no exit message: gone
    assert tab.closed.wait(120), "the server did not close the dead app's tab"
    wait_for(lambda: not still_running(processes), "the dead app's lab to stop with it")
    wait_for(lambda: not tab.status()["connected"], "the trainee marked as left")


def test_with_a_lab_host_every_tabs_lab_is_forked_by_the_one_host(classroom: Classroom) -> None:
    from irsa_explorer.classroom.lab_host import lab_host_available

    if not lab_host_available():
        pytest.skip("this version's lab has no host: every tab starts its own lab serve")
    socket = classroom.status()["lab_host"]
    assert socket and any(f"from one lab host ({socket})" in line for line in classroom.banner)
    host = next(pid for pid, line in descendants(classroom.process.pid).items() if f"lab host --socket {socket}" in line)
    # the host starts spare labs for the lesson's scenario ahead (--spare-labs, default 4)
    spares = wait_for(lambda: set(descendants(host)), "the lab host's spare labs")
    tab = classroom.open_tab("hosted")
    try:
        tab.wait_lab_ready()
        (lab_pid,) = tab_lab(tab)
        assert lab_pid in descendants(host), "the tab's lab is not the host's child"
        assert lab_pid in spares, "the tab's lab was not one of the spares started ahead"
    finally:
        tab.close()


def test_every_tabs_app_is_forked_by_the_one_app_zygote(classroom: Classroom) -> None:
    socket = classroom.status()["app_zygote"]
    assert socket and any(f"forked by one app zygote ({socket})" in line for line in classroom.banner)
    zygote = next(pid for pid, line in descendants(classroom.process.pid).items()
                  if f"irsa_explorer.classroom.app_zygote {socket}" in line)
    tab = classroom.open_tab("forked")
    try:
        wait_for(lambda: "Lesson: IRSA from scratch" in tab.text(), "the forked app's lesson panel")
        assert tab.status()["pid"] in descendants(zygote), "the tab's app is not the zygote's child"
    finally:
        tab.close()
