"""End to end: the README's `irsa-explorer lab` under tmux at 120×40, driven with keys as a person
would, read back with capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 120, 40


class Terminal:
    """One tmux session running a command; keys in, screen text out."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.name = f"irsa-e2e-{uuid.uuid4().hex[:8]}"
        self.env = env

        def tmux(*argv: str) -> None:
            subprocess.run(["tmux", *argv], check=True, env=env, capture_output=True)

        # Pin the window to 120×40 before the explorer starts: a tmux server may otherwise size
        # windows by its own defaults, and the app would first draw at the wrong size.
        tmux("new-session", "-d", "-s", self.name, "-x", str(WIDTH), "-y", str(HEIGHT), "cat")
        tmux("set-option", "-w", "-t", self.name, "window-size", "manual")
        tmux("resize-window", "-t", self.name, "-x", str(WIDTH), "-y", str(HEIGHT))
        self.started = time.monotonic()  # the command starts now, as when a person presses enter
        tmux("respawn-pane", "-k", "-t", self.name, command)

    def screen(self) -> str:
        result = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True, env=self.env
        )
        return result.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        argv = ["tmux", "send-keys", "-t", self.name] + (["-l"] if literal else []) + list(keys)
        subprocess.run(argv, check=True, env=self.env)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def wait_for(self, check, timeout: float = 20, what: str = "") -> str:
        """Poll the screen until `check(screen)` holds; fail with the last screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what or check}:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, env=self.env)


def prompt_closed(screen: str) -> bool:
    return "/ filter" not in screen


def crumbs(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


def here(screen: str) -> str:
    """The current step: the last breadcrumb."""
    return crumbs(screen).split("│")[0].rsplit("›", 1)[-1].strip(" ◀▶")


def table_text(screen: str) -> str:
    """The pods table: the left column above the identity chain."""
    lines = screen.splitlines()
    end = next((i for i, line in enumerate(lines) if "Identity chain" in line), len(lines))
    return "\n".join(line[: WIDTH // 2] for line in lines[1:end])


def unwrapped(screen: str, left: bool = False) -> str:
    """One column's text with its wrapped lines glued back together (ARNs wrap mid-word)."""
    # where the right column's box starts: after the left box's right border (│ followed by │);
    # a line of the left column may run past the screen's half
    borders = [line.find("││") for line in screen.splitlines()[1:] if "││" in line]
    half = max(set(borders), key=borders.count) + 1 if borders else WIDTH // 2 - 1
    lines = [line[:half] if left else line[half:] for line in screen.splitlines()[1:]]
    return "".join(line.strip().strip("│").strip() for line in lines)


