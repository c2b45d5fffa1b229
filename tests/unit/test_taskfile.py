"""Task files: the example files load, inputs fill placeholders, and every bad input
becomes one `TaskFileError` line naming file, line and field (property-tested with
arbitrary bytes, text, mutated examples and randomly altered documents)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.runner import check_steps, task_tools
from agent.settings import load_settings
from agent.taskfile import (
    MAX_BYTES,
    AgentStep,
    CommandExitsZero,
    TaskFile,
    TaskFileError,
    ToolStep,
    convert_input,
    load_task_file,
    parse_task_text,
    task_file_json_schema,
)
from tools.base import Effect

EXAMPLES = Path(__file__).resolve().parent.parent / "tasks"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.task.yaml"))
#: Inputs the examples need (the archive example has a required input).
EXAMPLE_SETS = {
    "archive-report.task.yaml": {"week": "12"},
    "fill-form.task.yaml": {"url": "http://127.0.0.1:8000/pages/form.html"},
    "sign-in.task.yaml": {"url": "http://127.0.0.1:8000/pages/login.html"},
    "collect-pages.task.yaml": {"site": "http://127.0.0.1:8000"},
}
SOURCE = "inbox/t.task.yaml"
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(text: str, overrides: dict[str, str] | None = None, **kw: Any) -> TaskFile:
    return parse_task_text(textwrap.dedent(text), SOURCE, overrides, **kw)


def error_of(text: str | bytes, overrides: dict[str, str] | None = None) -> str:
    if isinstance(text, str):
        text = textwrap.dedent(text)
    with pytest.raises(TaskFileError) as info:
        parse_task_text(text, SOURCE, overrides)
    return str(info.value)


# -- the example files ---------------------------------------------------------------------


def test_there_are_example_files() -> None:
    assert {p.name for p in EXAMPLE_FILES} >= {
        "sort-downloads.task.yaml",
        "collect-notes.task.yaml",
        "archive-report.task.yaml",
    }


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_examples_use_real_tools_with_valid_args(path: Path, tmp_path: Path) -> None:
    """Each fixed step names a tool the run would get (the file tool, and the browser or
    shell where the task uses them) with arguments that tool accepts."""
    task = load_task_file(path, EXAMPLE_SETS.get(path.name, {}))
    settings_ = load_settings({"DESKHAND_HOME": str(tmp_path)})
    tools = task_tools(task, settings_, (tmp_path,), task.grants([tmp_path]))
    check_steps(task, tools.registry(settings_, (tmp_path,)), str(path))
    assert task.checks
    assert task.grants([tmp_path])


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_examples_match_the_json_schema(path: Path) -> None:
    schema = task_file_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


def test_json_schema_refuses_a_typo_and_a_missing_goal() -> None:
    schema = task_file_json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "goal": "y", "stesp": []}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x"}, schema)


def test_sort_downloads_renders_its_default_and_a_set_folder() -> None:
    path = EXAMPLES / "sort-downloads.task.yaml"
    default = load_task_file(path)
    assert isinstance(default.steps, list)
    first, last = default.steps[0], default.steps[-1]
    assert isinstance(first, ToolStep) and first.args == {"path": "Downloads/images"}
    assert isinstance(last, AgentStep) and last.max_steps == 30
    assert "Downloads/archives" in last.agent and "{{" not in last.agent
    assert default.on_interrupt == "rerun"
    assert default.input_values == {"folder": "Downloads"}

    other = load_task_file(path, {"folder": "Inbox/new"})
    assert isinstance(other.steps, list) and isinstance(other.steps[0], ToolStep)
    assert other.steps[0].args == {"path": "Inbox/new/images"}


# -- inputs and placeholders ---------------------------------------------------------------

TYPED = """\
    name: typed
    inputs:
      n: {type: int, default: 3}
      ratio: {type: float, default: 1}
      flag: {type: bool, default: false}
      where: {type: path, default: out}
      who: {default: you}
    steps:
      - tool: demo.act
        args:
          count: "{{ inputs.n }}"
          ratio: "{{inputs.ratio}}"
          flag: "{{ inputs.flag }}"
          label: "n={{ inputs.n }} flag={{ inputs.flag }}"
          nested: [{where: "{{ inputs.where }}/x"}]
      - agent: Greet {{ inputs.who }} {{ inputs.n }} times.
    checks:
      - {kind: command_exits_zero, command: "test -d {{ inputs.where }}"}
      - {kind: file_contains, path: "{{ inputs.where }}/log", text: "{{ inputs.who }}"}
