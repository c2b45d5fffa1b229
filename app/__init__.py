"""Entry points: the command line (`app.cli`, with ``deskhand watch`` in `app.watch`) and
the Qt desktop app (`app.qt`: tray, command palette, run view, approvals, history,
settings), plus what they share (settings loading, the terminal approver, the progress
display, the config file writer, autostart).

Everything here is a client of the headless engine in `agent`. Only `app.qt` imports Qt
(an import-linter contract in pyproject.toml); the rest of `app` runs without it.
"""
