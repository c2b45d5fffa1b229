"""A run as lines a person reads: the live palette and the history window both show steps
as thought → action → result, from engine events (live) or journal rows (afterwards).

Pure functions over frozen events and journal rows; no Qt, no I/O, so the wording is the
same wherever a run is shown and is tested without a display. The palette imports this
module before its first paint, so the engine's event types are imported on first use
(by then the engine has loaded them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from agent.events import Event, ExperienceUsed

LineKind = Literal["run", "thought", "action", "result", "failure", "approval", "note", "end"]


@dataclass(frozen=True, slots=True)
class Line:
    kind: LineKind
    text: str
    step: int | None = None


def short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def action_text(tool: str, args: Mapping[str, Any]) -> str:
    return f"→ {tool} {short(json.dumps(dict(args), ensure_ascii=False), 160)}"


def experience_text(event: ExperienceUsed, verb: str = "using") -> str:
    """``using 2 past runs: 20250131-142502-9f3a “rename draft.txt”, ...`` (History, after
    the run, says ``used``)."""
    runs = ", ".join(f"{r} “{short(g, 50)}”" for r, g in zip(event.runs, event.goals, strict=True))
    noun = "past run" if len(event.runs) == 1 else "past runs"
    return f"{verb} {len(event.runs)} {noun}: {runs}"


def event_lines(event: Event) -> list[Line]:
    """What the live view adds for one event (StepStarted adds nothing: the status line
    says "thinking" instead)."""
    from agent.events import (
        ActionFinished,
        ActionProposed,
        ApprovalAnswered,
        ApprovalNeeded,
        ChecksFinished,
        ExperienceUsed,
        ModelSwitched,
        RunFinished,
        RunStarted,
        SubgoalStarted,
    )

    if isinstance(event, RunStarted):
        return [Line("run", f"run {event.run_id} · {event.model_id}")]
    if isinstance(event, ExperienceUsed):
        return [Line("note", experience_text(event))]
    if isinstance(event, ActionProposed):
        lines = [Line("action", action_text(event.tool, event.args), event.step)]
        if event.thought:
            lines.insert(0, Line("thought", f"{event.step}. {short(event.thought)}", event.step))
        return lines
    if isinstance(event, ApprovalNeeded):
        text = f"? waiting for your approval: {short(event.effect.summary)}"
        return [Line("approval", text, event.step)]
    if isinstance(event, ApprovalAnswered):
        verb = "allowed" if event.decision == "allow" else "denied"
        return [Line("approval", f"{verb} ({event.source})", event.step)]
    if isinstance(event, ActionFinished):
        r = event.result
        if r.ok:
            return [Line("result", f"✓ {short(r.output)}", event.step)]
        return [Line("failure", f"✗ {r.kind}: {short(r.output)}", event.step)]
    if isinstance(event, ModelSwitched):
        text = f"model switched {event.from_model} → {event.to_model} ({event.reason})"
        return [Line("note", text, event.step)]
    if isinstance(event, SubgoalStarted):
        return [Line("note", f"the model takes over: {short(event.goal)}", event.step)]
    if isinstance(event, ChecksFinished):
        passed = sum(1 for r in event.results if r.ok)
        return [Line("note", f"checks: {passed} of {len(event.results)} passed")]
    if isinstance(event, RunFinished):
        text = (
            f"{event.outcome}: {short(event.message)} ({event.steps} steps, {event.seconds:.1f} s)"
        )
        return [Line("end", text)]
    return []


def status_text(event: Event) -> str | None:
    """The one-line status the palette shows after `event`, or None to keep the last."""
    from agent.events import ActionProposed, ApprovalNeeded, RunFinished, RunStarted, StepStarted

    if isinstance(event, RunStarted):
        return "starting…"
    if isinstance(event, StepStarted):
        return f"step {event.step}: thinking…"
    if isinstance(event, ActionProposed):
        return f"step {event.step}: {event.tool}"
    if isinstance(event, ApprovalNeeded):
        return f"step {event.step}: waiting for your approval"
    if isinstance(event, RunFinished):
        return f"{event.outcome}: {short(event.message, 80)}"
    return None


def step_lines(row: Mapping[str, Any]) -> list[Line]:
    """A journaled step (a row of `Journal.steps`) as the same three lines."""
    idx = int(row.get("idx") or 0)
    lines = []
    if row.get("thought"):
        lines.append(Line("thought", f"{idx}. {short(row['thought'])}", idx))
    lines.append(Line("action", action_text(row.get("tool") or "", row.get("args") or {}), idx))
    text = short(row.get("result_text") or "")
    if row.get("ok"):
        lines.append(Line("result", f"✓ {text}", idx))
    else:
        lines.append(Line("failure", f"✗ {row.get('result_kind') or 'error'}: {text}", idx))
    return lines


def duration_text(row: Mapping[str, Any]) -> str:
    started, finished = row.get("started_at"), row.get("finished_at")
    if not started or not finished:
        return ""
    seconds = float(finished) - float(started)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
