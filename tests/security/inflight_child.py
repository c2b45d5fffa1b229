"""A process running the real engine (executor, policy, journal, file tool) on one file
action, parked in the middle of it for tests/security/test_kill_mid_file_action.py.

argv: HOME_DIR WORKSPACE SIGNAL_FD CALLS TOOL; the arguments come as JSON on stdin. The file tool's spec is handed
to the registry with a stop flag that, on its CALLS-th check (one per 1 MiB chunk),
writes the run id to SIGNAL_FD and parks the action for good: the parent kills -9 it
there. The hook is data given to the registry, not a patched global.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.approval import AlwaysAllow
from agent.executor import Executor, ModelTrace, Proposal
from agent.journal import Journal
from agent.policy import Policy
from agent.settings import load_settings
from tools.base import Action, ToolResult, ToolSpec
from tools.files import FileTool
from tools.paths import Workspace
from tools.registry import Registry


class ParkAt(threading.Event):
    def __init__(self, calls: int, signal: bytes, fd: int) -> None:
        super().__init__()
        self._left, self._signal, self._fd = calls, signal, fd

    def is_set(self) -> bool:
        self._left -= 1
        if self._left == 0:
            os.write(self._fd, self._signal)
            threading.Event().wait()  # mid-action, until SIGKILL
        return super().is_set()


def parked(spec: ToolSpec[Any], calls: int, signal: bytes, fd: int) -> ToolSpec[Any]:
    real = spec.run_action
    assert real is not None

    def run_action(args: Any, action: Action) -> ToolResult:
        return real(args, Action(ParkAt(calls, signal, fd), action.intend))

    return replace(spec, run_action=run_action)


def main() -> None:
    home, ws, fd, calls, name = sys.argv[1:6]
    args = json.load(sys.stdin)
    settings = load_settings({"DESKHAND_HOME": home})
    journal = Journal(settings.journal_path)
    root = Path(ws)
    run_id = journal.start_run(goal="in flight", workspace=ws, model_id="none")
    specs = FileTool(Workspace((root,)), settings.undo_dir).specs()
    specs = [parked(s, int(calls), run_id.encode(), int(fd)) if s.name == name else s
             for s in specs]  # fmt: skip
    executor = Executor(Registry(specs), Policy.for_workspace([root]), AlwaysAllow(),
                        journal, run_id)  # fmt: skip
    for _ in executor.execute(0, Proposal("", name, args), ModelTrace()):
        pass


if __name__ == "__main__":
    main()