"""


def test_defaults_fill_placeholders_and_whole_placeholders_keep_their_type() -> None:
    task = parse(TYPED)
    assert isinstance(task.steps, list)
    tool, agent = task.steps
    assert isinstance(tool, ToolStep) and isinstance(agent, AgentStep)
    assert tool.args == {
        "count": 3,
        "ratio": 1.0,
        "flag": False,
        "label": "n=3 flag=false",
        "nested": [{"where": "out/x"}],
    }
    assert isinstance(tool.args["ratio"], float)
    assert agent.agent == "Greet you 3 times."
    assert task.input_values == {"n": 3, "ratio": 1.0, "flag": False, "where": "out", "who": "you"}


def test_set_values_are_converted_and_shell_quoted_in_commands() -> None:
    task = parse(TYPED, {"n": "-7", "ratio": "2.5e1", "flag": "Yes", "where": "my dir; rm x"})
    assert isinstance(task.steps, list) and isinstance(task.steps[0], ToolStep)
    assert task.steps[0].args["count"] == -7
    assert task.steps[0].args["ratio"] == 25.0
    assert task.steps[0].args["flag"] is True
    check = task.checks[0]
    assert isinstance(check, CommandExitsZero)
    assert check.command == "test -d 'my dir; rm x'"
    assert task.checks[1].model_dump()["path"] == "my dir; rm x/log"


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("str", " keep  spaces ", " keep  spaces "),
        ("str", "", ""),
        ("path", "a/b c.txt", "a/b c.txt"),
        ("int", "+12", 12),
        ("int", "-0", 0),
        ("float", "3", 3.0),
        ("float", ".5", 0.5),
        ("float", "-1.5E-3", -0.0015),
        ("bool", "TRUE", True),
        ("bool", "off", False),
        ("bool", "0", False),
    ],
)
def test_convert_input(kind: Any, text: str, value: object) -> None:
    converted = convert_input(text, kind)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("int", "1.0"),
        ("int", " 1"),
        ("int", "1_000"),
        ("int", "٣"),  # a non-ASCII digit int() would accept
        ("int", "9" * 101),
        ("float", "nan"),
        ("float", "inf"),
        ("float", "1e999"),
        ("float", "1,5"),
        ("bool", "maybe"),
        ("bool", ""),
        ("path", ""),
        ("str", "{{ secrets.key }}"),
        ("path", "a\x00b"),
    ],
)
def test_convert_input_refuses(kind: Any, text: str) -> None:
    with pytest.raises(ValueError):
        convert_input(text, kind)


def test_secret_placeholders_are_left_for_the_executor() -> None:
    task = parse(
        """\
        name: s
        secrets: [api_key]
        steps:
          - tool: web.fill
            args: {value: "{{ secrets.api_key }}", note: "key {{secrets.api_key}}"}
        """
    )
    assert isinstance(task.steps, list) and isinstance(task.steps[0], ToolStep)
    assert task.steps[0].args == {
        "value": "{{ secrets.api_key }}",
        "note": "key {{secrets.api_key}}",
    }


def test_validation_without_inputs_keeps_their_placeholders() -> None:
    text = (EXAMPLES / "archive-report.task.yaml").read_text(encoding="utf-8")
    task = parse_task_text(text, "a.task.yaml", require_inputs=False)
    assert task.checks[0].model_dump()["path"] == "archive/week-{{ inputs.week }}.md"
    assert task.input_values == {"report": "reports/weekly.md"}


def test_grants_resolve_against_the_workspace() -> None:
    task = parse("name: g\ngoal: x\npermissions: ['fs.write:reports/*', 'browser.*', shell.exec]\n")
    rules = task.grants([Path("/home/u/ws")])
    assert [(r.capability, r.scope, r.decision) for r in rules] == [
        ("fs.write", "/home/u/ws/reports/*", "allow"),
        ("browser.*", "*", "allow"),
        ("shell.exec", "*", "allow"),
    ]


GRANTS = """\
    name: g
    goal: x
    inputs: {url: {type: str}, folder: {type: path, default: out}}
    permissions: ["browser.navigate:{{ inputs.url }}", "fs.write:{{ inputs.folder }}/*"]
