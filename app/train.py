"""``deskhand train``: fit a LoRA adapter for the embedded model on chat JSONL.

Reads the records `agent.learn.write_jsonl` exports (one model step a line: the messages
seen, ending with the assistant's reply, and the generator ``template``), holds out whole
templates (``--held-out TEMPLATE``, else a seeded fraction of them: the held-out loss
measures new kinds of task, not new seeds of known ones), trains (`models.train`) and
writes a GGUF adapter that ``LlamaCppModel(lora_path=...)`` loads. ``--init ADAPTER``
starts from that adapter's weights (the shipped one, a personal one) instead of fresh
ones; it must have the trainer's LoRA shape and the data's prompt style.

Needs the optional extra ``deskhand[train]`` (torch, transformers, peft, gguf); without
it the command says so in one line and exits 2, before reading anything.

Exit status: 0 when the adapter was written; 2 on bad input (missing extra, unreadable
data, no training examples, a checkpoint from another run, an ``--init`` adapter that
does not fit).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from agent.learn import split_by_template
from agent.prompt import style_of_system
from app.common import fail
from models.catalogue import embedded_model_path
from models.train import missing_modules

out = Console(highlight=False, soft_wrap=True)


def read_records(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:
        fail(f"cannot read training data {path}: {exc}")


def prompt_style(records: list[dict[str, Any]]) -> str:
    """The one prompt style (agent.prompt) the records were made with; it goes into the
    adapter's metadata so run time shows the tuned model the same prompt."""
    styles = set()
    for r in records:
        msgs = r.get("messages") or [{}]
        first = msgs[0] if isinstance(msgs[0], dict) else {}
        system = str(first.get("content", "")) if first.get("role") == "system" else ""
        styles.add(style_of_system(system))
    if len(styles) > 1:
        fail("training data mixes prompt styles (full and compact): make it with one")
    return styles.pop() if styles else "full"


def split(
    records: list[dict[str, Any]], held_out: list[str], fraction: float, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], frozenset[str]]:
    """(training records, held-out records, held-out templates)."""
    templates = {str(r.get("template", "")) for r in records}
    if held_out:
        unknown = sorted(set(held_out) - templates)
        if unknown:
            fail(f"--held-out names templates not in the data: {', '.join(unknown)}")
        out_t = frozenset(held_out)
    else:
        out_t = split_by_template(templates, fraction, seed)[1]
    train = [r for r in records if str(r.get("template", "")) not in out_t]
    kept = [r for r in records if str(r.get("template", "")) in out_t]
    if not train:
        fail("every template is held out: pass --held-out-fraction 0 or fewer --held-out")
    return train, kept, out_t


