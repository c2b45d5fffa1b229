"""The executor: the single chokepoint every action passes through.

validate the arguments → resolve the effect → ask the policy → ask the approver when
the policy says "ask" → journal the step as running → run the tool with a timeout →
turn expected failures into results the model can read → complete the step's journal
row (with its approvals and file changes).

`execute` is a generator: it yields `ApprovalNeeded`/`ApprovalAnswered` around the wait
for a person, and returns the `ToolResult`. Invariants:
- Nothing runs that the policy (or a person) did not allow; a denial is a result, not
  an exception.
- The step's journal row is committed before `execute` returns, so the next action
  never starts before the last one is on disk.
- `ToolFailure` and argument errors become failed results; any other exception in a
  tool is a bug and propagates after the step is journaled as an error.
- Intent before action: an allowed step is committed as 'running' before its tool runs,
  and an action that changes files journals each change's undo records (`Action.intend`)
  before making it: the tool's thread hands them to this thread, which owns the journal,
  and waits until they are on disk. A process killed mid-action leaves the intent behind
  for `deskhand undo`.
- Cancellable: an action with `run_action` gets an `Action` whose `stop` this executor
  sets when the timeout passes; it then waits up to `stop_grace_s` for the action to
  take back what it half did. An action that does not stop by then, or cannot take back
  its half-done change, ends with the result kind 'in_flight', and its intents stay in
  the journal. Nothing here is a module global: the flag is made
  per action and handed over as data.
- A task's checks act through here too (`act_for_check`): under the policy, with the
  timeout, journaled; what the policy does not allow outright is refused, unasked.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from agent.approval import ApprovalRequest, Approver
from agent.events import ApprovalAnswered, ApprovalNeeded, Event
from agent.journal import Journal, StepRecord
from agent.policy import Policy, Rule
from models.base import Usage
from tools.base import Action, Cancelled, Effect, ToolFailure, ToolResult, ToolSpec
from tools.registry import Registry

log = logging.getLogger(__name__)

#: How long a timed-out action is given to stop and take back what it half did.
STOP_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class Proposal:
    """One action as the model proposed it (not yet validated)."""

    thought: str
    tool: str
    args: dict[str, Any]


#: A last check before an action (a fixed step's ``expect``): a failure refuses it.
Guard = Callable[[], ToolResult | None]
#: The journal event of an action a task's check took (`Executor.act_for_check`).
CHECK_EVENT = "check_action"


@dataclass(frozen=True, slots=True)
class Acted:
    """What a check's action came to: its effect (None when it had none: bad arguments,
    shell syntax) and its result."""

    effect: Effect | None
    result: ToolResult


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
        *,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        self._stop_grace_s = stop_grace_s
        self._registry = registry
        self._policy = policy
        self._approver = approver
        self._journal = journal
        self._run_id = run_id

    def execute(
        self,
        step: int,
        proposal: Proposal,
        trace: ModelTrace,
        *,
        guard: Guard | None = None,
    ) -> Generator[Event, None, ToolResult]:
        """Handle one action and journal it (see the module docstring). A `guard` that
        returns a failure refuses the action before anything else happens: the step is
        journaled with that failure and nothing runs."""
        started = time.perf_counter()
        error: str | None = None
        try:
            refused = guard() if guard is not None else None
            if refused is not None:
                result = refused
            else:
                result = yield from self._decide_and_run(step, proposal, trace)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            result = ToolResult.failure("internal_error", "the tool failed unexpectedly")
            raise
        finally:
            self._record(step, proposal, trace, result, time.perf_counter() - started, error)
        return result

    # -- the chokepoint ---------------------------------------------------------------

    def _decide_and_run(
        self, step: int, proposal: Proposal, trace: ModelTrace
    ) -> Generator[Event, None, ToolResult]:
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
        self._journal.begin_step(self._run_id, _step_record(step, proposal, trace))
        if spec.thread_bound:
            return _call(lambda: spec.run(args))
        return self._run(step, spec, args)

    def act_for_check(self, check: int, spec: ToolSpec[Any], raw: Mapping[str, Any]) -> Acted:
        """One action a task's check `check` takes (run its command, read a page), through
        this chokepoint: arguments validated, the effect judged by the policy (which must
        allow it outright: nobody is asked about a check), run with the tool's timeout,
        and journaled as a ``check_action`` event (not as a step: it is neither the
        model's action nor a replayed one, and ``deskhand save`` must not replay it)."""
        started = time.perf_counter()
        effect: Effect | None = None
        try:
            args = spec.args.model_validate(dict(raw))
            effect = spec.effect(args)
        except ValidationError as exc:
            result = ToolResult.failure("invalid_args", _validation_message(exc))
        except ToolFailure as failure:
            result = ToolResult.failure(failure.kind, failure.message)
        else:
            decision = self._policy.judge(effect)[0].decision
            if decision != "allow":
                result = ToolResult.failure("denied", f"not allowed unasked: {effect.summary}")
            elif spec.thread_bound:
                result = _call(lambda: spec.run(args))
            else:
                result = self._run(0, spec, args)
        detail = {
            "check": check,
            "tool": spec.name,
            "capability": effect.capability if effect else "",
            "scope": effect.scope if effect else "",
            "ok": result.ok,
            "kind": result.kind,
            "seconds": round(time.perf_counter() - started, 3),
        }
        self._journal.record_event(self._run_id, CHECK_EVENT, detail)
        return Acted(effect, result)

    def _run(self, step: int, spec: ToolSpec[Any], args: Any) -> ToolResult:
        """Run the tool on a worker thread, relaying its intents to the journal, until it
        lands or overruns its timeout (then stop it, and wait `stop_grace_s`)."""
        flight = _Flight()
        run_action = spec.run_action
        if run_action is not None:
            action = Action(flight.stop, flight.intend)
            call: Callable[[], ToolResult] = lambda: run_action(args, action)  # noqa: E731
        else:
            call = lambda: spec.run(args)  # noqa: E731
        threading.Thread(
            target=lambda: flight.land(_call_catching(call)), name=f"tool-{spec.name}", daemon=True
        ).start()
        grace = self._stop_grace_s if run_action is not None else 0.0
        outcome = flight.wait(spec.timeout_s, grace, self._journal_intents(step))
        if isinstance(outcome, BaseException):
            raise outcome
        late = f"{spec.name} did not finish in {spec.timeout_s:g} s"
        if outcome is None:
            if run_action is None:
                return ToolResult.failure("timeout", late)
            return ToolResult.failure(
                "in_flight",
                f"{late} and had not stopped {grace:g} s after it was told to; what it was"
                " changing is journaled as in flight, and `deskhand undo` can reverse it",
            )
        if flight.stop.is_set() and outcome.kind == "cancelled":
            return ToolResult.failure(
                "timeout", f"{late}; it was stopped and took back what it had half done"
            )
        return outcome

    def _journal_intents(self, step: int) -> Callable[[Sequence[Mapping[str, Any]]], None]:
        return lambda records: self._journal.record_intents(self._run_id, step, records)

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
        record = _step_record(step, proposal, trace)
        record = replace(
            record,
            tool_seconds=seconds,
            ok=result.ok,
            result_kind=result.kind,
            result_text=result.output,
            result_data=dict(result.data),
            error=error,
        )
        settled = result.kind != "in_flight"
        self._journal.record_step(self._run_id, record, result.undo, settled=settled)


def _step_record(step: int, proposal: Proposal, trace: ModelTrace) -> StepRecord:
    usage = trace.usage
    return StepRecord(
        idx=step,
        model_id=trace.model_id,
        prompt_hash=trace.prompt_hash,
        prompt_tokens=usage.prompt_tokens,
        tokens_reused=usage.cached_tokens,
        tokens_evaluated=usage.evaluated_tokens,
        completion_tokens=usage.completion_tokens,
        model_seconds=usage.seconds,
        thought=proposal.thought,
        tool=proposal.tool,
        args=proposal.args,
    )


@dataclass(slots=True)
class _Intent:
    """Undo records an action wants on disk before it changes anything."""

    records: tuple[Mapping[str, Any], ...]
    answered: threading.Event = field(default_factory=threading.Event)
    journaled: bool = False


@dataclass(frozen=True, slots=True)
class _Landed:
    outcome: ToolResult | BaseException


class _Flight:
    """One action in flight on its worker thread. Its intents and its outcome reach the
    executor's thread (which owns the journal) through one queue; `stop` goes the other
    way. An intent that arrives once `stop` is set is refused, so the action raises
    `Cancelled` before changing anything it could not journal."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._inbox: queue.SimpleQueue[_Intent | _Landed] = queue.SimpleQueue()

    def intend(self, records: Sequence[Mapping[str, Any]]) -> None:  # the worker's side
        if self.stop.is_set():
            raise Cancelled("stopped before it changed anything")
        intent = _Intent(tuple(records))
        self._inbox.put(intent)
        intent.answered.wait()  # the executor answers every intent it takes
        if not intent.journaled:
            raise Cancelled("stopped before it changed anything")

    def land(self, outcome: ToolResult | BaseException) -> None:
        self._inbox.put(_Landed(outcome))

    def wait(
        self,
        timeout: float,
        grace: float,
        journal: Callable[[Sequence[Mapping[str, Any]]], None],
    ) -> ToolResult | BaseException | None:
        """The action's outcome; None when it ran past `timeout` and then past `grace`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if self.stop.is_set():
                    return None
                self.stop.set()
                deadline = time.monotonic() + grace
                continue
            try:
                item = self._inbox.get(timeout=left)
            except queue.Empty:
                continue
            if isinstance(item, _Landed):
                return item.outcome
            try:
                if not self.stop.is_set():
                    journal(item.records)
                    item.journaled = True
            finally:
                item.answered.set()


def _call(run: Callable[[], ToolResult]) -> ToolResult:
    try:
        return run()
    except ToolFailure as failure:
        return ToolResult.failure(failure.kind, failure.message)


def _call_catching(run: Callable[[], ToolResult]) -> ToolResult | BaseException:
    try:
        return _call(run)
    except Exception as exc:  # noqa: BLE001 - re-raised on the calling thread
        return exc


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "args"
        parts.append(f"{where}: {err['msg']}")
    return "invalid arguments: " + "; ".join(parts)