"""


@pytest.mark.parametrize(
    "url, host",
    [("http://localhost:8123/pages/form.html", "localhost"), ("Example.ORG", "example.org")],
)
def test_permissions_take_inputs_and_a_web_address_means_its_host(url: str, host: str) -> None:
    task = parse(GRANTS, {"url": url, "folder": "a*[b]"})
    rules = task.grants([Path("/ws")])
    assert [(r.capability, r.scope) for r in rules] == [
        ("browser.navigate", host),
        # A value stands for itself: wildcards in it are escaped, not widened.
        ("fs.write", "/ws/a[*][[]b]/*"),
    ]
    assert rules[1].matches(Effect("fs.write", "/ws/a*[b]/f", "write"))
    assert not rules[1].matches(Effect("fs.write", "/ws/abc/f", "write"))


@pytest.mark.parametrize(
    "url, why",
    [
        ("*", "(it has spaces or wildcards)"),
        ("http://a.org/ x", "(it has spaces or wildcards)"),
        ("ftp://a.org/", "only http and https pages can be opened"),
        ("a.org:8000", "is not a host or a web address"),
    ],
)
def test_a_malformed_value_in_a_permission_is_one_line(url: str, why: str) -> None:
    message = error_of(GRANTS, {"url": url})
    assert message.startswith(f"{SOURCE}:4: permissions[0]: input 'url' ({url!r}) ")
    assert why in message and "\n" not in message


def test_permissions_take_only_inputs_and_only_in_their_scope() -> None:
    secret = (
        "name: g\ngoal: x\nsecrets: [pw]\npermissions: ['browser.secret:a.org {{ secrets.pw }}']\n"
    )
    assert "only {{ inputs.NAME }} works here" in error_of(secret)
    cap = "name: g\ngoal: x\ninputs: {c: {default: fs}}\npermissions: ['{{ inputs.c }}.write']\n"
    assert "is not CAPABILITY or CAPABILITY:SCOPE" in error_of(cap)
    unfilled = parse(GRANTS, require_inputs=False)
    assert unfilled.permissions[0] == "browser.navigate:{{ inputs.url }}"


def test_the_loaded_task_is_frozen_and_yaml_quirks_are_tamed() -> None:
    task = parse(
        """\
        name: 2024-05-01
        goal: x
        steps:
        inputs:
          on: {type: bool, default: yes}
        """
    )
    # A date stays text and `on` stays a key (YAML 1.1 would make it true).
    assert task.name == "2024-05-01"
    assert list(task.inputs) == ["on"]
    assert task.steps is None
    with pytest.raises(ValidationError, match="frozen"):
        task.name = "y"


# -- errors: one line, exact line numbers ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: a\ngoal: [x\n",
            "inbox/t.task.yaml:3:1: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'",
        ),
        (
            "name: a\ngoal: b\nname: c\n",
            "inbox/t.task.yaml:3:1: duplicate key 'name' (first at line 1)",
        ),
        (
            "- name: a\n",
            "inbox/t.task.yaml:1: a task file is a mapping of fields (name, goal or steps, ...), not a list",
        ),
        (
            "just words\n",
            "inbox/t.task.yaml:1: a task file is a mapping of fields (name, goal or steps, ...), not 'just words'",
        ),
        ("# only a comment\n", "inbox/t.task.yaml:1: the file is empty"),
        (
            "name: a\ngoal: b\n---\nname: c\n",
            "inbox/t.task.yaml:3:1: invalid YAML: expected a single document in the stream, but found another document",
        ),
        (
            "name: a\n\ngoal: b\nstesp: []\n",
            "inbox/t.task.yaml:4: stesp: unknown field; did you mean 'steps'?",
        ),
        (
            "name: a\ngoal: b\nlimits:\n  max_steps: '5'\n",
            "inbox/t.task.yaml:4: limits.max_steps: input should be a valid integer",
        ),
        (
            "name: a\ngoal: b\nlimits: {max_steps: 0}\n",
            "inbox/t.task.yaml:3: limits.max_steps: input should be greater than or equal to 1",
        ),
        (
            "name: a\ngoal: b\nsteps: [{agent: c}]\n",
            "inbox/t.task.yaml:3: steps: give either goal or steps, not both",
        ),
        ("name: a\ndescription: none\n", "inbox/t.task.yaml:1: goal: give a goal, or steps"),
        ("goal: b\n", "inbox/t.task.yaml:1: name: required field missing"),
        (
            "name: a\ngoal: b\non_interrupt: retry\n",
            "inbox/t.task.yaml:3: on_interrupt: input should be 'rerun' or 'fail'",
        ),
        (
            "name: a\ngoal: b\nsecrets: [k, k]\n",
            "inbox/t.task.yaml:3: secrets: a secret is listed twice",
        ),
        (
            "name: a\ngoal: b\nsecrets: ['my key']\n",
            "inbox/t.task.yaml:3: secrets[0]: 'my key' is not letters, digits and '_' (not starting with a digit)",
        ),
        (
            "name: a\ngoal: b\ninputs:\n  2x: {}\n",
            "inbox/t.task.yaml:4: inputs[\"2x\"]: '2x' is not letters, digits and '_' (not starting with a digit)",
        ),
        (
            "name: a\ngoal: b\ninputs:\n  n:\n    type: int\n    default: many\n",
            "inbox/t.task.yaml:6: inputs.n.default: the default is not an int",
        ),
        (
            "name: a\ngoal: b\ninputs:\n  n: {type: integer}\n",
            "inbox/t.task.yaml:4: inputs.n.type: input should be 'str', 'int', 'float', 'bool' or 'path'",
        ),
        (
            "name: a\ngoal: b\ninputs:\n  n: {tpye: int}\n",
            "inbox/t.task.yaml:4: inputs.n.tpye: unknown field; did you mean 'type'?",
        ),
        (
            "name: a\ngoal: b\ninputs:\n  n: {default: [1]}\n",
            "inbox/t.task.yaml:4: inputs.n.default: a default is text, a number, or true/false",
        ),
    ],
)
def test_document_errors(text: str, expected: str) -> None:
    assert error_of(text) == expected


STEPS = """\
    name: steps
    steps:
      - tool: files.make_folder
        args: {path: reports}
      - agent: look around
        max_steps: 3
      - tool: files.move
        args: [reports, old]
      - tool: files.copy
        argz: {}
      - {tool: Files/Copy}
      - {agent: x, max_steps: 0}
      - just text
      - {kind: file_exists}
