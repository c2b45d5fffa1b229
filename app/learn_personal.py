"""``deskhand learn``: a personal adapter trained on the user's own runs, which replaces
the current default only when the gate (agent/learn_gate.py) accepts it.

1. Data: the SFT records of ``deskhand learn export`` (good runs' steps, corrections),
   each with a ``template`` key (`app.learn.template_of`). The newest fifth of the runs
   that may teach (at least one) is held out for the evaluation, never trained on.
2. Training: `models.train.session.fit`, the trainer of ``deskhand train``. The LoRA
   starts from the current default adapter's weights (the shipped adapter, or the last
   accepted personal one; ``deskhand train --init``), so the candidate adds the user's
   data to what the default learned. When there is none (adapters off), or it does not
   fit the trainer (another LoRA shape or prompt style), it starts from fresh weights;
   the notes and the provenance say which. The gate then compares it with the default.
3. Evaluation: `agent.learn.replay_eval`: the user's saved task files (tasks folder, the
   inbox's done/ files) and the held-out runs, replayed in scratch workspaces with each
   adapter, scored per family.
4. The gate stores the candidate as ``data_dir/adapters/STEM-vN.gguf`` with its scores
   and provenance, and makes it the default only when accepted.

Invariants: the default changes only in the gate's last write (`AdapterStore.promote`);
Ctrl-C or a failure before it leaves the current default as it was. Nothing leaves the
machine. `learn_personal` prints nothing: progress goes to the callbacks, so the command
line and the tray app (app/qt/learn_action.py) share it.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import assemble
from agent.learn.replay_eval import EvalCase, evaluator, run_cases, task_file_cases
from agent.learn_gate import Verdict, gate, personal_store
from agent.prompt import style_of_system
from agent.settings import Settings
from app.learn import sft_by_run
from models.base import ChatModel
from models.catalogue import embedded_model_path

Note = Callable[[str], None]
#: (step, total steps, loss) after each optimizer step.
OnStep = Callable[[int, int, float], None]


class LearnError(Exception):
    """Learning cannot start (no data, no trainer, no model); the message is one line."""


@dataclass(slots=True)
class LearnPlan:
    """What `deskhand learn` will train on and evaluate with (``--dry-run`` shows it)."""

    records: list[dict[str, Any]]
    held_out_runs: list[str]
    cases: list[EvalCase]
    style: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        families = Counter(c.family for c in self.cases)
        shown = ", ".join(f"{f} {n}" for f, n in sorted(families.items())) or "none"
        return (
            f"{len(self.records)} training example(s) from your runs; "
            f"{len(self.held_out_runs)} run(s) held out; evaluation cases: {shown}"
        )


def plan(settings: Settings, *, max_examples: int = 256, share: float = 0.2) -> LearnPlan:
    """The training records and evaluation cases from the user's journal and task files."""
    journal = assemble.open_journal(settings)
    try:
        by_run = list(sft_by_run(journal))
        runs = list(dict.fromkeys(rid for rid, _ in by_run))  # newest first
        held = runs[: max(1, round(len(runs) * share))] if len(runs) > 1 else []
        cases = run_cases(journal, held)
    finally:
        journal.close()
    cases = task_file_cases(_task_folders(settings)) + cases
    records = [r for rid, r in by_run if rid not in set(held)]
    styles = Counter(style_of_system(_system(r)) for r in records)
    style = styles.most_common(1)[0][0] if styles else "compact"
    records = [r for r in records if style_of_system(_system(r)) == style][:max_examples]
    return LearnPlan(records, held, cases, style)


def _system(record: dict[str, Any]) -> str:
    first = (record.get("messages") or [{}])[0]
    return str(first.get("content", "")) if first.get("role") == "system" else ""


def _task_folders(settings: Settings) -> list[Path]:
    """Where the user's saved task files are: the tasks folder, the inbox's done/."""
    folders = [settings.tasks_folder] if settings.tasks_folder else []
    if settings.watch_folder:
        folders.append(settings.watch_folder / "done")
    return [f for f in folders if f.is_dir()]


