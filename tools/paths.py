"""Workspace containment: the one place that turns a path from the model into a real path.

Every file action resolves its paths here, in `effect()` (so the permission policy judges
the real target) and again in `run()` (so nothing changed in between slips through).

Invariants:
- `Workspace.resolve` returns an absolute path with every symlink followed (for a path
  that does not exist yet: its existing ancestors resolved, the rest appended), and that
  path lies inside one of the roots. Anything else raises `ToolFailure`:
  ``outside_workspace`` (``..`` escapes, absolute paths elsewhere, symlinks anywhere in
  the chain that point out), ``invalid`` (empty, NUL bytes, ``~``, symlink loops) or
  ``changed`` (a link on the path was swapped while it was being resolved).
- The roots themselves are stored resolved, so a root reached through a symlink
  (``/tmp`` on macOS) still contains its own files.
- `Workspace.resolve` is a check, not a handle: by the time a caller uses the path, a
  folder on it may have been swapped for a link. Callers act through `tools.safe_fs`,
  which walks the resolved path again without following links, from `root_of(path)`.
- `Workspace.display` is the inverse the model sees: ``resolve(display(p)) == p`` for
  every resolved path ``p``. Paths under the first root are shown relative to it;
  paths under another root are shown absolute, because a relative path always means
  the first root.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from tools.base import ToolFailure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Workspace:
    """The folders the agent may touch. ``roots[0]`` is where relative paths start."""

    roots: tuple[Path, ...]

    def __post_init__(self) -> None:
        roots = tuple(Path(r) for r in self.roots)
        if not roots:
            raise ValueError("a workspace needs at least one root")
        for root in roots:
            if not root.is_absolute():
                raise ValueError(f"workspace root must be absolute: {root}")
        object.__setattr__(self, "roots", tuple(Path(os.path.realpath(r)) for r in roots))

    def resolve(self, user_path: str, *, must_exist: bool = False) -> Path:
        """The real path `user_path` names, or `ToolFailure` if it is not inside a root."""
        _check_text(user_path)
        candidate = Path(user_path)
        if not candidate.is_absolute():
            candidate = self.roots[0] / candidate
        # realpath(strict=False) follows every symlink that exists and appends the rest,
        # applying ".." after the link it follows, as the OS would.
        try:
            resolved = Path(os.path.realpath(candidate))
        except OSError as exc:  # a link swapped while realpath read it (EINVAL, ENOENT)
            raise ToolFailure(
                "changed", f"{user_path} changed while it was being checked; nothing was done"
            ) from exc
        if not self.contains(resolved):
            roots = ", ".join(str(r) for r in self.roots)
            raise ToolFailure(
                "outside_workspace", f"{user_path} is outside the workspace ({roots})"
            )
        exists = _exists(resolved, user_path)
        if must_exist and not exists:
            raise ToolFailure("not_found", f"{self.display(resolved)} does not exist")
        return resolved

    def contains(self, path: Path) -> bool:
        """Whether a resolved absolute path is one of the roots or lies under one."""
        return any(path.is_relative_to(root) for root in self.roots)

    def root_of(self, path: Path) -> Path:
        """The root a resolved path lies under (the first, where roots nest)."""
        root = next((r for r in self.roots if path.is_relative_to(r)), None)
        if root is None:
            raise ToolFailure("outside_workspace", f"{path} is outside the workspace")
        return root

    def is_root(self, path: Path) -> bool:
        """Whether a resolved path is a workspace root (never deleted or moved)."""
        return path in self.roots

    def display(self, path: Path) -> str:
        """How the model sees a resolved path: relative to the first root where possible."""
        primary = self.roots[0]
        if not path.is_relative_to(primary):
            return str(path)
        rel = path.relative_to(primary).as_posix()
        # A leading "~" would read as the home folder (and `resolve` refuses it).
        return "./" + rel if rel.startswith("~") else rel


def _check_text(user_path: str) -> None:
    if not user_path.strip():
        raise ToolFailure("invalid", "the path is empty")
    if "\x00" in user_path:
        raise ToolFailure("invalid", "the path contains a NUL character")
    if user_path == "~" or user_path.startswith(("~/", "~\\")):
        raise ToolFailure(
            "invalid", f"{user_path}: '~' is not expanded; use a path relative to the workspace"
        )


def _exists(resolved: Path, user_path: str) -> bool:
    """Whether the resolved path exists; a symlink loop (which realpath leaves in place
    without raising) is refused rather than handed to the caller."""
    try:
        os.stat(resolved)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ToolFailure("invalid", f"{user_path} is a symlink loop") from exc
        return False
    return True
