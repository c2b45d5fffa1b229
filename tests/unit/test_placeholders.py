"""The one placeholder grammar (tools/placeholders.py): what each spelling means, the walk
over argument trees, and the places that must agree on it."""

from __future__ import annotations

import pytest

from agent.taskfile import parse_task_text
from agent.taskfile.lift_inputs import substitute
from tools import placeholders as ph
from tools.placeholders import Reference


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        (" inputs.folder ", Reference("inputs", "folder")),
        ("inputs.x", Reference("inputs", "x")),
        (" outputs.page_text ", Reference("outputs", "page_text")),
        (" secrets.api_key ", Reference("secrets", "api_key")),
        ("secret:pin", Reference("secrets", "pin")),
        ("secret: bank.pw ", Reference("secrets", "bank.pw")),
        ("secrets.github-token", Reference("secrets", "github-token")),
        (" x ", None),
        ("inputs.my.key", None),  # input and output names are identifiers
        ("outputs.a-b", None),
        ("inputs.1x", None),
        ("secret:", None),
        ("secret:.pw", None),
        ("secrets .x", None),
        ("input.x", None),
    ],
)
def test_reference_reads_one_placeholder(inner: str, expected: Reference | None) -> None:
    assert ph.reference(inner) == expected
    whole = "{{" + inner + "}}"
    for pattern, space in ((ph.INPUT, "inputs"), (ph.OUTPUT, "outputs"), (ph.SECRET, "secrets")):
        match = pattern.fullmatch(whole)
        hit = expected is not None and expected.space == space
        assert (match is not None) == hit, (pattern.pattern, whole)
        if match and expected:
            assert match.group(1) == expected.name


def test_names() -> None:
    assert ph.is_identifier("a_1") and not ph.is_identifier("a.b") and not ph.is_identifier("")
    assert ph.is_secret_name("bank.pw") and ph.is_secret_name("gh-token")
    assert not ph.is_secret_name("my key") and not ph.is_secret_name("-x")


def test_writers_read_back() -> None:
    assert ph.SECRET.fullmatch(ph.placeholder("bank.pw"))
    assert ph.INPUT.fullmatch(ph.input_placeholder("folder"))
    assert ph.OUTPUT.fullmatch(ph.output_placeholder("page_text"))


def test_a_dotted_secret_is_one_secret_everywhere() -> None:
    # The browser tool, the task file and the recorder agree on `bank.pw`.
    assert ph.secret_names("type {{secret:bank.pw}}") == ["bank.pw"]
    task = parse_task_text(
        "name: s\nsecrets: [bank.pw]\nsteps:\n"
        "  - tool: browser.type\n    args: {text: '{{ secrets.bank.pw }}'}\n",
        "s.task.yaml",
    )
    assert task.secrets == ["bank.pw"]


def test_braces_scan_is_linear() -> None:
    text = "{{" * 50_000 + "}"
    assert ph.BRACES.findall(text) == []


def test_walk_replaces_strings_and_keeps_the_rest() -> None:
    tree = {"a": "x", "b": [1, "y", {"c": None, "d": True}], "e": 2.5}
    seen: list[tuple[str, ph.TreePath]] = []

    def upper(text: str, path: ph.TreePath) -> str:
        seen.append((text, path))
        return text.upper()

    assert ph.walk(tree, upper) == {"a": "X", "b": [1, "Y", {"c": None, "d": True}], "e": 2.5}
    assert seen == [("x", ("a",)), ("y", ("b", 1))]
    assert tree["a"] == "x"  # a copy, not in place
    assert ph.walk("s", upper, ("root",)) == "S" and seen[-1] == ("s", ("root",))


def test_walk_reads_mappings_and_tuples_as_plain_json() -> None:
    from types import MappingProxyType

    tree = MappingProxyType({"a": ("x", 1), "b": MappingProxyType({"c": "y"})})
    assert ph.walk(tree, lambda t, _p: t * 2) == {"a": ["xx", 1], "b": {"c": "yy"}}
    assert list(ph.texts(tree)) == ["a", "x", "b", "c", "y"]


def test_texts_and_mentions_see_keys_too() -> None:
    tree = {"{{ inputs.k }}": [{"v": "{{secret:pw}}"}], "n": 1}
    assert list(ph.texts(tree)) == ["{{ inputs.k }}", "v", "{{secret:pw}}", "n"]
    assert ph.mentions(tree, ph.INPUT) and ph.mentions(tree, ph.SECRET)
    assert not ph.mentions(tree, ph.OUTPUT)


def test_fill_outputs_names_the_first_missing_output() -> None:
    args = {"text": "{{ outputs.a }}/{{outputs.b}}", "more": ["{{ outputs.c }}"], "n": 3}
    filled, missing = ph.fill_outputs(args, {"a": "A", "b": "B"})
    assert filled == {"text": "A/B", "more": [""], "n": 3}
    assert missing == "c"
    assert ph.fill_outputs(args, {"a": "1", "b": "2", "c": "3"})[1] is None


def test_the_recorder_substitutes_through_the_same_walk() -> None:
    import re

    tree = {"path": "reports/x.md", "list": ["reports/x.md", 1]}
    out = substitute(tree, re.compile(re.escape("reports/x.md")), ph.input_placeholder("p"))
    assert out == {"path": "{{ inputs.p }}", "list": ["{{ inputs.p }}", 1]}
