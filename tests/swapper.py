"""A second process that swaps a real folder and a symlink atomically, as an attacker would
(``renameat2(RENAME_EXCHANGE)`` through ctypes): for the file-race attack tests
(tests/security/test_file_swap_race.py) and the race benchmark (tests/benchmarks/race.py).

Two ways to drive it, neither sleeps:
- `Swapper.once()`: the process makes exactly one exchange and answers on a pipe, so a test
  can put the swap precisely between a check and a use;
- `Swapper.running()`: the process exchanges in a tight loop until told to stop, and
  always leaves the two names as they were (an even number of exchanges).
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

AT_FDCWD = -100
RENAME_EXCHANGE = 2
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276}


def exchange(a: Path, b: Path) -> None:
    """Swap the entries `a` and `b` in one atomic step (Linux 3.15+)."""
    libc = ctypes.CDLL(None, use_errno=True)
    args = (AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    fn = getattr(libc, "renameat2", None)
    if fn is not None:
        rc = fn(*args)
    else:  # glibc before 2.28: the raw system call
        rc = libc.syscall(_SYS_RENAMEAT2[platform.machine()], *args)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(a))


def _serve(conn: Connection, a: str, b: str) -> None:
    """One exchange per b'swap' request, answered with the count so far; b'run' loops
    until b'stop' arrives (checked between exchanges) and answers the count."""
    swaps = 0
    while (request := conn.recv_bytes()) != b"quit":
        if request == b"swap":
            exchange(Path(a), Path(b))
            swaps += 1
        elif request == b"run":
            conn.send_bytes(b"running")
            while not conn.poll():
                exchange(Path(a), Path(b))
                swaps += 1
            conn.recv_bytes()  # b"stop"
            if swaps % 2:
                exchange(Path(a), Path(b))
                swaps += 1
        conn.send_bytes(str(swaps).encode())


class Swapper:
    """A child process swapping `folder` (a real folder) and `link` (a symlink)."""

    def __init__(self, folder: Path, link: Path) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, str(folder), str(link)), daemon=True)
        self._proc.start()
        child.close()
        self.swaps = 0

    def once(self) -> None:
        """Exchange the two names once; returns when the exchange is done."""
        self._conn.send_bytes(b"swap")
        self.swaps = int(self._conn.recv_bytes())

    @contextmanager
    def running(self) -> Iterator[None]:
        """Exchange continuously while the block runs; the names end as they began."""
        self._conn.send_bytes(b"run")
        assert self._conn.recv_bytes() == b"running"
        try:
            yield
        finally:
            self._conn.send_bytes(b"stop")
            self.swaps = int(self._conn.recv_bytes())

    def close(self) -> None:
        self._conn.send_bytes(b"quit")
        self._proc.join(timeout=30)
        self._conn.close()
