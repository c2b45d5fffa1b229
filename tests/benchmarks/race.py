"""Benchmark: the folder-swap race against the real file tool.

    .venv/bin/python tests/benchmarks/race.py [--seconds 5]

A second process (tests/swapper.py) exchanges ``ws/d`` (a real folder) and ``ws/swap`` (a
symlink to a folder outside the workspace) with ``renameat2(RENAME_EXCHANGE)`` in a tight
loop while this process runs one file action on a path under ``ws/d``; then the swapper
stops (the names back as they were), the try is judged and the scene is reset. Each
action is tried for ``--seconds``: read, write, append, copy out of d, copy into d, move,
delete, make_folder, and undo of a delete and of a move (the change made unswapped, the
undo raced).

An escape is any change in the outside folder, the outside secret brought inside, or a
result that shows it. Prints one line per action (tries, how many the tool refused,
escapes), then, machine-readable, ``escapes=N tries=N``. The trash is a private one
under the benchmark's temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SECRET = "TOPSECRET-benchmark"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/swapper.py

import send2trash  # noqa: E402
from send2trash import plat_other  # noqa: E402
from swapper import Swapper  # noqa: E402

from tools.base import ToolFailure  # noqa: E402
from tools.files import FileTool  # noqa: E402
from tools.paths import Workspace  # noqa: E402
from tools.undo import undo_change  # noqa: E402

Attempt = Callable[[], Any]


class Scene:
    def __init__(self, base: Path) -> None:
        self.ws, self.outside = base / "ws", base / "outside"
        (self.ws / "d").mkdir(parents=True)
        self.outside.mkdir()
        (self.ws / "swap").symlink_to(self.outside, target_is_directory=True)
        self.tool = FileTool(Workspace((self.ws,)), base / "undo")
        self.specs = {s.name: s for s in self.tool.specs()}
        self.reset()
        self.baseline = self.outside_state()

    def reset(self) -> None:
        """Put the scene back (the swapper is stopped: d is the real folder)."""
        for name in ("copied.txt", "moved.txt", "g.txt"):
            (self.ws / name).unlink(missing_ok=True)
        shutil.rmtree(self.ws / "d")
        (self.ws / "d").mkdir()
        (self.ws / "d" / "f.txt").write_text("inside")
        (self.ws / "d" / "g.txt").write_text("inside g")
        (self.ws / "inside.txt").write_text("plain")
        shutil.rmtree(self.outside)
        self.outside.mkdir()
        (self.outside / "f.txt").write_text(SECRET)

    def outside_state(self) -> dict[str, bytes | None]:
        return {
            p.relative_to(self.outside).as_posix(): None if p.is_dir() else p.read_bytes()
            for p in sorted(self.outside.rglob("*"))
        }

    def escaped(self, outcome: Any) -> bool:
        if self.outside_state() != self.baseline:
            return True
        inside = (p for p in self.ws.rglob("*") if p.is_file() and not p.is_symlink())
        if any(SECRET in p.read_text(errors="replace") for p in inside):
            return True
        return SECRET in str(getattr(outcome, "output", ""))

    def act(self, name: str, **args: str) -> Attempt:
        spec = self.specs[name]
        parsed = spec.args(**args)
        return lambda: spec.run(parsed)

    def undo_of(self, name: str, **args: str) -> Attempt:
        """Make the change now (unswapped); the attempt is undoing it."""
        result = self.act(name, **args)()
        return lambda: [undo_change(c) for c in reversed(result.undo)]


ACTIONS: dict[str, Callable[[Scene], Attempt]] = {
    "read": lambda s: s.act("files.read", path="d/f.txt"),
    "write": lambda s: s.act("files.write", path="d/f.txt", content="pwned"),
    "append": lambda s: s.act("files.append", path="d/f.txt", content="pwned"),
    "copy_out": lambda s: s.act("files.copy", source="d/f.txt", destination="copied.txt"),
    "copy_in": lambda s: s.act("files.copy", source="inside.txt", destination="d/c.txt"),
    "move": lambda s: s.act("files.move", source="d/f.txt", destination="moved.txt"),
    "delete": lambda s: s.act("files.delete", path="d/f.txt"),
    "make_folder": lambda s: s.act("files.make_folder", path="d/newdir"),
    "undo_delete": lambda s: s.undo_of("files.delete", path="d/g.txt"),
    "undo_move": lambda s: s.undo_of("files.move", source="d/g.txt", destination="g.txt"),
}


def race(
    scene: Scene, swapper: Swapper, make: Callable[[Scene], Attempt], seconds: float
) -> tuple[int, int, int]:
    tries = refused = escapes = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        attempt = make(scene)
        outcome: Any = None
        with swapper.running():
            try:
                outcome = attempt()
            except ToolFailure as failure:
                outcome = failure
        tries += 1
        refused += isinstance(outcome, ToolFailure)
        escapes += scene.escaped(outcome)
        scene.reset()
    return tries, refused, escapes


def private_trash(base: Path) -> None:
    """The freedesktop trash under `base`, as the tests set it up (send2trash reads its
    folders once, at import; the home folder decides which trash a file goes to)."""
    data_home = base / "xdg-data"
    os.environ["HOME"] = str(base)
    plat_other.XDG_DATA_HOME = os.fsencode(data_home)
    plat_other.HOMETRASH_B = os.fsencode(data_home / "Trash")
    plat_other.HOMETRASH = str(data_home / "Trash")
    send2trash.send2trash = plat_other.send2trash  # never gio's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per action")
    parser.add_argument("--only", nargs="*", choices=sorted(ACTIONS), help="these actions")
    opts = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="deskhand-race-")).resolve()
    private_trash(base)
    scene = Scene(base)
    swapper = Swapper(scene.ws / "d", scene.ws / "swap")
    total_tries = total_escapes = 0
    try:
        for name in opts.only or ACTIONS:
            tries, refused, escapes = race(scene, swapper, ACTIONS[name], opts.seconds)
            print(f"{name:12} tries={tries:6} refused={refused:6} escapes={escapes}")
            total_tries += tries
            total_escapes += escapes
        print(f"swaps={swapper.swaps}")
    finally:
        swapper.close()
        shutil.rmtree(base, ignore_errors=True)
    print(f"escapes={total_escapes} tries={total_tries}")


if __name__ == "__main__":
    main()
