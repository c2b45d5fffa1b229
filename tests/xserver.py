"""A real X server for tests, and real GUI programs to drive on it.

- `xvfb()` starts Xvfb on a display it picks itself (``-displayfd``: Xvfb writes the
  number of a free display to a pipe once it accepts connections, so there is no guessing
  and no waiting by sleep). CI has no ``DISPLAY``; nothing here reads or sets it for the
  test process: programs started here get it in their own environment.
- The `xserver` fixture shares one Xvfb per test process (pyautogui connects to one
  display per process, for good). Use it from a test module with
  ``from xserver import xserver  # noqa: F401``.
- `GuiApp` runs a program on the display and waits on the lines it prints (each a
  condition the test waits for, with a deadline; never a sleep); `tk_form` runs the
  test form (tests/integration/tk_form.py).
- `run_agent` runs the real engine with a scripted model and the tools given; `Gui`
  drives the GUI tool as the executor does (validate, effect, run).
- `randr_monitors` splits a server's screen into several RandR 1.5 monitors (what a
  desktop with two displays reports, and what mss reads); `xvfb_monitors` starts an Xvfb
  sized to hold a layout of monitors and splits it so. Xvfb keeps client-defined monitors
  only until it resets, and it resets when its last client disconnects: a lone ``xrandr
  --setmonitor`` on an idle Xvfb is undone as xrandr exits. So the connection that set
  them stays open until the monitors are deleted again.

Skips, with the package to install, when Xvfb or Tk is missing.
"""

from __future__ import annotations

import atexit
import os
import queue
import select
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools.base import ToolFailure, ToolResult
from tools.gui.elements import Element
from tools.gui.tool import GuiTool

Box = tuple[int, int, int, int]  # left, top, width, height in X pixels

TK_FORM = Path(__file__).parent / "integration" / "tk_form.py"
START_DEADLINE_S = 20.0


@dataclass
class XServer:
    display: str
    process: subprocess.Popen[bytes]

    def env(self, **extra: str) -> dict[str, str]:
        """This process's environment pointed at this display (and away from Wayland)."""
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
        env.update(DISPLAY=self.display, XDG_SESSION_TYPE="x11", **extra)
        return env

    def run(self, *argv: str) -> str:
        """Run an X client (xdotool, ...) on this display; its stdout. Skips the test
        when the client is not installed."""
        if shutil.which(argv[0]) is None:
            pytest.skip(f"{argv[0]} is not installed")
        proc = subprocess.run(
            argv, env=self.env(), capture_output=True, text=True, timeout=30, check=True
        )
        return proc.stdout


