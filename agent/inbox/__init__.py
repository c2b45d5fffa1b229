"""The watched inbox (``deskhand watch DIR``, the tray app's watched folder): task files
dropped into a folder are claimed, run one at a time and filed under done/ or failed/.

`watcher` drives it (`Inbox`; the layout of DIR and the invariants are in its docstring),
`claims` is the folder protocol on disk that several watchers and a crash agree on, and
`settle` tells when a file written in place is complete.
"""

from agent.inbox.watcher import Inbox, Notice, RunTask

__all__ = ["Inbox", "Notice", "RunTask"]
