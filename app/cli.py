"""The `deskhand` command line.

Exit status: 0 when a run succeeded (or a command did its job), 1 when a run failed or
was stopped, 2 on bad input (unknown model, missing workspace, bad --allow value, bad
config). Bad input is one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from agent import assemble
from agent.approval import AlwaysAllow, AlwaysDeny, Approver
from agent.assemble import BadInput
from agent.events import Event, RunFinished
from agent.journal import Journal, UnknownRun
from agent.loop import Engine, run
from agent.settings import Settings, SettingsError, is_interactive, load_settings
from agent.task import Limits, Task
from app.approver import TerminalApprover
from app.display import LiveDisplay, event_json, runs_table, show_run
from models.base import ModelError
from tools.base import ToolFailure
from tools.undo import undo_change

cli = typer.Typer(
    name="deskhand",
    help="A desktop agent that runs a local model and asks before it acts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"deskhand: {message}", markup=False)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"bad configuration: {exc}")


def _journal(settings: Settings) -> Journal:
    return assemble.open_journal(settings)


@cli.command("run")
def run_command(
    goal: Annotated[str, typer.Argument(help="What to do, in plain language.")],
    workspace: Annotated[
        list[Path] | None,
        typer.Option("--workspace", "-w", help="Folder the agent may work in (repeatable)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="'embedded', a configured name, or a .gguf path.")
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow", help="Grant a capability for this run, e.g. fs.write or fs.write:reports/*."
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Answer yes to every approval question.")
    ] = False,
    max_steps: Annotated[int | None, typer.Option(min=1, help="Step budget.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON event per line.")] = False,
) -> None:
    """Plan and carry out GOAL with the model, asking before each effect the policy does not allow."""
    settings = _settings()
    try:
        roots = assemble.workspace_roots(settings, workspace or [])
        grants = assemble.permission_rules(settings, allow or [], roots)
        entry = assemble.resolve_model(settings, model)
    except BadInput as exc:
        fail(str(exc))
    approver: Approver
    if yes:
        approver = AlwaysAllow()
    elif is_interactive() and not as_json:
        approver = TerminalApprover(err)
    else:
        approver = AlwaysDeny()
    journal = _journal(settings)
    try:
        router = assemble.open_router(settings, entry)
    except ModelError as exc:
        fail(f"cannot open model {entry.name}: {exc}")
    files = assemble.file_tool(settings, roots)
    task = Task(
        goal=goal,
        workspace=roots,
        grants=grants,
        limits=Limits(max_steps=max_steps or settings.max_steps, max_seconds=settings.max_seconds),
        context="Workspace contents:\n" + files.listing("."),
    )
    engine = Engine(router, assemble.registry(settings, roots), journal, approver)
    finished = _drive(run(task, engine), engine, as_json)
    router.close()
    journal.close()
    raise typer.Exit(0 if finished is not None and finished.outcome == "success" else 1)


def _drive(events: Iterator[Event], engine: Engine, as_json: bool) -> RunFinished | None:
    """Show events until the run ends. Ctrl-C sets the stop flag (the run stops within
    one generated token); a second Ctrl-C interrupts at once."""

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if engine.stop.is_set():
            raise KeyboardInterrupt
        engine.stop.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    display = LiveDisplay(err if as_json else out)
    last: RunFinished | None = None
    try:
        for event in events:
            if as_json:
                print(event_json(event), flush=True)
            else:
                display.show(event)
            if isinstance(event, RunFinished):
                last = event
    finally:
        display.close()
        signal.signal(signal.SIGINT, previous)
    return last


@cli.command("runs")
def runs_command(
    limit: Annotated[int, typer.Option(min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List recent runs, newest first."""
    journal = _journal(_settings())
    rows = journal.runs(limit=limit)
    if as_json:
        print(json.dumps(rows, default=str, ensure_ascii=False))
    else:
        out.print(runs_table(rows))


@cli.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="A run id or a unique prefix of one.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one run's whole trajectory."""
    journal = _journal(_settings())
    try:
        rid = journal.resolve_run_id(run_id)
    except UnknownRun as exc:
        fail(str(exc))
    record = journal.run(rid)
    assert record is not None
    steps = journal.steps(rid)
    if as_json:
        payload = {
            "run": record,
            "steps": steps,
            "approvals": journal.approvals(rid),
            "events": journal.events(rid),
            "file_changes": journal.file_changes(rid),
        }
        print(json.dumps(payload, default=str, ensure_ascii=False))
    else:
        show_run(out, record, steps)


@cli.command("undo")
def undo_command(
    run_id: Annotated[str, typer.Argument(help="The run whose file changes to reverse.")],
) -> None:
    """Reverse a run's file changes, newest first."""
    journal = _journal(_settings())
    try:
        rid = journal.resolve_run_id(run_id)
    except UnknownRun as exc:
        fail(str(exc))
    pending = [c for c in reversed(journal.file_changes(rid)) if not c.get("undone_at")]
    if not pending:
        out.print(f"run {rid} has no file changes to undo")
        return
    for change in pending:
        try:
            what = undo_change(change["change"])
        except ToolFailure as failure:
            fail(f"cannot undo change {change['id']}: {failure.message}", code=1)
        journal.mark_undone(change["id"])
        out.print(f"undone: {what}", markup=False)


@cli.command("models")
def models_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the embedded and configured models, where each lives, and GPU offload."""
    from models.llamacpp import gpu_offload_supported

    settings = _settings()
    gpu = gpu_offload_supported()
    rows = [
        {
            "name": e.name,
            "kind": e.kind,
            "location": e.location,
            "available": e.available,
            "default": e.name == settings.model.default,
            "gpu_offload": gpu and e.kind == "gguf" and settings.model.gpu_layers != 0,
        }
        for e in assemble.catalogue(settings).entries()
    ]
    if as_json:
        print(json.dumps(rows))
        return
    for r in rows:
        mark = "*" if r["default"] else " "
        state = "" if r["available"] else "  (not installed)"
        gpu_note = (
            "  gpu offload: on"
            if r["gpu_offload"]
            else ("  gpu offload: off" if r["kind"] == "gguf" else "")
        )
        out.print(
            f"{mark} {r['name']:<12} {r['kind']:<7} {r['location']}{gpu_note}{state}", markup=False
        )


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        err.print("deskhand: interrupted")
        sys.exit(130)
