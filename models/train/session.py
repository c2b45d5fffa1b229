"""One training session end to end: GGUF base in, GGUF adapter out.

`fit` loads the base from the GGUF, encodes the examples with its chat template and the
assistant-only mask, trains a LoRA (`models.train.loop`), measures the loss on the
held-out examples before and after, and writes the adapter (`models.train.adapter`).
The caller chooses the held-out examples (by generator template: see
`agent.learn.split_by_template`). The adapter records the tool families of the training
examples' templates (`models.adapter_meta.families_of`), so run time knows what it learned.

`FitOptions.init` starts the LoRA from an adapter's weights instead of fresh ones
(`models.train.adapter.read_adapter_into`): the adapter must have the LoRA's shape and
the examples' prompt style (else `AdapterMismatch`, raised before training), and the
result records the families of both, since it keeps what the adapter learned.

Invariants: the adapter file appears only when training finished (written under a
temporary name and renamed); checkpoints go to `FitOptions.checkpoints`, and a resumed
session continues the step count of the one it resumes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.adapter_meta import adapter_families, families_of, prompt_style
from models.train.adapter import AdapterMismatch, read_adapter_into, write_adapter
from models.train.base import LoraShape, load_base, load_tokenizer, pick_device, with_lora
from models.train.examples import ChatExample, encode_all
from models.train.loop import StepReport, TrainConfig, TrainResult, evaluate, train

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FitOptions:
    config: TrainConfig
    checkpoints: Path
    resume: bool = False
    max_tokens: int = 2048
    #: Held-out examples scored (the loss before and after); 0 skips the evaluation.
    eval_max: int = 32
    lora: LoraShape = LoraShape()
    #: The prompt style of the examples (agent.prompt), written into the adapter.
    prompt_style: str = "full"
    #: An adapter (GGUF) whose weights the LoRA starts from; None: fresh weights.
    init: Path | None = None


@dataclass(frozen=True, slots=True)
class FitResult:
    adapter: Path
    device: str
    train_examples: int
    dropped: int
    result: TrainResult
    eval_before: float | None
    eval_after: float | None
    tensors: int
    #: The tool families recorded in the adapter (empty: none known, read as files only).
    families: frozenset[str] = frozenset()


def fit(
    base: Path,
    examples: Sequence[ChatExample],
    held_out: Sequence[ChatExample],
    out: Path,
    options: FitOptions,
    *,
    on_step: Callable[[StepReport], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> FitResult:
    note = on_note or (lambda _: None)
    if options.init is not None:
        check_init_style(options.init, options.prompt_style)
    device = pick_device()
    note(f"loading {base.name} into transformers on {device}")
    tokenizer = load_tokenizer(base)
    weight = options.config.tool_weight
    encoded, dropped = encode_all(tokenizer, examples, options.max_tokens, weight)
    scored, _ = encode_all(tokenizer, held_out[: options.eval_max], options.max_tokens)
    note(
        f"{len(encoded)} training examples ({dropped} longer than {options.max_tokens} "
        f"tokens dropped), {len(scored)} held-out examples scored"
    )
    model = with_lora(load_base(base, device), options.lora)
    init = ""
    if options.init is not None:
        read_adapter_into(model, options.init, base, alpha=options.lora.alpha)
        init = hashlib.sha256(options.init.read_bytes()).hexdigest()[:16]
        note(f"starting from the weights of {options.init.name}")
    before = evaluate(model, scored, device) if scored and not options.resume else None
    result = train(
        model,
        encoded,
        options.config,
        device=device,
        checkpoints=options.checkpoints,
        resume=options.resume,
        init=init,
        on_step=on_step,
    )
    after = evaluate(model, scored, device) if scored else None
    families = families_of(ex.template for ex in examples)
    if options.init is not None:
        families |= adapter_families(options.init)
    tensors = write_adapter(
        model,
        base,
        out,
        alpha=options.lora.alpha,
        prompt_style=options.prompt_style,
        families=families,
    )
    return FitResult(out, device, len(encoded), dropped, result, before, after, tensors, families)


def check_init_style(init: Path, style: str) -> None:
    """`AdapterMismatch` unless the adapter `init` was trained on prompt style `style`
    (run time shows an adapter the prompt it learned: one adapter, one style)."""
    learned = prompt_style(init)
    if learned != style:
        raise AdapterMismatch(
            f"{init.name} was trained on the {learned} prompt, the data uses the {style} prompt"
        )
