"""The file tool: list, read, write, append, make_folder, move, copy, delete, search.

Invariants:
- Every path goes through `Workspace.resolve`, in `effect()` and again in `run()`, so no
  action reads or changes anything outside the workspace. Folder walks (search, copy,
  delete, digests) never follow symlinks: a link is copied, trashed or hashed as a link.
- Every change returns `undo` records (JSON-serialisable dicts with an ``op`` key) holding
  what `tools.undo.undo_change` needs to reverse it. Backups are written before the change is made.
- Deletion goes to the OS trash (send2trash), after a backup copy into `undo_dir`.
- OSError is mapped to `ToolFailure` in one place (`_os_errors`). Kinds: not_found,
  exists, not_a_file, not_a_folder, outside_workspace, too_large, invalid, no_permission,
  os_error; undo adds undo_conflict and undo_unavailable.

Change records (paths absolute; the ``sha256`` of a folder is a digest of its tree)::

    {"op": "create_file", "path", "sha256"}             undo: trash it if unchanged
    {"op": "modify_file", "path", "sha256", "backup", "backup_sha256"}
                                                        undo: put the backup back if unchanged
    {"op": "make_folder", "path"}                       undo: remove it if still empty
    {"op": "move", "source", "destination"}             undo: move it back
    {"op": "copy", "path", "sha256"}                    undo: trash the copy if unchanged
    {"op": "delete", "path", "kind", "backup", "sha256", "note"}
                                                        undo: restore from the backup
                                                        (backup, sha256 None when skipped)

Undo (tools/undo.py) is idempotent where it can tell: a change whose reversal is in place
already (the created file is gone, the moved file is back) is reported, not refused.
"""

from __future__ import annotations

import codecs
import errno
import fnmatch
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field

from tools.base import Effect, ToolArgs, ToolFailure, ToolResult, ToolSpec, make_spec
from tools.fsops import copy_entry, digest, is_plain_file, make_folders, trash, tree_size, walk
from tools.paths import Workspace

log = logging.getLogger(__name__)

A = TypeVar("A", bound=ToolArgs)
Change = dict[str, Any]

BACKUP_LIMIT_BYTES = 100_000_000
LIST_LIMIT = 60
SEARCH_LIMIT = 40
SEARCH_FILE_LIMIT_BYTES = 2_000_000
SLOW_TIMEOUT_S = 120.0
_ERRNO_KINDS = {
    errno.ENOENT: "not_found",
    errno.EEXIST: "exists",
    errno.ENOTEMPTY: "exists",
    errno.ENOTDIR: "not_a_folder",
    errno.EISDIR: "not_a_file",
    errno.ELOOP: "invalid",
    errno.ENAMETOOLONG: "invalid",
    errno.EACCES: "no_permission",
    errno.EPERM: "no_permission",
}
_PATH = "path relative to the workspace"


class ListArgs(ToolArgs):
    path: str = Field(default=".", min_length=1, description="folder to list; '.' is the workspace")


class ReadArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)


class WriteArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)
    content: str = Field(description="the whole new text of the file")


class AppendArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)
    content: str = Field(min_length=1, description="text to add at the end")


class FolderArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)


class TransferArgs(ToolArgs):
    source: str = Field(min_length=1, description=_PATH)
    destination: str = Field(
        min_length=1, description="new path, or an existing folder to put it in"
    )


class DeleteArgs(ToolArgs):
    path: str = Field(min_length=1, description=_PATH)


class SearchNamesArgs(ToolArgs):
    pattern: str = Field(min_length=1, description="part of the name, or a pattern like *.txt")
    path: str = Field(
        default=".", min_length=1, description="folder to search; '.' is the workspace"
    )


class SearchTextArgs(ToolArgs):
    text: str = Field(min_length=1, description="text to find (case does not matter)")
    path: str = Field(default=".", min_length=1, description="folder or file to search")


