"""Showing a run on a terminal: live lines per event, or one JSON object per line.

Nothing here touches the engine; it only renders the events `agent.loop.run` yields and
the rows the journal returns.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from agent.events import (
    ActionFinished,
    ActionProposed,
    ApprovalAnswered,
    ApprovalNeeded,
    ChecksFinished,
    Event,
    ExperienceUsed,
    ModelSwitched,
    RunFinished,
    RunStarted,
    StepStarted,
    SubgoalStarted,
)
from app.timeline import experience_text

_OUTCOME_STYLE = {"success": "green", "failed": "red", "stopped": "yellow", "error": "red"}


def event_json(event: Event) -> str:
    data = dataclasses.asdict(event)
    return json.dumps({"event": type(event).__name__, **data}, default=str, ensure_ascii=False)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LiveDisplay:
    """Prints a run as it happens, with a spinner while the model thinks."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._status: Status | None = None

    def show(self, event: Event) -> None:
        c = self._console
        self._stop_spinner()
        if isinstance(event, RunStarted):
            c.print(
                f"[bold]run {event.run_id}[/] · model {escape(event.model_id)} · "
                f"workspace {escape(event.workspace)}"
            )
        elif isinstance(event, ExperienceUsed):
            c.print(f"[dim]{escape(experience_text(event))}[/]")
        elif isinstance(event, StepStarted):
            self._status = c.status(f"step {event.step}: thinking…")
            self._status.start()
        elif isinstance(event, ActionProposed):
            u = event.usage
            c.print(f"[bold cyan]{event.step}.[/] {escape(_short(event.thought))}")
            args = escape(_short(json.dumps(event.args, ensure_ascii=False)))
            cost = (
                f"{u.prompt_tokens} prompt tok, {u.cached_tokens} reused, "
                f"{u.completion_tokens} out, {u.seconds:.2f} s"
                if event.model_id
                else "fixed step, no model"
            )
            c.print(f"   → {escape(event.tool)} {args}  [dim]({cost})[/]")
        elif isinstance(event, SubgoalStarted):
            why = (
                f"step {event.fallback_for} failed; the model stands in for it"
                if event.fallback_for is not None
                else "the model takes over"
            )
            c.print(
                f"[bold magenta]{why}[/] [dim](up to {event.max_steps} steps)[/]: "
                f"{escape(_short(event.goal))}"
            )
        elif isinstance(event, ChecksFinished):
            for r in event.results:
                mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
                c.print(f"   {mark} check {escape(r.kind)}: {escape(r.detail)}")
        elif isinstance(event, ApprovalNeeded):
            pass  # the approver prints the question itself
        elif isinstance(event, ApprovalAnswered):
            c.print(f"   [dim]{event.decision} ({event.source})[/]")
        elif isinstance(event, ActionFinished):
            mark = "[green]✓[/]" if event.result.ok else f"[red]✗ {escape(event.result.kind)}[/]"
            c.print(
                f"   {mark} {escape(_short(event.result.output))}  [dim]({event.seconds:.2f} s)[/]"
            )
        elif isinstance(event, ModelSwitched):
            c.print(
                f"   [yellow]model switched {event.from_model} → {event.to_model} ({event.reason})[/]"
            )
        elif isinstance(event, RunFinished):
            style = _OUTCOME_STYLE.get(event.outcome, "white")
            c.print(
                f"[bold {style}]{event.outcome}[/]: {escape(event.message)} "
                f"[dim]({event.steps} steps, {event.seconds:.1f} s, run {event.run_id})[/]"
            )

    def close(self) -> None:
        self._stop_spinner()

    def _stop_spinner(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def runs_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table("run", "started", "status", "outcome", "steps", "model", "goal")
    for r in rows:
        table.add_row(
            r["id"],
            _when(r.get("started_at")),
            r.get("status") or "",
            r.get("outcome") or "",
            str(r.get("steps") or 0),
            r.get("model_id") or "",
            _short(r.get("goal") or "", 60),
        )
    return table


def show_run(console: Console, run: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> None:
    console.print(f"[bold]run {run['id']}[/]  {escape(run.get('goal') or '')}")
    console.print(
        f"  model {run.get('model_id')} · workspace {run.get('workspace')} · "
        f"{run.get('status')} · outcome {run.get('outcome')}"
    )
    if run.get("message"):
        console.print(f"  {escape(run['message'])}")
    for s in steps:
        ok = "[green]ok[/]" if s.get("ok") else f"[red]{escape(s.get('result_kind') or 'error')}[/]"
        console.print(f"[bold cyan]{s['idx']}.[/] {escape(_short(s.get('thought') or ''))}")
        console.print(
            f"   → {escape(s.get('tool') or '')} {escape(_short(json.dumps(s.get('args'), ensure_ascii=False)))}"
        )
        console.print(
            f"   {ok} {escape(_short(s.get('result_text') or ''))} "
            f"[dim]({s.get('prompt_tokens')} prompt tok, {s.get('tokens_reused')} reused, "
            f"{(s.get('model_seconds') or 0):.2f} s model, {(s.get('tool_seconds') or 0):.2f} s tool)[/]"
        )


def _when(ts: float | None) -> str:
    if not ts:
        return ""
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
