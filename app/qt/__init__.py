"""The desktop app: tray icon, global-hotkey command palette, live run view, approvals,
history with feedback, settings. One client of the headless engine.

Threads (see ARCHITECTURE.md): the Qt main thread only paints. The engine runs on one
worker thread (`worker.EngineWorker`) that owns the model; the journal reads and feedback
writes of the UI go through another (`store.JournalThread`). Everything crosses threads
as queued Qt signals; an approval parks the worker on a future the UI resolves.

Importing this package imports nothing; `app.qt.app` is the entry point.
"""
