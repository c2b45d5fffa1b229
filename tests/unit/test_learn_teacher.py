"""The teacher's replies (agent/learn/teacher.py) and the template split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.learn import split_by_template
from agent.learn.sample import Fixture, Script, Step
from agent.learn.teacher import Teacher, TeacherError, encode
from agent.loop import parse_reply
from models.base import Message
from tools.base import Effect, ToolResult, ToolSpec
from tools.file_args import SearchNamesArgs
from tools.registry import Registry, finish_spec


def _registry() -> Registry:
    search = ToolSpec(
        name="files.search_names",
        description="Find files.",
        args=SearchNamesArgs,
        effect=lambda a: Effect("fs.read", ".", "search"),
        run=lambda a: ToolResult(ok=True, output=""),
    )
    return Registry([search, finish_spec()])


def test_reply_is_laid_out_as_the_decoder_writes_it() -> None:
    registry = _registry()
    step = Step("files.search_names", {"path": ".", "pattern": "*.csv"}, "Find them.")
    text = encode(step, registry.action_schema())
    assert text == (
        '{"tool": "files.search_names", "args": {"pattern": "*.csv", "path": "."}, '
        '"thought": "Find them."}'
    )
    assert parse_reply(text, registry).tool == "files.search_names"


def test_non_ascii_is_kept_as_is() -> None:
    text = encode(Step("finish", {"message": "Done: café"}, "ok"), _registry().action_schema())
    assert "café" in text and json.loads(text)["args"]["message"] == "Done: café"


@pytest.mark.parametrize(
    "step",
    [
        Step("files.delete", {"path": "a"}, "no such tool"),
        Step("finish", {"message": "x", "extra": 1}, "unknown argument"),
        Step("files.search_names", {"pattern": "*.csv"}, "the decoder writes every argument"),
        Step("finish", {"message": ""}, "an empty message is below minLength"),
        Step("finish", {"message": "ok"}, "x" * 201),
    ],
)
def test_a_gold_the_schema_does_not_offer_is_a_teacher_error(step: Step) -> None:
    with pytest.raises(TeacherError):
        encode(step, _registry().action_schema())


def test_teacher_records_what_it_was_given_and_stops_at_the_end_of_the_gold() -> None:
    teacher = Teacher(Script((Step("finish", {"message": "ok"}, "done"),)))
    messages = [Message("system", "s"), Message("user", "u")]
    reply = teacher.complete(messages, schema=_registry().action_schema())
    assert teacher.exchanges[0].messages == tuple(messages)
    assert teacher.exchanges[0].reply == reply.text
    with pytest.raises(TeacherError):
        teacher.complete(messages)


def test_split_by_template_is_disjoint_seeded_and_covers_all() -> None:
    templates = [f"files.t{i}" for i in range(10)]
    train, held = split_by_template(templates, 0.2, seed=1)
    assert len(held) == 2 and not train & held and train | held == set(templates)
    assert split_by_template(templates, 0.2, seed=1) == (train, held)


def test_fixture_refuses_paths_outside_the_workspace(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Fixture({"../x.txt": ""})
    Fixture({"a b/c.txt": "hi"}, ("empty",)).build(tmp_path)
    assert (tmp_path / "a b" / "c.txt").read_text() == "hi" and (tmp_path / "empty").is_dir()
