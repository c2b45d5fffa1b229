"""Tool base types: specs, effects, results, and the failure type tools raise.

Invariants:
- Argument models forbid extra fields, so a model reply with an unknown argument is invalid.
- `effect()` has no side effects. It resolves the action's scope (an absolute path, a
  domain, a command) so that the permission policy judges what will really happen, and
  raises `ToolFailure` for requests that can never be allowed (a path outside the workspace).
- `run()` returns a `ToolResult` or raises `ToolFailure` for failures the model can act on
  (file not found, refused path). Any other exception is a bug and propagates.
- An action that can be cut short declares `run_action`: the executor calls it with an
  `Action`, the one way a running action is told to stop (its `stop` flag, set when it
  overruns its timeout) and the one way it journals what it is about to change
  (`intend`, which returns only once the records are on disk). `run` stays callable on
  its own, with an `Action` that never stops and journals nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

A = TypeVar("A", bound="ToolArgs")
T = TypeVar("T")
#: Makes a context manager that turns a tool's foreign or raw failures into `ToolFailure`s.
ErrorMap = Callable[[], AbstractContextManager[object]]


class ToolArgs(BaseModel):
    """Base for every action's argument model: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(ToolArgs):
    pass


class ToolFailure(Exception):
    """An expected failure, reported to the model as a failed result.

    `kind` is a short stable code the code may branch on (never the message text).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Cancelled(ToolFailure):
    """The action was told to stop (its `Action.stop` was set) before it finished."""

    def __init__(self, message: str = "stopped before it finished") -> None:
        super().__init__("cancelled", message)


def _journal_nothing(records: Sequence[Mapping[str, Any]]) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Action:
    """What the executor hands an action it may cut short.

    stop: set by the executor when the action overruns its timeout; the action checks it
    between chunks (1 MiB) and folder entries, undoes what it half did and raises
    `Cancelled`. intend: journals the undo records of a change *before* it is made (what
    did not exist, where the backup of the old content is) and returns once they are on
    disk; it raises `Cancelled` when the action was stopped first, so nothing unjournaled
    is ever changed.
    """

    stop: threading.Event = field(default_factory=threading.Event)
    intend: Callable[[Sequence[Mapping[str, Any]]], None] = _journal_nothing

    def check(self) -> None:
        """Raise `Cancelled` if the action was told to stop."""
        if self.stop.is_set():
            raise Cancelled()


@dataclass(frozen=True, slots=True)
class Effect:
    """What an action will do, resolved before it runs.

    capability: e.g. ``fs.write``; scope: what the capability applies to (an absolute
    path, a domain, a command line); summary: one line a person can approve or refuse.
    `also`: the other effects of the same action (a move deletes its source, a copy
    reads it); the policy judges each, and the strictest decision is the action's.
    """

    capability: str
    scope: str
    summary: str
    also: tuple[Effect, ...] = ()

    def each(self) -> tuple[Effect, ...]:
        """This effect and its `also`, in that order."""
        return (self, *self.also)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one action.

    `output` is the text the model reads. `data` is structured detail for the journal;
    `undo` (when present) is what `deskhand undo` needs to reverse the change.
    """

    ok: bool
    output: str
    kind: str = "ok"
    data: Mapping[str, Any] = field(default_factory=dict)
    undo: tuple[Mapping[str, Any], ...] = ()
    finish: bool = False

    @classmethod
    def failure(cls, kind: str, message: str) -> ToolResult:
        return cls(ok=False, output=message, kind=kind)


@dataclass(frozen=True, slots=True)
class ToolSpec(Generic[A]):
    """A named action: its arguments, its effect, and how to run it.

    thread_bound: True when `run` must be called on the calling thread (a Playwright page,
    a GUI input driver) and enforces its own timeout; otherwise the executor runs it on a
    helper thread and stops waiting after `timeout_s`.

    run_action: `run` taking the `Action` as well (see the module docstring); when set,
    the executor calls it instead of `run`.

    narrow: per-step constraints on arguments (property name → schema keywords such as
    ``enum``), merged over the static schema for decoding only (`step_schema`): e.g. the
    element numbers the page shows now. Never part of the prompt or the fingerprint.
    """

    name: str
    description: str
    args: type[A]
    effect: Callable[[A], Effect]
    run: Callable[[A], ToolResult]
    timeout_s: float = 30.0
    thread_bound: bool = False
    example: Mapping[str, Any] | None = None
    narrow: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None
    run_action: Callable[[A, Action], ToolResult] | None = None

    def json_schema(self) -> dict[str, Any]:
        return args_schema(self.args)

    def step_schema(self) -> dict[str, Any]:
        """`json_schema` with this step's `narrow` constraints merged in."""
        schema = self.json_schema()
        if self.narrow is not None:
            props = schema["properties"]
            for name, extra in self.narrow().items():
                if name in props:
                    props[name] = {**props[name], **extra}
        return schema


def guarded(fn: Callable[[A], T], errors: ErrorMap) -> Callable[[A], T]:
    """`fn` run inside ``errors()``, so its failures reach the model the tool's way."""

    def run(args: A) -> T:
        with errors():
            return fn(args)

    return run


def guarded_action(
    fn: Callable[[A, Action], ToolResult], errors: ErrorMap
) -> Callable[[A, Action], ToolResult]:
    """`guarded` for an action that takes its `Action`."""

    def run(args: A, action: Action) -> ToolResult:
        with errors():
            return fn(args, action)

    return run


def make_spec(
    name: str,
    description: str,
    args: type[A],
    effect: Callable[[A], Effect],
    run: Callable[[A], ToolResult] | None,
    example: Mapping[str, Any],
    *,
    errors: ErrorMap,
    timeout_s: float = 30.0,
    thread_bound: bool = False,
    narrow: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None,
    run_action: Callable[[A, Action], ToolResult] | None = None,
) -> ToolSpec[A]:
    """A spec whose `effect` and `run` both pass through the tool's `errors` map (the one
    place a tool maps what it catches: OSError for files, Playwright's mapped failures
    for the browser, a lost display for the GUI). Give `run_action` instead of `run` for
    an action that can be cut short; `run` then calls it with an `Action()` of its own."""
    acting = guarded_action(run_action, errors) if run_action is not None else None
    if run is None:
        if acting is None:
            raise TypeError(f"{name}: give run or run_action")
        run = _unattended(acting)
    else:
        run = guarded(run, errors)
    return ToolSpec(
        name=name,
        description=description,
        args=args,
        effect=guarded(effect, errors),
        run=run,
        timeout_s=timeout_s,
        thread_bound=thread_bound,
        example=example,
        narrow=narrow,
        run_action=acting,
    )


def _unattended(fn: Callable[[A, Action], ToolResult]) -> Callable[[A], ToolResult]:
    return lambda args: fn(args, Action())


def args_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A compact JSON schema for an argument model: no titles, properties in field order,
    every property required (the decoder emits them all; defaults are stated in the
    description so a small model sees them)."""
    full = model.model_json_schema()
    props: dict[str, Any] = {}
    for name, prop in full.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
        if "anyOf" in prop:  # Optional[X] -> X; the decoder always emits a value
            non_null = [p for p in prop["anyOf"] if p.get("type") != "null"]
            extra = {k: v for k, v in prop.items() if k != "anyOf"}
            prop = {**non_null[0], **extra}
        props[name] = prop
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }
