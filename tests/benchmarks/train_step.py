"""Benchmark: what one training example costs, with and without the shared prefix.

    .venv/bin/python tests/benchmarks/train_step.py --data STEPS.jsonl [--n 16]
                                                    [--batch 8] [--threads 2]

Needs the train extra (deskhand[train]). STEPS.jsonl is curriculum output, e.g.
``tests/benchmarks/curriculum.py --n 2 --family files --jsonl /tmp/steps.jsonl``. Takes N
examples (a seeded shuffle), encodes them as ``deskhand train --tool-weight 5 --max-tokens
1024`` does, gives the LoRA random nonzero weights (a trained LoRA changes the prompt's
keys and values), and times forward and backward with gradients through the reply only
(models/train/loop.py `reply_loss`), in batches of ``--batch``:

- alone: every example runs its whole prompt;
- shared: each batch runs the prompt tokens its examples share once (`shared_prefix`),
  as `deskhand train --no-prompt-grad` does.

Last line, machine-readable: ``alone=S shared=S ratio=R prefix_tokens=N mean_tokens=N``
(seconds per example; the losses of both are checked equal first).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="curriculum JSONL")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import torch

    from models.catalogue import embedded_model_path
    from models.train.base import LoraShape, load_base, load_tokenizer, with_lora
    from models.train.examples import ChatExample, Encoded, encode_all
    from models.train.loop import configure_threads, reply_loss, shared_prefix

    base = embedded_model_path()
    if base is None:
        print("the embedded model is not installed", file=sys.stderr)
        return 2
    configure_threads("cpu", args.threads)
    try:
        records = [json.loads(line) for line in args.data.read_text().splitlines() if line]
        random.Random(3).shuffle(records)
        chats = [ChatExample.from_record(r) for r in records[: args.n]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot read {args.data} as curriculum steps: {exc!r}", file=sys.stderr)
        return 2
    tokenizer = load_tokenizer(base)
    encoded, _ = encode_all(tokenizer, chats, 1024, 5.0)
    if not encoded:
        print(f"no example of {args.data} fits in 1,024 tokens", file=sys.stderr)
        return 2
    model = with_lora(load_base(base, "cpu"), LoraShape())
    torch.manual_seed(0)
    for name, param in model.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0.0, 0.01)
    model.train()
    batches = [encoded[i : i + args.batch] for i in range(0, len(encoded), args.batch)]
    prefixes: list[int] = []

    def shared(batch: Sequence[Encoded]) -> list[Any]:
        prefix = shared_prefix(model, batch, "cpu")
        prefixes.append(0 if prefix is None else prefix.length)
        return [reply_loss(model, ex, "cpu", prefix) for ex in batch]

    def alone(batch: Sequence[Encoded]) -> list[Any]:
        return [reply_loss(model, ex, "cpu") for ex in batch]

    def timed(run: Callable[[Sequence[Encoded]], list[Any]]) -> tuple[float, float]:
        model.zero_grad()
        began, total = time.perf_counter(), 0.0
        for batch in batches:
            for loss in run(batch):  # backward one at a time, as a training step does
                loss.backward()
                total += float(loss.detach())
        return (time.perf_counter() - began) / len(encoded), total

    alone_s, alone_loss = timed(alone)
    shared_s, shared_loss = timed(shared)
    if abs(alone_loss - shared_loss) > 1e-4 * max(1.0, abs(alone_loss)):
        print(f"losses differ: {alone_loss} vs {shared_loss}", file=sys.stderr)
        return 1
    mean = sum(len(ex.input_ids) for ex in encoded) / len(encoded)
    print(
        f"alone={alone_s:.3f} shared={shared_s:.3f} ratio={shared_s / alone_s:.2f} "
        f"prefix_tokens={min(prefixes)} mean_tokens={mean:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