"""


def test_step_errors_name_each_step_and_its_line() -> None:
    with pytest.raises(TaskFileError) as info:
        parse(STEPS)
    assert str(info.value) == (
        "inbox/t.task.yaml:8: steps[2].args: input should be a valid dictionary"
        " (and 5 more problems)"
    )
    assert [(p.line, p.field, p.message) for p in info.value.problems] == [
        (8, "steps[2].args", "input should be a valid dictionary"),
        (10, "steps[3].argz", "unknown field; did you mean 'args'?"),
        (
            11,
            "steps[4].tool",
            "string should match pattern '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$'",
        ),
        (12, "steps[5].max_steps", "input should be greater than or equal to 1"),
        (13, "steps[6]", "a step is a mapping with either 'tool' (and 'args') or 'agent'"),
        (14, "steps[7]", "a step is a mapping with either 'tool' (and 'args') or 'agent'"),
    ]
    assert info.value.kind == "schema"


CHECKS = """\
    name: checks
    goal: tidy up
    checks:
      - kind: file_exists
        path: a.txt
      - {kind: file_exist, path: a.txt}
      - kind: file_contains
        path: a.txt
      - {path: b}
      - {kind: count_matching, pattern: "*.png"}
      - {kind: count_matching, pattern: "*.png", equals: 1, at_most: 2}
      - {kind: count_matching, pattern: "*.png", at_least: 3, at_most: 2}
      - {kind: page_contains, text: hi, ur: x}
      - {kind: command_exits_zero, command: true}
