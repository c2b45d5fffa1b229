"""What the palette runs besides a typed goal: saved task files from the tasks folder
(suggested by fuzzy match, run through `agent.runner` with the steps streaming in), and
goals that name a web page (the browser tool, real headless Chromium on a loopback page,
closed when the run ends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from pages.server import Site, serve_pages
from PySide6.QtCore import Qt
from qt_support import FINISH, scripted, write_action

from agent.events import Event, RunFinished
from agent.journal import Journal
from agent.settings import Settings

WAIT_MS = 60_000

TASK = """\
name: make the notes folder
permissions: ["fs.write:notes-folder"]
steps:
  - tool: files.make_folder
    args: {path: notes-folder}
checks:
  - {kind: file_exists, path: notes-folder}
"""


def record(app: Any) -> list[Event]:
    events: list[Event] = []
    app.worker.signals.engine_event.connect(events.append)
    return events


def until_finished(qtbot: Any, app: Any) -> Any:
    return qtbot.waitSignal(
        app.worker.signals.engine_event,
        timeout=WAIT_MS,
        check_params_cb=lambda e: isinstance(e, RunFinished),
    )


def test_a_saved_task_file_is_suggested_and_runs_from_the_palette(
    qtbot: Any, make_app: Any, settings: Settings, tmp_path: Path
) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "make-notes.task.yaml").write_text(TASK)
    (tasks / "notes.txt").write_text("not a task file")
    opener, model = scripted([])
    app = make_app(settings=settings.model_copy(update={"tasks_folder": tasks}), open_model=opener)
    events = record(app)
    app.start(show_palette=True)
    palette = app.palette
    qtbot.waitUntil(lambda: bool(palette._tasks))
    assert list(palette._tasks) == ["make-notes.task.yaml"]

    qtbot.keyClicks(palette.field, "mknotes")
    shown = [palette.suggestions.item(i).text() for i in range(palette.suggestions.count())]
    assert shown == ["make-notes.task.yaml"]
    qtbot.keyClick(palette.field, Qt.Key.Key_Down)
    with until_finished(qtbot, app) as finished:
        qtbot.keyClick(palette.field, Qt.Key.Key_Return)

    end = finished.args[0]
    assert end.outcome == "success", end
    assert (settings.default_workspace / "notes-folder").is_dir()
    assert model.calls == []  # fixed steps: no model
    assert any("files.make_folder" in t for t in palette.step_texts())
    assert any("check" in t for t in palette.step_texts()), palette.step_texts()
    assert not palette.running and palette.field.text() == "make-notes.task.yaml"
    with Journal(settings.journal_path) as journal:
        run = journal.run(end.run_id)
    assert run is not None and run["outcome"] == "success"
    assert events[0].run_id == end.run_id


AGENT_TASK = """\
name: write a greeting
permissions: ["fs.write:greeting.txt"]
steps:
  - agent: write hello into greeting.txt
    max_steps: 3
checks:
  - {kind: file_contains, path: greeting.txt, text: hello}
