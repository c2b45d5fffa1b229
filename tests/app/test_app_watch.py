"""The tray app's watched inbox: real task files moved into a temporary folder are run by
`agent.inbox` inside the app, filed, and shown in the recent runs; the tray's
Pause/resume watching stops and restarts it, and says which it is doing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agent.settings import Settings

WAIT_MS = 60_000


def task_text(n: int) -> str:
    return (
        f"name: inbox task {n}\n"
        f'permissions: ["fs.write:out-{n}"]\n'
        "steps:\n"
        f"  - tool: files.make_folder\n    args: {{path: out-{n}}}\n"
        f"checks:\n  - {{kind: file_exists, path: out-{n}}}\n"
    )


def drop(folder: Path, staging: Path, n: int) -> str:
    name = f"t{n}.task.yaml"
    (staging / name).write_text(task_text(n))
    os.rename(staging / name, folder / name)  # moved in whole, as producers should
    return name


def filed(name: str) -> Any:
    return lambda notice: notice.kind == "filed" and notice.name == name


def test_the_tray_runs_the_watched_inbox_and_pauses_and_resumes_it(
    qtbot: Any, make_app: Any, settings: Settings, tmp_path: Path
) -> None:
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    app = make_app(settings=settings.model_copy(update={"watch_folder": inbox}), use_tray=True)
    tray, watcher = app.tray, app.watcher
    assert not tray.watch_action.isEnabled()  # nothing is watched before the first paint
    with qtbot.waitSignal(
        watcher.state_changed, timeout=WAIT_MS, check_params_cb=lambda s, d: s == "watching"
    ):
        app.start()
    assert tray.watch_action.text() == "Pause watching inbox" and tray.watch_action.isEnabled()
    assert list((inbox / ".deskhand-watch").glob("*.json"))  # a live watcher's state

    name = drop(inbox, staging, 1)
    with qtbot.waitSignal(watcher.notice, timeout=WAIT_MS, check_params_cb=filed(name)) as got:
        pass
    assert got.args[0].outcome == "success", got.args[0]
    assert (inbox / "done" / name).is_file() and (inbox / "done" / "t1.result.json").is_file()
    assert (settings.default_workspace / "out-1").is_dir()
    qtbot.waitUntil(lambda: any("inbox task 1" in a.text() for a in tray.recent_menu.actions()))

    with qtbot.waitSignal(
        watcher.state_changed, timeout=WAIT_MS, check_params_cb=lambda s, d: s == "paused"
    ):
        tray.watch_action.trigger()
    assert tray.watch_action.text() == "Resume watching inbox (paused)"
    assert not list((inbox / ".deskhand-watch").glob("*.json"))  # the watcher is gone
    name = drop(inbox, staging, 2)
    assert (inbox / name).is_file()

    with qtbot.waitSignal(watcher.notice, timeout=WAIT_MS, check_params_cb=filed(name)):
        tray.watch_action.trigger()
    assert watcher.state == "watching"
    assert (inbox / "done" / name).is_file() and (settings.default_workspace / "out-2").is_dir()


def test_no_watch_folder_means_nothing_is_watched(qtbot: Any, make_app: Any) -> None:
    app = make_app(use_tray=True)
    app.start()
    assert app.watcher.state == "off"
    assert (
        not app.tray.watch_action.isEnabled() and "no watch folder" in app.tray.watch_action.text()
    )


def test_setting_a_watch_folder_in_settings_starts_watching_it(
    qtbot: Any, make_app: Any, settings: Settings, tmp_path: Path
) -> None:
    app = make_app(use_tray=True)
    app.start()
    with qtbot.waitSignal(
        app.watcher.state_changed, timeout=WAIT_MS, check_params_cb=lambda s, d: s == "watching"
    ):
        app.apply_settings(settings.model_copy(update={"watch_folder": tmp_path}))
    assert app.tray.watch_action.text() == f"Pause watching {tmp_path.name}"
    assert (tmp_path / "done").is_dir() and (tmp_path / "processing").is_dir()
    with qtbot.waitSignal(
        app.watcher.state_changed, timeout=WAIT_MS, check_params_cb=lambda s, d: s == "off"
    ):
        app.apply_settings(settings)
    assert not app.tray.watch_action.isEnabled()
