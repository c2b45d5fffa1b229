"""Benchmark: how often the agent reaches simple file goals with a given model.

    .venv/bin/python tests/benchmarks/goals.py [--model NAME|PATH] [--max-steps N]
                                               [--lora ADAPTER.gguf | --no-adapter]

Each goal starts in a fresh workspace (some with files in it), runs the real agent with
every file action allowed, and then checks the end state here, outside the agent. Prints
per goal: whether the end state is right, whether the model called finish, the tools it
used, steps and seconds. This is how prompt changes for small models are measured (see
README, "Helping a small model"); greedy decoding makes it repeatable for one model.
The embedded model runs with deskhand's shipped adapter unless ``--no-adapter`` (the
bare base) or ``--lora`` (another adapter) is given; the first line says which.
Last line, machine-readable: ``success=0.NN finished=0.NN steps=N.N sec_per_step=N.NN``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ActionProposed, RunFinished
from agent.prepare import RunRequest, prepare_run
from agent.settings import load_settings, without_adapter
from agent.taskrun import run_task
from models.base import ChatModel
from models.host import HostedModel, LoadSpec


@dataclass(frozen=True)
class Goal:
    text: str
    check: Callable[[Path], bool]
    files: dict[str, str] = field(default_factory=dict)


def _text(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


GOALS = [
    Goal("Create a folder named reports", lambda w: (w / "reports").is_dir()),
    Goal(
        "Create a file todo.txt that says buy milk",
        lambda w: "buy milk" in _text(w / "todo.txt"),
    ),
    Goal(
        "Rename draft.txt to final.txt",
        lambda w: (w / "final.txt").is_file() and not (w / "draft.txt").exists(),
        {"draft.txt": "text"},
    ),
    Goal("Delete the file old.log", lambda w: not (w / "old.log").exists(), {"old.log": "x"}),
    Goal(
        "Copy a.txt to b.txt",
        lambda w: _text(w / "b.txt") == "alpha" and (w / "a.txt").is_file(),
        {"a.txt": "alpha"},
    ),
    Goal(
        "Move notes.txt into the folder archive",
        lambda w: (w / "archive" / "notes.txt").is_file(),
        {"notes.txt": "n", "archive/.keep": ""},
    ),
    Goal(
        "Add the line done to the end of log.txt",
        lambda w: _text(w / "log.txt").rstrip().endswith("done"),
        {"log.txt": "started\n"},
    ),
    Goal(
        "Create a folder named photos and a folder named music",
        lambda w: (w / "photos").is_dir() and (w / "music").is_dir(),
    ),
]


def run_goal(model: ChatModel, goal: Goal, home: Path, max_steps: int) -> dict[str, object]:
    settings = load_settings({"DESKHAND_HOME": str(home)})
    ws = home / "ws"
    ws.mkdir(parents=True)
    for rel, content in goal.files.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(content)
    journal = assemble.open_journal(settings)
    request = RunRequest(
        goal=goal.text,
        workspace=[ws],
        model=model,
        approver=AlwaysAllow(),
        max_steps=max_steps,
        memory=False,
    )
    tools: list[str] = []
    outcome, steps, started = "error", 0, time.perf_counter()
    for event in run_task(prepare_run(request, settings), journal):
        if isinstance(event, ActionProposed):
            tools.append(event.tool.removeprefix("files."))
        elif isinstance(event, RunFinished):
            outcome, steps = event.outcome, event.steps
    journal.close()
    return {
        "ok": goal.check(ws),
        "finished": outcome == "success",
        "steps": steps,
        "seconds": time.perf_counter() - started,
        "tools": tools,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="'embedded', a configured name or a path")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument(
        "--lora", type=Path, default=None, help="a GGUF LoRA adapter (deskhand train)"
    )
    parser.add_argument("--no-adapter", action="store_true", help="the bare base model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"DESKHAND_HOME": tmp})
        settings = without_adapter(settings) if args.no_adapter else settings
        entry = assemble.resolve_model(settings, args.model)
        if args.lora is None:
            model = entry.opener()
        else:  # the same local model with the adapter applied at run time
            spec = LoadSpec(
                Path(entry.location), model_id=f"{entry.name}+lora", lora_path=args.lora
            )
            model = HostedModel(spec)
        info = model.info()
        print(f"model {info.model_id}; prompt {info.prompt_style}; {info.detail}")
        rows = []
        for i, goal in enumerate(GOALS):
            r = run_goal(model, goal, Path(tmp) / f"g{i}", args.max_steps)
            rows.append(r)
            mark = "ok  " if r["ok"] else "FAIL"
            print(
                f"{mark} finish={'y' if r['finished'] else 'n'} steps={r['steps']} "
                f"{r['seconds']:5.1f}s  {goal.text!r}: {' '.join(r['tools'])}"  # type: ignore[arg-type]
            )
        model.close()
    n = len(rows)
    steps = sum(r["steps"] for r in rows)  # type: ignore[misc]
    seconds = sum(r["seconds"] for r in rows)  # type: ignore[misc]
    print(
        f"success={sum(bool(r['ok']) for r in rows) / n:.2f} "
        f"finished={sum(bool(r['finished']) for r in rows) / n:.2f} "
        f"steps={steps / n:.1f} sec_per_step={seconds / max(1, steps):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
