"""``deskhand learn export``: the user's own runs as training data, in the formats that
fine-tuning tools read.

- ``--format sft``: OpenAI chat fine-tuning JSONL, one ``{"messages": [...]}`` a line,
  ending with the assistant's reply: every action that went through in a run that may
  teach (rated good, or succeeded with checks that all passed; never one rated bad), and
  every corrected step with the action the person chose. The same records are what
  ``deskhand train`` reads.
- ``--format dpo``: prompt/chosen/rejected JSONL in TRL's conversational form: each
  corrected step (the person's action chosen, the model's rejected), and each preference
  between two runs of the same goal (the better run's turns chosen, the worse one's
  rejected, after the better run's opening prompt).

Invariants:
- The messages are exactly those the model was given (the journal's trajectory,
  agent/journal/trajectory.py); a run journaled before model calls were kept has none
  and is skipped, never re-rendered.
- Secrets stay placeholders: the journal never held their values (tools/redaction.py).
  Screenshots stay out unless ``--with-screenshots``; then they go inline as data URLs
  on the observation that followed the step that took them.

Exit status: 0 when the file was written (also with no records: the count says so);
2 on bad input (an unwritable output file).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from agent import assemble
from agent.experience import reply_text
from agent.journal import BrokenTrajectory, Journal, ModelStep, Trajectory
from agent.journal import experience_index as index
from agent.learn.replay_eval import family_of
from app.common import fail, settings_or_fail
from models.base import Message
from tools.atomic_write import write_atomic

log = logging.getLogger(__name__)
out = Console(highlight=False, soft_wrap=True)

Record = dict[str, Any]
Chat = list[dict[str, Any]]

learn_app = typer.Typer(
    help="Learn from your own runs: a personal adapter, gated; export as training data.",
    invoke_without_command=True,
)


@learn_app.callback()
def learn(
    ctx: typer.Context,
    steps: Annotated[int, typer.Option(help="Optimizer steps of the training.")] = 8,
    max_examples: Annotated[int, typer.Option(help="Most training examples used.")] = 256,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the data and the evaluation; train nothing.")
    ] = False,
) -> None:
    """Train a personal adapter on your runs; it becomes the default only if the gate
    finds it no worse on every family of your tasks and better on one."""
    if ctx.invoked_subcommand is not None:
        return
    from app.learn_command import learn_now

    learn_now(steps=steps, max_examples=max_examples, dry_run=dry_run)


@learn_app.command("rollback")
def rollback_command() -> None:
    """Make the previous adapter the default again (nothing is deleted)."""
    from app.learn_command import rollback_now

    rollback_now()


class Format(str, Enum):
    sft = "sft"
    dpo = "dpo"


@learn_app.command("export")
def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The JSONL file to write.")],
    format_: Annotated[
        Format, typer.Option("--format", help="sft: chat examples; dpo: preference pairs.")
    ] = Format.sft,
    with_screenshots: Annotated[
        bool, typer.Option("--with-screenshots", help="Put step screenshots in (as data URLs).")
    ] = False,
    templates: Annotated[
        bool,
        typer.Option("--templates", help="sft: add a 'template' key (deskhand train --held-out)."),
    ] = False,
) -> None:
    """Write your good runs, corrections and preferences as fine-tuning JSONL."""
    settings = settings_or_fail()
    journal = assemble.open_journal(settings)
    try:
        if format_ is Format.sft:
            records = list(
                sft_records(journal, with_screenshots=with_screenshots, templates=templates)
            )
        else:
            records = list(dpo_records(journal))
    finally:
        journal.close()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    try:
        write_atomic(output, text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    out.print(f"wrote {len(records)} {format_.value} record(s) to {output}")


# -- SFT ------------------------------------------------------------------------------


def sft_records(
    journal: Journal, *, with_screenshots: bool = False, templates: bool = False
) -> Iterator[Record]:
    """Chat records: each good action of each run that may teach, then each correction.
    With `templates` each carries a ``template`` (`template_of`) that ``deskhand train``
    holds out by; without, the records are OpenAI's chat format and nothing else."""
    for _, record in sft_by_run(journal, with_screenshots=with_screenshots):
        if not templates:
            record.pop("template")
        yield record