"""


def test_check_errors_name_each_check_and_its_line() -> None:
    with pytest.raises(TaskFileError) as info:
        parse(CHECKS)
    assert [(p.line, p.field, p.message) for p in info.value.problems] == [
        (6, "checks[1].kind", "did you mean 'file_exists'?"),
        (7, "checks[2].text", "required field missing"),
        (
            9,
            "checks[3].kind",
            "kind is one of file_exists, file_contains, page_contains, command_exits_zero, count_matching",
        ),
        (10, "checks[4].equals", "give equals, at_least or at_most"),
        (11, "checks[5].equals", "give equals alone, or at_least and/or at_most"),
        (12, "checks[6].at_most", "at_most is smaller than at_least"),
        (13, "checks[7].ur", "unknown field; did you mean 'url'?"),
        (14, "checks[8].command", "input should be a valid string"),
    ]


def test_bad_grants_are_load_errors() -> None:
    message = error_of("name: a\ngoal: b\npermissions:\n  - fs.write\n  - fs.wirte:reports/*\n")
    assert message.startswith(
        "inbox/t.task.yaml:5: permissions[1]: 'fs.wirte:reports/*' is not CAPABILITY or"
        " CAPABILITY:SCOPE (capabilities: fs.read, fs.write"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: a\ngoal: 'do {{ inputs.x }}'\n",
            "inbox/t.task.yaml:2: goal: '{{ inputs.x }}': the task has no input 'x'",
        ),
        (
            "name: a\ngoal: do {{ x }}\n",
            "inbox/t.task.yaml:2: goal: '{{ x }}' is not {{ inputs.NAME }}, {{ secrets.NAME }} or {{ outputs.NAME }}",
        ),
        (
            "name: a\ngoal: 'do {{ inputs.x'\ninputs: {x: {default: '1'}}\n",
            "inbox/t.task.yaml:2: goal: '{{' without a closing '}}'",
        ),
        (
            "name: a\ngoal: 'use {{ secrets.k }}'\n",
            "inbox/t.task.yaml:2: goal: secret 'k' is not listed in 'secrets'",
        ),
        (
            "name: a\nsteps:\n  - tool: t\n    args:\n      deep: {x: ['{{ inputs.nope }}']}\n",
            "inbox/t.task.yaml:5: steps[0].args.deep.x[0]: '{{ inputs.nope }}': the task has no input 'nope'",
        ),
        (
            "name: a\ngoal: b\nchecks:\n  - kind: file_exists\n    path: '{{ inputs.p }}'\ninputs: {p: {default: ''}}\n",
            "inbox/t.task.yaml:5: checks[0].path: string should have at least 1 character",
        ),
    ],
)
def test_placeholder_errors(text: str, expected: str) -> None:
    assert error_of(text) == expected


INPUTS = """\
    name: inputs
    inputs:
      count:
        type: int
      label: {default: x}
    goal: do {{ inputs.count }} {{ inputs.label }}