"""


def test_a_task_file_with_an_agent_step_uses_the_apps_loaded_model(
    qtbot: Any, make_app: Any, settings: Settings, tmp_path: Path
) -> None:
    """No second copy of the model is loaded for a task file, and the app's stays open
    for the next run (the scripted model answers both; a second copy would be the real
    embedded model, which never writes this file)."""
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "greet.task.yaml").write_text(AGENT_TASK)
    opener, model = scripted([write_action("greeting.txt"), FINISH, FINISH])
    app = make_app(settings=settings.model_copy(update={"tasks_folder": tasks}), open_model=opener)
    app.start(show_palette=True)
    qtbot.waitUntil(lambda: bool(app.palette._tasks))
    with until_finished(qtbot, app) as finished:
        app.palette.task_submitted.emit(tasks / "greet.task.yaml")
    assert finished.args[0].outcome == "success", finished.args[0]
    assert len(model.calls) == 2
    assert (settings.default_workspace / "greeting.txt").read_text() == "hello"

    with until_finished(qtbot, app) as second:
        app.palette.goal_submitted.emit("say you are done", "")
    assert second.args[0].outcome == "success", second.args[0]
    assert len(model.calls) == 3


def test_a_broken_task_file_is_one_line_in_the_palette(
    qtbot: Any, make_app: Any, settings: Settings, tmp_path: Path
) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "broken.task.yaml").write_text("name: x\nsteps:\n  - tool: files.nope\n")
    app = make_app(settings=settings.model_copy(update={"tasks_folder": tasks}))
    app.start(show_palette=True)
    qtbot.waitUntil(lambda: bool(app.palette._tasks))
    with qtbot.waitSignal(app.worker.signals.run_failed, timeout=WAIT_MS) as failed:
        app.palette.task_submitted.emit(tasks / "broken.task.yaml")
    assert "files.nope" in failed.args[0] and "\n" not in failed.args[0]
    assert not app.palette.running


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_pages() as s:
        yield s


def chromium_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name().lower()]


def test_a_goal_naming_a_page_gets_the_browser_which_closes_after_the_run(
    qtbot: Any, make_app: Any, settings: Settings, site: Site
) -> None:
    headless = settings.model_copy(
        update={"browser": settings.browser.model_copy(update={"headless": True})}
    )
    opener, model = scripted([FINISH])
    app = make_app(settings=headless, open_model=opener)
    app.start()
    url = site.url("links.html")
    with until_finished(qtbot, app) as finished:
        app.palette.goal_submitted.emit(f"Open {url}, then tell me what it links to.", "")

    assert finished.args[0].outcome == "success"
    prompt = "\n".join(m.content for m in model.calls[0])
    assert "The browser shows this page" in prompt and "Second page" in prompt
    assert "browser.click" in prompt  # the browser's actions are offered
    assert ("127.0.0.1", "/pages/links.html") in site.hits
    qtbot.waitUntil(lambda: not chromium_children(), timeout=20_000)


def test_a_plain_goal_gets_no_browser(qtbot: Any, make_app: Any) -> None:
    opener, model = scripted([FINISH])
    app = make_app(open_model=opener)
    app.start()
    with until_finished(qtbot, app):
        app.palette.goal_submitted.emit("tidy the workspace", "")
    prompt = "\n".join(m.content for m in model.calls[0])
    assert "browser.click" not in prompt and "files.list" in prompt


def test_a_palette_run_that_started_on_a_page_saves_as_a_task_that_opens_it_first(
    qtbot: Any, make_app: Any, settings: Settings, site: Site, tmp_path: Path
) -> None:
    """The palette prepares its goal runs as the CLI does (agent.prepare): the start page
    is journaled with the run, so `deskhand save` replays from it (it could not before)."""
    from agent.journal import Journal
    from agent.taskfile.from_run import save_run

    headless = settings.model_copy(
        update={"browser": settings.browser.model_copy(update={"headless": True})}
    )
    from pages.runs import on

    click = on("Hover me", "browser.hover")  # acts on the page the run started on
    opener, _ = scripted([click, write_action("links.txt", "Second page"), FINISH])
    app = make_app(settings=headless, open_model=opener)
    app.approver.requested.connect(lambda pending: pending.settle("once"))
    app.start()
    url = site.url("links.html")
    with until_finished(qtbot, app) as finished:
        app.palette.goal_submitted.emit(f"Open {url} and note where it links.", "")
    end = finished.args[0]
    assert end.outcome == "success", end
    out = tmp_path / "saved.task.yaml"
    with Journal(settings.journal_path) as journal:
        saved = save_run(journal, end.run_id, out)
    text = out.read_text()
    assert saved.steps == 3, text
    assert "browser.open" in text and "links.html" in text
    assert text.index("browser.open") < text.index("browser.hover") < text.index("files.write")
