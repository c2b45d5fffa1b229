"""``deskhand learn`` end to end on real parts: a real SQLite journal of good file runs,
the real trainer (16 examples, 2 steps of 1, as test_train.py does), the real replay
evaluator (scratch workspaces, the runs' end-state checks) and the real gate and store.

- a garbled adapter (its tensors overwritten with noise: made worse on purpose), scored by
  the embedded model, is refused and the default stays as it was; the shipped adapter
  scores 0 on these replays too (README), so the refusal is then "no better", not
  "worse": tests/integration/test_learn_gate_replay.py has one strictly worse, on scores
  that are known;
- an accepted one becomes the default and ``deskhand learn rollback`` restores the
  previous; here the models the evaluator opens are scripted (in addition to the real
  ones above), so which side wins is known;
- ``deskhand models adapters`` lists versions with their scores;
- ``deskhand run --adapter NAME`` runs with that adapter (the journaled adapter id).

Needs the train extra (torch, transformers, peft, gguf): skipped without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

for _name in ("torch", "transformers", "peft", "gguf"):
    pytest.importorskip(_name, reason="the train extra is not installed (deskhand[train])")

from typer.testing import CliRunner  # noqa: E402

from agent import assemble  # noqa: E402
from agent.approval import AlwaysAllow  # noqa: E402
from agent.events import RunStarted  # noqa: E402
from agent.journal import Journal  # noqa: E402
from agent.learn_gate import personal_store  # noqa: E402
from agent.loop import Engine, run  # noqa: E402
from agent.settings import Settings, load_settings  # noqa: E402
from agent.task import Task  # noqa: E402
from app.cli import cli  # noqa: E402
from app.learn_personal import learn_personal, plan  # noqa: E402
from models.base import ChatModel, adapter_id  # noqa: E402
from models.router import FallbackPolicy, ModelRouter  # noqa: E402
from models.scripted import ScriptedModel  # noqa: E402

pytestmark = pytest.mark.model

NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]


def act(tool: str, **args: Any) -> dict[str, Any]:
    return {"thought": f"I use {tool}.", "tool": tool, "args": args}


def finish() -> dict[str, Any]:
    return act("finish", message="done")


def write(name: str) -> dict[str, Any]:
    return act("files.write", path=f"{name}.txt", content=f"note {name}")


def good_run(settings: Settings, ws: Path, name: str) -> str:
    """A run that wrote a file, rated good (it may teach)."""
    journal = assemble.open_journal(settings)
    model = ScriptedModel([write(name), finish()])
    router = ModelRouter(model, None, FallbackPolicy(remote_allowed=False))
    engine = Engine(router, assemble.registry(settings, [ws]), journal, AlwaysAllow())
    try:
        goal = f"Write a file {name}.txt saying note {name}"
        events = list(run(Task(goal=goal, workspace=(ws,)), engine))
        assert isinstance(events[0], RunStarted)
        journal.add_feedback(events[0].run_id, rating=1)
    finally:
        journal.close()
    return events[0].run_id


@pytest.fixture
def journaled(deskhand_home: Path, tmp_path: Path) -> Settings:
    settings = load_settings()
    for name in NAMES:
        ws = tmp_path / f"ws-{name}"
        ws.mkdir()
        good_run(settings, ws, name)
    return settings


def garble(adapter: Path, out: Path) -> Path:
    """`adapter` with every tensor's bytes replaced by large noise (worse on purpose)."""
    from gguf import GGUFReader

    data = bytearray(adapter.read_bytes())
    rng = np.random.default_rng(0)
    for tensor in GGUFReader(adapter).tensors:
        start, n = int(tensor.data_offset), int(tensor.n_bytes)
        noise = rng.normal(0, 8, n // 2).astype(np.float16).tobytes()
        data[start : start + len(noise)] = noise
    out.write_bytes(bytes(data))
    return out


def test_the_plan_holds_out_the_newest_runs_and_replays_them(journaled: Settings) -> None:
    learned = plan(journaled)
    assert len(learned.held_out_runs) == 2 and len(learned.records) == 14
    assert {r["template"] for r in learned.records} == {"user.files.write"}
    assert [c.family for c in learned.cases] == ["files", "files"]
    assert all(c.task.checks for c in learned.cases)
    result = CliRunner().invoke(cli, ["learn", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "14 training example(s)" in result.output and "nothing trained" in result.output


def test_a_garbled_adapter_is_refused_by_the_embedded_model_and_the_default_stays(
    journaled: Settings, embedded_gguf: Path, tmp_path: Path
) -> None:
    from agent.learn.replay_eval import evaluator
    from agent.learn_gate import gate
    from app.learn_personal import open_embedded, train_candidate

    learned = plan(journaled)
    steps: list[int] = []
    trained = train_candidate(
        learned,
        tmp_path / "personal.gguf",
        steps=2,
        batch=1,
        on_step=lambda s, t, loss: steps.append(s),
        note=lambda _: None,
    )
    assert steps == [1, 2]
    worse = garble(trained, tmp_path / "garbled.gguf")
    store = personal_store(journaled.data_dir)
    evaluate = evaluator(learned.cases, journaled, open_embedded(journaled), tmp_path / "eval")
    verdict = gate(store, worse, evaluate, {"test": "garbled"})
    assert not verdict.accepted, verdict
    assert verdict.scores == {"files": 0.0}
    if verdict.baseline["files"] > 0:  # the refusal says which it was
        assert verdict.worse == ("files",) and verdict.reason.startswith("worse on files")
    else:
        assert verdict.worse == () and verdict.reason == "no better on any family"
    assert store.current() is None  # the default is still the shipped adapter
    assert assemble.local_options(journaled).personal is None

    listed = CliRunner().invoke(cli, ["models", "adapters"])
    assert listed.exit_code == 0, listed.output
    assert f"{verdict.name}  personal  files=0.00  refused" in listed.output

    kept = store.add(trained, {"files": 0.0}, accepted=False, reason="kept for --adapter")
    ws = tmp_path / "ws-adapter"
    ws.mkdir()
    args = ["run", "Write a file x.txt saying hi", "-w", str(ws), "--yes", "--max-steps", "1"]
    result = CliRunner().invoke(cli, [*args, "--adapter", kept.removesuffix(".gguf")])
    assert "Traceback" not in result.output
    with Journal(journaled.journal_path) as journal:
        newest = journal.runs(limit=1)[0]["id"]
        ids = {s.adapter_id for s in journal.trajectory(newest).steps}
    assert ids == {adapter_id(store.path(kept))}
    bad = CliRunner().invoke(cli, [*args, "--adapter", "nothing-v9"])
    assert bad.exit_code == 2 and "no adapter named" in bad.output


def test_an_accepted_adapter_becomes_the_default_and_rollback_restores(
    journaled: Settings,
) -> None:
    names = NAMES[-2:][::-1]  # the held-out runs, newest first

    def open_model(adapter: Path | None) -> ChatModel:
        if adapter is None:  # the current default: does nothing useful
            return ScriptedModel([finish(), finish()])
        return ScriptedModel([write(names[0]), finish(), write(names[1]), finish()])

    progress: list[tuple[int, int]] = []
    verdict = learn_personal(
        journaled,
        steps=2,
        batch=1,
        max_examples=16,
        on_step=lambda s, t, loss: progress.append((s, t)),
        open_model=open_model,
    )
    assert progress == [(1, 2), (2, 2)]
    assert verdict.accepted and verdict.scores == {"files": 1.0}, verdict
    assert verdict.baseline == {"files": 0.0}
    store = personal_store(journaled.data_dir)
    assert store.current() == verdict.name
    assert assemble.local_options(journaled).adapter_for(embedded=True) == store.path(verdict.name)
    meta = json.loads(store.path(verdict.name).with_suffix(".json").read_text())
    assert meta["provenance"]["examples"] == 14 and meta["scores"] == {"files": 1.0}

    result = CliRunner().invoke(cli, ["models", "adapters"])
    assert f"* {verdict.name}  personal  files=1.00  accepted" in result.output
    back = CliRunner().invoke(cli, ["learn", "rollback"])
    assert back.exit_code == 0 and "default adapter: shipped" in back.output
    assert store.current() is None
    again = CliRunner().invoke(cli, ["learn", "rollback"])
    assert again.exit_code == 2 and "nothing to roll back" in again.output
