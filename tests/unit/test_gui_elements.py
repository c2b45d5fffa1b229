"""OCR lines as numbered elements: order, format, lookups, and secrets withheld."""

from __future__ import annotations

import pytest

from tools.base import ToolFailure
from tools.gui.base import TextBox
from tools.gui.elements import MAX_ELEMENTS, Scrubber, read_elements, reading_order
from tools.gui.geometry import Monitor, Rect, frame_for

FRAME = frame_for((Monitor(Rect(0, 0, 1280, 800)),))


def box(text: str, x: float, y: float, w: float = 80, h: float = 20) -> TextBox:
    return TextBox(text, Rect(x, y, w, h), 0.99)


def no_scrub(text: str) -> str:
    return text


def test_reading_order_is_rows_then_left_to_right_even_when_a_row_is_ragged() -> None:
    boxes = [
        box("Save", 300, 52),
        box("File", 10, 50),
        box("Edit", 100, 47),  # a few pixels higher: same row
        box("Body text", 10, 200),
        box("Status", 10, 400),
    ]
    assert [b.text for b in reading_order(boxes)] == ["File", "Edit", "Save", "Body text", "Status"]


def test_the_model_sees_numbered_text_with_the_centre_in_model_coordinates() -> None:
    reading = read_elements(
        [box("Save", 360, 195, 80, 20), box("  Press   me ", 500, 195, 80, 20)],
        FRAME,
        no_scrub,
        None,
    )
    assert reading.describe() == (
        "Screen image 1280x800; x,y are in this image.\n"
        '[1] "Save" at (400,205)\n'
        '[2] "Press me" at (540,205)'
    )
    assert reading.element(2).text == "Press me"


def test_find_ignores_case_and_the_spaces_ocr_drops() -> None:
    reading = read_elements(
        [box("Pressme", 0, 0), box("Status: saved", 0, 100)], FRAME, no_scrub, None
    )
    assert [e.index for e in reading.find("press me")] == [1]
    assert [e.index for e in reading.find("STATUS:saved")] == [2]
    assert reading.find("absent") == []


def test_an_empty_screen_and_a_missing_number_say_so() -> None:
    empty = read_elements([box("   ", 0, 0)], FRAME, no_scrub, None)
    assert empty.describe().endswith("(no text found)")
    reading = read_elements([box("a", 0, 0)], FRAME, no_scrub, None)
    with pytest.raises(ToolFailure, match=r"1\.\.1") as caught:
        reading.element(5)
    assert caught.value.kind == "no_element"


def test_a_crowded_screen_is_cut_to_a_budget_and_says_how_much_is_hidden() -> None:
    boxes = [box(f"line {i}", 0, i * 25) for i in range(MAX_ELEMENTS + 7)]
    reading = read_elements(boxes, FRAME, no_scrub, None)
    assert len(reading.elements) == MAX_ELEMENTS
    assert reading.describe().endswith("... 7 more lines not shown")


def test_long_text_is_shortened() -> None:
    reading = read_elements([box("x" * 500, 0, 0)], FRAME, no_scrub, None)
    assert len(reading.elements[0].text) == 80 and reading.elements[0].text.endswith("...")


def test_a_typed_secret_read_back_exactly_or_nearly_is_withheld() -> None:
    scrub = Scrubber()
    scrub.add("PW", "hunter2orange")
    assert scrub("password: hunter2orange") == "password: {{secret:PW}}"
    assert scrub("hunter2oranqe") == "{{secret:PW}}"  # one letter misread
    assert scrub("Hunter2 orange") == "{{secret:PW}}"  # a space inserted, case changed
    assert scrub("an ordinary line") == "an ordinary line"
    assert scrub.hits == 3


def test_the_same_screen_gives_the_same_numbers() -> None:
    boxes = [box("b", 200, 10), box("a", 10, 10), box("c", 10, 300)]
    one = read_elements(boxes, FRAME, no_scrub, None).describe()
    two = read_elements(list(reversed(boxes)), FRAME, no_scrub, None).describe()
    assert one == two
