"""When the tray app learns by itself (app/learn_idle.py): idle for long enough, never on
battery, never during a run; asked, always. The probes are fakes at the injected seam."""

from __future__ import annotations

from app.learn_idle import IdleWatch, may_learn


def watch(cpu: list[float], battery: bool | None, clock: list[float]) -> IdleWatch:
    return IdleWatch(lambda: cpu[0], lambda: battery, lambda: clock[0], need_seconds=600)


def test_the_decision() -> None:
    kw = {"busy": False, "idle_seconds": 900.0, "on_battery": False, "need": 600.0}
    assert may_learn(asked=False, **kw)[0]
    assert may_learn(asked=False, **{**kw, "on_battery": None})[0]  # no battery: mains
    assert may_learn(asked=False, **{**kw, "on_battery": True}) == (False, "on battery")
    assert may_learn(asked=False, **{**kw, "busy": True}) == (False, "a run is in progress")
    assert may_learn(asked=False, **{**kw, "idle_seconds": 120.0}) == (
        False,
        "idle 2 of 10 minutes",
    )
    assert may_learn(asked=True, **{**kw, "on_battery": True, "busy": True}) == (True, "asked")


def test_idle_time_counts_from_the_first_quiet_sample_and_load_restarts_it() -> None:
    cpu, clock = [5.0], [0.0]
    w = watch(cpu, False, clock)
    w.sample(busy=False)
    clock[0] = 300.0
    w.sample(busy=False)
    assert w.idle_seconds() == 300.0 and not w.may_learn()[0]
    clock[0], cpu[0] = 400.0, 90.0  # something heavy ran
    w.sample(busy=False)
    assert w.idle_seconds() == 0.0
    cpu[0] = 5.0
    for t in (500.0, 1100.0):
        clock[0] = t
        w.sample(busy=False)
    assert w.may_learn() == (True, "idle 10 minutes, on mains power")
    w.sample(busy=True)  # a run started
    assert w.may_learn() == (False, "a run is in progress")


def test_on_battery_it_waits_unless_asked() -> None:
    cpu, clock = [0.0], [0.0]
    w = watch(cpu, True, clock)
    for t in (0.0, 3600.0):
        clock[0] = t
        w.sample(busy=False)
    assert w.may_learn() == (False, "on battery")
    assert w.may_learn(asked=True) == (True, "asked")
