"""What the lesson panel says, without a lab: literal text (a token's signature hidden, escapes
visible), the step's pieces in order, the second-terminal lines first."""

from __future__ import annotations

from pathlib import Path

from irsa_explorer.lessons import LessonRun, load_lesson
from irsa_explorer.lessons.commands import CommandOutcome
from irsa_explorer.lessons.format import Command
from irsa_explorer.widgets.lesson_panel import LessonPanel, PanelState

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpkZWZhdWx0In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def said(run: LessonRun, state: PanelState) -> list[str]:
    return [str(block.content) for block in LessonPanel(run, state)._blocks()]


def test_command_output_is_drawn_literally_and_a_token_s_signature_hidden(tmp_path: Path) -> None:
    run = LessonRun(load_lesson("walkthrough"), None)
    state = PanelState(tmp_path, lab_ready=True)
    state.outcomes = [CommandOutcome(Command("kubectl exec eks-iam-test2 -- cat token"), 0, f"{TOKEN}\n\x1b[31m[bold]red[/]")]
    state.outcomes_step = "node-role"
    text = "\n".join(said(run, state))
    assert "c2lnbmF0dXJlLXNpZ25hdHVyZQ" not in text and "<signature hidden>" in text
    assert "\\x1b[31m[bold]red[/]" in text


def test_the_step_reads_in_order_and_eksctl_is_shown_beside_what_the_lab_runs(tmp_path: Path) -> None:
    run = LessonRun(load_lesson("walkthrough"), None)
    run.progress.current = "oidc-provider"
    blocks = said(run, PanelState(tmp_path))
    assert blocks[0].startswith("In a second terminal:") and "(the lab is starting" in blocks[0]
    assert blocks[1] == f"export KUBECONFIG={tmp_path / 'kubeconfig'}\nsource {tmp_path / 'aws.env'}"  # nothing else to paste
    heading = blocks.index("Step 3/5: Let IAM trust the cluster's issuer")
    eksctl = next(i for i, b in enumerate(blocks) if b.startswith("With eksctl (not in the lab): eksctl utils associate-iam-oidc-provider"))
    create = next(i for i, b in enumerate(blocks) if b.startswith("aws iam create-open-id-connect-provider"))
    checks = blocks.index("The lab shows:")
    assert heading < eksctl < create < checks
    assert blocks[checks + 1] == "? not checked yet"
    # the explanation reflowed: one paragraph, not the file's line breaks
    explanation = next(b for b in blocks if b.startswith("STS accepts a web-identity token"))
    assert "\n" not in explanation


def test_what_a_lesson_file_puts_in_backticks_is_drawn_as_code_and_the_rest_literally() -> None:
    from irsa_explorer.widgets.lesson_panel import CODE, prose

    text = prose("A token's `sub` is\n  system:serviceaccount:NS:SA.\n\nRun `kubectl get sa` and `an open one", "Hint 1: ")
    assert text.plain == "Hint 1: A token's sub is system:serviceaccount:NS:SA.\n\nRun kubectl get sa and `an open one"
    coded = [text.plain[span.start:span.end] for span in text.spans if span.style == CODE]
    assert coded == ["sub", "kubectl get sa"]
    hostile = prose("`[b]x[/b]` \x1b[2J")  # from a trainer's file: never markup, escapes visible
    assert hostile.plain == "[b]x[/b] \\x1b[2J"
