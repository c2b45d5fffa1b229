"""The file tool: list, read, write, append, make_folder, move, copy, delete, search.

Invariants:
- Every path goes through `Workspace.resolve`, in `effect()` and again in `run()`, and is
  then reached only through `tools.safe_fs` (fds walked no-follow from its root), so no
  action reads or changes anything outside the workspace, even when a folder is swapped
  for a link between the check and the use. Walks (list, search, copy, delete, digests)
  never follow symlinks: a link is listed, copied, trashed or hashed as a link.
- Only regular files with one link are read, written, appended or copied: FIFOs, devices
  and sockets are refused without blocking; a hard link may share its inode with a file
  outside (search skips both kinds).
- Every change returns `undo` records (JSON-serialisable dicts with an ``op`` key) holding
  what `tools.undo.undo_change` needs to reverse it. Backups are written before the change
  is made (tools/filechanges.py).
- Deletion goes to the OS trash (send2trash), after a backup copy into `undo_dir`.
- OSError is mapped to `ToolFailure` in one place (`_os_errors`). Kinds: not_found,
  exists, not_a_file, not_a_folder, outside_workspace, too_large, invalid, no_permission,
  changed (a link took a checked entry's place), hard_link, os_error; undo adds
  undo_conflict and undo_unavailable.

The change records it returns are listed in tools/filechanges.py, which makes them.
Undo (tools/undo.py) is idempotent where it can tell: a change whose reversal is in place
already (the created file is gone, the moved file is back) is reported, not refused.
"""

from __future__ import annotations

import codecs
import errno
import fnmatch
import logging
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from tools import file_args as a
from tools import filechanges, safe_fs
from tools.base import Action, Effect, ToolArgs, ToolFailure, ToolResult, ToolSpec, make_spec
from tools.fsops import check_copyable, text_lines, tree_stats, walk_at
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
    errno.EFBIG: "too_large",
}


