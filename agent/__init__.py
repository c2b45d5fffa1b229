"""The headless engine: settings, the run pipeline, the executor, the permission policy,
the journal, task files, the watched inbox, and learning from runs.

Never imports Qt; the CLI and the Qt app in `app` are its clients, and they use its public
surface only (an import-linter contract in pyproject.toml, "app uses the engine's public
surface"): a run is built by `agent.prepare` (`RunRequest` -> `prepare_run`) and driven by
`agent.taskrun.run_task` or `agent.runner`; the journal through `agent.journal`, task files
through `agent.taskfile` (and `agent.taskfile.from_run` for ``deskhand save``), the inbox
through `agent.inbox`. The loop, the executor, checks, templates and the inner modules of
those packages are the engine's own.
"""
