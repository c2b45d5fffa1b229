"""How fast the GUI tool sees a 1280x800 screen: capture, OCR, and a whole observation.

Starts its own Xvfb with the test form and a text-heavy xmessage window, then measures
(medians):

    capture_ms      mss grab of the whole screen, composed into the screenshot
    ocr_ms          OCR of that screenshot, every line new (detection + recognition)
    ocr_repeat_ms   OCR of it again: detection only, every line's text remembered
    observe_ms      gui.observe end to end with every line new: capture, OCR,
                    numbering, focus lookup

Run:  .venv/bin/python tests/benchmarks/gui.py [--rounds N]
The last line is machine-readable:
``capture_ms=N ocr_ms=N ocr_repeat_ms=N observe_ms=N elements=N``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from xserver import tk_form, xvfb  # noqa: E402

from tools.gui.base import Desktop  # noqa: E402
from tools.gui.geometry import frame_for  # noqa: E402
from tools.gui.ocr import RapidOcr  # noqa: E402
from tools.gui.raster import compose  # noqa: E402
from tools.gui.session import x11_desktop  # noqa: E402
from tools.gui.tool import GuiTool  # noqa: E402

TEXT = "\n".join(
    f"Line {i}: the quarterly report for region {i} is due on Friday, 2 pm." for i in range(1, 16)
)


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with xvfb("1280x800x24") as server, tk_form(server, geometry="700x440+20+20"):
        note = subprocess.Popen(
            ["xmessage", "-geometry", "+560+330", TEXT], env=server.env(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            desktop = x11_desktop(server.display)
            deadline = time.monotonic() + 20
            while len(desktop.windows.visible()) < 2 and time.monotonic() < deadline:
                threading.Event().wait(0.05)  # the xmessage window maps asynchronously
            monitors = desktop.screen.monitors()
            frame = frame_for(monitors)
            compose(desktop.screen, frame)  # warm up the connection
            capture = median_ms(lambda: compose(desktop.screen, frame), rounds * 6)
            image = compose(desktop.screen, frame)

            def fresh_ocr() -> RapidOcr:
                ocr = RapidOcr()
                ocr.read(image[:40, :40])  # loads the models, reads nothing we time
                return ocr

            engines = [fresh_ocr() for _ in range(rounds)]
            ocr = median_ms(lambda: engines.pop().read(image), rounds)
            again = fresh_ocr()
            again.read(image)
            ocr_repeat = median_ms(lambda: again.read(image), rounds)

            def observe_cold() -> None:
                d = Desktop(desktop.screen, desktop.input, desktop.windows, fresh_ocr())
                tool = GuiTool(d, secrets=lambda name: None)
                spec = next(s for s in tool.specs() if s.name == "gui.observe")
                spec.run(spec.args.model_validate({"window": ""}))
                readings.append(tool.last_reading)

            readings: list[object] = []
            observe = median_ms(observe_cold, rounds)
            reading = readings[-1]
            print(reading.describe())  # type: ignore[attr-defined]
            elements = len(reading.elements)  # type: ignore[attr-defined]
            print(f"screen {frame.pixel_size[0]}x{frame.pixel_size[1]}, {rounds} rounds")
            print(
                f"capture_ms={capture:.1f} ocr_ms={ocr:.0f} ocr_repeat_ms={ocr_repeat:.0f} "
                f"observe_ms={observe:.0f} elements={elements}"
            )
        finally:
            note.kill()
            note.wait()


if __name__ == "__main__":
    main()