"""


def test_input_errors() -> None:
    assert error_of(INPUTS) == (
        "inbox/t.task.yaml:3: inputs.count: required input has no value;"
        " give one with --set count=..."
    )
    assert error_of(INPUTS, {"count": "three"}) == (
        "inbox/t.task.yaml:3: inputs.count: --set count='three' is not an int"
    )
    assert error_of(INPUTS, {"count": "3", "colour": "red"}) == (
        "inbox/t.task.yaml: --set colour: the task has no input 'colour' (inputs: count, label)"
    )
    assert error_of(INPUTS, {"count": "3", "label": "{{ secrets.x }}"}) == (
        "inbox/t.task.yaml:5: inputs.label: --set label='{{ secrets.x }}' contains '{{'"
        " or a NUL character"
    )
    assert parse(INPUTS, {"count": "3"}).goal == "do 3 x"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"name: a\ngoal: caf\xe9\n", "inbox/t.task.yaml:2: not UTF-8 text (byte 0xe9)"),
        (
            b"\xef\xbb\xbfname: a\ngoal: b\nx: 1\n",
            "inbox/t.task.yaml:3: x: unknown field (fields here: name, description, goal, steps, inputs, permissions, checks, limits, model, secrets, on_interrupt, on_step_failure)",
        ),
        (b"name: a\ngoal: b\x00\n", "inbox/t.task.yaml:2: invalid YAML: U+0000 is not allowed"),
        (
            b"name: a\ngoal: !!python/object/apply:os.system [ls]\n",
            "inbox/t.task.yaml:2:7: unsupported YAML tag tag:yaml.org,2002:python/object/apply:os.system",
        ),
        (b"name: a\ngoal: !!int x\n", "inbox/t.task.yaml:2:7: 'x' is not a valid int"),
        (
            b"name: a\ngoal: !!binary aGk=\n",
            "inbox/t.task.yaml:2:7: unsupported YAML tag tag:yaml.org,2002:binary",
        ),
        (
            b"name: a\ngoal: !!set {b}\n",
            "inbox/t.task.yaml:2:7: unsupported YAML tag tag:yaml.org,2002:set",
        ),
        (
            b"base: &b {name: a}\n<<: *b\ngoal: c\n",
            "inbox/t.task.yaml:2:1: merge keys ('<<') are not supported",
        ),
        (b"name: a\ngoal: b\n? [x]\n: y\n", "inbox/t.task.yaml:3:3: a key must be plain text"),
        (
            b"name: &a [*a]\ngoal: b\n",
            "inbox/t.task.yaml:1:7: an alias refers to a collection that contains it",
        ),
        (
            b"name: a\ngoal: " + b"[" * 50 + b"]" * 50 + b"\n",
            "inbox/t.task.yaml:2:46: invalid YAML: nested more than 40 levels deep",
        ),
        (
            b"name: a\ngoal: " + b"9" * 5000 + b"\n",
            "inbox/t.task.yaml:2:7: '9999999999999999999999999999999999999999' is not a valid int",
        ),
        (b"name: a\ngoal: b\n" + b"#" * MAX_BYTES, "inbox/t.task.yaml: larger than 1 MiB"),
    ],
)
def test_byte_level_errors(data: bytes, expected: str) -> None:
    assert error_of(data) == expected


def test_an_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    message = error_of("\n".join(lines) + "\n")
    assert message.startswith("inbox/t.task.yaml:")
    assert message.endswith("more than 100000 values once aliases are expanded")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError) as info:
        load_task_file(tmp_path / "missing.task.yaml")
    assert (
        str(info.value)
        == f"{tmp_path}/missing.task.yaml: cannot read it: No such file or directory"
    )
    assert info.value.kind == "unreadable"
    with pytest.raises(TaskFileError) as info:
        load_task_file(tmp_path)
    assert info.value.kind == "unreadable"


def test_the_message_stays_one_line_whatever_the_names() -> None:
    with pytest.raises(TaskFileError) as info:
        parse_task_text('name: a\ngoal: b\n"x\\Ly\\nz": 1\n', "odd\nname\r.yaml")
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert message.startswith('odd\\nname\\r.yaml:3: ["x\\u2028y\\nz"]: unknown field')


def test_a_large_file_of_braces_loads_in_reasonable_time() -> None:
    # The placeholder scan is linear: a goal full of "{{" is an error, not a hang.
    message = error_of("name: a\ngoal: '" + "{{ " * 250_000 + "'\n")
    assert message == "inbox/t.task.yaml:2: goal: '{{' without a closing '}}'"


# -- properties: nothing but TaskFileError, always one line --------------------------------


def outcome(data: str | bytes, overrides: dict[str, str] | None = None) -> object:
    try:
        return parse_task_text(data, "f.task.yaml", overrides)
    except TaskFileError as exc:
        message = str(exc)
        assert len(message.splitlines()) == 1, message
        assert message.startswith("f.task.yaml")
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        for problem in exc.problems:
            if problem.line is not None:
                assert 1 <= problem.line <= len(text.splitlines()) + 1, message
        return exc


EXAMPLE_TEXTS = [p.read_text(encoding="utf-8") for p in EXAMPLE_FILES]
YAML_BITS = st.sampled_from(
    [":", ": ", "-", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "!!int ", "? ",
     "|", ">", "'", '"', "#", "\n", "\n  ", "  ", "\t", "---\n", "...\n", "<<: ", "~",
     "{{ ", " }}", "{{ inputs.folder }}", "{{ secrets.x }}", "kind: ", "tool: ", "agent: ",
     "args: ", "steps:", "goal: ", "inputs:", "checks:", "max_steps: ", "yes", "1e3",
     "2024-02-30", "\x00", "\u2028", "\ufeff", "é"]
)  # fmt: skip


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        op = draw(st.sampled_from(["insert", "delete", "swap", "duplicate", "indent", "replace"]))
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        if op == "insert":
            bit = draw(st.one_of(YAML_BITS, st.text(max_size=8)))
            text = text[:at] + bit + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif op == "replace":
            text = text[:at] + draw(YAML_BITS) + text[at + 1 :]
        else:
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            elif op == "duplicate":
                lines.insert(j, lines[i])
            else:
                lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
            text = "\n".join(lines)
    return text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["files.move", "{{ inputs.folder }}", "file_exists", "rerun", "fs.write"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["name", "goal", "steps", "tool", "args", "agent", "kind", "path",
                         "text", "inputs", "type", "default", "limits", "max_steps",
                         "permissions", "secrets", "checks", "equals", "x"]) | st.text(max_size=6),
        children,
        max_size=4,
    ),
    max_leaves=20,
)  # fmt: skip


@st.composite
def altered_documents(draw: st.DrawFn) -> str:
    """An example file's data with one subtree replaced by a random value."""
    doc: Any = yaml.safe_load(draw(st.sampled_from(EXAMPLE_TEXTS)))
    node = doc
    for _ in range(draw(st.integers(0, 4))):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        if not isinstance(node[key], (dict, list)) or draw(st.booleans()):
            node[key] = draw(json_values)
            break
        node = node[key]
    style = draw(st.sampled_from(["block", "flow", "json"]))
    if style == "json":
        return json.dumps(doc, allow_nan=True)
    return yaml.safe_dump(doc, default_flow_style=style == "flow", allow_unicode=True)


