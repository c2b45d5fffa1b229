"""The remote teacher: a model behind any OpenAI-compatible endpoint runs the curriculum's
generated tasks through the real engine instead of the scripted gold, and only the runs
whose end-state checks pass are kept, as the same chat records the scripted teacher's
runs export (`agent.learn.trajectory.write_jsonl`).

The remote model stands where the embedded model stands, wrapped in a `Recording`:
- it is shown the prompt the student will be shown (`prompt_style`, compact by default:
  what a deskhand adapter is trained on), so a kept example is a prompt the student sees;
- each reply is rewritten into the layout the schema-directed decoder writes
  (`agent.learn.teacher.encode`: ``tool``, ``args`` in the schema's order with defaults
  filled in, ``thought``) before the engine takes it, so a remote teacher's examples read
  exactly like the scripted teacher's, and the history later prompts carry is that same
  text. A reply that cannot be rewritten (not an action this step offers) goes to the
  engine as it came, which treats it as the model's error; such a run is not kept.

Invariants:
- Nothing is sent anywhere unless the caller built the model with an endpoint URL; this
  module opens no connection of its own (the client is `models.openai_compat`).
- A run is kept only when `agent.learn.attempt` says it passed: ended with ``finish``,
  every action ok, the sample's own check true. Every other run is dropped and counted.
- The messages recorded are those the engine handed the model, byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from agent.learn.attempt import Attempt, attempt
from agent.learn.sample import Sample, Step
from agent.learn.teacher import Exchange, TeacherError, encode
from agent.settings import Settings
from models.base import ChatModel, Completion, JsonSchema, Message, ModelInfo, ShouldStop

log = logging.getLogger(__name__)


class Recording:
    """`model` behind the `ChatModel` seam, its replies in the decoder's layout, every
    (messages, reply) kept in `exchanges`."""

    def __init__(self, model: ChatModel, prompt_style: str = "compact") -> None:
        self._model = model
        self._prompt_style = prompt_style
        self.exchanges: list[Exchange] = []

    @property
    def model_id(self) -> str:
        return self._model.model_id

    def info(self) -> ModelInfo:
        return dataclasses.replace(self._model.info(), prompt_style=self._prompt_style)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        got = self._model.complete(
            messages, schema=schema, max_tokens=max_tokens, should_stop=should_stop
        )
        text = in_decoder_layout(got.text, schema)
        self.exchanges.append(Exchange(tuple(messages), text))
        return dataclasses.replace(got, text=text)

    def close(self) -> None:
        """The wrapped model is the caller's: it is closed by whoever opened it."""


def in_decoder_layout(text: str, schema: JsonSchema | None) -> str:
    """`text` (a JSON action) as the constrained decoder writes it under `schema`, or
    `text` unchanged when it is not an action the schema offers."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text
    if not isinstance(data, dict):
        return text
    tool, args, thought = data.get("tool"), data.get("args", {}), data.get("thought", "")
    if not (isinstance(tool, str) and isinstance(args, dict) and isinstance(thought, str)):
        return text
    try:
        return encode(Step(tool, args, thought), schema)
    except TeacherError:
        return text


@dataclass
class Tally:
    """What a collection did: runs kept, and runs dropped by template."""

    kept: int = 0
    steps: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.kept + sum(self.dropped.values())

    def add(self, done: Attempt) -> None:
        if done.passed:
            self.kept += 1
            self.steps += len(done.examples)
        else:
            self.dropped[done.sample.template] += 1

    def summary(self) -> str:
        dropped = sum(self.dropped.values())
        return f"kept={self.kept} dropped={dropped} total={self.total} steps={self.steps}"


def collect(
    samples: Iterable[Sample],
    settings: Settings,
    model: ChatModel,
    *,
    prompt_style: str = "compact",
    display: str | None = None,
    max_steps: int | None = None,
) -> Iterator[Attempt]:
    """Run each sample with `model` (fresh `Recording` each); every attempt, in order.
    Keep those with ``passed`` (`Attempt.trajectory`)."""
    for sample in samples:
        recording = Recording(model, prompt_style)
        done = attempt(sample, settings, recording, display=display, max_steps=max_steps)
        log.info("%s seed %d: %s", sample.template, sample.seed, done.outcome)
        yield done
