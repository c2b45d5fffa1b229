"""Task files end to end, as a user runs them: the real `deskhand` process, real files,
a real SQLite journal, and the real embedded llama.cpp model where a step needs one.

Every example in tests/tasks/ runs here. Where the model acts, the assertions are about
recording and policy, not about the tiny model being clever. "No model was loaded" is
shown twice over: the run is given ``--model`` pointing at a file that is not a model
(opening it would end the run as an error), and the journal counts no model steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pages.server import serve_pages

from agent.approval import AlwaysAllow
from agent.journal import Journal
from agent.prepare import RunRequest, prepare_run
from agent.settings import load_settings
from agent.taskrun import run_task
from models.scripted import ScriptedModel

DESKHAND = str(Path(sys.executable).parent / "deskhand")
TASKS = Path(__file__).resolve().parents[1] / "tasks"


def deskhand(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKHAND, *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def journal(home: Path) -> Journal:
    return Journal(home / "data" / "journal.sqlite")


@pytest.fixture
def not_a_model(tmp_path: Path) -> Path:
    """A .gguf path that resolves but cannot be opened: a run that loads it errors."""
    path = tmp_path / "never-loaded.gguf"
    path.write_bytes(b"this is not a model")
    return path


def tree(root: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def assert_well_formed(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert "Traceback" not in proc.stderr, proc.stderr
    events = events_of(proc.stdout)
    assert events[0]["event"] == "RunStarted" and events[-1]["event"] == "RunFinished"
    assert (proc.returncode == 0) == (events[-1]["outcome"] == "success"), proc.stdout[-2000:]
    return events


def assert_policy_held(home: Path, run_id: str, allowed_under: Path) -> None:
    """Every effect outside the read defaults and the task's grants was denied unattended."""
    with journal(home) as j:
        for a in j.approvals(run_id):
            if a["decision"] == "allow" and a["capability"] != "fs.read":
                assert Path(a["scope"]).is_relative_to(allowed_under), a
                assert a["source"] == "policy:grant", a
            if a["decision"] == "deny":
                assert a["source"] in ("noninteractive", "policy:default"), a


# -- the examples in tests/tasks ------------------------------------------------------------


def archive_report(ws: Path, home: Path, model: Path) -> None:
    (ws / "reports").mkdir()
    (ws / "reports" / "weekly.md").write_text("# Week 12\nAll good.\n")
    proc = deskhand(
        "run", str(TASKS / "archive-report.task.yaml"), "-w", str(ws), "--set", "week=12",
        "--model", str(model), "--json",
    )  # fmt: skip
    events = assert_well_formed(proc)
    assert proc.returncode == 0, proc.stdout
    checks = next(e for e in events if e["event"] == "ChecksFinished")["results"]
    assert [c["ok"] for c in checks] == [True, True, True]
    assert (ws / "archive" / "week-12.md").read_text() == "# Week 12\nAll good.\n"
    run = journal(home).run(events[0]["run_id"])
    assert run is not None and (run["replayed_steps"], run["model_steps"]) == (3, 0)


def tidy_logs(ws: Path, home: Path, model: Path) -> None:
    (ws / "logs").mkdir()
    (ws / "logs" / "app.log").write_text("INFO start\nERROR disk full\n")
    (ws / "logs" / "db.log").write_text("INFO ok\n")
    proc = deskhand(
        "run", str(TASKS / "tidy-logs.task.yaml"), "-w", str(ws), "--model", str(model), "--json"
    )
    events = assert_well_formed(proc)
    assert proc.returncode == 0, proc.stdout
    checks = next(e for e in events if e["event"] == "ChecksFinished")["results"]
    assert checks[2]["kind"] == "command_exits_zero" and checks[2]["ok"]
    # The same task on a log without errors: the command check fails, so the run does.
    other = ws.parent / "other"
    (other / "logs").mkdir(parents=True)
    (other / "logs" / "app.log").write_text("INFO fine\n")
    (other / "logs" / "db.log").write_text("INFO ok\n")
    proc = deskhand("run", str(TASKS / "tidy-logs.task.yaml"), "-w", str(other), "--json")
    events = assert_well_formed(proc)
    assert proc.returncode == 1 and "command_exits_zero" in events[-1]["message"]