def train_command(
    data: Annotated[Path, typer.Option("--data", help="Chat JSONL (agent.learn's export).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The GGUF adapter to write.")],
    steps: Annotated[
        int | None, typer.Option(help="Optimizer steps (default: from --epochs).")
    ] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the training set.")] = 1.0,
    batch: Annotated[int, typer.Option(help="Examples per optimizer step.")] = 8,
    lr: Annotated[
        float, typer.Option(help="Learning rate (the first step's, with --lr-end).")
    ] = 5e-4,
    lr_end: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Cosine decay from --lr to this by the last step (default: constant)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the split, the order and torch.")] = 0,
    held_out: Annotated[
        list[str] | None, typer.Option("--held-out", help="Template to hold out (repeatable).")
    ] = None,
    held_out_fraction: Annotated[
        float, typer.Option(help="Share of templates held out when --held-out is not given.")
    ] = 0.2,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 50,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Continue from the checkpoints in DIR.")
    ] = None,
    base: Annotated[Path | None, typer.Option(help="Base GGUF (default: embedded).")] = None,
    init: Annotated[
        Path | None,
        typer.Option("--init", help="Start from this adapter's weights (GGUF), not fresh ones."),
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Longer examples are dropped.")] = 2048,
    eval_max: Annotated[int, typer.Option(help="Held-out examples scored (0: none).")] = 32,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads (default: one per core; measure under load).")
    ] = None,
    prompt_grad: Annotated[
        bool,
        typer.Option(
            "--prompt-grad/--no-prompt-grad",
            help="Backpropagate through the prompt too (exact); --no-prompt-grad: reply only, faster.",
        ),
    ] = True,
    tool_weight: Annotated[
        float,
        typer.Option(min=0.0, help="Loss weight of the reply's tool-name tokens (1: plain mean)."),
    ] = 1.0,
) -> None:
    """Train a LoRA adapter for the local model on chat JSONL (needs deskhand[train])."""
    missing = missing_modules()
    if missing:
        fail(
            f"training needs the train extra ({', '.join(missing)} missing): "
            "pip install 'deskhand[train]' (README, Training)"
        )
    base_path = embedded_model_path(base)
    if base_path is None:
        fail(f"base model not found: {base or 'the embedded model is not installed'}")
    if init is not None and not init.is_file():
        fail(f"--init adapter not found: {init}")
    records = read_records(data)
    train_recs, held_recs, held_t = split(records, held_out or [], held_out_fraction, seed)

    # the extra is there: now it may load
    from models.train.adapter import AdapterMismatch
    from models.train.examples import ChatExample
    from models.train.loop import TrainConfig, steps_for
    from models.train.session import FitOptions, check_init_style

    try:
        train_ex = [ChatExample.from_record(r) for r in train_recs]
        held_ex = [ChatExample.from_record(r) for r in held_recs]
    except (KeyError, TypeError, ValueError) as exc:
        fail(f"bad training record: {exc}")
    n_steps = steps or steps_for(epochs, len(train_ex), batch)
    config = TrainConfig(
        n_steps,
        batch,
        lr,
        seed,
        checkpoint_every,
        threads=threads,
        prompt_grad=prompt_grad,
        tool_weight=tool_weight,
        lr_end=lr_end,
    )
    checkpoints = resume or output.with_name(output.name + ".checkpoints")
    style = prompt_style(records)
    if init is not None:
        try:
            check_init_style(init, style)
        except AdapterMismatch as exc:
            fail(f"cannot start from {init}: {exc}")
    options = FitOptions(
        config, checkpoints, resume is not None, max_tokens, eval_max, prompt_style=style, init=init
    )
    start = f"; from: {init.name}" if init is not None else ""
    held = ", ".join(sorted(held_t)) or "nothing"
    out.print(f"held out: {held}; prompt: {style}{start}", markup=False)
    _fit_with_progress(base_path, train_ex, held_ex, output, options)


def _fit_with_progress(
    base: Path, train_ex: list[Any], held_ex: list[Any], output: Path, options: Any
) -> None:
    from models.train.adapter import AdapterMismatch
    from models.train.loop import CheckpointMismatch, StepReport
    from models.train.session import fit

    columns = (
        TextColumn("train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=out, transient=False) as progress:
        task = progress.add_task("", total=options.config.steps)

        def on_step(r: StepReport) -> None:
            eta = f"{int(r.eta_seconds // 60)}m{int(r.eta_seconds % 60):02d}s"
            desc = f"loss {r.loss:.3f}  {r.seconds / max(1, r.examples):.2f} s/example  eta {eta}"
            progress.update(task, completed=r.step, description=desc)
            if not out.is_terminal:  # a log file gets one line a step (no live bar there)
                out.print(f"step {r.step}/{r.total}  {desc}", markup=False)

        try:
            res = fit(base, train_ex, held_ex, output, options, on_step=on_step, on_note=out.print)
        except (CheckpointMismatch, FileNotFoundError) as exc:
            fail(f"cannot resume: {exc}")
        except AdapterMismatch as exc:
            fail(f"cannot start from {options.init}: {exc}")
    _report(res)


def _report(res: Any) -> None:
    r = res.result
    out.print(
        f"steps {r.steps}; loss {r.first_loss} -> {r.last_loss}; {r.examples_seen} examples "
        f"in {r.seconds:.0f} s on {res.device}",
        markup=False,
    )
    if res.eval_after is not None:
        before = "n/a" if res.eval_before is None else f"{res.eval_before:.3f}"
        out.print(f"held-out loss: {before} -> {res.eval_after:.3f}", markup=False)
    families = ",".join(sorted(res.families)) or "none known (read as files)"
    out.print(f"wrote {res.adapter} ({res.tensors} tensors; families: {families})", markup=False)
