"""How many threads llama.cpp may use right now: one per core that nobody else is using.

Why: llama.cpp splits every matrix product across its threads, and the threads wait for
each other at a barrier after each one. With as many threads as cores and one core taken
by another busy process, every barrier waits for the scheduler to hand that core back,
and a model step slows down 20–240× (measured on 2 cores: 36 tokens took 18.7–220 s with
2 threads, 0.87–0.91 s with 1). A desktop agent always shares the machine, so the thread
count follows the load instead of the core count.

`ThreadBudget` measures, over the time since its last reading, how much CPU the rest of
the machine used (all processes but this one, whose own use includes llama.cpp's
threads spinning at barriers), and answers "cores we may use minus cores others are
busy on", rounded down unless a core is at least `FREE_SHARE` free, never below 1.

Invariants:
- Only the readings taken through the injected `Clock` are used, so tests drive it with
  made-up numbers; the real clock reads psutil (all platforms psutil supports).
- A reading spans at least `MIN_WINDOW_S`; asked sooner, the budget answers its last
  answer, so calling it between tokens costs nothing.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

#: A core counts as free when others leave at least this share of it.
FREE_SHARE = 0.75
#: The shortest window a reading is taken over (shorter ones are noise).
MIN_WINDOW_S = 0.25


@dataclass(frozen=True, slots=True)
class Reading:
    """CPU seconds spent so far, machine-wide (busy, all cores) and by this process."""

    wall: float
    machine_busy: float
    own: float


Clock = Callable[[], Reading]


def psutil_reading() -> Reading:
    """Busy time of the cores this process may use (not the whole host's), and its own."""
    per_cpu = psutil.cpu_times(percpu=True)
    mine = _affinity() or set(range(len(per_cpu)))
    busy = 0.0
    for i, t in enumerate(per_cpu):
        if i in mine:
            busy += t.user + t.system + getattr(t, "nice", 0.0)
            busy += getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    own = psutil.Process().cpu_times()
    return Reading(time.monotonic(), busy, own.user + own.system)


def _affinity() -> set[int]:
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    return max(1, len(_affinity()) or os.cpu_count() or 1)


class ThreadBudget:
    """Answers how many threads to use, from the machine's load since the last answer."""

    def __init__(
        self,
        cores: int | None = None,
        *,
        clock: Clock = psutil_reading,
        wall: Callable[[], float] = time.monotonic,
        limit: int | None = None,
    ) -> None:
        self.cores = cores or usable_cores()
        self._limit = min(limit or self.cores, self.cores)
        self._clock = clock
        self._wall = wall
        self._last = clock()
        self._answer = self._limit
        #: Cores the rest of the machine kept busy over the last window (for logs and tests).
        self.others_busy = 0.0

    def threads(self) -> int:
        if self._wall() - self._last.wall < MIN_WINDOW_S:
            return self._answer  # cheap: no reading between tokens
        now = self._clock()
        window = now.wall - self._last.wall
        others = (now.machine_busy - self._last.machine_busy) - (now.own - self._last.own)
        self.others_busy = max(0.0, others / window)
        self._last = now
        free = self.cores - self.others_busy
        self._answer = max(1, min(self._limit, math.floor(free + (1.0 - FREE_SHARE))))
        return self._answer
