"""Benchmark: the embedded model on curriculum templates its adapter never trained on.

    .venv/bin/python tests/benchmarks/heldout.py [--n 5] [--seed 21] [--template ID ...]
                                                 [--lora ADAPTER.gguf | --no-adapter]
                                                 [--max-steps 6]

The shipped adapter is trained with whole templates held out (models/adapters/README.md:
``files.folder_and_file``, ``files.refuse_missing``, ``browser.menu``, the default set
here). Each of N samples per template (seeds the curriculum's data never used) runs
through the real engine as the curriculum's teacher runs (agent/learn/attempt.py: the
fixture in a fresh workspace, a browser sample's pages on loopback in real Chromium),
with the model instead of the teacher, and passes when the run ended with ``finish``,
every action went through, and the sample's own end-state check holds. Give ``--template``
(repeatable) to score trained templates beside them. Prints one line per template;
last line, machine-readable: ``heldout=0.NN samples=N`` (over the templates scored).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from agent import assemble
from agent.learn.attempt import attempt
from agent.learn.registry import FAMILIES, generators, make, sample_seed
from agent.learn.remote import Recording
from agent.settings import load_settings, without_adapter
from models.host import HostedModel, LoadSpec

HELD_OUT = ("files.folder_and_file", "files.refuse_missing", "browser.menu")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5, help="samples per template")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--template", action="append", default=[], help="a template id")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument("--lora", type=Path, default=None, help="a GGUF LoRA adapter")
    parser.add_argument("--no-adapter", action="store_true", help="the bare base model")
    args = parser.parse_args()
    templates = args.template or list(HELD_OUT)
    known = {g.template: g for g in generators(FAMILIES)}
    unknown = [t for t in templates if t not in known]
    if unknown:
        parser.error(f"no such template: {', '.join(unknown)}")
    if any(known[t].family == "gui" for t in templates):
        parser.error("GUI templates need an X display of their own: not scored here")
    passed = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"DESKHAND_HOME": tmp})
        settings = without_adapter(settings) if args.no_adapter else settings
        entry = assemble.resolve_model(settings, None)
        if args.lora is None:
            model = entry.opener()
        else:
            spec = LoadSpec(
                Path(entry.location), model_id=f"{entry.name}+lora", lora_path=args.lora
            )
            model = HostedModel(spec)
        try:
            info = model.info()
            print(f"model {info.model_id}; prompt {info.prompt_style}; {args.n} per template")
            for template in templates:
                gen = known[template]
                marks, began = [], time.perf_counter()
                for i in range(args.n):
                    sample = make(gen, sample_seed(args.seed, template, i))
                    recorder = Recording(model, prompt_style=info.prompt_style)
                    done = attempt(sample, settings, recorder, max_steps=args.max_steps)
                    marks.append("ok" if done.passed else "--")
                    passed, total = passed + done.passed, total + 1
                secs = time.perf_counter() - began
                print(f"{template:28} {' '.join(marks)}  ({secs:.0f} s)", flush=True)
        finally:
            model.close()
    print(f"heldout={passed / max(1, total):.2f} samples={total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
