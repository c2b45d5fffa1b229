"""Benchmark: a model run on a quiet machine and beside one busy process.

    .venv/bin/python tests/benchmarks/contention.py [--steps 5] [--threads N] [--nice N]

Runs the same multi-step file run with the embedded model (hosted in its own process, as
every entry point opens it) three times: once to warm up, once quiet, once with one
CPU-bound busy loop pinned to the last core. Prints each run's model seconds per step,
then, machine-readable, ``quiet_s=N.NN busy_s=N.NN ratio=N.NN`` (model seconds of the
whole run; target ratio <= 2.0).

``--threads N`` pins llama.cpp to N threads (the setting ``model.threads``) instead of
following the load, which shows what the load-following thread count is for.
``--nice N`` runs the engine N nice levels down, as the tray app runs it (``app.qt.worker``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ActionProposed
from agent.prepare import RunRequest, prepare_run
from agent.settings import load_settings
from agent.taskrun import run_task
from models.base import ChatModel
from models.catalogue import LocalOptions, embedded_entry

GOAL = (
    "Create a folder named reports, write a file reports/summary.txt that says "
    "'all good', then list the reports folder, then finish."
)
BUSY = "import os, sys\nos.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True: pass\n"


def one_run(model: ChatModel, steps: int, home: Path, label: str) -> float:
    """Model seconds of one run of `steps` steps in a fresh workspace."""
    settings = load_settings({"DESKHAND_HOME": str(home)})
    ws = Path(tempfile.mkdtemp(dir=home))
    journal = assemble.open_journal(settings)
    request = RunRequest(
        goal=GOAL,
        workspace=[ws],
        model=model,
        approver=AlwaysAllow(),
        max_steps=steps,
        memory=False,
    )
    per_step: list[float] = []
    for event in run_task(prepare_run(request, settings), journal):
        if isinstance(event, ActionProposed):
            per_step.append(event.usage.seconds)
    journal.close()
    print(f"{label:>8}: " + " ".join(f"{s:6.2f}" for s in per_step) + f"  = {sum(per_step):.2f} s")
    return sum(per_step)


def busy_loop() -> subprocess.Popen[bytes]:
    core = max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    return subprocess.Popen([sys.executable, "-c", BUSY, str(core)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--nice", type=int, default=0)
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)  # the model's process inherits it, as from the app's engine thread
    entry = embedded_entry(LocalOptions(n_ctx=4096, threads=args.threads))
    if not entry.available:
        print("embedded model not installed", file=sys.stderr)
        return 2
    model = entry.opener()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        one_run(model, args.steps, home, "warm-up")
        quiet = one_run(model, args.steps, home, "quiet")
        hog = busy_loop()
        try:
            started = time.monotonic()
            busy = one_run(model, args.steps, home, "busy")
            wall = time.monotonic() - started
        finally:
            hog.kill()
            hog.wait()
    model.close()
    print(f"busy run wall time {wall:.2f} s; threads: {args.threads or 'follow the load'}")
    print(f"quiet_s={quiet:.2f} busy_s={busy:.2f} ratio={busy / quiet:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
