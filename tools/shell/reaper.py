"""Run one command so that nothing it starts outlives it (Linux), as a small parent process.

The shell tool starts ``python -I -S reaper.py PROGRAM ARGS...`` in a new session. This
process makes itself a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``), so every
process the command starts stays its descendant, even one that calls ``setsid()`` or
double-forks to become a daemon: when its parent exits it is re-parented here, not to
init. When the command exits, or this process gets SIGTERM (the tool's timeout or stop),
every descendant is killed with SIGKILL and reaped, repeating until none is left (a
process forking while we kill is caught on the next pass); then this process exits with
the command's status (killed by a signal: by the same signal).

What it cannot catch: processes started by some other parent on the command's behalf (a
systemd user service, ``at``, D-Bus activation, an already-running browser or daemon, ssh
to this machine), and processes of another user (set-uid programs such as sudo).

It imports only the standard library and nothing of deskhand: it runs with ``-I -S``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave a blocking wait."""


def _on_signal(signum: int, frame: object) -> None:
    raise _Stop


def descendants(me: int) -> list[int]:
    """Every process below `me`, from /proc (parents before children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [me]
    while todo:
        kids = children.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found


def kill_all(me: int) -> None:
    """SIGKILL every descendant and reap them, until none is left."""
    while True:
        found = descendants(me)
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)  # a killed child (or orphan) dies: rescan after each
        except ChildProcessError:
            pass  # only grandchildren still dying under a dead parent: rescan


_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128)


def main(argv: list[str]) -> None:
    me = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        os.write(2, b"deskhand: cannot become a subreaper; children may outlive the command\n")
    for sig in _SIGNALS:
        signal.signal(sig, _on_signal)
    try:
        # Blocked across fork, so the child never runs our handler before its exec.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        child = os.fork()
        if child == 0:
            _exec(argv)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        status = 0
        while True:
            pid, status = os.waitpid(-1, 0)  # orphans that exit are reaped here too
            if pid == child:
                break
    except _Stop:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        kill_all(me)
        os._exit(128 + signal.SIGKILL)
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    kill_all(me)
    _exit_like(status)


def _exec(argv: list[str]) -> None:
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    try:
        os.execv(argv[0], argv)
    except OSError as exc:
        os.write(2, f"deskhand: cannot run {argv[0]}: {exc.strerror}\n".encode())
    os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
