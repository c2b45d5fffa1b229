"""The tray's "Learn from my runs" (app/qt/learn_action.py): picking it learns on a thread
of its own, its menu item shows the training's progress and is disabled meanwhile, and
when the verdict comes the item is offered again, the notification saying why an old
adapter was kept (worse on a family, or no better). The learning function is injected (the
real pipeline is tested in tests/integration/test_learn_personal.py); the app's own menu
carries the item and its idle check never starts learning on battery."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from agent.learn_gate import Verdict
from agent.settings import Settings
from app.learn_idle import IdleWatch


def test_the_tray_action_learns_with_progress_and_ends(qtbot: Any, settings: Settings) -> None:
    from app.qt.learn_action import LearnAction, connect_tray
    from app.qt.tray import LEARN_TEXT, Tray

    release = threading.Event()
    seen: list[str] = []

    def learn(s: Settings, *, on_step: Any, note: Any) -> Verdict:
        assert threading.current_thread() is not threading.main_thread()
        note("14 training example(s) from your runs")
        on_step(1, 2, 0.9)
        release.wait(30)  # the test looks at the menu mid-way
        on_step(2, 2, 0.5)
        return Verdict(True, "better on files", "personal-v1.gguf", {"files": 1.0}, {"files": 0.5})

    tray = Tray()
    action = LearnAction(settings, learn=learn)
    connect_tray(tray, action)
    action.signals.progress.connect(seen.append)
    with qtbot.waitSignal(action.signals.step, timeout=10_000):
        tray.learn_action.trigger()
    assert tray.learn_action.text() == "Learning: step 1 of 2"
    assert not tray.learn_action.isEnabled()
    assert not action.start()  # one learning at a time
    with qtbot.waitSignal(action.signals.finished, timeout=10_000) as done:
        release.set()
    assert done.args == ["personal-v1.gguf: files=1.00; now the default", True]
    assert tray.learn_action.text() == LEARN_TEXT and tray.learn_action.isEnabled()
    assert seen[0] == "14 training example(s) from your runs"
    assert "train step 2/2, loss 0.500" in seen
    action.join(5)
    tray.close()


def test_the_verdict_says_why_the_old_adapter_was_kept() -> None:
    from app.qt.learn_action import verdict_text

    base = {"files": 0.5, "browser": 0.5}
    worse = Verdict(
        False,
        "worse on files 0.25 < 0.50",
        "personal-v2.gguf",
        {"files": 0.25, "browser": 1.0},
        base,
        ("files",),
    )
    same = Verdict(False, "no better on any family", "personal-v3.gguf", base, base)
    assert verdict_text(worse) == (
        "personal-v2.gguf: browser=1.00 files=0.25; kept the old adapter: worse on files"
    )
    assert verdict_text(same) == (
        "personal-v3.gguf: browser=0.50 files=0.50; kept the old adapter: no better"
    )
    both = Verdict(False, "worse on ...", "p-v4.gguf", {}, base, ("browser", "files"))
    assert verdict_text(both).endswith("; kept the old adapter: worse on browser, files")


def test_a_failed_learning_is_shown_and_the_item_offered_again(
    qtbot: Any, settings: Settings
) -> None:
    from app.learn_personal import LearnError
    from app.qt.learn_action import LearnAction, connect_tray
    from app.qt.tray import LEARN_TEXT, Tray

    def learn(s: Settings, **_: Any) -> Verdict:
        raise LearnError("no run of yours may teach yet")

    tray = Tray()
    action = LearnAction(settings, learn=learn)
    connect_tray(tray, action)
    with qtbot.waitSignal(action.signals.failed, timeout=10_000) as failed:
        tray.learn_action.trigger()
    assert failed.args == ["no run of yours may teach yet"]
    assert tray.learn_action.text() == LEARN_TEXT
    action.join(5)
    tray.close()


def test_the_app_offers_it_and_never_learns_by_itself_on_battery(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    app = make_app(use_tray=True)
    assert "Learn from my runs" in [a.text() for a in app.tray.menu.actions()]
    now = [0.0]
    app.idle = IdleWatch(lambda: 1.0, lambda: True, lambda: now[0], need_seconds=60)
    for t in (0.0, 120.0):
        now[0] = t
        app._idle_tick()
    assert not app.learner.running and app.idle.may_learn() == (False, "on battery")
