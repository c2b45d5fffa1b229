"""The `deskhand` command line.

Exit status: 0 when a run succeeded (or a command did its job), 1 when a run failed or
was stopped, 2 on bad input (unknown model, missing workspace, bad --allow value, bad
config). Bad input is one line on stderr, never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, Literal, NoReturn, cast

import typer
from rich.console import Console

from agent import assemble
from agent.approval import AlwaysAllow, AlwaysDeny, Approver
from agent.assemble import BadInput
from agent.events import Event, RunFinished
from agent.journal import BrokenTrajectory, Journal, UnknownRun
from agent.preflight import check_steps, task_tools
from agent.prepare import RunRequest, prepare_run
from agent.runner import TaskReport, run_task_path
from agent.settings import Settings, is_interactive, without_adapter
from agent.taskfile import TaskFile, TaskFileError, load_task_file
from agent.taskfile.from_run import SaveError, save_run
from agent.taskrun import run_task
from app.approver import TerminalApprover
from app.common import err, fail, set_pairs, settings_or_fail
from app.display import LiveDisplay, event_json, runs_table, show_run
from models.base import ChatModel
from tools.base import ToolFailure
from tools.undo import undo_change, undo_in_flight

cli = typer.Typer(
    name="deskhand",
    help="A desktop agent that runs a local model and asks before it acts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)


def _journal(settings: Settings) -> Journal:
    return assemble.open_journal(settings)


@dataclass(frozen=True, slots=True)
class CliContext:
    """What a program that invokes the CLI in-process (tests, an embedding app) may hand it
    as the click context's ``obj``: an open model for ``run`` to use instead of loading one
    (the caller keeps and closes it)."""

    model: ChatModel | None = None


_Goal = Annotated[
    str, typer.Argument(help="What to do, in plain language, or a FILE.task.yaml to run.")
]
_Workspace = Annotated[
    list[Path] | None,
    typer.Option("--workspace", "-w", help="Folder the agent may work in (repeatable)."),
]
_Model = Annotated[str | None, typer.Option(help="'embedded', a configured name, or a .gguf path.")]
_Allow = Annotated[
    list[str] | None,
    typer.Option(
        "--allow", help="Grant a capability for this run, e.g. fs.write or fs.write:reports/*."
    ),
]
_Yes = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to every approval question.")]
_MaxSteps = Annotated[int | None, typer.Option(min=1, help="Step budget.")]
_Json = Annotated[bool, typer.Option("--json", help="Print one JSON event per line.")]
_StartUrl = Annotated[
    str | None,
    typer.Option(
        "--start-url",
        help="Open this page first and give the agent the browser (the page's site is granted for this run).",
    ),
]
_Gui = Annotated[
    bool,
    typer.Option(
        "--gui",
        help="Give the agent the desktop GUI tool (Linux X11): read the screen, click, type.",
    ),
]
_Set = Annotated[
    list[str] | None,
    typer.Option("--set", help="A task file's input, NAME=VALUE (repeatable)."),
]
_Memory = Annotated[
    bool,
    typer.Option(
        "--memory/--no-memory",
        help="Show the model your past runs most like this goal (default: on, see [memory]).",
    ),
]
_NoAdapter = Annotated[
    bool,
    typer.Option(
        "--no-adapter",
        help="Run local models bare, without deskhand's adapter (see model.use_adapter).",
    ),
]
_Adapter = Annotated[
    str | None,
    typer.Option(
        "--adapter",
        help="The local model's adapter for this run: 'shipped' or a personal NAME (deskhand models adapters).",
    ),
]
_OnStepFailure = Annotated[
    str | None,
    typer.Option(
        "--on-step-failure",
        help="When a task file's fixed step fails: 'agent' lets the model do it, 'stop' ends the run.",
    ),
]


@cli.command("run")
def run_command(
    ctx: typer.Context,
    goal: _Goal,
    workspace: _Workspace = None,
    model: _Model = None,
    allow: _Allow = None,
    yes: _Yes = False,
    max_steps: _MaxSteps = None,
    as_json: _Json = False,
    start_url: _StartUrl = None,
    gui: _Gui = False,
    set_: _Set = None,
    memory: _Memory = True,
    on_step_failure: _OnStepFailure = None,
    no_adapter: _NoAdapter = False,
    adapter: _Adapter = None,
) -> None:
    """Plan and carry out GOAL with the model, asking before each effect the policy does not allow.

    GOAL may be a task file (*.task.yaml): its fixed steps run without a model, its
    checks decide the outcome, and a failing check exits 1."""
    settings = settings_or_fail()
    settings = without_adapter(settings) if no_adapter else settings
    given = ctx.obj.model if isinstance(ctx.obj, CliContext) else None
    request = RunRequest(
        workspace=workspace or [],
        model=given or model,
        grants=allow or [],
        approver=_approver(yes, as_json),
        max_steps=max_steps,
        adapter=adapter,
    )
    if _is_task_file(goal):
        if start_url is not None or gui:
            fail("--start-url and --gui apply to a goal; a task file names its own steps")
        _run_task_file(
            Path(goal),
            settings,
            request,
            as_json=as_json,
            overrides=set_pairs(set_ or []),
            on_step_failure=_step_failure(on_step_failure),
        )
    if set_ or on_step_failure:
        fail("--set and --on-step-failure apply to a task file (FILE.task.yaml), not to a goal")
    request = replace(
        request, goal=goal, start_url=start_url, gui=gui, memory=memory, open_model_now=True
    )
    _run_goal(request, settings, as_json)


def _run_goal(request: RunRequest, settings: Settings, as_json: bool) -> NoReturn:
    """Run a plain goal; exit 0 when it succeeded, 1 otherwise."""
    stop = threading.Event()
    try:
        plan = prepare_run(request, settings, stop)
    except BadInput as exc:
        fail(str(exc))
    with _journal(settings) as journal:
        events = run_task(plan, journal)
        try:
            finished = _drive(events, stop, as_json)
        finally:
            events.close()  # journaled as stopped, if a second Ctrl-C cut it short
    raise typer.Exit(0 if finished is not None and finished.outcome == "success" else 1)


def _approver(yes: bool, as_json: bool) -> Approver:
    if yes:
        return AlwaysAllow()
    if is_interactive() and not as_json:
        return TerminalApprover(err)
    return AlwaysDeny()


def _drive(events: Iterator[Event], stop: threading.Event, as_json: bool) -> RunFinished | None:
    """Show events until the run ends."""
    last: RunFinished | None = None
    with _showing(stop, as_json) as show:
        for event in events:
            show(event)
            if isinstance(event, RunFinished):
                last = event
    return last


@contextmanager
def _showing(stop: threading.Event, as_json: bool) -> Iterator[Callable[[Event], None]]:
    """A function that shows one event (live lines, or JSON lines with --json). Meanwhile
    Ctrl-C sets the stop flag (a run stops within one generated token); a second Ctrl-C
    interrupts at once."""

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    def show(event: Event) -> None:
        if as_json:
            print(event_json(event), flush=True)
        else:
            display.show(event)

    previous = signal.signal(signal.SIGINT, on_sigint)
    display = LiveDisplay(err if as_json else out)
    try:
        yield show
    finally:
        display.close()
        signal.signal(signal.SIGINT, previous)


# -- task files ---------------------------------------------------------------------------


def _is_task_file(goal: str) -> bool:
    """A YAML file name (existing, or one word that looks like a path) is a task file;
    anything else is a goal in plain words."""
    if not goal.lower().endswith((".yaml", ".yml")):
        return False
    return Path(goal).is_file() or not any(c.isspace() for c in goal)


def _step_failure(text: str | None) -> Literal["agent", "stop"] | None:
    if text is None or text in ("agent", "stop"):
        return cast(Literal["agent", "stop"] | None, text)
    fail(f"--on-step-failure is 'agent' or 'stop', not {text!r}")


def _run_task_file(
    path: Path,
    settings: Settings,
    request: RunRequest,
    *,
    as_json: bool,
    overrides: dict[str, str],
    on_step_failure: Literal["agent", "stop"] | None,
) -> NoReturn:
    """Run a task file; exit 0 when it succeeded (its checks held), 1 otherwise."""
    stop = threading.Event()
    try:
        with _showing(stop, as_json) as show:
            report = run_task_path(
                path,
                settings=settings,
                workspace=request.workspace,
                overrides=overrides,
                approver=request.approver,
                stop=stop,
                on_event=show,
                model=request.model,
                grants=request.grants,
                max_steps=request.max_steps,
                on_step_failure=on_step_failure,
            )
    except (TaskFileError, BadInput) as exc:
        fail(str(exc))
    if not as_json:
        _show_report(report)
    raise typer.Exit(0 if report.outcome == "success" else 1)


def _show_report(report: TaskReport) -> None:
    out.print(
        f"{report.replayed_steps} step(s) replayed, {report.model_steps} chosen by the model",
        markup=False,
    )


@cli.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Task files to check.")],
) -> None:
    """Check task files without running them: one line per problem; exit 2 if any."""
    settings = settings_or_fail()
    roots = (settings.default_workspace,)
    bad = 0
    for path in files:
        try:
            task = load_task_file(path, require_inputs=False)
            # The tools a run of this task would get (the browser for browser.* steps, ...).
            tools = task_tools(task, settings, roots, task.grants(roots))
            check_steps(task, tools.registry(settings, roots), str(path))
        except TaskFileError as exc:
            bad += 1
            for problem in exc.problems:
                print(TaskFileError(exc.source, [problem]), flush=True)
            continue
        except BadInput as exc:  # its tools cannot be built here (a gui.* step, no display)
            bad += 1
            print(f"{path}: cannot check its steps here: {exc}", flush=True)
            continue
        print(f"{path}: ok", flush=True)
    raise typer.Exit(2 if bad else 0)


@cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of task files (for editors)."""
    print(json.dumps(TaskFile.model_json_schema(), indent=2, ensure_ascii=False))