class FileTool:
    """File actions confined to one `Workspace`, with backups for undo in `undo_dir`."""

    def __init__(
        self, workspace: Workspace, undo_dir: Path, *, max_read_bytes: int = 16_000
    ) -> None:
        self._ws = workspace
        self._undo_dir = undo_dir
        self._max_read = max_read_bytes

    def specs(self) -> list[ToolSpec[Any]]:
        s = self._spec
        return [
            s("files.list", "List the files and folders in a folder.", ListArgs,
              self._effect_list, self._run_list, {"path": "."}),
            s("files.read", "Read a text file.", ReadArgs,
              self._effect_read, self._run_read, {"path": "notes.txt"}),
            s("files.write", "Create a text file or replace its text.", WriteArgs,
              self._effect_write, self._run_write, {"path": "notes.txt", "content": "hello"}),
            s("files.append", "Add text to the end of a file.", AppendArgs,
              self._effect_append, self._run_append, {"path": "notes.txt", "content": "more"}),
            s("files.make_folder", "Create a folder.", FolderArgs,
              self._effect_make_folder, self._run_make_folder, {"path": "reports"}),
            s("files.move", "Move or rename a file or folder.", TransferArgs,
              self._effect_move, self._run_move, {"source": "a.txt", "destination": "old/a.txt"},
              SLOW_TIMEOUT_S),
            s("files.copy", "Copy a file or folder.", TransferArgs,
              self._effect_copy, self._run_copy, {"source": "a.txt", "destination": "b.txt"},
              SLOW_TIMEOUT_S),
            s("files.delete", "Move a file or folder to the trash.", DeleteArgs,
              self._effect_delete, self._run_delete, {"path": "old.txt"}, SLOW_TIMEOUT_S),
            s("files.search_names", "Find files and folders by name.", SearchNamesArgs,
              self._effect_search_names, self._run_search_names,
              {"pattern": "report", "path": "."}),
            s("files.search_text", "Find lines that contain some text in files.", SearchTextArgs,
              self._effect_search_text, self._run_search_text, {"text": "invoice", "path": "."}),
        ]  # fmt: skip

    def listing(self, user_path: str = ".") -> str:
        """A folder's entries, one a line: folders end in '/', files show their size."""
        with self._os_errors():
            folder = self._folder(user_path)
            with os.scandir(folder) as it:
                entries = sorted(
                    it, key=lambda e: (not e.is_dir(follow_symlinks=False), e.name.lower())
                )
            lines = [_entry_line(e) for e in entries[:LIST_LIMIT]]
        if len(entries) > LIST_LIMIT:
            lines.append(f"... and {len(entries) - LIST_LIMIT} more")
        return "\n".join(lines) or "(empty folder)"

    # -- reading ------------------------------------------------------------------------

    def _effect_list(self, args: ListArgs) -> Effect:
        folder = self._folder(args.path)
        return Effect("fs.read", str(folder), f"list folder {self._ws.display(folder)}")

    def _run_list(self, args: ListArgs) -> ToolResult:
        text = self.listing(args.path)
        return ToolResult(ok=True, output=text, data={"path": self._show(args.path)})

    def _effect_read(self, args: ReadArgs) -> Effect:
        path = self._file(args.path)
        size = human_size(path.stat().st_size)
        return Effect("fs.read", str(path), f"read {self._ws.display(path)} ({size})")

    def _run_read(self, args: ReadArgs) -> ToolResult:
        path = self._file(args.path)
        shown = self._ws.display(path)
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = f.read(self._max_read)
        if b"\x00" in data[:8192]:
            raise ToolFailure("invalid", f"{shown} is not a text file ({human_size(size)})")
        cut = len(data) < size
        # final=False drops a character split by the cut instead of showing garbage.
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=not cut)
        if cut:
            text += f"\n[... cut: showed the first {len(data)} of {size} bytes]"
        data_out = {"path": shown, "bytes": size, "cut": cut}
        return ToolResult(ok=True, output=text or "(empty file)", data=data_out)

    def _effect_search_names(self, args: SearchNamesArgs) -> Effect:
        folder = self._folder(args.path)
        summary = f"search names under {self._ws.display(folder)} for '{args.pattern}'"
        return Effect("fs.read", str(folder), summary)

    def _run_search_names(self, args: SearchNamesArgs) -> ToolResult:
        folder = self._folder(args.path)
        matches = _name_matcher(args.pattern)
        found: list[str] = []
        for path in walk(folder):
            if matches(path.name):
                is_dir = path.is_dir() and not path.is_symlink()
                found.append(self._ws.display(path) + ("/" if is_dir else ""))
                if len(found) > SEARCH_LIMIT:
                    break
        return _found(found, f"no names matching '{args.pattern}' under {self._ws.display(folder)}")

    def _effect_search_text(self, args: SearchTextArgs) -> Effect:
        where = self._ws.resolve(args.path, must_exist=True)
        summary = f"search for '{args.text}' in files under {self._ws.display(where)}"
        return Effect("fs.read", str(where), summary)

    def _run_search_text(self, args: SearchTextArgs) -> ToolResult:
        where = self._ws.resolve(args.path, must_exist=True)
        files = [where] if where.is_file() else (p for p in walk(where) if is_plain_file(p))
        needle = args.text.lower()
        found: list[str] = []
        for path in files:
            for number, line in _text_lines(path):
                if needle in line.lower():
                    found.append(f"{self._ws.display(path)}:{number}: {line.strip()[:120]}")
                    if len(found) > SEARCH_LIMIT:
                        return _found(found, "")
        return _found(found, f"no lines containing '{args.text}' under {self._ws.display(where)}")

    # -- writing ------------------------------------------------------------------------

    def _effect_write(self, args: WriteArgs) -> Effect:
        path, old = self._writable(args.path)
        size = len(args.content.encode())
        shown = self._ws.display(path)
        note = "new file" if old is None else f"replaces existing {old}-byte file"
        return Effect("fs.write", str(path), f"write {size} bytes to {shown} ({note})")

    def _run_write(self, args: WriteArgs) -> ToolResult:
        path, _ = self._writable(args.path)
        data = args.content.encode()
        undo = self._put(path, data, "wb")
        out = f"wrote {len(data)} bytes to {self._ws.display(path)}"
        return ToolResult(ok=True, output=out, data={"path": self._ws.display(path)}, undo=undo)

    def _effect_append(self, args: AppendArgs) -> Effect:
        path, old = self._writable(args.path)
        size = len(args.content.encode())
        shown = self._ws.display(path)
        note = "new file" if old is None else f"now {old + size} bytes"
        return Effect("fs.write", str(path), f"append {size} bytes to {shown} ({note})")

    def _run_append(self, args: AppendArgs) -> ToolResult:
        path, old = self._writable(args.path)
        data = args.content.encode()
        undo = self._put(path, data, "ab")
        total = (old or 0) + len(data)
        out = f"appended {len(data)} bytes to {self._ws.display(path)} (now {total} bytes)"
        return ToolResult(ok=True, output=out, data={"path": self._ws.display(path)}, undo=undo)

    def _effect_make_folder(self, args: FolderArgs) -> Effect:
        path = self._new_path(args.path)
        return Effect("fs.write", str(path), f"create folder {self._ws.display(path)}")

    def _run_make_folder(self, args: FolderArgs) -> ToolResult:
        path = self._new_path(args.path)
        undo = make_folders(path)
        out = f"created folder {self._ws.display(path)}"
        return ToolResult(
            ok=True, output=out, data={"path": self._ws.display(path)}, undo=tuple(undo)
        )

    def _effect_move(self, args: TransferArgs) -> Effect:
        source, dest = self._transfer(args, moving=True)
        summary = f"move {self._ws.display(source)} -> {self._ws.display(dest)}"
        return Effect("fs.write", str(dest), summary)

    def _run_move(self, args: TransferArgs) -> ToolResult:
        source, dest = self._transfer(args, moving=True)
        undo = make_folders(dest.parent)
        shutil.move(source, dest)
        undo.append({"op": "move", "source": str(source), "destination": str(dest)})
        out = f"moved {self._ws.display(source)} -> {self._ws.display(dest)}"
        return ToolResult(
            ok=True, output=out, data={"path": self._ws.display(dest)}, undo=tuple(undo)
        )

    def _effect_copy(self, args: TransferArgs) -> Effect:
        source, dest = self._transfer(args, moving=False)
        shown = f"{self._ws.display(source)} -> {self._ws.display(dest)}"
        if source.is_dir():
            return Effect("fs.write", str(dest), f"copy folder {shown} ({_count(source)})")
        return Effect("fs.write", str(dest), f"copy {shown} ({human_size(source.stat().st_size)})")

    def _run_copy(self, args: TransferArgs) -> ToolResult:
        source, dest = self._transfer(args, moving=False)
        undo = make_folders(dest.parent)
        copy_entry(source, dest)
        undo.append({"op": "copy", "path": str(dest), "sha256": digest(dest)})
        out = f"copied {self._ws.display(source)} -> {self._ws.display(dest)}"
        return ToolResult(
            ok=True, output=out, data={"path": self._ws.display(dest)}, undo=tuple(undo)
        )

    def _effect_delete(self, args: DeleteArgs) -> Effect:
        path = self._deletable(args.path)
        shown = self._ws.display(path)
        if path.is_dir():
            return Effect(
                "fs.delete", str(path), f"delete folder {shown} ({_count(path)}) to the trash"
            )
        size = human_size(path.stat().st_size)
        return Effect("fs.delete", str(path), f"delete {shown} ({size}) to the trash")

    def _run_delete(self, args: DeleteArgs) -> ToolResult:
        path = self._deletable(args.path)
        change: Change = {
            "op": "delete",
            "path": str(path),
            "kind": "folder" if path.is_dir() else "file",
        }
        if tree_size(path) > BACKUP_LIMIT_BYTES:
            note = f"no backup: larger than {human_size(BACKUP_LIMIT_BYTES)}"
            change.update(backup=None, sha256=None, note=note)
        else:
            saved = self._backup(path)
            change.update(backup=str(saved), sha256=digest(saved), note="")
        trash(path)
        out = f"moved {self._ws.display(path)} to the trash"
        if change["backup"] is None:
            out += " (too large to keep an undo backup)"
        return ToolResult(
            ok=True, output=out, data={"path": self._ws.display(path)}, undo=(change,)
        )

    # -- checks shared by effect() and run() --------------------------------------------

    def _folder(self, user_path: str) -> Path:
        path = self._ws.resolve(user_path, must_exist=True)
        if not path.is_dir():
            raise ToolFailure("not_a_folder", f"{self._ws.display(path)} is a file, not a folder")
        return path

    def _file(self, user_path: str) -> Path:
        path = self._ws.resolve(user_path, must_exist=True)
        if path.is_dir():
            raise ToolFailure("not_a_file", f"{self._ws.display(path)} is a folder, not a file")
        return path

    def _new_path(self, user_path: str) -> Path:
        """A path that does not exist yet and whose nearest existing ancestor is a folder."""
        path = self._ws.resolve(user_path)
        if path.exists():
            raise ToolFailure("exists", f"{self._ws.display(path)} already exists")
        self._check_parent(path)
        return path

    def _check_parent(self, path: Path) -> None:
        ancestor = path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise ToolFailure(
                "not_a_folder", f"{self._ws.display(ancestor)} is a file, not a folder"
            )

    def _writable(self, user_path: str) -> tuple[Path, int | None]:
        """The file to write and its current size (None when it is new)."""
        path = self._ws.resolve(user_path)
        if not path.exists():
            self._check_parent(path)
            return path, None
        if path.is_dir():
            raise ToolFailure("not_a_file", f"{self._ws.display(path)} is a folder, not a file")
        size = path.stat().st_size
        if size > BACKUP_LIMIT_BYTES:
            raise ToolFailure(
                "too_large",
                f"{self._ws.display(path)} is {human_size(size)}; files over "
                f"{human_size(BACKUP_LIMIT_BYTES)} are not "
                "changed because no undo backup would be kept",
            )
        return path, size

    def _transfer(self, args: TransferArgs, *, moving: bool) -> tuple[Path, Path]:
        """Source and final destination; an existing folder as destination means 'into it'."""
        source = self._ws.resolve(args.source, must_exist=True)
        if moving and self._ws.is_root(source):
            raise ToolFailure("invalid", "the workspace folder itself cannot be moved")
        dest = self._ws.resolve(args.destination)
        if dest.is_dir():
            dest = dest / source.name
        if dest == source:
            raise ToolFailure("invalid", "source and destination are the same")
        if dest.is_relative_to(source):
            raise ToolFailure("invalid", f"cannot put {self._ws.display(source)} inside itself")
        if dest.exists():
            raise ToolFailure("exists", f"{self._ws.display(dest)} already exists")
        self._check_parent(dest)
        return source, dest

    def _deletable(self, user_path: str) -> Path:
        path = self._ws.resolve(user_path, must_exist=True)
        if self._ws.is_root(path):
            raise ToolFailure("invalid", "the workspace folder itself cannot be deleted")
        return path

    def _show(self, user_path: str) -> str:
        return self._ws.display(self._ws.resolve(user_path))

    # -- changing files -----------------------------------------------------------------

    def _put(self, path: Path, data: bytes, mode: str) -> tuple[Change, ...]:
        """Write or append, backing up an existing file first; return the undo records."""
        undo = make_folders(path.parent)
        if path.exists():
            saved = self._backup(path)
            change: Change = {"op": "modify_file", "path": str(path), "backup": str(saved)}
            change["backup_sha256"] = digest(saved)
        else:
            change = {"op": "create_file", "path": str(path)}
        with path.open(mode) as f:
            f.write(data)
        change["sha256"] = digest(path)
        return (*undo, change)

    def _backup(self, path: Path) -> Path:
        self._undo_dir.mkdir(parents=True, exist_ok=True)
        saved = self._undo_dir / f"{uuid.uuid4().hex}-{path.name}"
        copy_entry(path, saved)
        log.debug("backed up %s to %s", path, saved)
        return saved

    @contextmanager
    def _os_errors(self) -> Iterator[None]:
        """Map OSError to a ToolFailure the model can read (paths shown as it sees them)."""
        try:
            yield
        except OSError as exc:
            kind = _ERRNO_KINDS.get(exc.errno or 0, "os_error")
            raw = exc.filename
            name = Path(os.fsdecode(raw)) if isinstance(raw, (str, bytes)) else None
            where = self._ws.display(name) if name and self._ws.contains(name) else "file"
            reason = exc.strerror or type(exc).__name__
            raise ToolFailure(kind, f"{where}: {reason}") from exc

    def _spec(
        self,
        name: str,
        description: str,
        args: type[A],
        effect: Callable[[A], Effect],
        run: Callable[[A], ToolResult],
        example: dict[str, Any],
        timeout_s: float = 30.0,
    ) -> ToolSpec[A]:
        return make_spec(
            name, description, args, effect, run, example,
            errors=self._os_errors, timeout_s=timeout_s,
        )  # fmt: skip