@PROPERTY
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    outcome(data)


@PROPERTY
@given(st.text(max_size=2000))
def test_arbitrary_text(text: str) -> None:
    outcome(text)


@PROPERTY
@given(mutated_examples())
def test_mutated_examples(text: str) -> None:
    outcome(text)
    outcome(text.encode("utf-8", "surrogatepass"))


@PROPERTY
@given(altered_documents())
def test_altered_documents(text: str) -> None:
    outcome(text)


@PROPERTY
@given(
    st.sampled_from(EXAMPLE_TEXTS),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
)
def test_arbitrary_set_values(text: str, overrides: dict[str, str]) -> None:
    outcome(text, overrides)


def test_the_module_docstring_example_is_valid() -> None:
    import agent.taskfile

    example = (agent.taskfile.__doc__ or "").split("For example::")[1].split("Placeholders:")[0]
    task = parse(example)
    assert task.name == "Sort downloads" and len(task.steps or ()) == 2


def test_expect_names_an_element_as_role_and_quoted_name() -> None:
    step = "name: t\nsteps:\n  - {tool: browser.click, args: {element: 3}, expect: %s}\n"
    task = parse(step % "'button \"Send it\"'")
    assert task.steps is not None and task.steps[0].expect == 'button "Send it"'  # type: ignore[union-attr]
    message = error_of(step % "Send")
    assert message.startswith(f"{SOURCE}:3: steps[0].expect: 'Send' is not ROLE \"NAME\"")
