"""The executor: the single chokepoint every action passes through.

validate the arguments → resolve the effect → ask the policy → ask the approver when
the policy says "ask" → run the tool with a timeout → turn expected failures into
results the model can read → journal the step (and its approvals and file changes).

`execute` is a generator: it yields `ApprovalNeeded`/`ApprovalAnswered` around the wait
for a person, and returns the `ToolResult`. Invariants:
- Nothing runs that the policy (or a person) did not allow; a denial is a result, not
  an exception.
- The step's journal row is committed before `execute` returns, so the next action
  never starts before the last one is on disk.
- `ToolFailure` and argument errors become failed results; any other exception in a
  tool is a bug and propagates after the step is journaled as an error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agent.approval import ApprovalRequest, Approver
from agent.events import ApprovalAnswered, ApprovalNeeded, Event
from agent.journal import Journal, StepRecord
from agent.policy import Policy, Rule
from models.base import Usage
from tools.base import ToolArgs, ToolFailure, ToolResult, ToolSpec
from tools.registry import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One action as the model proposed it (not yet validated)."""

    thought: str
    tool: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelTrace:
    """What the model spent on the step, journaled with it."""

    model_id: str = ""
    prompt_hash: str = ""
    usage: Usage = field(default_factory=Usage)


class Executor:
    def __init__(
        self,
        registry: Registry,
        policy: Policy,
        approver: Approver,
        journal: Journal,
        run_id: str,
    ) -> None:
        self._registry = registry
        self._policy = policy
        self._approver = approver
        self._journal = journal
        self._run_id = run_id

    def execute(
        self, step: int, proposal: Proposal, trace: ModelTrace
    ) -> Generator[Event, None, ToolResult]:
        started = time.perf_counter()
        error: str | None = None
        try:
            result = yield from self._decide_and_run(step, proposal)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            result = ToolResult.failure("internal_error", "the tool failed unexpectedly")
            raise
        finally:
            self._record(step, proposal, trace, result, time.perf_counter() - started, error)
        return result

    # -- the chokepoint ---------------------------------------------------------------

    def _decide_and_run(self, step: int, proposal: Proposal) -> Generator[Event, None, ToolResult]:
        spec = self._registry.get(proposal.tool)
        if spec is None:
            names = ", ".join(self._registry.names())
            return ToolResult.failure(
                "unknown_tool", f"no tool {proposal.tool!r}; use one of: {names}"
            )
        try:
            args = spec.args.model_validate(proposal.args)
            effect = spec.effect(args)
        except ValidationError as exc:
            return ToolResult.failure("invalid_args", _validation_message(exc))
        except ToolFailure as failure:
            return ToolResult.failure(failure.kind, failure.message)

        verdict, _ = self._policy.judge(effect)
        decision, source = verdict.decision, f"policy:{verdict.rule.source}"
        if decision == "ask":
            yield ApprovalNeeded(self._run_id, step, spec.name, effect)
            answer = self._approver.approve(ApprovalRequest(self._run_id, step, spec.name, effect))
            if answer == "run":
                grants = [Rule(e.capability, e.scope, "allow", source="run") for e in effect.each()]
                self._policy = self._policy.with_rules(grants)
            decision, source = ("deny" if answer == "deny" else "allow"), self._approver.source
            yield ApprovalAnswered(self._run_id, step, decision, source)
        for each in effect.each() if effect.capability != "agent.finish" else ():
            self._journal.record_approval(  # one row per effect, the action's own first
                self._run_id,
                step,
                tool=spec.name,
                capability=each.capability,
                scope=each.scope,
                summary=each.summary,
                decision=decision,
                source=source,
            )
        if decision != "allow":
            return ToolResult.failure("denied", f"permission denied: {effect.summary}")
        return self._run(spec, args)

    def _run(self, spec: ToolSpec[Any], args: ToolArgs) -> ToolResult:
        if spec.thread_bound:
            return _call(spec, args)
        box: list[ToolResult | BaseException] = []
        worker = threading.Thread(
            target=lambda: box.append(_call_catching(spec, args)),
            name=f"tool-{spec.name}",
            daemon=True,
        )
        worker.start()
        worker.join(spec.timeout_s)
        if not box:
            return ToolResult.failure(
                "timeout", f"{spec.name} did not finish in {spec.timeout_s:g} s"
            )
        outcome = box[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    # -- journal ------------------------------------------------------------------------

    def _record(
        self,
        step: int,
        proposal: Proposal,
        trace: ModelTrace,
        result: ToolResult,
        seconds: float,
        error: str | None,
    ) -> None:
        usage = trace.usage
        self._journal.record_step(
            self._run_id,
            StepRecord(
                idx=step,
                model_id=trace.model_id,
                prompt_hash=trace.prompt_hash,
                prompt_tokens=usage.prompt_tokens,
                tokens_reused=usage.cached_tokens,
                tokens_evaluated=usage.evaluated_tokens,
                completion_tokens=usage.completion_tokens,
                model_seconds=usage.seconds,
                tool_seconds=seconds,
                thought=proposal.thought,
                tool=proposal.tool,
                args=proposal.args,
                ok=result.ok,
                result_kind=result.kind,
                result_text=result.output,
                result_data=dict(result.data),
                error=error,
            ),
        )
        for change in result.undo:
            self._journal.record_file_change(self._run_id, step, change)


def _call(spec: ToolSpec[Any], args: ToolArgs) -> ToolResult:
    try:
        return spec.run(args)
    except ToolFailure as failure:
        return ToolResult.failure(failure.kind, failure.message)


def _call_catching(spec: ToolSpec[Any], args: ToolArgs) -> ToolResult | BaseException:
    try:
        return _call(spec, args)
    except Exception as exc:  # noqa: BLE001 - re-raised on the calling thread
        return exc


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "args"
        parts.append(f"{where}: {err['msg']}")
    return "invalid arguments: " + "; ".join(parts)