def sort_downloads(ws: Path, home: Path, model: Path) -> None:
    downloads = ws / "Downloads"
    downloads.mkdir()
    for name in ("a.png", "b.jpg", "c.pdf", "d.txt", "e.zip"):
        (downloads / name).write_text(name)
    (ws / "keep.txt").write_text("not in Downloads")
    proc = deskhand(
        "run", str(TASKS / "sort-downloads.task.yaml"), "-w", str(ws), "--json",
        "--max-steps", "4",
    )  # fmt: skip
    events = assert_well_formed(proc)
    run_id = events[0]["run_id"]
    (subgoal,) = [e for e in events if e["event"] == "SubgoalStarted"]
    assert subgoal["step"] == 4 and subgoal["max_steps"] == 1 and subgoal["fallback_for"] is None
    assert any(e["event"] == "ChecksFinished" for e in events)
    assert all((downloads / f).is_dir() for f in ("images", "documents", "archives"))
    assert (ws / "keep.txt").read_text() == "not in Downloads"
    with journal(home) as j:
        run = j.run(run_id)
        steps = j.steps(run_id)
    assert run is not None and run["replayed_steps"] == 3
    assert run["model_steps"] == len([s for s in steps if s["model_id"]]) >= 1
    assert_policy_held(home, run_id, downloads)


def collect_notes(ws: Path, home: Path, model: Path) -> None:
    notes = ws / "notes"
    notes.mkdir()
    (notes / "monday.txt").write_text("Meeting at ten.")
    (notes / "shopping.txt").write_text("Milk, bread.")
    proc = deskhand(
        "run", str(TASKS / "collect-notes.task.yaml"), "-w", str(ws), "--json",
        "--max-steps", "1", "--set", "topic=Meeting",
    )  # fmt: skip
    events = assert_well_formed(proc)
    run_id = events[0]["run_id"]
    (subgoal,) = [e for e in events if e["event"] == "SubgoalStarted"]
    assert '"Meeting"' in subgoal["goal"] and "notes/collected.md" in subgoal["goal"]
    with journal(home) as j:
        run = j.run(run_id)
    assert run is not None and run["replayed_steps"] == 0 and run["model_steps"] >= 1
    assert_policy_held(home, run_id, notes)


def fill_form(ws: Path, home: Path, model: Path) -> None:
    with serve_pages() as site:
        proc = deskhand(
            "run", str(TASKS / "fill-form.task.yaml"), "-w", str(ws), "--json",
            "--model", str(model), "--set", f"url={site.url('form.html')}",
            "--set", "full_name=Grace Hopper",
        )  # fmt: skip
    events = assert_well_formed(proc)
    assert proc.returncode == 0, proc.stdout[-3000:]
    checks = next(e for e in events if e["event"] == "ChecksFinished")["results"]
    assert [c["ok"] for c in checks] == [True, True]
    assert checks[0]["detail"] == "the page contains 'Thank you Grace Hopper'"
    with journal(home) as j:
        run = j.run(events[0]["run_id"])
    assert run is not None and (run["replayed_steps"], run["model_steps"]) == (7, 0)
    # Another site (the same pages under the host name localhost): --set url=... is all it
    # takes, the permissions follow the address; a malformed address is one line, exit 2.
    with serve_pages() as site:
        proc = deskhand(
            "run", str(TASKS / "fill-form.task.yaml"), "-w", str(ws), "--json",
            "--model", str(model), "--set", f"url={site.other}/pages/form.html",
        )  # fmt: skip
        reached = site.reached("localhost")
    assert_well_formed(proc)
    assert proc.returncode == 0 and "/pages/form.html" in reached, proc.stdout[-3000:]
    with journal(home) as j:
        scopes = {a["scope"].split()[0] for a in j.approvals(events_of(proc.stdout)[0]["run_id"])}
    assert scopes == {"localhost"}
    proc = deskhand("run", str(TASKS / "fill-form.task.yaml"), "--set", "url=http://a *.org/")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "permissions[0]: input 'url'" in proc.stderr and "wildcards" in proc.stderr
    # The same task against a page without the form: the steps fail, so does the run.
    with serve_pages() as site:
        proc = deskhand(
            "run", str(TASKS / "fill-form.task.yaml"), "-w", str(ws), "--json",
            "--set", f"url={site.url('second.html')}",
        )  # fmt: skip
    events = assert_well_formed(proc)
    assert proc.returncode == 1 and "step 2 (browser.type) failed" in events[-1]["message"]