# -- helpers ----------------------------------------------------------------------------


def human_size(n: int) -> str:
    """'40 bytes', '1.2 KB', '3.4 MB' (decimal units, as file managers show)."""
    size, units = float(n), ["bytes", "KB", "MB", "GB", "TB"]
    while size >= 1000 and len(units) > 1:
        size /= 1000
        units.pop(0)
    return f"{n} bytes" if n < 1000 else f"{size:.1f} {units[0]}"


def _entry_line(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return f"{entry.name} (link)"
    if entry.is_dir():
        return f"{entry.name}/"
    return f"{entry.name} ({human_size(entry.stat().st_size)})"


def _count(folder: Path) -> str:
    files = sum(1 for p in walk(folder) if not p.is_dir() or p.is_symlink())
    return "1 file" if files == 1 else f"{files} files"


def _name_matcher(pattern: str) -> Callable[[str], bool]:
    wanted = pattern.lower()
    if any(c in wanted for c in "*?["):
        return lambda name: fnmatch.fnmatchcase(name.lower(), wanted)
    return lambda name: wanted in name.lower()


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a text file; binary and very large files yield nothing."""
    try:
        if path.stat().st_size > SEARCH_FILE_LIMIT_BYTES:
            return
        data = path.read_bytes()
    except OSError:  # unreadable files are skipped, not fatal to the search
        return
    if b"\x00" in data[:8192]:
        return
    yield from enumerate(data.decode("utf-8", "replace").splitlines(), start=1)


def _found(lines: list[str], none_message: str) -> ToolResult:
    if not lines:
        return ToolResult(ok=True, output=none_message, data={"matches": 0})
    shown = lines[:SEARCH_LIMIT]
    if len(lines) > SEARCH_LIMIT:
        shown.append("... more matches not shown")
    return ToolResult(ok=True, output="\n".join(shown), data={"matches": len(lines[:SEARCH_LIMIT])})
