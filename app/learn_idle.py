"""When the tray app may learn on its own: the machine idle (no run in progress, the CPU
mostly idle for some minutes) and never on battery. Asked by the user (the menu action)
it runs now, whatever the load or the power source.

The probes (CPU load, battery) are injected, so the decision is tested with fakes at
that seam; `psutil_probes` gives the real ones.

    watch = IdleWatch(cpu_percent, on_battery, clock)
    watch.sample(busy=worker_busy)          # once a minute (a QTimer in app/qt/app.py)
    ok, why = watch.may_learn(asked=False)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

#: CPU use (percent of all cores) under which the machine counts as idle.
IDLE_CPU_PERCENT = 20.0
#: How long the machine must have been idle before learning starts by itself.
IDLE_MINUTES = 10.0


def may_learn(
    *, asked: bool, busy: bool, idle_seconds: float, on_battery: bool | None, need: float
) -> tuple[bool, str]:
    """Whether to learn now, and why (or why not)."""
    if asked:
        return True, "asked"
    if on_battery:
        return False, "on battery"
    if busy:
        return False, "a run is in progress"
    if idle_seconds < need:
        return False, f"idle {idle_seconds / 60:.0f} of {need / 60:.0f} minutes"
    return True, f"idle {idle_seconds / 60:.0f} minutes, on mains power"


def psutil_probes() -> tuple[Callable[[], float], Callable[[], bool | None]]:
    """The real probes: CPU use since the last call; on battery (None: no battery)."""

    def cpu() -> float:
        return float(psutil.cpu_percent(interval=None))

    def battery() -> bool | None:
        sensor = psutil.sensors_battery() if hasattr(psutil, "sensors_battery") else None
        return None if sensor is None else not sensor.power_plugged

    return cpu, battery


@dataclass(slots=True)
class IdleWatch:
    """Tracks since when the machine has been idle, from samples taken now and then."""

    cpu_percent: Callable[[], float]
    on_battery: Callable[[], bool | None]
    clock: Callable[[], float] = time.monotonic
    threshold: float = IDLE_CPU_PERCENT
    need_seconds: float = IDLE_MINUTES * 60
    _idle_since: float | None = None
    _busy: bool = False

    def sample(self, *, busy: bool) -> None:
        """Take one sample: a busy worker or a loaded CPU restarts the idle time."""
        now = self.clock()
        self._busy = busy
        if busy or self.cpu_percent() >= self.threshold:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now

    def idle_seconds(self) -> float:
        return 0.0 if self._idle_since is None else self.clock() - self._idle_since

    def may_learn(self, *, asked: bool = False) -> tuple[bool, str]:
        return may_learn(
            asked=asked,
            busy=self._busy,
            idle_seconds=self.idle_seconds(),
            on_battery=self.on_battery(),
            need=self.need_seconds,
        )