def open_embedded(settings: Settings) -> Callable[[Path | None], ChatModel]:
    """Opens the embedded model with an adapter (None: the default one, as runs get it)."""
    from models.llamacpp import LlamaCppModel

    base = embedded_model_path(None)
    if base is None:
        raise LearnError("the embedded model is not installed")
    default = assemble.local_options(settings).adapter_for(embedded=True)

    def open_model(adapter: Path | None) -> ChatModel:
        lora = adapter or default
        return LlamaCppModel(base, n_ctx=4096, n_threads=settings.model.threads, lora_path=lora)

    return open_model


def _require_trainer() -> None:
    from models.train import missing_modules

    missing = missing_modules()
    if missing:
        raise LearnError(f"learning needs the train extra ({', '.join(missing)} missing)")


def train_candidate(
    learn: LearnPlan,
    out: Path,
    *,
    steps: int,
    batch: int,
    on_step: OnStep | None,
    note: Note,
    init: Path | None = None,
) -> Path:
    """Fit a LoRA on the plan's records with `deskhand train`'s trainer, starting from the
    adapter `init` (None: fresh weights); the adapter. An `init` that does not fit raises
    `models.train.adapter.AdapterMismatch` before training."""
    _require_trainer()
    from models.train.examples import ChatExample
    from models.train.loop import StepReport, TrainConfig
    from models.train.session import FitOptions, fit

    base = embedded_model_path(None)
    if base is None:
        raise LearnError("the embedded model is not installed")
    examples = [ChatExample.from_record(r) for r in learn.records]
    size = max(1, min(batch, len(examples)))
    config = TrainConfig(steps, batch=size, lr=1e-3, checkpoint_every=10_000)
    options = FitOptions(
        config,
        out.with_name(out.name + ".checkpoints"),
        max_tokens=2048,
        eval_max=0,
        prompt_style=learn.style,
        init=init,
    )

    def step(r: StepReport) -> None:
        if on_step is not None:
            on_step(r.step, r.total, r.loss)

    fit(base, examples, [], out, options, on_step=step, on_note=note)
    return out


def train_from_default(
    learn: LearnPlan, out: Path, default: Path | None, *, note: Note, **train: Any
) -> tuple[Path, str]:
    """`train_candidate` from the weights of `default` (the current default adapter)
    when it fits the trainer, else from fresh ones; the adapter and where it started."""
    _require_trainer()
    from models.train.adapter import AdapterMismatch

    if default is None:
        note("training from scratch: no default adapter (adapters are off)")
        return train_candidate(learn, out, note=note, **train), "scratch (adapters off)"
    note(f"training on top of the current default adapter, {default.name}")
    try:
        return train_candidate(learn, out, note=note, init=default, **train), default.name
    except AdapterMismatch as exc:
        note(f"{default.name} does not fit the trainer ({exc}): training from scratch")
    return train_candidate(learn, out, note=note, **train), f"scratch ({default.name} did not fit)"


def learn_personal(
    settings: Settings,
    *,
    steps: int = 8,
    max_examples: int = 256,
    batch: int = 8,
    on_step: OnStep | None = None,
    note: Note = lambda _: None,
    open_model: Callable[[Path | None], ChatModel] | None = None,
) -> Verdict:
    """Train, evaluate and gate a personal adapter (see the module docstring)."""
    learn = plan(settings, max_examples=max_examples)
    if not learn.records:
        raise LearnError("no run of yours may teach yet (rate good runs, or use checks)")
    if not learn.cases:
        raise LearnError("nothing to evaluate with: save a task with checks, or run more")
    note(learn.summary())
    opener = open_model or open_embedded(settings)
    default = assemble.local_options(settings).adapter_for(embedded=True)
    with tempfile.TemporaryDirectory(prefix="deskhand-learn-") as tmp:
        candidate, trained_from = train_from_default(
            learn,
            Path(tmp) / "personal.gguf",
            default,
            note=note,
            steps=steps,
            batch=batch,
            on_step=on_step,
        )

        def on_case(adapter: str, case: str, ok: bool) -> None:
            note(f"eval {adapter}: {case} {'passed' if ok else 'failed'}")

        evaluate = evaluator(learn.cases, settings, opener, Path(tmp) / "eval", on_case)
        provenance = {
            "examples": len(learn.records),
            "steps": steps,
            "batch": batch,
            "held_out_runs": learn.held_out_runs,
            "cases": [f"{c.family}:{c.name}" for c in learn.cases],
            "trained_from": trained_from,
            "prompt_style": learn.style,
        }
        return gate(personal_store(settings.data_dir), candidate, evaluate, provenance)