def chain_text(screen: str) -> str:
    """The left column below the pods table: the identity chain box."""
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if "Identity chain" in line)
    return "\n".join(line[: WIDTH // 2] for line in lines[start:])


@pytest.fixture
def terminal():
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed")
    command = str(Path(sys.executable).parent / "irsa-explorer")
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("TMUX", None)
    for name in ("COLUMNS", "LINES"):  # Textual would take these over the terminal's real size
        env.pop(name, None)
    # `; echo` keeps the pane open so the exit can be read after `q`
    term = Terminal(f"{command} lab; echo EXPLORER-EXIT=$?; sleep 30", env)
    yield term
    term.close()


def test_walkthrough_as_a_person_would(terminal, record_property):
    started = terminal.started
    screen = terminal.wait_for(
        lambda s: all(f"eks-iam-test{i}" in s for i in (1, 2, 3)), timeout=60, what="the walkthrough's pods"
    )
    pods_seconds = time.monotonic() - started
    # Issue 4's target is 3 s; reported (not asserted) as it depends on the machine's load.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nirsa-explorer lab: the walkthrough's pods on screen {pods_seconds:.2f} s after start (target 3 s; load average {load})")
    record_property("lab_pods_on_screen_s", round(pods_seconds, 2))
    assert "lab@eks-oidc-demo" in crumbs(screen)

    # eks-iam-test2: no IRSA, the node role answers
    terminal.keys("/")
    terminal.type("eks-iam-test2")
    terminal.keys("Enter")
    terminal.wait_for(
        lambda s: prompt_closed(s) and "eks-iam-test1" not in table_text(s) and "eks-iam-test2" in table_text(s),
        what="the filter",
    )
    terminal.keys("w")  # it asks once, naming the command, the pod and its container
    screen = terminal.wait_for(lambda s: "Run a command inside the pod?" in s, what="the question before exec")
    assert "kubectl exec -n default eks-iam-test2" in screen and "aws sts get-caller-identity" in screen
    terminal.keys("y")
    screen = terminal.wait_for(
        lambda s: "assumed-role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole" in unwrapped(s),
        what="the node role ARN",
    )
    chain = chain_text(screen)
    assert "no IRSA" in chain  # says in words what is wrong …
    assert "fix:" in chain and "eksctl create iamserviceaccount" in unwrapped(screen, left=True)  # … what to do

    # eks-iam-test3: my-sa's role, every link ok
    terminal.keys("/")
    terminal.type("eks-iam-test3")
    terminal.keys("Enter")
    terminal.wait_for(
        lambda s: prompt_closed(s) and "eks-iam-test2" not in table_text(s) and "eks-iam-test3" in table_text(s),
        what="the second filter",
    )
    terminal.keys("w")  # asked once per session: it runs at once

    def links(screen: str) -> str:  # the chain's links: one line, under its verdict, `a › b › …`
        return next((line for line in chain_text(screen).splitlines() if " › " in line), "")

    # both columns: a capture can fall between the writes of one frame
    screen = terminal.wait_for(
        lambda s: "matches the intended role" in unwrapped(s) and "– live" not in links(s),
        what="the IRSA identity, in the pane and in the chain",
    )
    assert "assumed-role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1" in unwrapped(screen)
    strip = links(screen)
    assert strip.count("✓") == 7 and "✗" not in strip and "?" not in strip

    # links from the chain: my-sa, its role, its trust policy
    terminal.keys("Enter")  # the row: focus its chain, which then spells out the link under its cursor
    terminal.wait_for(lambda s: "✓ pod default/eks-iam-test3" in chain_text(s), what="the chain to take focus")
    terminal.keys("Right", "Enter")
    screen = terminal.wait_for(lambda s: here(s) == "eks-iam-test3:sa", what="the service account")
    assert "default/my-sa" in screen and "Service account" in screen
    terminal.keys("Right", "Right", "Right", "Enter")
    screen = terminal.wait_for(lambda s: here(s) == "eks-iam-test3:role", what="the role")
    assert "IAM role" in screen and "max session" in screen and "113534181560" in screen
    terminal.keys("Right", "Enter")
    screen = terminal.wait_for(lambda s: here(s) == "eks-iam-test3:trust", what="the trust policy")
    lines = screen.splitlines()
    sub = [i for i, line in enumerate(lines) if ":sub" in line and "condition" in "".join(lines[max(0, i - 2) : i + 1])]
    assert sub, screen
    assert any("✓ matched" in lines[j] for i in sub for j in range(max(0, i - 2), i + 1)), screen

    # esc clears the filter first (all three pods again, still on the trust policy), then back, step by step
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "eks-iam-test2" in table_text(s) and here(s) == "eks-iam-test3:trust", what="the filter cleared")
    terminal.keys("Escape")
    terminal.wait_for(lambda s: here(s) == "eks-iam-test3:role", what="back to the role")
    terminal.keys("Escape")
    terminal.wait_for(lambda s: here(s) == "eks-iam-test3:sa", what="back to the SA")
    terminal.keys("Escape")
    # before the SA came `w` on eks-iam-test3 (its live identity pane), then the filter to it
    terminal.wait_for(lambda s: here(s) == "eks-iam-test3:live", what="back to the live identity")

    # ? lists every key
    terminal.keys("?")
    page = seen = terminal.wait_for(lambda s: "Keys" in s, what="help")

    def help_body(screen: str) -> list[str]:  # inside the help's frame: not the ages ticking behind it
        return [line[line.index("█") + 1 : line.rindex("█")] for line in screen.splitlines() if line.count("█") >= 2]

    # line by line to its end (the last command), every line seen: a page's scroll is animated,
    # and a page key pressed on a frame mid-way would skip lines
    while ":q " not in page:
        terminal.keys("Down")
        page = terminal.wait_for(lambda s, before=help_body(page): help_body(s) != before, what="the next line of help")
        seen += page
    from irsa_explorer.app import IrsaExplorerApp
    from irsa_explorer.screens.main import PodsScreen
    from irsa_explorer.widgets.chain_strip import ChainStrip
    from irsa_explorer.widgets.panes.token import TokenPane

    for binding in IrsaExplorerApp.BINDINGS + PodsScreen.BINDINGS + ChainStrip.BINDINGS + TokenPane.BINDINGS:
        assert binding.tooltip in seen, binding.tooltip
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "Keys" not in s, what="help to close")

    terminal.keys("q")
    terminal.wait_for(lambda s: "EXPLORER-EXIT=0" in s, what="a clean exit")
