"""Which desktops the GUI tool accepts, the one-line refusals for the rest, and that a
run without --gui never loads the GUI libraries (pyautogui connects to X on import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent import assemble
from agent.assemble import BadInput
from agent.settings import desktop_session, load_settings, x_display
from tools.gui.base import GuiUnavailable
from tools.gui.session import x11_display

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pyautogui", "mss", "Xlib", "rapidocr_onnxruntime", "onnxruntime", "cv2")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "Wayland"),
        ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, "Wayland"),
        ({}, "DISPLAY is not set"),
    ],
)
def test_wayland_and_no_display_are_refused_in_one_clear_line(
    env: dict[str, str], says: str, deskhand_home: Path
) -> None:
    if sys.platform != "linux":
        pytest.skip("the session kinds below are Linux's")
    settings = load_settings({"DESKHAND_HOME": str(deskhand_home)})
    with pytest.raises(BadInput) as caught:
        assemble.gui_tool(settings, env=env)
    message = str(caught.value)
    assert says in message and "\n" not in message


@pytest.mark.parametrize("kind", ["macos", "windows"])
def test_other_platforms_are_refused_with_a_reason(kind: str) -> None:
    with pytest.raises(GuiUnavailable, match="Linux with X11 only"):
        x11_display(kind, None)


def test_an_x11_session_gives_its_display() -> None:
    assert x11_display("x11", ":3") == ":3"
    if sys.platform == "linux":
        assert desktop_session({"DISPLAY": ":3"}) == "x11"
        assert x_display({"DISPLAY": ":3"}) == ":3" and x_display({}) is None


def test_a_run_without_gui_loads_no_gui_library_and_building_it_connects_to_nothing(
    tmp_path: Path,
) -> None:
    if sys.platform != "linux":
        pytest.skip("builds the X11 tool")
    code = (
        "import sys\n"
        "from agent import assemble\n"
        "from agent.settings import load_settings\n"
        f"s = load_settings({{'DESKHAND_HOME': {str(tmp_path)!r}}})\n"
        "assemble.registry(s, [s.default_workspace])\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
        # A display that does not exist: building the tool must not touch it, nor load
        # pyautogui (which connects on import) or the OCR engine (slow to import).
        "tool = assemble.gui_tool(s, env={'DISPLAY': ':987'})\n"
        "assemble.registry(s, [s.default_workspace], gui=tool)\n"
        "print([m for m in ('pyautogui', 'rapidocr_onnxruntime', 'cv2') if m in sys.modules])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "[]"]
