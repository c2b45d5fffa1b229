"""The GUI tool on a real X server that reports two monitors (RandR 1.5, as a desktop with
two displays does), with real windows, real OCR and real input.

Two layouts, each with a gap that no monitor covers (monitors of different heights):

- `WIDE`, on its own Xvfb (2304x868): 1280x800 and 1024x768 side by side, the second one
  100 px lower. The whole-screen image is shrunk to 1920x723 for the model. No input here:
  pyautogui drives one display per process, the shared one.
- `SPLIT`, on the shared Xvfb (1280x800): 640x800 and 640x560 below-right of it, read
  with a model image of 1000x625 so that model coordinates differ from the desktop's.

What the X server says (monitors from mss, windows from python-xlib, the pointer from
xdotool) is compared with what the GUI tool computed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from xserver import Gui, GuiApp, XServer, randr_monitors, tk_form, xserver_fixture, xvfb_monitors  # noqa: F401

from tools.gui.geometry import Monitor, Rect, click_point, convert, frame_for
from tools.gui.raster import compose
from tools.gui.screen import MssScreen
from tools.gui.session import x11_desktop
from tools.gui.tool import GuiTool
from tools.gui.windows_x11 import X11Windows

WIDE = [(0, 0, 1280, 800), (1280, 100, 1024, 768)]
SPLIT = [(0, 0, 640, 800), (640, 240, 640, 560)]
SPLIT_MODEL_SIDE = 1000  # 1280x800 -> 1000x625: 0.78125 model px per desktop px


def monitor(box: tuple[int, int, int, int]) -> Monitor:
    return Monitor(Rect(*box), 1.0)


def test_mss_reads_each_monitor_and_the_capture_places_each_where_it_is() -> None:
    # A window across the gap: its middle is in the framebuffer but on no monitor.
    with (
        xvfb_monitors(WIDE) as server,
        tk_form(server, geometry="600x440+1500+300"),
        tk_form(server, app_class="Straddle", title="Straddle", geometry="400x200+1100+20"),
    ):
        screen, windows = MssScreen(server.display), X11Windows(server.display)
        try:
            monitors = screen.monitors()
            assert monitors == (monitor(WIDE[0]), monitor(WIDE[1]))
            frame = frame_for(monitors)
            assert frame.region == Rect(0, 0, 2304, 868)
            assert frame.pixel_size == (2304, 868) and frame.model_size == (1920, 723)

            whole = compose(screen, frame)
            for m in monitors:
                left, top, width, height = (int(v) for v in WIDE[monitors.index(m)])
                shown = whole[top : top + height, left : left + width]
                assert (shown == screen.grab(m.bounds)).all()
            # The straddling window shows on both monitors, and not in the gap between.
            straddle = next(w for w in windows.visible() if w.title == "Straddle")
            assert straddle.bounds == Rect(1100, 20, 400, 200)
            in_gap = Rect(1280, 20, 220, 80)
            assert screen.grab(in_gap).any(), "the framebuffer has the window there"
            assert not whole[20:100, 1280:1500].any(), "the capture shows no monitor there"
            part = compose(screen, frame_for(monitors, straddle.bounds))
            assert part.shape == (200, 400, 3)
            assert (part[:, :180] == whole[20:220, 1100:1280]).all()
            assert not part[:80, 180:].any() and part[80:, 180:].any()
        finally:
            screen.close()
            windows.close()


def test_text_on_the_second_monitor_is_read_in_the_shrunk_image_and_mapped_back() -> None:
    with xvfb_monitors(WIDE) as server, tk_form(server, geometry="600x440+1500+300"):
        gui = Gui(GuiTool(x11_desktop(server.display), secrets=lambda name: None))
        seen = gui("gui.wait_for_text", text="Press me", timeout_s=20)
        assert seen.ok, seen.output
        assert seen.output.splitlines()[1].startswith("Screen image 1920x723;")
        reading = gui.tool.last_reading
        assert reading is not None
        form = gui.tool.desktop.windows.visible()[0].bounds
        assert form == Rect(1500, 300, 600, 440)
        for text in ("Press me", "Status: waiting", "Drag area"):
            center = gui.element(text).box.center
            x, y = convert(reading.frame, center, "model", "logical")
            assert form.contains(x, y) and Rect(*WIDE[1]).contains(x, y), (text, x, y)
            assert form.contains(*click_point(reading.frame, center, "model"))
        # The model's 1920 px stand for the desktop's 2304: a point near the right edge of
        # the image is near the right edge of the second monitor.
        assert click_point(reading.frame, (1919, 722), "model") == (2303, 867)
        gui.tool.desktop.screen.close()  # type: ignore[attr-defined]
        gui.tool.desktop.windows.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def split(xserver: XServer) -> Iterator[XServer]:
    with randr_monitors(xserver, SPLIT):
        yield xserver


@pytest.fixture
def gui(split: XServer) -> Iterator[Gui]:
    tool = GuiTool(
        x11_desktop(split.display),
        secrets=lambda name: None,
        max_model_side=SPLIT_MODEL_SIDE,
    )
    yield Gui(tool)
    tool.desktop.screen.close()  # type: ignore[attr-defined]
    tool.desktop.windows.close()  # type: ignore[attr-defined]


@pytest.fixture
def form(split: XServer) -> Iterator[GuiApp]:
    """The test form on the second monitor."""
    with tk_form(split, geometry="600x440+660+300") as app:
        yield app


def pointer(server: XServer) -> tuple[int, int]:
    """Where the X server has the pointer (xdotool: not the driver that moved it)."""
    fields = dict(
        line.split("=", 1) for line in server.run("xdotool", "getmouselocation", "--shell").split()
    )
    return int(fields["X"]), int(fields["Y"])


def test_clicks_and_types_into_a_window_on_the_second_monitor(gui: Gui, form: GuiApp) -> None:
    assert gui.tool.desktop.screen.monitors() == (monitor(SPLIT[0]), monitor(SPLIT[1]))
    seen = gui("gui.wait_for_text", text="Press me", timeout_s=20)
    assert seen.ok, seen.output
    assert "Screen image 1000x625;" in seen.output
    press = gui.element("Press me")
    assert press.box.left > 500, "the button is on the right half of the model image"
    result = gui("gui.click", target=str(press.index), button="left", count=1)
    assert result.ok, result.output
    form.expect("pressed")

    # The empty field has no text: aim right of its label, in model image pixels.
    label = gui.element("Name").box
    x, y = int(label.right + 50), int(label.center[1])
    typed = gui("gui.type", text="Grace Hopper", target=f"{x},{y}")
    assert typed.ok, typed.output
    assert gui("gui.click", target=str(gui.element("Save").index), button="left", count=1).ok
    assert form.expect("saved:") == "saved:Grace Hopper"
    assert gui("gui.wait_for_text", text="Status: saved", timeout_s=20).ok


@pytest.mark.parametrize(
    ("model", "desktop"),
    [
        # (703.5, 390.5) model / 0.78125 = (900.48, 499.84) on the desktop
        ((703, 390), (900, 499)),
        ((500, 187), (640, 240)),  # the second monitor's top left pixel
        ((499, 187), (639, 240)),  # one model pixel left: the first monitor's right edge
        ((999, 624), (1279, 799)),  # the last pixel of the image and of monitor 2
    ],
)
def test_model_coordinates_land_on_the_desktop_pixel_they_show(
    gui: Gui, split: XServer, model: tuple[int, int], desktop: tuple[int, int]
) -> None:
    moved = gui("gui.move", target=f"{model[0]},{model[1]}")
    assert moved.ok, moved.output
    assert pointer(split) == desktop


@pytest.mark.parametrize("model", [(500, 186), (781, 78), (999, 0)])
def test_model_coordinates_in_the_gap_between_monitors_are_refused(
    gui: Gui, split: XServer, model: tuple[int, int]
) -> None:
    split.run("xdotool", "mousemove", "320", "400")
    moved = gui("gui.move", target=f"{model[0]},{model[1]}")
    assert moved.kind == "off_screen", moved.output
    assert pointer(split) == (320, 400)


def test_a_corner_of_the_second_monitor_is_a_fail_safe_point(gui: Gui, split: XServer) -> None:
    """(640, 240), the second monitor's top left, is no corner of the whole screen; a
    person throwing the pointer there (xdotool, not the tool) still stops the run. The
    tool aiming at that pixel itself does not."""
    assert gui("gui.move", target="500,187").ok  # model (500, 187) is desktop (640, 240)
    assert gui("gui.move", target="100,100").ok
    split.run("xdotool", "mousemove", "640", "240")
    result = gui("gui.move", target="100,100")
    assert result.kind == "stopped", result.output
    assert pointer(split) == (640, 240)
