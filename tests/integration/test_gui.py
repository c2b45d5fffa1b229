"""The GUI tool against a real X server (Xvfb), a real Tk window, real OCR and real input.

Every wait is on a condition: a line the window prints (`GuiApp.expect`) or text the
tool's own `gui.wait_for_text` finds on the screen.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from xserver import Gui, GuiApp, XServer, run_agent, tk_form, xserver_fixture, xvfb  # noqa: F401

from agent.events import ActionFinished, RunFinished
from agent.journal import Journal
from agent.policy import Rule
from models.base import Message
from tools.gui.geometry import Rect, convert
from tools.gui.session import x11_desktop
from tools.gui.tool import GuiTool


@pytest.fixture
def stop() -> threading.Event:
    return threading.Event()


@pytest.fixture
def gui(xserver: XServer, stop: threading.Event) -> Gui:
    secrets = {"FORM_PW": "hunter2orange"}
    return Gui(GuiTool(x11_desktop(xserver.display), secrets=secrets.get, stop=stop))


@pytest.fixture
def form(xserver: XServer) -> Iterator[GuiApp]:
    with tk_form(xserver) as app:
        yield app


def test_reads_the_window_by_ocr_and_clicks_a_button_by_element_number(
    gui: Gui, form: GuiApp
) -> None:
    seen = gui("gui.wait_for_text", text="Press me", timeout_s=20)
    assert seen.ok, seen.output
    assert '"Status: waiting"' in seen.output
    number = gui.element("Press me").index
    result = gui("gui.click", target=str(number), button="left", count=1)
    assert result.ok, result.output
    assert gui.effects[-1].capability == "gui.input"
    assert gui.effects[-1].scope == "Deskhandform:Deskhand form"
    form.expect("pressed")


def test_types_into_a_field_found_next_to_its_label_and_reads_it_back(
    gui: Gui, form: GuiApp
) -> None:
    assert gui("gui.wait_for_text", text="Name", timeout_s=20).ok
    label = gui.element("Name").box
    # The empty field has no text to read: aim right of its label, as a model would.
    x, y = int(label.right + 60), int(label.center[1])
    typed = gui("gui.type", text="Ada Lovelace", target=f"{x},{y}")
    assert typed.ok, typed.output
    assert gui("gui.click", target=str(gui.element("Save").index), button="left", count=1).ok
    assert form.expect("saved:") == "saved:Ada Lovelace"
    # The window changed its status line; the tool sees it.
    assert gui("gui.wait_for_text", text="Status: saved", timeout_s=20).ok


def test_double_right_click_key_chord_scroll_and_drag(gui: Gui, form: GuiApp) -> None:
    assert gui("gui.wait_for_text", text="Drag area", timeout_s=20).ok
    area = str(gui.element("Click area").index)
    assert gui("gui.click", target=area, button="left", count=2).ok
    form.expect("double")
    assert gui("gui.click", target=area, button="right", count=1).ok
    form.expect("right")
    assert gui("gui.key", keys="ctrl+s").ok
    form.expect("key:ctrl-s")
    assert gui("gui.scroll", target=area, direction="down", amount=2).ok
    form.expect("scroll:down")
    assert gui("gui.scroll", target=area, direction="up", amount=1).ok
    form.expect("scroll:up")

    drag = gui.element("Drag area").box
    reading = gui.tool.last_reading
    assert reading is not None
    x0, y0 = int(drag.left) - 40, int(drag.center[1])
    result = gui("gui.drag", start=f"{x0},{y0}", end=f"{x0 + 90},{y0 + 20}")
    assert result.ok, result.output
    # Model image space is the screen here (1280x800 fits), so 90 model px = 90 logical px.
    assert convert(reading.frame, (90, 20), "model", "logical") == (
        reading.frame.region.left + 90,
        reading.frame.region.top + 20,
    )
    assert form.expect("drag:") == "drag:90,20"


def test_lists_windows_reads_one_window_and_focuses_another(
    gui: Gui,
    xserver: XServer,
) -> None:
    first = tk_form(xserver, app_class="FirstApp", title="First window", geometry="500x300+20+20")
    second = tk_form(
        xserver,
        app_class="SecondApp",
        title="Second window",
        geometry="500x300+700+400",
        status="Second status",
    )
    with first as one, second:
        listing = gui("gui.list_windows")
        assert listing.ok
        assert 'Firstapp "First window"' in listing.output
        assert 'Secondapp "Second window"' in listing.output

        only = gui("gui.observe", window="Second window")
        assert only.ok, only.output
        assert only.output.startswith("Window Secondapp:Second window image 500x300")
        texts = [e.text for e in gui.tool.last_reading.elements]  # type: ignore[union-attr]
        assert gui.element("Second status") and not any("waiting" in t for t in texts)
        assert gui.effects[-1].scope == "Secondapp:Second window"

        focused = gui("gui.focus_window", window="First window")
        assert focused.ok, focused.output
        assert gui.tool.desktop.windows.focused().title == "First window"  # type: ignore[union-attr]
        assert gui("gui.key", keys="ctrl+s").ok
        one.expect("key:ctrl-s")
        assert gui.effects[-1].scope == "Firstapp:First window"


def test_a_secret_is_typed_from_the_keyring_and_never_read_back(gui: Gui, form: GuiApp) -> None:
    assert gui("gui.wait_for_text", text="Name", timeout_s=20).ok
    label = gui.element("Name").box
    target = f"{int(label.right + 60)},{int(label.center[1])}"
    typed = gui("gui.type", text="{{secret:FORM_PW}}", target=target)
    assert typed.ok, typed.output
    assert "hunter2orange" not in typed.output + str(typed.data)
    assert "{{secret:FORM_PW}}" in gui.effects[-1].summary
    # The field now shows the password in clear; the reading withholds it.
    reading = gui("gui.observe", window="")
    assert reading.ok
    assert "hunter2" not in reading.output.lower()
    assert "{{secret:FORM_PW}}" in reading.output
    assert "screenshot" not in reading.data  # a screen showing a secret is not kept
    assert gui("gui.click", target=str(gui.element("Save").index), button="left", count=1).ok
    assert form.expect("saved:") == "saved:hunter2orange"


def test_the_pointer_in_a_corner_stops_the_run_before_the_next_input(
    gui: Gui,
    form: GuiApp,
    xserver: XServer,
    stop: threading.Event,
) -> None:
    assert gui("gui.wait_for_text", text="Press me", timeout_s=20).ok
    press = str(gui.element("Press me").index)
    xserver.run("xdotool", "mousemove", "0", "0")
    try:
        result = gui("gui.click", target=press, button="left", count=1)
        assert result.kind == "stopped", result.output
        assert "corner" in result.output
        assert stop.is_set()
        # Stopped means stopped: the next action refuses too, and nothing was pressed.
        assert gui("gui.click", target=press, button="left", count=1).kind == "stopped"
    finally:
        xserver.run("xdotool", "mousemove", "640", "400")
    with pytest.raises(AssertionError):
        form.expect("pressed", timeout=1.0)


def test_the_screen_and_the_window_list_agree_on_geometry() -> None:
    """mss reports the screen's real size; a window's rectangle from the X server, grabbed
    as a region, is exactly that part of the whole screen. (Two RandR monitors on a
    real Xvfb: tests/integration/test_gui_monitors.py; layouts X cannot show, such as
    HiDPI scales and negative origins, in the unit tests on fakes.)"""
    from tools.gui.geometry import Monitor, frame_for
    from tools.gui.raster import compose
    from tools.gui.screen import MssScreen
    from tools.gui.windows_x11 import X11Windows

    with xvfb("1600x1000x24") as server, tk_form(server, geometry="600x300+900+650"):
        screen, windows = MssScreen(server.display), X11Windows(server.display)
        try:
            monitors = screen.monitors()
            assert monitors == (Monitor(Rect(0, 0, 1600, 1000), 1.0),)
            (window,) = windows.visible()
            assert window.bounds == Rect(900, 650, 600, 300)
            assert windows.at(1000, 700) == window and windows.at(100, 100) is None
            part = compose(screen, frame_for(monitors, window.bounds))
            whole = compose(screen, frame_for(monitors))
            assert part.shape == (300, 600, 3) and part.any()
            assert (part == whole[650:950, 900:1500]).all()
        finally:
            screen.close()
            windows.close()


def test_the_agent_loop_clicks_a_button_it_found_by_ocr(
    xserver: XServer,
    form: GuiApp,
    workspace: Path,
    deskhand_home: Path,
) -> None:
    """The real engine (policy, executor, journal) with a scripted model that reads the
    observation it was given and clicks the element numbered "Press me" there."""

    def click_press_me(messages: Sequence[Message]) -> str:
        seen = messages[-1].content
        assert "<data>" in seen  # the screen's text reaches the model as data
        number = re.search(r'\[(\d+)\] "Press ?me"', seen)
        assert number is not None, seen
        args = {"target": number.group(1), "button": "left", "count": 1}
        return json.dumps({"tool": "gui.click", "args": args, "thought": "press it"})

    stop = threading.Event()
    done = run_agent(
        deskhand_home,
        workspace,
        [
            {
                "tool": "gui.wait_for_text",
                "args": {"text": "Press me", "timeout_s": 20},
                "thought": "",
            },
            click_press_me,
            {"tool": "finish", "args": {"message": "pressed"}, "thought": ""},
        ],
        # No approver says yes: the grants alone let it act.
        grants=[
            Rule("screen.capture", "screen", "allow", source="grant"),
            Rule("gui.input", "Deskhandform:*", "allow", source="grant"),
        ],
        gui=GuiTool(x11_desktop(xserver.display), secrets=lambda name: None, stop=stop),
        stop=stop,
    )
    finished = [e for e in done.events if isinstance(e, ActionFinished)]
    assert [e.result.ok for e in finished] == [True, True, True], finished
    assert isinstance(done.events[-1], RunFinished) and done.events[-1].outcome == "success"
    form.expect("pressed")
    journal = Journal(done.journal_path)
    approvals = journal.approvals(done.run_id)
    journal.close()
    assert [(a["capability"], a["scope"], a["decision"]) for a in approvals] == [
        ("screen.capture", "screen", "allow"),
        ("gui.input", "Deskhandform:Deskhand form", "allow"),
    ]
