"""The GUI tool's logic on fake seams: what it clicks (in logical coordinates, across
HiDPI and negative offsets), what it asks permission for, secrets, and stopping."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from models.constrained import check_supported
from tools.base import Effect, ToolFailure, ToolResult
from tools.gui.base import Desktop, Image, InputStopped, TextBox, Window
from tools.gui.fakes import FixedOcr, ImageScreen, RecordingInput, StaticWindows
from tools.gui.geometry import Monitor, Rect
from tools.gui.tool import TYPE_CHUNK, GuiTool
from tools.registry import Registry

PRIMARY = Monitor(Rect(0, 0, 1280, 800))
EDITOR = Window(1, "Gedit", "notes.txt", Rect(100, 100, 600, 400))
TERMINAL = Window(2, "XTerm", "bash", Rect(800, 100, 400, 400))


class Harness:
    """The tool on fakes, driven as the executor drives it: effect, then run."""

    def __init__(
        self,
        monitors: tuple[Monitor, ...] = (PRIMARY,),
        boxes: list[TextBox] | None = None,
        windows: list[Window] | None = None,
        secrets: dict[str, str] | None = None,
        shots: Path | None = None,
    ) -> None:
        self.input = RecordingInput(untypeable="é")
        self.ocr = FixedOcr(boxes or [])
        self.windows = StaticWindows(windows if windows is not None else [EDITOR, TERMINAL], 1)
        self.stop = threading.Event()
        self.screen = ImageScreen(monitors)
        desktop = Desktop(self.screen, self.input, self.windows, self.ocr)
        lookup = (secrets or {}).get
        self.tool = GuiTool(desktop, secrets=lookup, stop=self.stop, screenshots=shots)
        self.specs = {s.name: s for s in self.tool.specs()}
        self.effects: list[Effect] = []

    def effect(self, name: str, **args: Any) -> Effect:
        spec = self.specs[name]
        return spec.effect(spec.args.model_validate(args))

    def __call__(self, name: str, **args: Any) -> ToolResult:
        spec = self.specs[name]
        parsed = spec.args.model_validate(args)
        try:
            self.effects.append(spec.effect(parsed))
            return spec.run(parsed)
        except ToolFailure as failure:
            return ToolResult.failure(failure.kind, failure.message)


def text(t: str, x: float, y: float, w: float = 80, h: float = 20) -> TextBox:
    return TextBox(t, Rect(x, y, w, h), 0.99)


def test_every_action_schema_is_one_the_constrained_decoder_can_enforce() -> None:
    specs = Harness().tool.specs()
    check_supported(Registry(specs).action_schema())
    assert {s.name for s in specs} == {
        "gui.observe", "gui.click", "gui.type", "gui.key", "gui.scroll", "gui.drag",
        "gui.move", "gui.list_windows", "gui.focus_window", "gui.wait_for_text",
    }  # fmt: skip
    assert all(s.thread_bound for s in specs)


def test_observe_numbers_the_text_and_asks_for_screen_capture() -> None:
    gui = Harness(boxes=[text("Save", 360, 195)])
    result = gui("gui.observe", window="")
    assert gui.effects[-1] == Effect("screen.capture", "screen", "read the text on the screen")
    assert result.ok
    assert '[1] "Save" at (400,205)' in result.output
    assert result.output.endswith("Keyboard focus: Gedit:notes.txt")


def test_a_click_on_an_element_goes_to_its_centre_in_the_window_under_it() -> None:
    gui = Harness(boxes=[text("Save", 360, 195)])
    gui("gui.observe", window="")
    result = gui("gui.click", target="1", button="left", count=1)
    assert result.ok, result.output
    assert gui.input.calls == [("click", 400, 205, "left", 1)]
    assert gui.effects[-1] == Effect(
        "gui.input", "Gedit:notes.txt", 'click [1] "Save" in Gedit:notes.txt'
    )


def test_on_a_hidpi_monitor_left_of_the_primary_the_click_lands_in_logical_points() -> None:
    # The Retina monitor sits left of the primary: logical x from -1440 to 0.
    retina = Monitor(Rect(-1440, 0, 1440, 900), 2.0)
    window = Window(7, "Safari", "Docs", Rect(-1400, 50, 800, 600))
    gui = Harness(monitors=(retina, PRIMARY), windows=[window])
    # Desktop: 2720x900 logical, 5440x1800 pixels, model image 1920x635 (factor 0.3529...).
    gui.ocr.read_fn = lambda img: [text("OK", 100, 100, 40, 20)] if img.shape[1] == 1920 else []
    assert gui("gui.observe", window="").ok
    assert gui.ocr.sizes == [(1920, 635)]
    assert gui("gui.click", target="1", button="left", count=2).ok
    (call,) = gui.input.calls
    # Model (120.5, 110.5) -> pixels / 0.35294 -> logical / 2, from -1440.
    assert call[:3] == ("click", -1440 + 170, 156) and call[4] == 2
    assert gui.effects[-1].scope == "Safari:Docs"


def test_coordinates_work_before_any_reading_in_the_whole_screen_image() -> None:
    gui = Harness()
    assert gui("gui.click", target="900 , 150", button="right", count=1).ok
    assert gui.input.calls == [("click", 900, 150, "right", 1)]
    assert gui.effects[-1].summary == "right click (900,150) in XTerm:bash"


def test_input_outside_any_window_is_scoped_to_the_desktop() -> None:
    gui = Harness()
    assert gui.effect("gui.click", target="5,790", button="left", count=1).scope == "desktop"


@pytest.mark.parametrize(
    ("target", "kind"), [("12", "no_reading"), ("1300,10", "off_screen"), ("10,800", "off_screen")]
)
def test_targets_that_name_nothing_are_refused_before_any_input(target: str, kind: str) -> None:
    gui = Harness()
    result = gui("gui.click", target=target, button="left", count=1)
    assert result.kind == kind
    assert gui.input.calls == []


def test_if_the_window_under_the_target_changed_after_approval_nothing_is_clicked() -> None:
    gui = Harness()
    spec = gui.specs["gui.click"]
    args = spec.args.model_validate({"target": "300,300", "button": "left", "count": 1})
    assert spec.effect(args).scope == "Gedit:notes.txt"
    # A dialog of another application pops up under the pointer before the click runs.
    gui.windows.windows.insert(0, Window(9, "Zenity", "Delete all?", Rect(250, 250, 200, 100)))
    with pytest.raises(ToolFailure) as caught:
        spec.run(args)
    assert caught.value.kind == "target_changed"
    assert "Zenity:Delete all?" in caught.value.message
    assert gui.input.calls == []


def test_type_resolves_a_secret_at_the_last_moment_and_shows_only_the_placeholder() -> None:
    gui = Harness(secrets={"PW": "hunter2orange"})
    result = gui("gui.type", text="pw={{secret:PW}}", target="")
    assert result.ok, result.output
    typed = "".join(c[1] for c in gui.input.calls if c[0] == "type")
    assert typed == "pw=hunter2orange"
    assert gui.effects[-1].summary == 'type "pw={{secret:PW}}" into Gedit:notes.txt'
    assert "hunter2" not in result.output + repr(result.data)
    # Read back off the screen later, it stays a placeholder.
    gui.ocr.boxes = [text("pw=hunter2orange", 10, 10)]
    gui.screen.generation += 1
    reading = gui("gui.observe", window="")
    assert "hunter2" not in reading.output and "{{secret:PW}}" in reading.output


def test_a_missing_secret_or_an_untypeable_character_types_nothing() -> None:
    gui = Harness()
    assert gui("gui.type", text="{{secret:NOPE}}", target="").kind == "missing_secret"
    assert gui("gui.type", text="café", target="").kind == "cannot_type"
    assert gui.input.calls == []


def test_type_can_click_its_field_first() -> None:
    gui = Harness()
    assert gui("gui.type", text="hi", target="850,200").ok
    assert gui.input.calls == [("click", 850, 200, "left", 1), ("type", "hi")]
    assert gui.effects[-1].scope == "XTerm:bash"


def test_a_stop_during_typing_lands_before_the_next_chunk() -> None:
    gui = Harness()
    gui.input.after = lambda call: gui.stop.set()
    result = gui("gui.type", text="x" * (TYPE_CHUNK * 4), target="")
    assert result.kind == "stopped"
    assert [c[0] for c in gui.input.calls] == ["type"]  # one chunk, then it stopped
    assert gui("gui.key", keys="enter").kind == "stopped"  # and nothing after it runs


def test_the_fail_safe_stops_the_run() -> None:
    gui = Harness()

    def corner(call: tuple[Any, ...]) -> None:
        raise InputStopped("the pointer was moved to a screen corner (fail-safe)")

    gui.input.after = corner
    result = gui("gui.click", target="300,300", button="left", count=1)
    assert result.kind == "stopped" and "corner" in result.output
    assert gui.stop.is_set()


def test_keys_and_chords_are_checked_against_the_keyboard() -> None:
    gui = Harness()
    assert gui("gui.key", keys="Ctrl+S").ok
    assert gui.input.calls == [("press", ("ctrl", "s"))]
    assert gui.effects[-1] == Effect(
        "gui.input", "Gedit:notes.txt", "press ctrl+s in Gedit:notes.txt"
    )
    assert gui("gui.key", keys="ctrl+hyper").kind == "unknown_key"


def test_scroll_and_drag_and_move() -> None:
    gui = Harness()
    assert gui("gui.scroll", target="300,300", direction="down", amount=4).ok
    assert gui("gui.scroll", target="300,300", direction="right", amount=1).ok
    assert gui("gui.drag", start="150,150", end="600,450").ok
    assert gui("gui.move", target="900,200").ok
    assert gui.input.calls == [
        ("scroll", 300, 300, 0, -4),
        ("scroll", 300, 300, 1, 0),
        ("drag", (150, 150), (600, 450), "left"),
        ("move", 900, 200),
    ]
    # A drag that would drop into another application is refused.
    assert gui("gui.drag", start="150,150", end="900,200").kind == "cross_window"


def test_list_windows_then_focus_one_by_number() -> None:
    gui = Harness()
    listing = gui("gui.list_windows")
    assert listing.output == '[1] Gedit "notes.txt" (focused)\n[2] XTerm "bash"'
    assert gui.effects[-1] == Effect("screen.capture", "window list", "list the open windows")
    assert gui("gui.focus_window", window="2").ok
    assert gui.windows.focused_id == 2
    assert gui.effects[-1].scope == "XTerm:bash"
    assert gui("gui.focus_window", window="no such").kind == "no_window"


def test_observe_one_window_reads_only_its_rectangle() -> None:
    gui = Harness(boxes=[text("Hello", 10, 10)])
    result = gui("gui.observe", window="notes")
    assert result.ok
    assert gui.effects[-1].scope == "Gedit:notes.txt"
    assert gui.screen.grabs == [EDITOR.bounds]
    assert result.output.startswith("Window Gedit:notes.txt image 600x400")
    # Coordinates now refer to the window's image.
    assert gui("gui.click", target="1", button="left", count=1).ok
    assert gui.input.calls[-1] == ("click", 100 + 50, 100 + 20, "left", 1)


def test_wait_for_text_reads_until_the_text_appears() -> None:
    gui = Harness()
    reads: list[int] = []

    def later(image: Image) -> list[TextBox]:
        reads.append(1)
        gui.screen.generation += 1  # the screen changes between reads
        return [text("Saved", 10, 10)] if len(reads) >= 3 else [text("Saving...", 10, 10)]

    gui.ocr.read_fn = later
    result = gui("gui.wait_for_text", text="saved", timeout_s=10)
    assert result.ok and result.output.startswith('"saved" is on the screen: [1] "Saved"')
    assert len(reads) == 3


def test_wait_for_text_gives_up_at_its_deadline_and_yields_to_a_stop() -> None:
    gui = Harness()
    assert gui("gui.wait_for_text", text="never", timeout_s=1).kind == "not_found"
    gui.screen.generation += 1
    gui.ocr.read_fn = lambda image: (gui.stop.set(), [])[1]
    assert gui("gui.wait_for_text", text="never", timeout_s=60).kind == "stopped"


def test_screenshots_are_kept_by_hash_except_when_they_show_a_secret(tmp_path: Path) -> None:
    gui = Harness(boxes=[text("Hello", 10, 10)], secrets={"PW": "hunter2orange"}, shots=tmp_path)
    first = gui("gui.observe", window="")
    path = Path(first.data["screenshot"])
    assert path.parent == tmp_path and path.name == first.data["sha256"] + ".png"
    assert gui("gui.type", text="{{secret:PW}}", target="").ok
    gui.ocr.boxes = [text("hunter2orange", 10, 10)]
    gui.screen.generation += 1
    second = gui("gui.observe", window="")
    assert "screenshot" not in second.data
    assert list(tmp_path.iterdir()) == [path]


def test_an_unchanged_screen_is_not_read_twice() -> None:
    gui = Harness(boxes=[text("Hello", 10, 10)])
    assert gui("gui.observe", window="").ok and gui("gui.observe", window="").ok
    assert len(gui.ocr.sizes) == 1
    gui.screen.generation += 1
    assert gui("gui.observe", window="").ok
    assert len(gui.ocr.sizes) == 2