def collect_pages(ws: Path, home: Path, model: Path) -> None:
    with serve_pages() as site:
        proc = deskhand(
            "run", str(TASKS / "collect-pages.task.yaml"), "-w", str(ws), "--json",
            "--model", str(model), "--set", f"site={site.origin}",
        )  # fmt: skip
        reached = site.reached("127.0.0.1")
    events = assert_well_formed(proc)
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = (ws / "collected" / "pages.md").read_text()
    assert text.index("Create your account") < text.index("The second page")
    assert text.index("The second page") < text.index("The bottom of the page")
    assert "{{" not in text
    checks = next(e for e in events if e["event"] == "ChecksFinished")["results"]
    assert [c["kind"] for c in checks if c["ok"]][-1] == "page_contains" and len(checks) == 4
    assert all(c["ok"] for c in checks)
    assert {"/pages/form.html", "/pages/second.html", "/pages/links.html"} <= set(reached)
    # A page that is not there: the step's output is the 404-ish page, the checks say no.
    other = ws.parent / "other"
    other.mkdir()
    with serve_pages() as site:
        proc = deskhand(
            "run", str(TASKS / "collect-pages.task.yaml"), "-w", str(other), "--json",
            "--set", f"site={site.origin}/nowhere",
        )  # fmt: skip
    events = assert_well_formed(proc)
    assert proc.returncode == 1 and "checks failed: file_contains" in events[-1]["message"]


SECRET = "correct-horse-battery"


def store_secret(name: str, value: str) -> None:
    """Through the real keyring backend (keyrings.alt's file keyring under this test's
    XDG_DATA_HOME, as tests/conftest.py sets it), in a process of its own like deskhand."""
    code = f"from models.secrets import set_secret; set_secret({name!r}, {value!r})"
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ), timeout=60)


def sign_in(ws: Path, home: Path, model: Path) -> None:
    with serve_pages() as site:
        url = f"url={site.url('login.html')}"
        args = ["run", str(TASKS / "sign-in.task.yaml"), "-w", str(ws), "--json", "--set", url]
        missing = deskhand(*args)
        store_secret("site_password", SECRET)
        proc = deskhand(*args, "--model", str(model))
    # Without the secret in the keyring: a clear failure, and nothing was typed.
    events = assert_well_formed(missing)
    assert missing.returncode == 1
    assert "no secret named 'site_password' in the keyring" in events[-1]["message"]
    events = assert_well_formed(proc)
    assert proc.returncode == 0, proc.stdout[-3000:]
    checks = next(e for e in events if e["event"] == "ChecksFinished")["results"]
    assert checks == [
        {"kind": "page_contains", "ok": True, "detail": "the page contains 'Password accepted'"}
    ]
    # The page echoes the password: what came back holds the placeholder, never the value.
    outputs = [e["result"]["output"] for e in events if e["event"] == "ActionFinished"]
    assert "your password is {{secret:site_password}}" in outputs[-1]
    assert SECRET not in proc.stdout + proc.stderr
    for path in (home / "data").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    with journal(home) as j:
        run = j.run(events[0]["run_id"])
        approvals = j.approvals(events[0]["run_id"])
    assert run is not None and SECRET not in json.dumps(run, default=str)
    secret_use = [a for a in approvals if a["capability"] == "browser.secret"]
    assert [(a["scope"].split()[1], a["decision"]) for a in secret_use] == [
        ("site_password", "allow")
    ]


EXAMPLES: dict[str, Callable[[Path, Path, Path], None]] = {
    "archive-report.task.yaml": archive_report,
    "tidy-logs.task.yaml": tidy_logs,
    "sort-downloads.task.yaml": sort_downloads,
    "collect-notes.task.yaml": collect_notes,
    "fill-form.task.yaml": fill_form,
    "collect-pages.task.yaml": collect_pages,
    "sign-in.task.yaml": sign_in,
}
NEEDS_MODEL = {"sort-downloads.task.yaml", "collect-notes.task.yaml"}


def test_every_example_is_run_here() -> None:
    assert sorted(p.name for p in TASKS.glob("*.task.yaml")) == sorted(EXAMPLES)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.model] if n in NEEDS_MODEL else [])
        for n in sorted(EXAMPLES)
    ],
)
def test_example(
    name: str,
    tmp_path: Path,
    deskhand_home: Path,
    not_a_model: Path,
    request: pytest.FixtureRequest,
) -> None:
    if name in NEEDS_MODEL:
        request.getfixturevalue("embedded_gguf")
    ws = tmp_path / "ws"
    ws.mkdir()
    EXAMPLES[name](ws, deskhand_home, not_a_model)


