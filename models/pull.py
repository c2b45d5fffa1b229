"""`deskhand models pull`: download a catalogue model from Hugging Face, verified.

The only module that imports ``huggingface_hub`` (an import-linter contract). We use its
pieces rather than `hf_hub_download`, because that function deletes a partial file when
it is interrupted and we promise a resumable one:
- `hf_hub_url` / `get_hf_file_metadata`: the file's URL, size and sha256 (the LFS ETag),
  following redirects, sending the user's token (``HF_TOKEN`` or ``hf auth login``),
  honouring ``HF_ENDPOINT`` (a mirror, or the test server) and ``HF_HUB_OFFLINE``;
- `http_get`: a streaming GET with ``Range`` resume and retries when the connection drops;
- `try_to_load_from_cache`: a file the user already has in the Hugging Face cache is
  verified and used where it lies, not downloaded again.

Invariants:
- Disk space is checked before the first byte is fetched.
- Bytes go to ``FILE.partial`` only; Ctrl-C or a dropped connection leaves it, and the
  next pull resumes from its end.
- The file is renamed into place only after its sha256 matches (the catalogue's value
  when it has one, else the server's), and the record that lists it is written last.
  A mismatching file is deleted: resuming a corrupt download would stay corrupt.

Errors: every failure is a `PullError` with a one-line message; huggingface_hub's and its
HTTP client's exceptions are mapped here, once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url, try_to_load_from_cache
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)
from huggingface_hub.file_download import http_get

from models.catalogue_data import CatalogueModel, Quant, gib, installed_name
from models.installed import (
    InstalledModel,
    find_installed,
    partial_path,
    write_record,
)

#: Progress: bytes done (including a resumed part), total bytes (None when unknown).
Progress = Callable[[int, "int | None"], None]
#: Free bytes on the file system holding a folder (the seam tests fake).
FreeSpace = Callable[[Path], int]
#: Room left on the disk after the download, so the system does not run out.
DISK_MARGIN = 256 * 2**20
_HASH_CHUNK = 4 * 2**20


class PullError(Exception):
    """A pull that did not install the model; the message is one line."""


class Offline(PullError):
    pass


class NotEnoughSpace(PullError):
    pass


class ChecksumMismatch(PullError):
    pass


@dataclass(frozen=True, slots=True)
class Remote:
    """What the server says about the file before we download it."""

    url: str
    size: int | None
    sha256: str | None
    endpoint: str


def free_space(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def pull(
    model: CatalogueModel,
    quant: Quant,
    models_dir: Path,
    *,
    progress: Progress | None = None,
    free: FreeSpace = free_space,
    endpoint: str | None = None,
) -> InstalledModel:
    """Install `model` at `quant` into `models_dir` (or return it when already there).

    `endpoint` replaces ``HF_ENDPOINT`` (which huggingface_hub reads once, at import)."""
    name = installed_name(model, quant)
    existing = find_installed(models_dir, name)
    if existing is not None:
        return existing
    models_dir.mkdir(parents=True, exist_ok=True)
    if constants.is_offline_mode():
        cached = _from_cache(model, quant, models_dir, quant.sha256)
        if cached is not None:
            return cached
        raise Offline(
            f"{name} is neither installed nor in the Hugging Face cache, and HF_HUB_OFFLINE "
            "is set: unset it to download"
        )
    remote = _remote(model, quant, endpoint or constants.ENDPOINT)
    expected = _expected_sha256(name, quant, remote)
    cached = _from_cache(model, quant, models_dir, expected)
    if cached is not None:
        return cached
    partial = partial_path(models_dir, quant.file)
    size = remote.size or quant.size
    have = partial.stat().st_size if partial.exists() else 0
    if have > size:  # not a prefix of this file: start over
        partial.unlink()
        have = 0
    _check_space(name, models_dir, size - have, free)
    _download(remote, partial, have, size, progress)
    _verify(name, partial, expected)
    target = models_dir / quant.file
    os.replace(partial, target)
    installed = InstalledModel(name, target, model.repo, quant.file, expected, size)
    write_record(models_dir, installed)
    return installed


def _remote(model: CatalogueModel, quant: Quant, endpoint: str) -> Remote:
    url = hf_hub_url(model.repo, quant.file, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint)
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise PullError(f"cannot open {model.repo}: {_http_reason(exc)}") from None
    except RemoteEntryNotFoundError:
        raise PullError(f"{model.repo} has no file {quant.file}") from None
    except OfflineModeIsEnabled:
        raise Offline("HF_HUB_OFFLINE is set: unset it to download") from None
    except (HfHubHTTPError, httpx2.HTTPError, OSError) as exc:
        raise PullError(f"cannot reach {_host(url)}: {_reason(exc)}") from None
    sha = meta.etag if meta.etag and _is_sha256(meta.etag) else None
    return Remote(meta.location, meta.size, sha, endpoint)


def _expected_sha256(name: str, quant: Quant, remote: Remote) -> str:
    """The sha256 the file must have: the catalogue's, which the server must agree with;
    else the server's own (an LFS file's ETag is its sha256)."""
    if quant.sha256 and remote.sha256 and quant.sha256 != remote.sha256:
        raise ChecksumMismatch(
            f"{name}: the server's file (sha256 {remote.sha256[:12]}…) is not the one the "
            f"catalogue lists (sha256 {quant.sha256[:12]}…): refusing to download it"
        )
    expected = quant.sha256 or remote.sha256
    if not expected:
        raise PullError(
            f"{name}: the server gives no sha256 for {quant.file}, so it cannot be verified"
        )
    return expected


def _from_cache(
    model: CatalogueModel, quant: Quant, models_dir: Path, expected: str
) -> InstalledModel | None:
    """The file from the user's Hugging Face cache, when it is there and verifies
    (against `expected`, else the name the cache stored it under: an LFS file's blob is
    named by its sha256)."""
    cached = try_to_load_from_cache(model.repo, quant.file)
    if not isinstance(cached, str):
        return None
    path = Path(cached).resolve()
    expected = expected or (path.name if _is_sha256(path.name) else "")
    if not expected or sha256_of(path) != expected:
        return None
    name = installed_name(model, quant)
    installed = InstalledModel(name, path, model.repo, quant.file, expected, path.stat().st_size)
    write_record(models_dir, installed)
    return installed


def _check_space(name: str, models_dir: Path, needed: int, free: FreeSpace) -> None:
    available = free(models_dir)
    if available < needed + DISK_MARGIN:
        raise NotEnoughSpace(
            f"not enough disk space for {name}: it needs {gib(needed + DISK_MARGIN)} "
            f"and {models_dir} has {gib(available)} free"
        )


def _download(
    remote: Remote, partial: Path, have: int, size: int, progress: Progress | None
) -> None:
    with partial.open("ab") as f:
        try:
            http_get(
                remote.url,
                f,
                resume_size=have,
                expected_size=size,
                headers=_headers(remote),
                tqdm_class=_bar_class(progress),
            )
        except (HfHubHTTPError, httpx2.HTTPError) as exc:
            raise PullError(
                f"download from {_host(remote.url)} failed: {_reason(exc)} "
                f"({gib(f.tell())} kept: pull again to resume)"
            ) from None
        except OSError as exc:  # disk full, or the size check at the end
            why = exc.strerror or _reason(exc)  # huggingface_hub's own text runs to lines
            raise PullError(f"download failed: {why} (pull again to resume)") from None


def _headers(remote: Remote) -> dict[str, str]:
    """The Hub's headers (user agent, the user's token) for a download from the Hub
    itself; none for a signed CDN URL it redirected to (the token must not leave the Hub)."""
    from huggingface_hub.utils import _headers as hub_headers

    if _host(remote.url) != _host(remote.endpoint):
        return {}
    return dict(hub_headers.build_hf_headers())


def _verify(name: str, partial: Path, expected: str) -> None:
    actual = sha256_of(partial)
    if actual != expected:
        partial.unlink()
        raise ChecksumMismatch(
            f"{name}: sha256 mismatch (got {actual[:12]}…, expected {expected[:12]}…): "
            "the download was deleted and nothing was installed"
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _bar_class(progress: Progress | None) -> type[Any]:
    """A stand-in for tqdm that `http_get` drives: it reports to `progress`."""

    class _Bar:
        def __init__(self, *, total: int | None = None, initial: int = 0, **_: Any) -> None:
            self.n, self.total = initial, total
            if progress is not None:
                progress(self.n, total)

        def update(self, n: int = 1) -> None:
            self.n += n
            if progress is not None:
                progress(self.n, self.total)

        def __enter__(self) -> _Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def close(self) -> None:
            return None

    return _Bar


def _is_sha256(etag: str) -> bool:
    return len(etag) == 64 and all(c in "0123456789abcdef" for c in etag)


def _host(url: str) -> str:
    return httpx2.URL(url).host or url


def _http_reason(exc: HfHubHTTPError) -> str:
    status = exc.response.status_code if exc.response is not None else None
    if status in (401, 403):
        return f"HTTP {status}: log in (hf auth login) or set HF_TOKEN, and accept the model's licence on its page"
    return f"HTTP {status}" if status else "not found"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
