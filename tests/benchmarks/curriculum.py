"""Benchmark: how much training data the curriculum makes, and how big it is.

    .venv/bin/python tests/benchmarks/curriculum.py [--n N] [--seed S] [--families files]
                                                    [--family browser|files|gui|all]
                                                    [--jsonl OUT.jsonl] [--prompt full]
                                                    [--memory-share 0.3] [--shard I/K]

Generates N samples per template, runs each through the real engine with the teacher
(agent/learn), and keeps those that pass their end-state check. Tokens are counted
approximately as len(text)/4 over every message of every exported step (the model is
not loaded). Last line, machine-readable:
``kept=N total=N templates=N mean_prompt_tokens=N`` (plus ``steps=N``); use it to plan
training cost (about 1.1 s per 300-token example on 2 cores).

``--memory-share S``: about S of the samples are made with a past run in their journal
and memory on (agent/learn/memory.py), so their prompts hold past runs as retrieval shows
them at run time; every record then says ``"memory": N`` (past runs shown, 0 for the
others), and a line before the last one counts them:
``memory: samples=N shown=N same_task=N same_template=N other_template=N``
``mean_prompt_tokens with=N without=N``. The default, 0, leaves the output as it was.

``--shard I/K``: only the I-th of K contiguous parts of the samples (I from 0): K
processes side by side make the same data, their JSONL files concatenated in order
(models/adapters/reproduce.sh makes the browser set so; it waits on Chromium).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from agent.learn import generate, generators, run_sample, write_jsonl
from agent.learn.attempt import run_gui_sample
from agent.learn.gui import GuiSample
from agent.learn.memory import memory_pair, run_with_memory, wants_memory
from agent.learn.registry import FAMILIES
from agent.learn.sample import Sample
from agent.learn.trajectory import Trajectory
from agent.settings import Settings, load_settings


def gui_display(stack: ExitStack, started: list[str] = []) -> str:  # noqa: B006 - a cache
    """An Xvfb of this process's own for the GUI family, started on first use (pyautogui
    drives one display per process)."""
    if not started:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from xserver import xvfb

        started.append(stack.enter_context(xvfb()).display)
    return started[0]


def run_one(
    sample: Sample,
    settings: Settings,
    args: argparse.Namespace,
    stack: ExitStack,
    memory: Counter[str],
) -> Trajectory | None:
    """One sample with its teacher; with memory when the share draws it (counted in
    `memory`: samples made with a past run, and whether it was of the same template)."""
    display = gui_display(stack) if isinstance(sample, GuiSample) else None
    if wants_memory(sample, args.memory_share):
        memory["samples"] += 1
        now, past = pair = memory_pair(sample)
        kind = "same_task" if now is not sample else "same_template"
        memory[kind if past.template == sample.template else "other_template"] += 1
        return run_with_memory(sample, settings, args.prompt, display=display, pair=pair)
    if display is not None:
        trajectory = run_gui_sample(sample, settings, display, args.prompt)
    else:
        trajectory = run_sample(sample, settings, args.prompt)
    if trajectory is not None and args.memory_share > 0:
        trajectory = replace(trajectory, memory=0)  # every record says, when memory is in play
    return trajectory


def memory_lines(kept: list[Trajectory], memory: Counter[str]) -> list[str]:
    """What `--memory-share` made: counts, and the mean prompt tokens with and without."""
    shown = [t for t in kept if t.memory]
    with_: list[float] = []
    without: list[float] = []
    for t in kept:
        for ex in t.examples:
            (with_ if t.memory else without).append(sum(len(m.content) for m in ex.messages) / 4)
    mean = [sum(x) / max(1, len(x)) for x in (with_, without)]
    return [
        f"memory: samples={memory['samples']} shown={len(shown)} "
        f"same_task={memory['same_task']} same_template={memory['same_template']} "
        f"other_template={memory['other_template']} "
        f"steps_with={len(with_)} steps_without={len(without)}",
        f"mean_prompt_tokens with={mean[0]:.0f} without={mean[1]:.0f}",
    ]


def _shard(text: str) -> tuple[int, int]:
    part, _, parts = text.partition("/")
    try:
        shard = (int(part), int(parts))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: want I/K, as 0/2") from None
    if not 0 <= shard[0] < shard[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: want 0 <= I < K")
    return shard


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
    parser.add_argument(
        "--memory-share",
        type=float,
        default=0.0,
        help="share of samples made with a past run shown by retrieval (agent/learn/memory.py)",
    )
    parser.add_argument(
        "--shard", type=_shard, default=(0, 1), help="I/K: the I-th of K parts of the samples"
    )
    args = parser.parse_args()
    if args.family is not None:
        args.families = list(FAMILIES) if args.family == "all" else [args.family]
    kept: list[Trajectory] = []
    total, failed, memory = 0, Counter[str](), Counter[str]()
    with tempfile.TemporaryDirectory(prefix="learn-bench-") as home, ExitStack() as stack:
        settings = load_settings({"DESKHAND_HOME": home})
        for sample in generate(args.n, args.seed, args.families, args.shard):
            total += 1
            trajectory = run_one(sample, settings, args, stack, memory)
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
    if args.memory_share > 0:
        print("\n".join(memory_lines(kept, memory)))
    print(
        f"kept={len(kept)} total={total} templates={len(generators(args.families))} "
        f"mean_prompt_tokens={mean:.0f} steps={len(prompts)}"
    )
    return 0 if len(kept) == total else 1


if __name__ == "__main__":
    sys.exit(main())
