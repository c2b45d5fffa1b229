"""Which process owns a record, in a way that survives pid reuse.

A run row (and an inbox claim) records the pid of the process that owns it, so that a
later process can tell a live owner from a dead one. A pid alone is not enough: after a
reboot, or on a busy machine, the number comes back for an unrelated process and the dead
owner's work would look alive for as long as that stranger lives. So an owner is the pair
(pid, the process's start time); it is alive only if a process with that pid exists AND
started at that time.

Start times come from psutil (seconds since the epoch, the same on every platform). They
are compared with a tolerance because some platforms derive them from clock ticks since
boot, which can round differently between two reads.
"""

from __future__ import annotations

import os

import psutil

#: Two reads of one process's start time agree within this many seconds.
START_TOLERANCE_S = 1.0


def started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), or None when there is no such process."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:  # exists, but another user's: its start time is hidden
        return -1.0


def me() -> tuple[int, float]:
    """This process as an owner: (pid, start time)."""
    pid = os.getpid()
    return pid, started_at(pid) or 0.0


def owner_alive(pid: object, started: object = None) -> bool:
    """Whether the owner recorded as (`pid`, `started`) still runs.

    `started` None (records written before start times were kept) falls back to the pid
    alone. A pid that is not a positive int names no owner (0 or -1 would name a process
    group to os.kill), so it is dead.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    now = started_at(pid)
    if now is None:
        return False
    if not isinstance(started, (int, float)) or now < 0:
        return True
    return abs(now - float(started)) <= START_TOLERANCE_S