@cli.command("save")
def save_command(
    run_id: Annotated[str, typer.Argument(help="A successful run's id (or a unique prefix).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The task file to write.")],
    name: Annotated[str | None, typer.Option(help="The task's name.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Save a successful run as a task file of fixed steps that replays without a model."""
    journal = _journal(settings_or_fail())
    try:
        saved = save_run(journal, run_id, output, name=name, force=force)
    except SaveError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    finally:
        journal.close()
    inputs = f", inputs: {', '.join(saved.inputs)}" if saved.inputs else ""
    out.print(
        f"saved {output}: {saved.steps} step(s), {saved.checks} check(s){inputs}"
        f" ({saved.skipped} read-only or failed step(s) left out)",
        markup=False,
    )


@cli.command("runs")
def runs_command(
    limit: Annotated[int, typer.Option(min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List recent runs, newest first."""
    journal = _journal(settings_or_fail())
    rows = journal.runs(limit=limit)
    if as_json:
        print(json.dumps(rows, default=str, ensure_ascii=False))
    else:
        out.print(runs_table(rows))


@cli.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="A run id or a unique prefix of one.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    prompts: Annotated[
        bool,
        typer.Option(
            "--prompts",
            help="With --json: each model step's exact messages, raw reply and decoding.",
        ),
    ] = False,
) -> None:
    """Show one run's whole trajectory."""
    journal = _journal(settings_or_fail())
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
        if prompts:
            payload["model_steps"] = _model_steps(journal, rid)
        print(json.dumps(payload, default=str, ensure_ascii=False))
    else:
        show_run(out, record, steps)


def _model_steps(journal: Journal, run_id: str) -> list[dict[str, Any]]:
    """The run's model steps as the journal rebuilds them (`Journal.trajectory`): exactly
    the messages the model was given and the reply it returned."""
    try:
        trajectory = journal.trajectory(run_id)
    except BrokenTrajectory as exc:
        fail(f"run {run_id}: {exc}")
    return [
        {
            "step": step.step,
            "model_id": step.model_id,
            "adapter_id": step.adapter_id,
            "decoding": dataclasses.asdict(step.decoding),
            "messages": [{"role": m.role, "content": m.content} for m in step.messages],
            "reply": step.reply,
        }
        for step in trajectory.steps
    ]


@cli.command("undo")
def undo_command(
    run_id: Annotated[str, typer.Argument(help="The run whose file changes to reverse.")],
) -> None:
    """Reverse a run's file changes, newest first, also one left in flight when its
    process was killed or its action did not stop."""
    journal = _journal(settings_or_fail())
    try:
        rid = journal.resolve_run_id(run_id)
    except UnknownRun as exc:
        fail(str(exc))
    changes = journal.file_changes(rid, in_flight=True)
    pending = [c for c in reversed(changes) if not c.get("undone_at")]
    if not pending:
        out.print(f"run {rid} has no file changes to undo")
        return
    record = journal.run_record(rid)
    running = record is not None and record.status == "running"
    for change in pending:
        in_flight = change.get("state") == "intent"
        if in_flight and running:
            fail(f"cannot undo change {change['id']}: it is still in flight in a live run")
        try:
            undo = undo_in_flight if in_flight else undo_change
            what = undo(change["change"])
        except ToolFailure as failure:
            fail(f"cannot undo change {change['id']}: {failure.message}", code=1)
        journal.mark_undone(change["id"])
        out.print(f"undone: {what}", markup=False)


from app.models_cli import models_app  # noqa: E402  (models: list, recommend, pull, rm)

cli.add_typer(models_app, name="models")

from app.doctor import doctor_command  # noqa: E402  (what this machine can run, and what to fix)

cli.command("doctor")(doctor_command)

from app.watch import watch_command  # noqa: E402  (the watched inbox lives in its own module)

cli.command("watch")(watch_command)

from app.train import train_command  # noqa: E402  (training, with the optional extra)

cli.command("train")(train_command)

from app.collect import collect_command  # noqa: E402  (training data from a remote teacher)

cli.command("collect")(collect_command)

from app.learn import learn_app  # noqa: E402  (learning from the user's runs)

cli.add_typer(learn_app, name="learn")

from app.desktop import palette_command, stop_command, tray_command  # noqa: E402  (the desktop app)

cli.command("tray")(tray_command)
cli.command("palette")(palette_command)
cli.command("stop")(stop_command)


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        err.print("deskhand: interrupted")
        sys.exit(130)