def test_examples_validate_and_the_schema_prints() -> None:
    proc = deskhand("validate", *sorted(str(p) for p in TASKS.glob("*.task.yaml")), timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": ok") == len(EXAMPLES)
    schema = json.loads(deskhand("schema", timeout=60).stdout)
    assert {"goal", "steps", "checks", "permissions"} <= set(schema["properties"])


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.task.yaml"
    bad.write_text(
        "name: bad\nsteps:\n  - {tool: files.copy, args: {source: a}}\n"
        "  - {tool: shell.run, args: {command: ls}}\n"
    )
    worse = tmp_path / "worse.task.yaml"
    worse.write_text("name: worse\ngoal: x\nchecks:\n  - {kind: file_exits, path: a}\n")
    proc = deskhand("validate", str(bad), str(worse), str(TASKS / "tidy-logs.task.yaml"))
    assert proc.returncode == 2
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 4 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"{bad}: steps[0].args: destination")
    assert lines[1].startswith(f"{bad}: steps[1].tool: no tool 'shell.run'")
    assert lines[2].startswith(f"{worse}:4") and "did you mean 'file_exists'" in lines[2]
    assert lines[3].endswith("tidy-logs.task.yaml: ok")


@pytest.mark.parametrize(
    "args, message",
    [
        (["archive-report.task.yaml"], "required input has no value"),
        (["archive-report.task.yaml", "--set", "week"], "--set wants NAME=VALUE"),
        (["archive-report.task.yaml", "--set", "week=soon"], "is not an int"),
        (
            ["archive-report.task.yaml", "--set", "week=1", "-w", "/nonexistent"],
            "workspace does not exist",
        ),
        (["missing.task.yaml"], "cannot read it"),
        (["tidy-logs.task.yaml", "--on-step-failure", "maybe"], "'agent' or 'stop'"),
        (["do it", "--set", "a=b"], "apply to a task file"),
    ],
)
def test_bad_task_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    if args[0].endswith(".yaml") and args[0] != "missing.task.yaml":
        args = [str(TASKS / args[0]), *args[1:]]
    proc = deskhand("run", *args, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


# -- record once, replay many times ----------------------------------------------------------


def record(ws: Path, goal: str, replies: list[dict[str, Any]]) -> str:
    """A successful run of the real engine, with a scripted model choosing the actions."""
    settings = load_settings()
    request = RunRequest(
        goal=goal,
        workspace=[ws.resolve()],
        model=ScriptedModel(replies),
        approver=AlwaysAllow(),
        memory=False,
    )
    plan = prepare_run(request, settings)
    with Journal(settings.journal_path) as j:
        events = list(run_task(plan, j))
    assert events[-1].outcome == "success"  # type: ignore[union-attr]
    return events[0].run_id  # type: ignore[union-attr]


def act(tool: str, **args: Any) -> dict[str, Any]:
    return {"thought": f"use {tool}", "tool": tool, "args": args}


SORT_GOAL = 'Move "photo.png" from Downloads into Downloads/images'
SORT_REPLIES = [
    act("files.list", path="Downloads"),
    act("files.make_folder", path="Downloads/images"),
    act("files.move", source="Downloads/photo.png", destination="Downloads/images"),
    act("files.write", path="Downloads/images/index.txt", content="photo.png\n"),
    act("finish", message="sorted"),
]


def downloads(root: Path, *names: str) -> Path:
    (root / "Downloads").mkdir(parents=True)
    for name in names:
        (root / "Downloads" / name).write_bytes(b"\x89PNG" + name.encode())
    return root


def saved_task(tmp_path: Path) -> tuple[Path, Path]:
    recorded = downloads(tmp_path / "recorded", "photo.png")
    run_id = record(recorded, SORT_GOAL, SORT_REPLIES)
    out = tmp_path / "sort.task.yaml"
    proc = deskhand("save", run_id[:15], "-o", str(out), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "3 step(s)" in proc.stdout and "2 read-only or failed step(s) left out" in proc.stdout
    return out, recorded


def test_save_then_replay_needs_no_model_and_reaches_the_same_state(
    tmp_path: Path, deskhand_home: Path, not_a_model: Path
) -> None:
    out, recorded = saved_task(tmp_path)
    assert deskhand("validate", str(out), timeout=60).returncode == 0

    replay = downloads(tmp_path / "replay", "photo.png")
    proc = deskhand("run", str(out), "-w", str(replay), "--model", str(not_a_model), "--json")
    events = assert_well_formed(proc)
    assert proc.returncode == 0, proc.stdout
    assert tree(replay) == tree(recorded)
    checks = next(e for e in events if e["event"] == "ChecksFinished")["results"]
    assert checks and all(c["ok"] for c in checks)
    assert {e["event"] for e in events}.isdisjoint({"SubgoalStarted", "ModelSwitched"})
    with journal(deskhand_home) as j:
        run = j.run(events[0]["run_id"])
        steps = j.steps(events[0]["run_id"])
    assert run is not None and (run["replayed_steps"], run["model_steps"]) == (3, 0)
    assert [s["model_id"] for s in steps] == ["", "", ""]

    # The lifted input: the same task for another file name.
    other = downloads(tmp_path / "other", "cat.png")
    proc = deskhand(
        "run", str(out), "-w", str(other), "--set", "file=cat.png", "--json",
        "--allow", "fs.write:Downloads/images/*",
        "--allow", "fs.delete:Downloads/*",  # a move deletes its source (issue 11, class 8)
    )  # fmt: skip
    assert_well_formed(proc)
    assert (other / "Downloads" / "images" / "cat.png").exists(), proc.stdout


def test_a_changed_situation_stops_with_a_clear_failure(
    tmp_path: Path, deskhand_home: Path, not_a_model: Path
) -> None:
    out, _ = saved_task(tmp_path)
    changed = downloads(tmp_path / "changed", "picture.png")
    proc = deskhand(
        "run", str(out), "-w", str(changed), "--model", str(not_a_model), "--json",
        "--on-step-failure", "stop",
    )  # fmt: skip
    events = assert_well_formed(proc)
    assert proc.returncode == 1
    assert "step 2 (files.move) failed: Downloads/photo.png does not exist" in events[-1]["message"]
    with journal(deskhand_home) as j:
        run_id = events[0]["run_id"]
        kinds = [(e["kind"], e["step_idx"]) for e in j.events(run_id)]
        run = j.run(run_id)
    assert kinds == [("step_failed", 2)]
    assert run is not None and (run["replayed_steps"], run["model_steps"]) == (2, 0)
    assert not (changed / "Downloads" / "images" / "index.txt").exists()


@pytest.mark.model
def test_a_changed_situation_falls_back_to_the_model_where_allowed(
    embedded_gguf: Path, tmp_path: Path, deskhand_home: Path
) -> None:
    out, _ = saved_task(tmp_path)
    changed = downloads(tmp_path / "changed", "picture.png")
    (tmp_path / "outside.txt").write_text("keep")
    proc = deskhand(
        "run", str(out), "-w", str(changed), "--json", "--on-step-failure", "agent",
        "--max-steps", "3",
    )  # fmt: skip
    events = assert_well_formed(proc)
    run_id = events[0]["run_id"]
    (subgoal,) = [e for e in events if e["event"] == "SubgoalStarted"]
    assert subgoal["fallback_for"] == 2 and subgoal["step"] == 3 and subgoal["max_steps"] == 1
    assert "files.move" in subgoal["goal"] and "Downloads/photo.png" in subgoal["goal"]
    with journal(deskhand_home) as j:
        (fallback,) = [e for e in j.events(run_id) if e["kind"] == "step_fallback"]
        run = j.run(run_id)
        steps = j.steps(run_id)
    assert fallback["step_idx"] == 2 and fallback["detail"]["kind"] == "not_found"
    assert run is not None and run["replayed_steps"] >= 2
    model_steps = [s for s in steps if s["model_id"]]
    assert run["model_steps"] == len(model_steps) >= 1
    assert all(s["idx"] >= 3 and s["prompt_tokens"] > 0 for s in model_steps)
    assert_policy_held(deskhand_home, run_id, changed / "Downloads" / "images")
    assert (tmp_path / "outside.txt").read_text() == "keep"


def test_save_refuses_bad_requests_with_one_line(tmp_path: Path) -> None:
    proc = deskhand("save", "nope", "-o", str(tmp_path / "x.task.yaml"), timeout=60)
    assert proc.returncode == 2 and "no run with id 'nope'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.task.yaml").exists()

    out, _ = saved_task(tmp_path)
    before = out.read_text()
    proc = deskhand("save", "2", "-o", str(out), timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert out.read_text() == before