@contextmanager
def xvfb(screen: str = "1280x800x24", *extra: str) -> Iterator[XServer]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt install xvfb)")
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", screen, "-nolisten", "tcp", *extra],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        number = _read_display_number(read_end, process)
        yield XServer(f":{number}", process)
    finally:
        os.close(read_end)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_display_number(fd: int, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + START_DEADLINE_S
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or process.poll() is not None:
            raise RuntimeError(f"Xvfb did not start (exit status {process.poll()})")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                raise RuntimeError("Xvfb closed its display pipe without a display number")
            data += chunk
    return int(data.strip())


@contextmanager
def randr_monitors(server: XServer, boxes: Sequence[Box]) -> Iterator[None]:
    """`server`'s screen shown as the RandR 1.5 monitors `boxes`, the first one primary,
    until the block ends; then the server's own single monitor is back."""
    import Xlib.display
    from Xlib.ext import randr

    conn = Xlib.display.Display(server.display)
    errors: list[Any] = []
    conn.set_error_handler(lambda error, request: errors.append(error))
    root = conn.screen().root
    opcode = conn.display.get_extension_major(randr.extname)
    set_monitor = _set_monitor_request()
    # The first monitor takes the screen's one output, which hides the monitor the server
    # made for that output; the others show parts of the framebuffer with no output.
    outputs = list(root.xrandr_get_screen_resources().outputs)
    names = [conn.intern_atom(f"DESKHAND-{i}") for i in range(1, len(boxes) + 1)]
    try:
        for i, (name, (left, top, width, height)) in enumerate(zip(names, boxes, strict=True)):
            set_monitor(
                display=conn.display,
                opcode=opcode,
                window=root,
                name=name,
                primary=i == 0,
                automatic=False,
                x=left,
                y=top,
                width_in_pixels=width,
                height_in_pixels=height,
                width_in_millimeters=round(width * 25.4 / 96),
                height_in_millimeters=round(height * 25.4 / 96),
                outputs=outputs if i == 0 else [],
            )
        shown = root.xrandr_get_monitors(True).monitors  # a round trip: errors are in
        got = [(m.x, m.y, m.width_in_pixels, m.height_in_pixels) for m in shown]
        if errors or got != list(boxes):
            raise RuntimeError(f"RandR monitors not set: asked {list(boxes)}, got {got} {errors}")
        yield
    finally:
        for name in names:
            root.xrandr_delete_monitor(name)
        conn.sync()
        conn.close()


@contextmanager
def xvfb_monitors(boxes: Sequence[Box]) -> Iterator[XServer]:
    """A new Xvfb whose screen just holds `boxes`, shown as that many RandR monitors."""
    width = max(left + w for left, _, w, _ in boxes)
    height = max(top + h for _, top, _, h in boxes)
    with xvfb(f"{width}x{height}x24") as server, randr_monitors(server, boxes):
        yield server


def _set_monitor_request() -> Any:
    """RandR's SetMonitor request. python-xlib's own (``xrandr_set_monitor``) cannot be
    sent: it packs its nested monitor struct as one value where three are expected."""
    from Xlib.protocol import rq

    class SetMonitor(rq.Request):
        _request = rq.Struct(
            rq.Card8("opcode"),
            rq.Opcode(43),
            rq.RequestLength(),
            rq.Window("window"),
            rq.Card32("name"),
            rq.Bool("primary"),
            rq.Bool("automatic"),
            rq.LengthOf("outputs", 2),
            rq.Int16("x"),
            rq.Int16("y"),
            rq.Card16("width_in_pixels"),
            rq.Card16("height_in_pixels"),
            rq.Card32("width_in_millimeters"),
            rq.Card32("height_in_millimeters"),
            rq.List("outputs", rq.Card32Obj),
        )

    return SetMonitor


_shared: list[XServer] = []
_shared_stack = ExitStack()


@pytest.fixture(scope="session", name="xserver")
def xserver_fixture() -> XServer:
    """One Xvfb for the whole process, however many modules import this fixture (each
    import is its own fixture to pytest; pyautogui can only ever use one display)."""
    if not _shared:
        _shared.append(_shared_stack.enter_context(xvfb()))
        atexit.register(_shared_stack.close)
    return _shared[0]


class GuiApp:
    """A program on an X display whose stdout lines the test waits for."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            list(argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, prefix: str, timeout: float = 15.0) -> str:
        """The next line that starts with `prefix`, waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(
                    f"no line {prefix!r} within {timeout} s; saw {self.seen}"
                ) from None
            if line is None:
                err = self._proc.stderr.read() if self._proc.stderr else ""
                raise AssertionError(f"the app exited before {prefix!r}; saw {self.seen}; {err}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


@contextmanager
def tk_form(
    server: XServer,
    *,
    app_class: str = "DeskhandForm",
    title: str = "Deskhand form",
    geometry: str = "760x440+40+40",
    status: str = "Status: waiting",
) -> Iterator[GuiApp]:
    """The test form (tests/integration/tk_form.py), mapped and drawn when this yields."""
    try:
        import tkinter  # noqa: F401
    except ImportError:
        pytest.skip("tkinter is missing (apt install python3-tk)")
    argv = [sys.executable, str(TK_FORM), app_class, title, geometry, status]
    app = GuiApp(argv, server.env())
    try:
        app.expect("ready")
        yield app
    finally:
        app.close()


@dataclass
class AgentRun:
    """What one scripted run of the real engine left behind."""

    events: list[Any]
    model: Any  # the ScriptedModel, with every prompt it was sent in `.calls`
    journal_path: Path

    @property
    def run_id(self) -> str:
        return str(self.events[0].run_id)


def run_agent(
    home: Path,
    workspace: Path,
    replies: Sequence[Any],
    *,
    grants: Sequence[Any] = (),
    approver: Any = None,
    gui: Any = None,
    shell: Any = None,
    stop: threading.Event | None = None,
) -> AgentRun:
    """Run the real engine (policy, executor, journal under `home`) with a scripted
    model; by default every approval question is answered no, so only grants act."""
    from agent import assemble
    from agent.approval import AlwaysDeny
    from agent.loop import Engine, run
    from agent.settings import load_settings
    from agent.task import Task
    from models.router import FallbackPolicy, ModelRouter
    from models.scripted import ScriptedModel

    settings = load_settings({"DESKHAND_HOME": str(home)})
    model = ScriptedModel(replies)
    journal = assemble.open_journal(settings)
    engine = Engine(
        ModelRouter(model, None, FallbackPolicy(remote_allowed=False)),
        assemble.registry(settings, [workspace], gui=gui, shell=shell),
        journal,
        approver if approver is not None else AlwaysDeny(),
        stop=stop if stop is not None else threading.Event(),
    )
    task = Task(goal="do the task", workspace=(workspace,), grants=tuple(grants))
    try:
        events = list(run(task, engine))
    finally:
        journal.close()
    return AgentRun(events, model, settings.journal_path)


class Gui:
    """The GUI tool as the executor drives it: validate, effect, run."""

    def __init__(self, tool: GuiTool) -> None:
        self.tool = tool
        self.specs = {s.name: s for s in tool.specs()}
        self.effects: list[Any] = []

    def __call__(self, name: str, **args: Any) -> ToolResult:
        spec = self.specs[name]
        parsed = spec.args.model_validate(args)
        try:
            self.effects.append(spec.effect(parsed))
            return spec.run(parsed)
        except ToolFailure as failure:
            return ToolResult.failure(failure.kind, failure.message)

    def element(self, text: str) -> Element:
        reading = self.tool.last_reading
        assert reading is not None
        found = reading.find(text)
        assert found, f"{text!r} not in {reading.describe()}"
        return found[0]
