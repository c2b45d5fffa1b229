"""Benchmark: how much training data the curriculum makes, and how big it is.

    .venv/bin/python tests/benchmarks/curriculum.py [--n N] [--seed S] [--families files]
                                                    [--family browser|files|gui|all]
                                                    [--jsonl OUT.jsonl] [--prompt full]

Generates N samples per template, runs each through the real engine with the teacher
(agent/learn), and keeps those that pass their end-state check. Tokens are counted
approximately as len(text)/4 over every message of every exported step (the model is
not loaded). Last line, machine-readable:
``kept=N total=N templates=N mean_prompt_tokens=N`` (plus ``steps=N``); use it to plan
training cost (about 1.1 s per 300-token example on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from agent.learn import generate, generators, run_sample, write_jsonl
from agent.learn.attempt import run_gui_sample
from agent.learn.gui import GuiSample
from agent.learn.registry import FAMILIES
from agent.learn.trajectory import Trajectory
from agent.settings import load_settings


def gui_display(stack: ExitStack, started: list[str] = []) -> str:  # noqa: B006 - a cache
    """An Xvfb of this process's own for the GUI family, started on first use (pyautogui
    drives one display per process)."""
    if not started:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from xserver import xvfb

        started.append(stack.enter_context(xvfb()).display)
    return started[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5, help="samples per template")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", nargs="*", default=None)
    parser.add_argument(
        "--family",
        choices=("browser", "files", "gui", "all"),
        default=None,
        help="one family, or all (gui runs on an Xvfb of its own)",
    )
    parser.add_argument("--jsonl", type=Path, default=None, help="write kept steps here")
    parser.add_argument(
        "--prompt", choices=("compact", "full"), default="compact", help="prompt style shown"
    )
    args = parser.parse_args()
    if args.family is not None:
        args.families = list(FAMILIES) if args.family == "all" else [args.family]
    kept: list[Trajectory] = []
    total, failed = 0, Counter[str]()
    with tempfile.TemporaryDirectory(prefix="learn-bench-") as home, ExitStack() as stack:
        settings = load_settings({"DESKHAND_HOME": home})
        for sample in generate(args.n, args.seed, args.families):
            total += 1
            if isinstance(sample, GuiSample):
                display = gui_display(stack)
                trajectory = run_gui_sample(sample, settings, display, args.prompt)
            else:
                trajectory = run_sample(sample, settings, args.prompt)
            if trajectory is None:
                failed[sample.template] += 1
            else:
                kept.append(trajectory)
    if args.jsonl is not None:
        with args.jsonl.open("w", encoding="utf-8") as out:
            write_jsonl(kept, out)
    prompts = [sum(len(m.content) for m in ex.messages) / 4 for t in kept for ex in t.examples]
    for template, count in sorted(failed.items()):
        print(f"not kept: {template} x{count}")
    mean = sum(prompts) / max(1, len(prompts))
    print(
        f"kept={len(kept)} total={total} templates={len(generators(args.families))} "
        f"mean_prompt_tokens={mean:.0f} steps={len(prompts)}"
    )
    return 0 if len(kept) == total else 1


if __name__ == "__main__":
    sys.exit(main())
