"""The gate weighs adapters by the scores of real replays, and a refusal says whether the
candidate was worse or only no better.

Real parts: the user's good runs in a real SQLite journal, made through the engine as
every run is (agent.prepare); the replay evaluator (agent/learn/replay_eval.py) turning
them into cases and running each in a scratch workspace, scored by the runs' end-state
checks; the gate and its store on real files; the default the app would run with
(`assemble.local_options`). The models the evaluator opens are scripted, one per adapter
file's bytes, so which replays pass, and so each score, is known; what an adapter file
holds is not read here. tests/integration/test_learn_personal.py does the same with a
trained adapter and the embedded model (where both sides score 0: "no better").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import RunStarted
from agent.learn.replay_eval import EvalCase, evaluator, run_cases
from agent.learn_gate import Verdict, gate, personal_store
from agent.prepare import RunRequest, prepare_run
from agent.settings import Settings, load_settings
from agent.taskrun import run_task
from models.base import ChatModel
from models.scripted import ScriptedModel

NAMES = ("alpha", "bravo")


def act(tool: str, **args: Any) -> dict[str, Any]:
    return {"thought": f"I use {tool}.", "tool": tool, "args": args}


FINISH = act("finish", message="done")


def write(name: str) -> dict[str, Any]:
    return act("files.write", path=f"{name}.txt", content=f"note {name}")


#: What the model opened with each adapter does on the replays (alpha, then bravo).
PLAYS: dict[bytes | None, list[dict[str, Any]]] = {
    None: [FINISH, FINISH],  # the shipped default: passes neither
    b"v1": [write("alpha"), FINISH, write("bravo"), FINISH],  # both
    b"worse": [write("alpha"), FINISH, FINISH],  # alpha only
    b"same": [write("alpha"), FINISH, write("bravo"), FINISH],  # both, as v1
}


def open_model(adapter: Path | None) -> ChatModel:
    return ScriptedModel(PLAYS[adapter.read_bytes() if adapter is not None else None])


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def cases(settings: Settings, tmp_path: Path) -> list[EvalCase]:
    """Two good runs of the user's (a file written, rated good) as replay cases."""
    ids = []
    with assemble.open_journal(settings) as journal:
        for name in NAMES:
            ws = tmp_path / f"ws-{name}"
            ws.mkdir()
            request = RunRequest(
                goal=f"Write a file {name}.txt saying note {name}",
                workspace=[ws],
                model=ScriptedModel([write(name), FINISH]),
                grants=["fs.write"],
                approver=AlwaysAllow(),
            )
            first, *_ = run_task(prepare_run(request, settings), journal)  # the whole run
            assert isinstance(first, RunStarted)
            journal.add_feedback(first.run_id, rating=1)
            ids.append(first.run_id)
        found = run_cases(journal, ids)
    assert [c.family for c in found] == ["files", "files"] and all(c.task.checks for c in found)
    return found


def weigh(settings: Settings, cases: list[EvalCase], tmp_path: Path, body: bytes) -> Verdict:
    candidate = tmp_path / "personal.gguf"
    candidate.write_bytes(body)
    evaluate = evaluator(cases, settings, open_model, tmp_path / f"eval-{body.decode()}")
    return gate(personal_store(settings.data_dir), candidate, evaluate)


def test_a_worse_adapter_is_refused_as_worse_and_the_old_default_stays(
    settings: Settings, cases: list[EvalCase], tmp_path: Path
) -> None:
    v1 = weigh(settings, cases, tmp_path, b"v1")
    assert v1.accepted and (v1.baseline, v1.scores) == ({"files": 0.0}, {"files": 1.0})
    default = assemble.local_options(settings).personal
    assert default == personal_store(settings.data_dir).path(v1.name)

    verdict = weigh(settings, cases, tmp_path, b"worse")
    assert not verdict.accepted
    assert (verdict.baseline, verdict.scores) == ({"files": 1.0}, {"files": 0.5})
    assert verdict.reason == "worse on files 0.50 < 1.00" and verdict.worse == ("files",)
    assert assemble.local_options(settings).personal == default  # v1 is still the default


def test_an_adapter_only_as_good_is_refused_as_no_better(
    settings: Settings, cases: list[EvalCase], tmp_path: Path
) -> None:
    v1 = weigh(settings, cases, tmp_path, b"v1")
    assert v1.accepted

    verdict = weigh(settings, cases, tmp_path, b"same")
    assert not verdict.accepted
    assert (verdict.baseline, verdict.scores) == ({"files": 1.0}, {"files": 1.0})
    assert verdict.reason == "no better on any family" and verdict.worse == ()
    store = personal_store(settings.data_dir)
    assert store.current() == v1.name
    assert assemble.local_options(settings).personal == store.path(v1.name)
