"""The `deskhand` command end to end, as a user runs it: a real process, the real
embedded llama.cpp model, real files, a real SQLite journal.

Assertions are about validity, recording and policy, not about the tiny model being clever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.journal import Journal

pytestmark = pytest.mark.model

DESKHAND = str(Path(sys.executable).parent / "deskhand")


def deskhand(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKHAND, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or dict(os.environ),
    )


def snapshot(root: Path, skip: set[Path]) -> dict[str, tuple[int, int]]:
    state = {}
    for p in root.rglob("*"):
        if any(p == s or s in p.parents for s in skip):
            continue
        st = p.lstat()
        state[str(p)] = (st.st_size, st.st_mtime_ns)
    return state


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_run_creates_a_recorded_run_and_touches_nothing_outside(
    embedded_gguf: Path, tmp_path: Path, deskhand_home: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "outside.txt").write_text("keep me")
    before = snapshot(tmp_path, {ws, deskhand_home})

    proc = deskhand(
        "run", "Create a folder named reports", "--workspace", str(ws), "--yes", "--json"
    )

    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    events = events_of(proc.stdout)
    assert events[0]["event"] == "RunStarted" and events[-1]["event"] == "RunFinished"
    outcome = events[-1]["outcome"]
    assert (proc.returncode == 0) == (outcome == "success")
    tools = set(events[0]["tools"])
    proposed = [e for e in events if e["event"] == "ActionProposed"]
    assert proposed and all(e["tool"] in tools for e in proposed)
    assert snapshot(tmp_path, {ws, deskhand_home}) == before

    run_id = events[0]["run_id"]
    shown = deskhand("show", run_id[:12], "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["run"]["outcome"] == outcome
    assert [s["tool"] for s in data["steps"]] == [e["tool"] for e in proposed]
    assert all(s["prompt_tokens"] > 0 for s in data["steps"])
    assert all(s["model_id"] for s in data["steps"])

    exact = json.loads(deskhand("show", run_id, "--json", "--prompts").stdout)["model_steps"]
    assert [m["step"] for m in exact] == [s["idx"] for s in data["steps"]]
    assert all(m["messages"][0]["role"] == "system" for m in exact)
    assert all(
        json.loads(m["reply"])["tool"] == s["tool"] for m, s in zip(exact, proposed, strict=True)
    )
    assert "model_steps" not in data  # only when asked: a long run's prompts are large

    human = deskhand("show", run_id)
    assert human.returncode == 0 and run_id in human.stdout
    listed = json.loads(deskhand("runs", "--json").stdout)
    assert listed[0]["id"] == run_id


def test_without_a_grant_writes_are_denied_noninteractively(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    proc = deskhand(
        "run", "Create a folder named reports", "--workspace", str(ws), "--json", "--max-steps", "2"
    )
    assert proc.returncode in (0, 1)
    events = events_of(proc.stdout)
    for e in events:
        if e["event"] == "ApprovalAnswered":
            assert e["decision"] == "deny" and e["source"] == "noninteractive"
    assert not (ws / "reports").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "/nonexistent/model.gguf"], "model file not found"),
        (["--model", "gpt-17"], "unknown model"),
        (["--workspace", "/nonexistent/ws"], "workspace does not exist"),
        (["--allow", "fs.wrte"], "unknown capability"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    proc = deskhand("run", "do it", *args, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_config_is_one_line_and_exit_2(deskhand_home: Path) -> None:
    config = deskhand_home / "config"
    config.mkdir(parents=True)
    (config / "config.toml").write_text("[model]\nn_ctx = 'big'\n")
    proc = deskhand("runs", timeout=60)
    assert proc.returncode == 2
    assert "config.toml" in proc.stderr and "n_ctx" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_show_unknown_run(deskhand_home: Path) -> None:
    proc = deskhand("show", "nope", timeout=60)
    assert proc.returncode == 2 and "nope" in proc.stderr and "Traceback" not in proc.stderr


def _start(ws: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            DESKHAND,
            "run",
            "Create a folder named reports",
            "--workspace",
            str(ws),
            "--yes",
            "--json",
            "--max-steps",
            "40",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], event: str) -> list[dict[str, Any]]:
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] in (event, "RunFinished"):
            break
    return seen


def test_kill_9_mid_run_leaves_a_consistent_journal(
    embedded_gguf: Path, tmp_path: Path, deskhand_home: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    proc = _start(ws)
    seen = _read_until(proc, "ActionFinished")
    proc.kill()
    proc.wait()
    assert seen[-1]["event"] == "ActionFinished", "the run ended before it could be killed"
    run_id = seen[0]["run_id"]

    journal = Journal(deskhand_home / "data" / "journal.sqlite")
    row = journal.run(run_id)
    assert row is not None and row["status"] == "running"
    steps = journal.steps(run_id)
    assert len(steps) >= 1 and steps[0]["tool"] == seen[-1]["tool"]
    assert all(s["result_kind"] for s in steps)
    journal.close()

    listed = json.loads(deskhand("runs", "--json").stdout)
    (mine,) = [r for r in listed if r["id"] == run_id]
    assert mine["status"] == "interrupted"


def test_sigint_stops_the_run(embedded_gguf: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    proc = _start(ws)
    seen = _read_until(proc, "StepStarted")
    assert seen[-1]["event"] == "StepStarted"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    events = seen + events_of(out)
    assert events[-1]["event"] == "RunFinished" and events[-1]["outcome"] == "stopped"
    assert proc.returncode == 1
