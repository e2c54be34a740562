"""The instructor's page (`/status`): the roster as HTML, every value escaped, refreshed by the
browser every few seconds (a meta refresh: no script)."""

from __future__ import annotations

from html import escape
from typing import Any

from .roster import step_words

REFRESH_SECONDS = 5


def _cell(value: object) -> str:
    return f"<td>{escape('' if value is None else str(value))}</td>"


def status_html(rows: list[dict[str, Any]], lesson: str, root: str) -> str:
    """The roster as a page: one row per trainee, connected ones first."""
    body = []
    for row in sorted(rows, key=lambda r: (not r.get("connected"), r.get("number", 0))):
        since = row.get("connected_since") if row.get("connected") else f"left {row.get('left_at') or ''}"
        ready = row.get("lab_ready_seconds")
        lab = (f"ready in {ready:.1f} s" if isinstance(ready, (int, float)) and row.get("connected")
               else row.get("lab"))
        body.append(
            "<tr class=\"{}\">".format("connected" if row.get("connected") else "left")
            + _cell(row.get("number")) + _cell(row.get("label")) + _cell(since) + _cell(lab)
            + _cell(row.get("lesson") or "-") + _cell(step_words(row))
            + _cell(f"{row.get('steps_done', 0)}/{row.get('steps_total', 0)}")
            + _cell(row.get("hints_used") if row.get("hints_used") is not None else "-")
            + _cell("yes" if row.get("complete") else "no")
            + "</tr>"
        )
    table = ("<table><thead><tr><th>#</th><th>Trainee</th><th>Connected since (UTC)</th><th>Lab</th><th>Lesson</th>"
             "<th>Step</th><th>Done</th><th>Hints</th><th>Complete</th></tr></thead><tbody>"
             + "".join(body) + "</tbody></table>") if body else "<p>No trainee yet: they open this server's address.</p>"
    connected = sum(1 for r in rows if r.get("connected"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>irsa-explorer classroom</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; background: #fafafa; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: .3em .7em; text-align: left; white-space: nowrap; }}
th {{ background: #eee; }}
tr.left td {{ color: #888; }}
code {{ background: #eee; padding: 0 .2em; }}
</style></head>
<body>
<h1>irsa-explorer classroom</h1>
<p>Lesson <code>{escape(lesson)}</code> · {connected} connected · {len(rows)} in all · trainees' folders under
<code>{escape(root)}</code> · refreshed every {REFRESH_SECONDS} s (<code>irsa-explorer classroom status</code> in a terminal)</p>
{table}
</body></html>
"""
