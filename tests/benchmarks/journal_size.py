"""Benchmark: what keeping every model step exactly costs the journal on disk.

    .venv/bin/python tests/benchmarks/journal_size.py [--runs N] [--steps N]

Runs the real engine (`prepare_run` + `run_task`: the file tool, the policy, the SQLite
journal) on a workspace of a few files, with a scripted model that reads and lists files
for ``steps - 1`` steps and then finishes, `runs` times, into three fresh journals:
  - ``without``: model calls not kept (the journal before migration 0005);
  - ``deltas``: model calls kept as the journal keeps them (the messages after the
    previous step's, agent/journal/trajectory.py);
  - ``whole``: what keeping each step's whole message list would have cost (computed
    from the same rows: the sum of every step's full encoded list).
Prints each journal's size after VACUUM, in bytes per model step, and the size of the
``model_calls`` table. No timing, no asserts: numbers to compare.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.approval import AlwaysAllow
from agent.journal import Journal
from agent.journal.trajectory import encode_messages
from agent.prepare import RunRequest, prepare_run
from agent.settings import load_settings
from agent.taskrun import run_task
from models.scripted import ScriptedModel


class Forgetful(Journal):
    """The journal as it was before model calls were kept."""

    def record_model_call(self, *args: Any, **kwargs: Any) -> None:
        pass


def _replies(steps: int) -> list[dict[str, Any]]:
    acts = [
        {"thought": "See what is there.", "tool": "files.list", "args": {"path": "."}},
        {"thought": "Read the notes.", "tool": "files.read", "args": {"path": "notes.txt"}},
        {"thought": "Read the report.", "tool": "files.read", "args": {"path": "report.md"}},
    ]
    done = {"thought": "Done.", "tool": "finish", "args": {"message": "read everything"}}
    return [acts[i % len(acts)] for i in range(steps - 1)] + [done]


def _workspace(root: Path) -> Path:
    ws = root / "ws"
    ws.mkdir()
    (ws / "notes.txt").write_text("buy milk\ncall the bank at 10\n" * 6)
    (ws / "report.md").write_text("# Weekly report\n\n" + "- item done, on time\n" * 20)
    (ws / "data").mkdir()
    return ws


def _run_all(journal_cls: type[Journal], runs: int, steps: int) -> tuple[Path, int]:
    """Run `runs` runs into a fresh journal; its path and the model steps taken."""
    root = Path(tempfile.mkdtemp(prefix="deskhand-journal-size-"))
    settings = load_settings({"DESKHAND_HOME": str(root / "home")})
    ws = _workspace(root)
    taken = 0
    for _ in range(runs):
        model = ScriptedModel(_replies(steps))
        request = RunRequest(
            goal="Read the notes and the report, then tell me what they say",
            workspace=[ws],
            model=model,
            approver=AlwaysAllow(),
            max_steps=steps,
            memory=False,
        )
        with journal_cls(settings.journal_path) as journal:
            for _event in run_task(prepare_run(request, settings), journal):
                pass
        taken += len(model.calls)
    return settings.journal_path, taken


def _size(path: Path) -> int:
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    finally:
        conn.close()
    return path.stat().st_size


def _whole_lists_bytes(path: Path) -> tuple[int, int]:
    """(bytes of the stored message deltas, bytes every step's whole list would take)."""
    stored = whole = 0
    with Journal(path) as journal:
        for run in journal.run_records(limit=1_000_000):
            for step in journal.trajectory(run.id).steps:
                whole += len(encode_messages(step.messages))
        for (text,) in journal.db.execute("SELECT messages_json FROM model_calls").fetchall():
            stored += len(text)
    return stored, whole


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    without, n_without = _run_all(Forgetful, args.runs, args.steps)
    kept, n_kept = _run_all(Journal, args.runs, args.steps)
    size_without, size_kept = _size(without), _size(kept)
    stored, whole = _whole_lists_bytes(kept)
    per = size_kept - size_without
    print(f"{args.runs} runs x {args.steps} steps ({n_kept} model steps)")
    print(f"without model calls: {size_without:>9} B  {size_without / n_without:>8.0f} B/step")
    print(f"with model calls:    {size_kept:>9} B  {size_kept / n_kept:>8.0f} B/step")
    print(f"model calls cost:    {per:>9} B  {per / n_kept:>8.0f} B/step")
    print(f"messages stored as deltas: {stored} B; as whole lists they would be {whole} B")
    print(f"({whole / max(stored, 1):.1f}x smaller); a whole list averages {whole // n_kept} B")
    print(json.dumps({"bytes_per_step_without": round(size_without / n_without),
                      "bytes_per_step_with": round(size_kept / n_kept),
                      "delta_bytes": stored, "whole_list_bytes": whole}))  # fmt: skip


if __name__ == "__main__":
    main()
