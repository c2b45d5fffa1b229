"""A fixed browser step's ``expect: ROLE "NAME"``: the element it names by number must
still be that element, or the step does nothing.

The element's identity is read from the effect of `ELEMENT_PROBE`, a browser action whose
effect names an element without doing anything to it (its scope is ``HOST ROLE "NAME"``,
tools/browser/tool.py). The run's `Executor` calls `unexpected_element` as the step's
guard, before it validates, asks the policy or runs anything, so a step refused here is
journaled like every other step (failed, kind ``unexpected_element``).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agent.taskfile import ToolStep, parse_expect
from tools.base import ToolFailure, ToolResult
from tools.registry import Registry

#: The browser action whose effect names an element without doing anything to it.
ELEMENT_PROBE = "browser.hover"


def expects_element(step: ToolStep) -> bool:
    """Whether `step` names a browser element, so that an ``expect`` can be checked."""
    element = step.args.get("element")
    return step.tool.startswith("browser.") and isinstance(element, int) and element >= 1


def unexpected_element(registry: Registry, expect: str, args: dict[str, Any]) -> ToolResult | None:
    """A failure when the step's element (``args["element"]``) is not, or no longer, the
    one `expect` names; None when it is (or when the arguments are bad: the executor
    reports those the usual way)."""
    expected = parse_expect(expect)
    probe = registry.get(ELEMENT_PROBE)
    if expected is None or probe is None:
        return None
    element = args.get("element")
    try:
        scope = probe.effect(probe.args.model_validate({"element": element})).scope
    except ValidationError:
        return None
    except ToolFailure as failure:
        return ToolResult.failure(failure.kind, failure.message)
    found = scope.partition(" ")[2]
    seen = parse_expect(found)
    role, name = expected
    if seen is not None and seen[0] == role and seen[1] == name[:60]:
        return None
    return ToolResult.failure(
        "unexpected_element",
        f"element {element} is {found or 'not there'}, not the expected {expect}; "
        "the page changed, so nothing was done",
    )
