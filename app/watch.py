"""``deskhand watch DIR``: run each task file dropped into a folder, one at a time.

The folder protocol and its invariants live in `agent.inbox` and `agent.inbox.claims`; this is
the command around them: the runner wired from settings, one line per thing that happens,
signals, and ``--status``.

Unattended runs have no one to ask: what a task file's `permissions` do not grant and the
policy would ask about is denied. A file may grant itself file access in the workspace;
anything more (the shell, a site, the screen) only where ``--allow`` (or the configured
``watch_allow``) covers it, else it is refused into failed/ with the reason. Configured
deny rules cap every task.

Inputs: ``--set NAME=VALUE`` (repeatable) gives every task that declares input NAME
that value, like ``deskhand run FILE --set``; a task without that input ignores it (an
inbox runs many kinds of task), and a value of the wrong type fails that task into
failed/ with the message. A required input that no ``--set`` gives fails the task the
same way. Values are fixed when the watcher starts.

Exit status: 0 when the watcher did its job (with ``--once``: and everything it ran
succeeded); 1 when ``--once`` filed something under failed/, or the folder failed (disk
full, permissions); 2 on bad input; 130 after a second Ctrl-C (the task then running is
recovered at the next start).
"""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

from agent import assemble
from agent.assemble import BadInput
from agent.inbox import Inbox, Notice
from agent.inbox.claims import FAILED, read_status
from agent.runner import unattended
from app.common import err, fail, set_pairs, settings_or_fail

out = Console(highlight=False, soft_wrap=True)


_Folder = Annotated[Path, typer.Argument(help="The inbox folder.")]
_Workspace = Annotated[
    list[Path] | None,
    typer.Option("--workspace", "-w", help="Folder the tasks may work in (repeatable)."),
]
_Status = Annotated[
    bool, typer.Option("--status", help="Print the queue state of FOLDER and exit.")
]
_Once = Annotated[
    bool, typer.Option("--once", help="Run what is in FOLDER now, then exit (for cron).")
]
_Settle = Annotated[
    float,
    typer.Option(
        min=0.0, help="Seconds a file written in place must sit unchanged before it runs."
    ),
]
_Json = Annotated[bool, typer.Option("--json", help="With --status: print JSON.")]
_Set = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="NAME=VALUE for every task that declares input NAME (others ignore it).",
    ),
]
_Allow = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        help="CAP[:SCOPE] a dropped task may grant itself beyond files in its workspace "
        "(repeatable); a task asking for more is refused into failed/.",
    ),
]


def watch_command(
    folder: _Folder,
    workspace: _Workspace = None,
    status: _Status = False,
    once: _Once = False,
    settle: _Settle = 1.0,
    as_json: _Json = False,
    set_: _Set = None,
    allow: _Allow = None,
) -> None:
    """Run each *.task.yaml that lands in FOLDER once, one at a time, and file it under
    done/ or failed/ with NAME.result.json beside it. Ctrl-C stops after the current task."""
    folder = folder.expanduser()
    if not folder.is_dir():
        fail(f"inbox folder does not exist or is not a folder: {folder}")
    folder = folder.resolve()
    inputs = set_pairs(set_ or [])
    if status:
        _print_status(read_status(folder), as_json)
        return
    settings = settings_or_fail()
    try:
        roots = assemble.workspace_roots(settings, workspace or [])
    except BadInput as exc:
        fail(str(exc))
    # watchdog logs an ERROR when its observer is stopped while reading events, a
    # harmless race inside watchdog on every shutdown; keep it off the user's terminal.
    logging.getLogger("watchdog").setLevel(logging.CRITICAL)
    try:
        run = unattended(settings, roots, inputs, allow=allow or [])
    except BadInput as exc:
        fail(str(exc))
    inbox = Inbox(folder, run, settle_seconds=settle, notify=_show)
    if not once:
        out.print(
            f"watching {folder}: each *.task.yaml that lands here runs once "
            "(Ctrl-C stops after the current task)",
            markup=False,
        )
    try:
        inbox.start(once=once)
    except OSError as exc:
        fail(f"cannot watch {folder}: {exc.strerror or exc}")
    try:
        _wait(inbox)
    except OSError as exc:
        fail(f"the inbox stopped: {exc}", code=1)
    raise typer.Exit(1 if once and inbox.counts[FAILED] else 0)


def _wait(inbox: Inbox) -> None:
    """Wait for the inbox's worker. The first SIGINT or SIGTERM stops it after the
    current task; a second SIGINT quits at once."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if inbox.stopping:
            raise KeyboardInterrupt
        err.print("deskhand: stopping after the current task (Ctrl-C again: at once)")
        inbox.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        inbox.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _show(notice: Notice) -> None:
    name = notice.name
    if notice.kind == "started":
        line = f"running {name} (attempt {notice.attempt})"
    elif notice.kind == "filed":
        where = f"{notice.path.parent.name}/{notice.path.name}" if notice.path else "?"
        line = f"{notice.outcome}: {name} -> {where}: {notice.message}"
    elif notice.kind == "recovered":
        line = f"interrupted: {name} ({notice.attempt} attempt(s)): {notice.outcome}"
    else:
        line = f"stopped: {name}, left in processing/ to rerun at the next start"
    out.print(line, markup=False)


def _print_status(state: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.print(json.dumps(state, ensure_ascii=False, default=str), markup=False)
        return

    def names(rows: list[dict[str, Any]], what: str) -> str:
        shown = [f"{r['name']} (attempt {r['attempts']}, {what} {r['started_at']})" for r in rows]
        return "; ".join(shown)

    lines = [
        f"inbox {state['folder']}",
        f"  waiting      {len(state['waiting']):>4}  {', '.join(state['waiting'])}",
        f"  running      {len(state['running']):>4}  {names(state['running'], 'since')}",
        f"  interrupted  {len(state['interrupted']):>4}  "
        + names(state["interrupted"], "started")
        + (" (handled when a watcher starts)" if state["interrupted"] else ""),
        f"  done         {state['done']:>4}",
        f"  failed       {state['failed']:>4}",
        f"  watchers     {len(state['watchers']):>4}  "
        + ", ".join(f"pid {w['pid']} since {w['started_at']}" for w in state["watchers"]),
    ]
    for watcher in state["watchers"]:
        for r in watcher.get("recovered", []):
            lines.append(
                f"  found interrupted by pid {watcher['pid']}: {r['name']} -> {r['action']}"
            )
    for line in lines:
        out.print(line.rstrip(), markup=False)
