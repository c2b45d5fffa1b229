"""Opening a GUI sample's windows on an X display, and reading their state back.

Each window is its own process (`agent.learn.gui_app`), started on the display the
caller names (a curriculum run never picks a display itself: a test's Xvfb, or the one
a collection command started). `windows_open` yields once every window is mapped and
drawn, with the first one holding the keyboard focus; `saved` asks each window for its
state (the app's ``sync``) and writes the states as ``windows.json`` into a folder:
that file is the GUI family's end state, which a sample's check reads (`states_in`).

Invariants:
- Every wait is on a line the app prints, with a deadline; never a sleep.
- The windows are opened one after the other, so the desktop lists them in the specs'
  order and a sample shows the same screen every time it is staged.
- The windows are closed however the block ends.
- Keyboard focus starts on an explicit window (not "whatever is under the pointer"),
  so a key pressed before any focus action lands in a known place.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tools.gui.base import Desktop

APP = Path(__file__).with_name("gui_app.py")
RECORD = "windows.json"
START_DEADLINE_S = 30.0
SYNC_DEADLINE_S = 15.0

WindowSpec = Mapping[str, Any]


class WindowError(RuntimeError):
    """A sample's window did not start or answer in time (the harness failed, not the
    model)."""


class AppWindow:
    """One running window: its spec and the lines it prints."""

    def __init__(self, display: str, spec: WindowSpec) -> None:
        self.spec = spec
        argv = [sys.executable, str(APP), display, json.dumps(dict(spec))]
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True, name="learn-window").start()

    @property
    def title(self) -> str:
        return str(self.spec["title"])

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, prefix: str, timeout: float) -> str:
        """The next line starting with `prefix`, or `WindowError` after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise WindowError(f"window {self.title!r} sent no {prefix!r}") from None
            if line is None:
                err = self._proc.stderr.read() if self._proc.stderr else ""
                raise WindowError(f"window {self.title!r} exited: {err.strip()[-300:]}")
            if line.startswith(prefix):
                return line

    def state(self) -> dict[str, Any]:
        """The window's state once every X event sent to it so far is handled."""
        assert self._proc.stdin is not None
        self._proc.stdin.write("sync\n")
        self._proc.stdin.flush()
        line = self.expect("state ", SYNC_DEADLINE_S)
        found: dict[str, Any] = json.loads(line.removeprefix("state "))
        return found

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


@contextmanager
def windows_open(
    display: str, specs: Sequence[WindowSpec], desktop: Desktop
) -> Iterator[list[AppWindow]]:
    """`specs` open on `display`; the first has the keyboard focus when this yields."""
    with ExitStack() as stack:
        windows: list[AppWindow] = []
        for spec in specs:  # one after the other: the window list's order is the specs'
            window = AppWindow(display, spec)
            stack.callback(window.close)
            windows.append(window)
            window.expect("ready", START_DEADLINE_S)
        if windows:
            first = next(
                (w for w in desktop.windows.visible() if w.title == windows[0].title), None
            )
            if first is None:
                raise WindowError(f"window {windows[0].title!r} is not listed on {display}")
            desktop.windows.focus(first)
        yield windows


def saved(windows: Sequence[AppWindow], folder: Path) -> Path:
    """Write every window's state (title → state) into `folder` as ``windows.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    states = {w.title: w.state() for w in windows}
    (folder / RECORD).write_text(json.dumps(states, ensure_ascii=False), encoding="utf-8")
    return folder


def states_in(folder: Path) -> dict[str, dict[str, Any]]:
    """What `saved` wrote into `folder` (empty when nothing was)."""
    path = folder / RECORD
    if not path.is_file():
        return {}
    found: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return found
