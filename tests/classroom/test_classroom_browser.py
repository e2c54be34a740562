"""The classroom in a real headless browser: Debian's chromium driven by playwright (never a
browser playwright downloads). The page loads, the lesson panel and the pods table render in the
xterm.js terminal, the pods of the tab's own lab show up, a key press reaches the app, and
`classroom status` follows the trainee to the next step.

The terminal draws on a canvas, so its text is read from xterm.js's buffer: textual.js keeps its
Terminal in a closure, and an init script catches it as it is assigned (`this.terminal = …`).
Without chromium (or playwright) the test skips and says why; CI installs chromium (.ci/run).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from classroom_drive import Classroom, wait_for
from kubernetes import client, config

CHROMIUM = os.environ.get("CLASSROOM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("CLASSROOM_SCREENSHOTS")  # a folder: the screenshots are kept there too

CATCH_TERMINAL = """
window.__terminals = [];
Object.defineProperty(Object.prototype, 'terminal', {configurable: true, set(value) {
  Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true, enumerable: true});
  window.__terminals.push(value);
}});
"""
SCREEN_TEXT = """() => {
  const terminal = window.__terminals[0];
  if (!terminal) return '';
  const buffer = terminal.buffer.active, rows = [];
  for (let i = 0; i < terminal.rows; i++) { const line = buffer.getLine(i); rows.push(line ? line.translateToString(true) : ''); }
  return rows.join('\\n');
}"""


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the [test] extra)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])  # root in CI
        yield browser
        browser.close()


def shot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name))
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, Path(SHOTS) / name)


def test_a_browser_tab_shows_the_lesson_and_its_own_labs_pods_and_its_keys_reach_the_app(
    classroom: Classroom, chromium, tmp_path: Path,
) -> None:
    page = chromium.new_page(viewport={"width": 1600, "height": 900})
    page.add_init_script(CATCH_TERMINAL)
    before = {t["number"] for t in classroom.status()["trainees"]}
    page.goto(f"{classroom.url}/?name=Chromium")
    try:
        def screen() -> str:
            return page.evaluate(SCREEN_TEXT)

        wait_for(lambda: "Lesson: IRSA from scratch" in screen(), "the lesson panel in the page's terminal")
        wait_for(lambda: "Verdict" in screen() and "Pods" in screen(), "the pods table in the page's terminal")
        number = wait_for(lambda: ({t["number"] for t in classroom.status()["trainees"]} - before or {0}).pop(),
                          "the tab on the roster")
        trainee = wait_for(lambda: (t := classroom.trainee(number))["lab"] == "ready" and t, "the tab's lab")
        assert trainee["name"] == "Chromium" and trainee["current_step"] == "node-role"
        shot(page, tmp_path, "classroom-lesson.png")

        # step 1 as the trainee types it, against this tab's own lab (its folder's kubeconfig)
        kubeconfig = Path(trainee["directory"]) / "kubeconfig"
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig), persist_config=False))
        core.create_namespaced_pod("default", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "eks-iam-test1"},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "my-aws-cli", "image": "amazon/aws-cli:latest", "args": ["s3", "ls"]}]},
        })
        wait_for(lambda: "eks-iam-test1" in screen(), "the lab's pod in the page's pods table")
        moved_on = wait_for(lambda: (t := classroom.trainee(number))["steps_done"] == 1 and t, "step 1 done")
        assert moved_on["current_step"] == "default-token"

        # a key typed in the page reaches the app: the lesson's hint key, counted in progress.json
        page.locator(".xterm-helper-textarea").focus()
        page.keyboard.press("h")
        wait_for(lambda: classroom.trainee(number)["hints_used"] == 1, "the hint asked for with h")
        shot(page, tmp_path, "classroom-step2-hint.png")
    finally:
        page.close()
    wait_for(lambda: not classroom.trainee(number)["connected"], "the closed page's trainee marked as left")
