"""The GUI tool: read the screen as numbered text, then click, type and press keys.

Actions (``gui.*``) and what the permission policy sees:

    observe, wait_for_text, list_windows   screen.capture  "screen", "window list", or app:title
    click, drag, move, type, key, scroll,  gui.input       the target window's app:title
    focus_window                                           ("desktop" when no window is there)

Invariants:
- Each action is planned twice: once for `effect()` (what is approved) and again in
  `run()`. If the window it would act on is no longer the one approved (a dialog popped
  up under the pointer), it refuses with ``target_changed`` instead of acting.
- Secrets: the model writes ``{{secret:NAME}}``; the value is read from the keyring in
  `run()`, typed, and then scrubbed out of every later reading of the screen. Effects,
  results and readings only ever hold the placeholder.
- Stop: the stop flag is checked before every action and between pieces of a long one
  (every `TYPE_CHUNK` characters, every poll of `wait_for_text`), so a stop lands within
  one action. The pointer thrown into a screen corner (pyautogui's fail-safe) sets the
  stop flag too, which ends the run.
- Every action is thread-bound: it runs on the agent's worker thread, the one owner of
  the screen grabber, the X connection and pyautogui.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tools.base import Effect, NoArgs, ToolArgs, ToolFailure, ToolResult, ToolSpec, make_spec
from tools.gui import actions as a
from tools.gui.base import Desktop, GuiUnavailable, InputStopped, Window, scope_of
from tools.gui.elements import Reading, Scrubber
from tools.gui.geometry import click_point
from tools.gui.reader import ScreenReader
from tools.placeholders import SecretLookup, resolve

log = logging.getLogger(__name__)

A = TypeVar("A", bound=ToolArgs)
TYPE_CHUNK = 16
POLL_GAP_S = 0.2
WINDOW_LIST = "window list"
_DIRECTIONS = {"up": (0, 1), "down": (0, -1), "left": (-1, 0), "right": (1, 0)}


@dataclass(frozen=True, slots=True)
class Plan:
    """An action resolved against the screen as it is now: its effect and how to do it."""

    effect: Effect
    act: Callable[[], ToolResult]


class GuiTool:
    def __init__(
        self,
        desktop: Desktop,
        *,
        secrets: SecretLookup,
        stop: threading.Event | None = None,
        screenshots: Path | None = None,
        max_model_side: int = 1920,
    ) -> None:
        self._d = desktop
        self._secrets = secrets
        self._stop = stop if stop is not None else threading.Event()
        self._scrub = Scrubber()
        self._reader = ScreenReader(
            desktop.screen,
            desktop.ocr,
            self._scrub,
            screenshots=screenshots,
            max_model_side=max_model_side,
        )
        self._listed: list[Window] = []
        self._approved: tuple[ToolArgs, str] | None = None

    @property
    def desktop(self) -> Desktop:
        return self._d

    @property
    def last_reading(self) -> Reading | None:
        return self._reader.last

    def specs(self) -> list[ToolSpec[Any]]:
        s = self._spec
        return [
            s("gui.observe", "Read the text on the screen (or in one window) as numbered elements.",
              a.ObserveArgs, self._plan_observe, {"window": ""}),
            s("gui.click", "Click an element number or x,y from the last reading.",
              a.ClickArgs, self._plan_click, {"target": "12", "button": "left", "count": 1}),
            s("gui.type", "Type text where the keyboard focus is, or into an element after clicking it.",
              a.TypeArgs, self._plan_type, {"text": "hello", "target": "3"}),
            s("gui.key", "Press a key or a key chord.", a.KeyArgs, self._plan_key,
              {"keys": "ctrl+s"}),
            s("gui.scroll", "Scroll at an element or x,y.", a.ScrollArgs, self._plan_scroll,
              {"target": "5", "direction": "down", "amount": 3}),
            s("gui.drag", "Drag from one element or x,y to another.", a.DragArgs,
              self._plan_drag, {"start": "4", "end": "9"}),
            s("gui.move", "Move the mouse pointer to an element or x,y.", a.MoveArgs,
              self._plan_move, {"target": "7"}),
            s("gui.list_windows", "List the open windows.", NoArgs, self._plan_list, {}),
            s("gui.focus_window", "Bring a window to the front and give it the keyboard.",
              a.FocusArgs, self._plan_focus, {"window": "Text Editor"}),
            s("gui.wait_for_text", "Wait until some text appears on the screen.", a.WaitArgs,
              self._plan_wait, {"text": "Saved", "timeout_s": 10}),
        ]  # fmt: skip

    # -- reading ----------------------------------------------------------------------

    def _plan_observe(self, args: a.ObserveArgs) -> Plan:
        window = self._find_window(args.window) if args.window.strip() else None
        scope = scope_of(window) if window else "screen"
        summary = f"read the text in window {scope}" if window else "read the text on the screen"
        return Plan(Effect("screen.capture", scope, summary), lambda: self._observed(window))

    def _observed(self, window: Window | None) -> ToolResult:
        reading, data = self._reader.read(window)
        focused = self._d.windows.focused()
        text = reading.describe() + f"\nKeyboard focus: {self._scrub(scope_of(focused))}"
        return ToolResult(ok=True, output=text, data=data)

    def _plan_wait(self, args: a.WaitArgs) -> Plan:
        summary = f'watch the screen for "{args.text}" (up to {args.timeout_s} s)'
        return Plan(Effect("screen.capture", "screen", summary), lambda: self._wait(args))

    def _wait(self, args: a.WaitArgs) -> ToolResult:
        deadline = time.monotonic() + args.timeout_s
        while True:
            reading, data = self._reader.read(None)
            found = reading.find(args.text)
            if found:
                head = f'"{args.text}" is on the screen: {found[0].label()}\n'
                return ToolResult(ok=True, output=head + reading.describe(), data=data)
            if time.monotonic() >= deadline:
                raise ToolFailure(
                    "not_found", f'"{args.text}" did not appear within {args.timeout_s} s'
                )
            if self._stop.wait(POLL_GAP_S):
                raise ToolFailure("stopped", f'stopped while waiting for "{args.text}"')

    def _plan_list(self, args: NoArgs) -> Plan:
        return Plan(
            Effect("screen.capture", WINDOW_LIST, "list the open windows"), self._listed_now
        )

    def _listed_now(self) -> ToolResult:
        self._listed = self._d.windows.visible()
        focused = self._d.windows.focused()
        lines = [
            f'[{i}] {w.app} "{self._scrub(w.title)}"' + (" (focused)" if w == focused else "")
            for i, w in enumerate(self._listed, start=1)
        ]
        return ToolResult(ok=True, output="\n".join(lines) or "(no windows)")

    # -- pointer ----------------------------------------------------------------------

    def _plan_click(self, args: a.ClickArgs) -> Plan:
        point, label = self._aim(args.target)
        scope = scope_of(self._d.windows.at(*point))
        verb = {1: "click", 2: "double-click", 3: "triple-click"}[args.count]
        verb = verb if args.button == "left" else f"{args.button} {verb}"

        def act() -> ToolResult:
            self._d.input.click(*point, args.button, args.count)
            return _done(f"{verb}ed {label} in {scope}", point, scope)

        return Plan(Effect("gui.input", scope, f"{verb} {label} in {scope}"), act)

    def _plan_move(self, args: a.MoveArgs) -> Plan:
        point, label = self._aim(args.target)
        scope = scope_of(self._d.windows.at(*point))

        def act() -> ToolResult:
            self._d.input.move(*point)
            return _done(f"moved the pointer to {label} in {scope}", point, scope)

        return Plan(Effect("gui.input", scope, f"move the pointer to {label} in {scope}"), act)

    def _plan_drag(self, args: a.DragArgs) -> Plan:
        start, start_label = self._aim(args.start)
        end, end_label = self._aim(args.end)
        source, target = self._d.windows.at(*start), self._d.windows.at(*end)
        if source != target:
            raise ToolFailure(
                "cross_window",
                f"the drag would end in {scope_of(target)}, not {scope_of(source)}; "
                "drags stay within one window",
            )
        scope, what = scope_of(source), f"{start_label} to {end_label}"

        def act() -> ToolResult:
            self._d.input.drag(start, end, "left")
            return _done(f"dragged {what} in {scope}", end, scope)

        return Plan(Effect("gui.input", scope, f"drag {what} in {scope}"), act)

    def _plan_scroll(self, args: a.ScrollArgs) -> Plan:
        point, label = self._aim(args.target)
        scope = scope_of(self._d.windows.at(*point))
        dx, dy = (args.amount * d for d in _DIRECTIONS[args.direction])
        what = f"scroll {args.direction} {args.amount} at {label} in {scope}"

        def act() -> ToolResult:
            self._d.input.scroll(*point, dx, dy)
            return _done(what.replace("scroll", "scrolled", 1), point, scope)

        return Plan(Effect("gui.input", scope, what), act)

    # -- keyboard ---------------------------------------------------------------------

    def _plan_type(self, args: a.TypeArgs) -> Plan:
        literal = _without_placeholders(args.text)
        untypeable = sorted({c for c in literal if not self._d.input.can_type(c)})
        if untypeable:
            shown = " ".join(repr(c) for c in untypeable[:8])
            raise ToolFailure(
                "cannot_type", f"no key for these characters on this keyboard: {shown}"
            )
        point, label = self._aim(args.target) if args.target.strip() else (None, "")
        window = self._d.windows.at(*point) if point else self._d.windows.focused()
        scope = scope_of(window)
        shown = _short(self._scrub(args.text))
        where = f"into {label} in {scope}" if point else f"into {scope}"
        return Plan(
            Effect("gui.input", scope, f'type "{shown}" {where}'),
            lambda: self._type(args.text, point, where),
        )

    def _type(self, text: str, point: tuple[int, int] | None, where: str) -> ToolResult:
        resolved, values = resolve(text, self._secrets)
        for name, value in values.items():
            self._scrub.add(name, value)
        if any(not self._d.input.can_type(c) for c in resolved):
            raise ToolFailure("cannot_type", "a secret holds a character this keyboard cannot type")
        if point is not None:
            self._d.input.click(*point, "left", 1)
        for start in range(0, len(resolved), TYPE_CHUNK):
            if self._stop.is_set():
                done = "nothing" if start == 0 else "part of the text"
                raise ToolFailure("stopped", f"stopped after typing {done} {where}")
            self._d.input.type_text(resolved[start : start + TYPE_CHUNK])
        secrets = f" ({len(values)} secret{'s' * (len(values) != 1)})" if values else ""
        data = {"chars": len(text), "secrets": sorted(values)}
        return ToolResult(ok=True, output=f"typed the text {where}{secrets}", data=data)

    def _plan_key(self, args: a.KeyArgs) -> Plan:
        keys = [k.strip().lower() for k in args.keys.split("+")]
        for key in keys:
            if not key or not self._d.input.can_press(key):
                raise ToolFailure(
                    "unknown_key",
                    f"unknown key {key!r} in {args.keys!r}; use names like enter, tab, esc, "
                    "backspace, ctrl, alt, shift, f1, a",
                )
        scope = scope_of(self._d.windows.focused())
        chord = "+".join(keys)

        def act() -> ToolResult:
            self._d.input.press(keys)
            return ToolResult(ok=True, output=f"pressed {chord} in {scope}", data={"window": scope})

        return Plan(Effect("gui.input", scope, f"press {chord} in {scope}"), act)

    def _plan_focus(self, args: a.FocusArgs) -> Plan:
        window = self._find_window(args.window)

        def act() -> ToolResult:
            self._d.windows.focus(window)
            return ToolResult(
                ok=True, output=f"focused {window.scope}", data={"window": window.scope}
            )

        return Plan(Effect("gui.input", window.scope, f"bring {window.scope} to the front"), act)

    # -- shared -----------------------------------------------------------------------

    def _aim(self, target: str) -> tuple[tuple[int, int], str]:
        """The logical point a target names, and how to show it to a person."""
        match = a.TARGET_RE.fullmatch(target)
        if match is None:
            raise ToolFailure("invalid", f"not an element number or x,y: {target!r}")
        first, second = match.groups()
        reading = self._reader.last
        if second is None:
            if reading is None:
                raise ToolFailure("no_reading", "no reading yet: call gui.observe first")
            element = reading.element(int(first))
            return click_point(reading.frame, element.box.center, "model"), element.label()
        x, y = int(first), int(second)
        return click_point(self._reader.frame(), (x, y), "model"), f"({x},{y})"

    def _find_window(self, text: str) -> Window:
        wanted = text.strip()
        if wanted.isdigit() and self._listed:
            index = int(wanted)
            if not 1 <= index <= len(self._listed):
                raise ToolFailure("no_window", f"no window {index} in the last list")
            return self._listed[index - 1]
        needle = wanted.lower()
        for window in self._d.windows.visible():
            if needle in window.title.lower() or needle == window.app.lower():
                return window
        raise ToolFailure(
            "no_window", f"no window titled like {wanted!r}; gui.list_windows shows them"
        )

    def _spec(
        self,
        name: str,
        description: str,
        args: type[A],
        plan: Callable[[A], Plan],
        example: dict[str, Any],
    ) -> ToolSpec[A]:
        def effect(parsed: A) -> Effect:
            planned = plan(parsed).effect
            self._approved = (parsed, planned.scope)
            return planned

        def run(parsed: A) -> ToolResult:
            approved, self._approved = self._approved, None
            if self._stop.is_set():
                raise ToolFailure("stopped", "the run is stopping")
            planned = plan(parsed)
            if approved is not None and approved[0] is parsed:
                if approved[1] != planned.effect.scope:
                    raise ToolFailure(
                        "target_changed",
                        f"the target is now {planned.effect.scope}, not the approved "
                        f"{approved[1]}; nothing was done",
                    )
            return planned.act()

        timeout = 75.0 if name == "gui.wait_for_text" else 30.0
        return make_spec(
            name, description, args, effect, run, example,
            errors=self._desktop_errors, timeout_s=timeout, thread_bound=True,
        )  # fmt: skip

    @contextmanager
    def _desktop_errors(self) -> Iterator[None]:
        """A lost display and a fail-safe stop, as failures the model reads; the stop also
        ends the run."""
        try:
            yield
        except InputStopped as exc:
            self._stop.set()
            raise ToolFailure("stopped", f"stopped: {exc}") from exc
        except GuiUnavailable as exc:
            raise ToolFailure("no_desktop", str(exc)) from exc


def _done(text: str, point: tuple[int, int], scope: str) -> ToolResult:
    return ToolResult(ok=True, output=text, data={"x": point[0], "y": point[1], "window": scope})


def _without_placeholders(text: str) -> str:
    """`text` with each placeholder replaced by a space (always typeable)."""
    return resolve(text, lambda _name: " ")[0]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
