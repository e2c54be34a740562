"""`irsa-explorer classroom`: `learn` in the browser, one app and one lab per tab (docs/classroom.md).

server.py (textual-serve's server, a session per tab), roster.py (who is connected and where
each is in the lesson, read from their progress.json), status_page.py (`/status`), status.py
(`classroom status` in a terminal), command.py (the command). It runs the app in processes of
its own and imports nothing of the TUI.
"""