def sft_by_run(journal: Journal, *, with_screenshots: bool = False) -> Iterator[tuple[str, Record]]:
    """`sft_records` with the id of the run each record comes from."""
    for run in index.judged_runs(journal):
        if not index.usable(run):
            continue
        trajectory = _trajectory(journal, run["id"])
        steps = {s["idx"]: s for s in journal.steps(run["id"])}
        shots = _screenshots(steps.values()) if with_screenshots else {}
        template = template_of(run)
        for position, call in enumerate(trajectory.steps):
            step = steps.get(call.step)
            if step is None or not step["ok"]:
                continue  # an action that failed teaches the failure
            messages = _chat(call.messages, trajectory.steps[:position], shots)
            yield run["id"], {"messages": [*messages, _assistant(call.reply)], "template": template}
    runs = {r["id"]: r for r in index.judged_runs(journal)}
    for correction, call in _corrected(journal):
        reply = _assistant(_corrected_reply(correction))
        run = runs.get(correction["run_id"], {})
        record = {"messages": [*_chat(call.messages), reply], "template": template_of(run)}
        yield correction["run_id"], record


def template_of(run: Mapping[str, Any]) -> str:
    """A run's template key for held-out splits: ``user.FAMILY.VERB`` (the goal's first
    word): runs of one kind of task share it, whatever their names and numbers."""
    task = json.loads(run.get("task_json") or "{}")
    grants = [g[0] for g in task.get("grants") or [] if isinstance(g, list) and g]
    family = family_of(grants, run.get("start_url"))
    words = re.findall(r"[a-z]+", str(run.get("goal") or "").lower())
    return f"user.{family}.{words[0] if words else 'task'}"


# -- DPO ------------------------------------------------------------------------------


def dpo_records(journal: Journal) -> Iterator[Record]:
    """TRL conversational preference records: corrections, then preferences."""
    for correction, call in _corrected(journal):
        yield {
            "prompt": _chat(call.messages),
            "chosen": [_assistant(_corrected_reply(correction))],
            "rejected": [_assistant(call.reply)],
        }
    for pref in index.preferences(journal):
        better = _trajectory(journal, pref["better_run_id"])
        worse = _trajectory(journal, pref["worse_run_id"])
        if not better.steps or not worse.steps:
            continue
        yield {
            "prompt": _chat(better.steps[0].messages),
            "chosen": _turns(better),
            "rejected": _turns(worse),
        }


def _turns(trajectory: Trajectory) -> Chat:
    """What the run added after its opening prompt: replies and observations, ending
    with its last reply."""
    first, last = trajectory.steps[0], trajectory.steps[-1]
    return [*_chat(last.messages[len(first.messages) :]), _assistant(last.reply)]


# -- shared ---------------------------------------------------------------------------


def _trajectory(journal: Journal, run_id: str) -> Trajectory:
    try:
        return journal.trajectory(run_id)
    except BrokenTrajectory as exc:
        log.warning("run %s left out: %s", run_id, exc)
        return Trajectory(run_id, ())


def _corrected(journal: Journal) -> Iterator[tuple[Record, ModelStep]]:
    """Each step's newest correction with the model call it corrects (steps without a
    journaled model call, fixed task-file steps, have nothing to correct)."""
    newest: dict[tuple[str, int], Record] = {}
    for row in index.corrections(journal):
        newest[(row["run_id"], row["step_idx"])] = row
    calls: dict[str, dict[int, ModelStep]] = {}
    for (run_id, idx), correction in newest.items():
        if run_id not in calls:
            calls[run_id] = {s.step: s for s in _trajectory(journal, run_id).steps}
        call = calls[run_id].get(idx)
        if call is not None:
            yield correction, call


def _corrected_reply(correction: Mapping[str, Any]) -> str:
    return reply_text(correction.get("note") or "", correction["tool"], correction["args"])


def _assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def _chat(
    messages: Sequence[Message],
    earlier: Sequence[ModelStep] = (),
    shots: Mapping[int, Path] | None = None,
) -> Chat:
    """Messages as chat dicts; with `shots`, the observation after each earlier step that
    took a screenshot carries it as an image part."""
    chat: Chat = [{"role": m.role, "content": m.content} for m in messages]
    for back, call in enumerate(reversed(earlier)):
        shot = (shots or {}).get(call.step)
        at = len(chat) - 1 - 2 * back  # [..., reply k, observation k, ..., observation n]
        if shot is not None and at > 0 and chat[at]["role"] == "user":
            chat[at]["content"] = [
                {"type": "text", "text": chat[at]["content"]},
                {"type": "image_url", "image_url": {"url": _data_url(shot)}},
            ]
    return chat


def _screenshots(steps: Iterator[Mapping[str, Any]] | Any) -> dict[int, Path]:
    shots: dict[int, Path] = {}
    for step in steps:
        shot = (step.get("result_data") or {}).get("screenshot")
        if isinstance(shot, str) and Path(shot).is_file():
            shots[int(step["idx"])] = Path(shot)
    return shots


def _data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