class FileTool:
    """File actions confined to one `Workspace`, with backups for undo in `undo_dir`."""

    def __init__(
        self,
        workspace: Workspace,
        undo_dir: Path,
        *,
        max_read_bytes: int = 16_000,
        hidden: Callable[[Path], bool] = lambda _path: False,
        timeouts: tuple[float, float] = (30.0, SLOW_TIMEOUT_S),
    ) -> None:
        self._ws = workspace
        self._timeouts = timeouts  # (most actions, move/copy/delete), seconds
        self._undo_dir = undo_dir
        self._max_read = max_read_bytes
        self._hidden = hidden  # what a search passes by: reads the policy denies

    def specs(self) -> list[ToolSpec[Any]]:
        s = self._spec
        return [
            s("files.list", "List the files and folders in a folder.", a.ListArgs,
              self._effect_list, self._run_list, {"path": "."}),
            s("files.read", "Read a text file.", a.ReadArgs,
              self._effect_read, self._run_read, {"path": "notes.txt"}),
            s("files.write", "Create a text file or replace its text.", a.WriteArgs,
              self._effect_write, self._run_write, {"path": "notes.txt", "content": "hello"}),
            s("files.append", "Add text to the end of a file.", a.AppendArgs,
              self._effect_append, self._run_append, {"path": "notes.txt", "content": "more"}),
            s("files.make_folder", "Create a folder.", a.FolderArgs,
              self._effect_make_folder, self._run_make_folder, {"path": "reports"}),
            s("files.move", "Move or rename a file or folder.", a.TransferArgs,
              self._effect_move, self._run_move, {"source": "a.txt", "destination": "old/a.txt"},
              True),
            s("files.copy", "Copy a file or folder.", a.TransferArgs,
              self._effect_copy, self._run_copy, {"source": "a.txt", "destination": "b.txt"},
              True),
            s("files.delete", "Move a file or folder to the trash.", a.DeleteArgs,
              self._effect_delete, self._run_delete, {"path": "old.txt"}, True),
            s("files.search_names", "Find files and folders by name.", a.SearchNamesArgs,
              self._effect_search_names, self._run_search_names,
              {"pattern": "report", "path": "."}),
            s("files.search_text", "Find lines that contain some text in files.", a.SearchTextArgs,
              self._effect_search_text, self._run_search_text, {"text": "invoice", "path": "."}),
        ]  # fmt: skip

    def listing(self, user_path: str = ".") -> str:
        """A folder's entries, one a line: folders end in '/', files show their size."""
        with self._os_errors():
            folder = self._folder(user_path)
            with safe_fs.folder(self._ws.root_of(folder), folder, listable=True) as fd:
                with os.scandir(fd) as it:
                    entries = sorted(
                        it, key=lambda e: (not e.is_dir(follow_symlinks=False), e.name.lower())
                    )
                lines = [_entry_line(e) for e in entries[:LIST_LIMIT]]
        if len(entries) > LIST_LIMIT:
            lines.append(f"... and {len(entries) - LIST_LIMIT} more")
        return "\n".join(lines) or "(empty folder)"

    # -- reading ------------------------------------------------------------------------

    def _effect_list(self, args: a.ListArgs) -> Effect:
        folder = self._folder(args.path)
        return Effect("fs.read", str(folder), f"list folder {self._ws.display(folder)}")

    def _run_list(self, args: a.ListArgs, action: Action) -> ToolResult:
        text = self.listing(args.path)
        return ToolResult(ok=True, output=text, data={"path": self._show(args.path)})

    def _effect_read(self, args: a.ReadArgs) -> Effect:
        path, st = self._file(args.path)
        size = human_size(st.st_size)
        return Effect("fs.read", str(path), f"read {self._ws.display(path)} ({size})")

    def _run_read(self, args: a.ReadArgs, action: Action) -> ToolResult:
        path, _ = self._file(args.path)
        shown = self._ws.display(path)
        with safe_fs.parent(self._ws.root_of(path), path) as (dir_fd, name):
            fd = safe_fs.open_file(dir_fd, name, path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            data = safe_fs.read_fd(fd, self._max_read)
        finally:
            os.close(fd)
        if b"\x00" in data[:8192]:
            raise ToolFailure("invalid", f"{shown} is not a text file ({human_size(size)})")
        cut = len(data) < size
        # final=False drops a character split by the cut instead of showing garbage.
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=not cut)
        if cut:
            text += f"\n[... cut: showed the first {len(data)} of {size} bytes]"
        data_out = {"path": shown, "bytes": size, "cut": cut}
        return ToolResult(ok=True, output=text or "(empty file)", data=data_out)

    def _effect_search_names(self, args: a.SearchNamesArgs) -> Effect:
        folder = self._folder(args.path)
        summary = f"search names under {self._ws.display(folder)} for '{args.pattern}'"
        return Effect("fs.read", str(folder), summary)

    def _run_search_names(self, args: a.SearchNamesArgs, action: Action) -> ToolResult:
        folder = self._folder(args.path)
        matches = _name_matcher(args.pattern)
        found: list[str] = []
        with safe_fs.folder(self._ws.root_of(folder), folder) as fd:
            for e in walk_at(fd):
                action.check()
                if matches(e.name) and not self._hidden(folder / e.rel):
                    found.append(self._ws.display(folder / e.rel) + ("/" if e.is_dir else ""))
                    if len(found) > SEARCH_LIMIT:
                        break
        return _found(found, f"no names matching '{args.pattern}' under {self._ws.display(folder)}")

    def _effect_search_text(self, args: a.SearchTextArgs) -> Effect:
        where = self._ws.resolve(args.path, must_exist=True)
        summary = f"search for '{args.text}' in files under {self._ws.display(where)}"
        return Effect("fs.read", str(where), summary)

    def _run_search_text(self, args: a.SearchTextArgs, action: Action) -> ToolResult:
        where = self._ws.resolve(args.path, must_exist=True)
        needle = args.text.lower()
        found: list[str] = []
        for path, number, line in self._lines_under(where, action):
            if needle in line.lower():
                found.append(f"{self._ws.display(path)}:{number}: {line.strip()[:120]}")
                if len(found) > SEARCH_LIMIT:
                    return _found(found, "")
        return _found(found, f"no lines containing '{args.text}' under {self._ws.display(where)}")

    def _lines_under(self, where: Path, action: Action) -> Iterator[tuple[Path, int, str]]:
        """Numbered lines of the text file `where`, or of every text file under it."""
        root = self._ws.root_of(where)
        st = safe_fs.lstat(root, where)
        if st is not None and stat.S_ISREG(st.st_mode):
            with safe_fs.parent(root, where) as (dir_fd, name):
                for number, line in text_lines(dir_fd, name, where, SEARCH_FILE_LIMIT_BYTES):
                    yield where, number, line
            return
        with safe_fs.folder(root, where) as fd:
            for e in walk_at(fd):
                action.check()
                if stat.S_ISREG(e.st.st_mode) and not self._hidden(where / e.rel):
                    for number, line in text_lines(
                        e.dir_fd, e.name, where / e.rel, SEARCH_FILE_LIMIT_BYTES
                    ):
                        yield where / e.rel, number, line

    # -- writing ------------------------------------------------------------------------

    def _effect_write(self, args: a.WriteArgs) -> Effect:
        path, old = self._writable(args.path)
        size = len(args.content.encode())
        shown = self._ws.display(path)
        note = "new file" if old is None else f"replaces existing {old}-byte file"
        return Effect("fs.write", str(path), f"write {size} bytes to {shown} ({note})")

    def _run_write(self, args: a.WriteArgs, action: Action) -> ToolResult:
        path, _ = self._writable(args.path)
        data = args.content.encode()
        undo = self._put(path, data, append=False, action=action)
        out = f"wrote {len(data)} bytes to {self._ws.display(path)}"
        return ToolResult(ok=True, output=out, data={"path": self._ws.display(path)}, undo=undo)

    def _effect_append(self, args: a.AppendArgs) -> Effect:
        path, old = self._writable(args.path)
        size = len(args.content.encode())
        shown = self._ws.display(path)
        note = "new file" if old is None else f"now {old + size} bytes"
        return Effect("fs.write", str(path), f"append {size} bytes to {shown} ({note})")

    def _run_append(self, args: a.AppendArgs, action: Action) -> ToolResult:
        path, old = self._writable(args.path)
        data = args.content.encode()
        undo = self._put(path, data, append=True, action=action)
        total = (old or 0) + len(data)
        out = f"appended {len(data)} bytes to {self._ws.display(path)} (now {total} bytes)"
        return ToolResult(ok=True, output=out, data={"path": self._ws.display(path)}, undo=undo)

    def _effect_make_folder(self, args: a.FolderArgs) -> Effect:
        path = self._new_path(args.path)
        return Effect("fs.write", str(path), f"create folder {self._ws.display(path)}")

    def _run_make_folder(self, args: a.FolderArgs, action: Action) -> ToolResult:
        path = self._new_path(args.path)
        undo = filechanges.make_folder(self._ws.root_of(path), path, action)
        out = f"created folder {self._ws.display(path)}"
        return ToolResult(
            ok=True, output=out, data={"path": self._ws.display(path)}, undo=tuple(undo)
        )

    def _effect_move(self, args: a.TransferArgs) -> Effect:
        source, dest = self._transfer(args, moving=True)
        summary = f"move {self._ws.display(source)} -> {self._ws.display(dest)}"
        # a move deletes its source: judged as a delete too, so a grant to write into
        # archive/ never lets a file leave a folder where deleting is denied
        gone = Effect("fs.delete", str(source), f"remove {self._ws.display(source)} (moved)")
        return Effect("fs.write", str(dest), summary, also=(gone,))

    def _run_move(self, args: a.TransferArgs, action: Action) -> ToolResult:
        source, dest = self._transfer(args, moving=True)
        roots = self._ws.root_of(source), self._ws.root_of(dest)
        undo = filechanges.move(roots[0], source, roots[1], dest, action)
        out = f"moved {self._ws.display(source)} -> {self._ws.display(dest)}"
        return ToolResult(
            ok=True, output=out, data={"path": self._ws.display(dest)}, undo=tuple(undo)
        )

    def _effect_copy(self, args: a.TransferArgs) -> Effect:
        source, dest = self._transfer(args, moving=False)
        shown = f"{self._ws.display(source)} -> {self._ws.display(dest)}"
        read = (Effect("fs.read", str(source), f"read {self._ws.display(source)} (copied)"),)
        is_dir, size = self._measure(source, copying=True)
        summary = f"copy {'folder ' * is_dir}{shown} ({size})"
        return Effect("fs.write", str(dest), summary, also=read)

    def _run_copy(self, args: a.TransferArgs, action: Action) -> ToolResult:
        source, dest = self._transfer(args, moving=False)
        roots = self._ws.root_of(source), self._ws.root_of(dest)
        undo = filechanges.copy(roots[0], source, roots[1], dest, action)
        out = f"copied {self._ws.display(source)} -> {self._ws.display(dest)}"
        return ToolResult(
            ok=True, output=out, data={"path": self._ws.display(dest)}, undo=tuple(undo)
        )

    def _effect_delete(self, args: a.DeleteArgs) -> Effect:
        path = self._deletable(args.path)
        shown = self._ws.display(path)
        is_dir, size = self._measure(path)
        summary = f"delete {'folder ' * is_dir}{shown} ({size}) to the trash"
        return Effect("fs.delete", str(path), summary)

    def _run_delete(self, args: a.DeleteArgs, action: Action) -> ToolResult:
        path = self._deletable(args.path)
        note = f"no backup: larger than {human_size(BACKUP_LIMIT_BYTES)}"
        change = filechanges.delete(
            self._ws.root_of(path), path, backups=self._undo_dir, limit=BACKUP_LIMIT_BYTES,
            too_large=note, action=action,
        )  # fmt: skip
        out = f"moved {self._ws.display(path)} to the trash"
        if change["backup"] is None:
            out += (
                " (too large to keep an undo backup)" if change["note"] == note else " (no backup)"
            )
        return ToolResult(
            ok=True, output=out, data={"path": self._ws.display(path)}, undo=(change,)
        )

    # -- checks shared by effect() and run() --------------------------------------------

    def _folder(self, user_path: str) -> Path:
        path = self._ws.resolve(user_path, must_exist=True)
        if not path.is_dir():
            raise ToolFailure("not_a_folder", f"{self._ws.display(path)} is a file, not a folder")
        return path

    def _file(self, user_path: str) -> tuple[Path, os.stat_result]:
        """A regular file with one link, and its lstat."""
        path = self._ws.resolve(user_path, must_exist=True)
        st = self._lstat(path)
        if st is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        if stat.S_ISDIR(st.st_mode):
            raise ToolFailure("not_a_file", f"{self._ws.display(path)} is a folder, not a file")
        safe_fs.require_regular(st, path)
        safe_fs.require_one_link(st, path)
        return path, st

    def _lstat(self, path: Path) -> os.stat_result | None:
        return safe_fs.lstat(self._ws.root_of(path), path)

    def _measure(self, path: Path, *, copying: bool = False) -> tuple[bool, str]:
        """Whether `path` is a folder, and its size as an approver reads it; `copying`
        refuses first what a copy would refuse (hard-linked or non-regular files)."""
        with safe_fs.parent(self._ws.root_of(path), path) as (dir_fd, name):
            if copying:
                check_copyable(dir_fd, name, path)
            st = safe_fs.entry_stat(dir_fd, name, path)
            size, files = tree_stats(dir_fd, name, path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            return True, "1 file" if files == 1 else f"{files} files"
        return False, human_size(size)

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
        st = self._lstat(path)
        if st is None:
            self._check_parent(path)
            return path, None
        if stat.S_ISDIR(st.st_mode):
            raise ToolFailure("not_a_file", f"{self._ws.display(path)} is a folder, not a file")
        safe_fs.require_regular(st, path)
        safe_fs.require_one_link(st, path)
        size = st.st_size
        if size > BACKUP_LIMIT_BYTES:
            raise ToolFailure(
                "too_large",
                f"{self._ws.display(path)} is {human_size(size)}; files over "
                f"{human_size(BACKUP_LIMIT_BYTES)} are not "
                "changed because no undo backup would be kept",
            )
        return path, size

    def _transfer(self, args: a.TransferArgs, *, moving: bool) -> tuple[Path, Path]:
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

    def _put(self, path: Path, data: bytes, *, append: bool, action: Action) -> tuple[Change, ...]:
        """Write or append, backing up an existing file first; return the undo records."""
        root, limit = self._ws.root_of(path), BACKUP_LIMIT_BYTES
        return filechanges.put(
            root, path, data, append=append, backups=self._undo_dir, limit=limit, action=action
        )

    @contextmanager
    def _os_errors(self) -> Iterator[None]:
        """Map OSError to a ToolFailure the model can read (paths shown as it sees them)."""
        try:
            yield
        except OSError as exc:
            kind = _ERRNO_KINDS.get(exc.errno or 0, "os_error")
            if isinstance(exc, safe_fs.Unsafe):
                kind = exc.kind
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
        run: Callable[[A, Action], ToolResult],
        example: dict[str, Any],
        slow: bool = False,
    ) -> ToolSpec[A]:
        return make_spec(
            name, description, args, effect, None, example, errors=self._os_errors,
            timeout_s=self._timeouts[slow], run_action=run,
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


def _name_matcher(pattern: str) -> Callable[[str], bool]:
    wanted = pattern.lower()
    if any(c in wanted for c in "*?["):
        return lambda name: fnmatch.fnmatchcase(name.lower(), wanted)
    return lambda name: wanted in name.lower()


def _found(lines: list[str], none_message: str) -> ToolResult:
    if not lines:
        return ToolResult(ok=True, output=none_message, data={"matches": 0})
    shown = lines[:SEARCH_LIMIT]
    if len(lines) > SEARCH_LIMIT:
        shown.append("... more matches not shown")
    return ToolResult(ok=True, output="\n".join(shown), data={"matches": len(lines[:SEARCH_LIMIT])})
