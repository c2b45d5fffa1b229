"""The headless engine: settings, the agent loop, the executor, the permission policy,
the journal, task files and their runs, the watched inbox, and saving a run as a task file.

Never imports Qt; the CLI and the Qt app in `app` are its clients.
"""
