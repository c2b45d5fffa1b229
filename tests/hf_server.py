"""A Hugging Face-compatible file server on loopback, for `deskhand models pull` tests.

It serves ``/{repo}/resolve/{revision}/{filename}`` the way the Hub serves an LFS file,
with what huggingface_hub reads (huggingface_hub/file_download.py,
`get_hf_file_metadata` and `http_get`): on HEAD and GET an ``ETag`` and
``X-Linked-Etag`` holding the file's sha256, ``X-Repo-Commit``, ``Content-Length``;
on GET, ``Range: bytes=N-`` answered with 206 and ``Content-Range``. Point a client at it
with ``HF_ENDPOINT=http://127.0.0.1:PORT``.

Faults the tests ask for, per server:
- `drop_after`: the first GET sends that many bytes, then closes the connection;
- `hold_after`: every GET sends that many bytes, sets `held`, and waits for `release`
  (then closes): a download caught mid-way, for Ctrl-C;
- `corrupt`: one byte of the body is flipped (the headers still carry the true sha256);
- `claimed_size`: HEAD reports this size (a file too big for the disk).
Every request is recorded in `requests` as (method, path, Range header or None).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"
#: The catalogue entry tests pull: the embedded GGUF file served as a Hub repository's.
REPO = "deskhand-test/smollm2-gguf"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "tiny-test:Q4_1"
_CHUNK = 1 << 20


@dataclass
class HubFiles:
    """What the server serves and how it misbehaves."""

    files: dict[str, Path]  # "repo/name/filename" -> file
    drop_after: int | None = None
    hold_after: int | None = None
    corrupt: bool = False
    claimed_size: int | None = None
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _dropped: bool = False
    _sha: dict[str, str] = field(default_factory=dict)

    def sha256(self, key: str) -> str:
        if key not in self._sha:
            self._sha[key] = hashlib.sha256(self.files[key].read_bytes()).hexdigest()
        return self._sha[key]


def _handler(hub: HubFiles) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return None

        def _key(self) -> str | None:
            repo_and_rest = self.path.split("?")[0].lstrip("/")
            repo, sep, rest = repo_and_rest.partition("/resolve/")
            if not sep:
                return None
            _, _, filename = rest.partition("/")
            key = f"{repo}/{filename}"
            return key if key in hub.files else None

        def _not_found(self) -> None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _common(self, key: str) -> None:
            sha = hub.sha256(key)
            self.send_header("ETag", f'"{sha}"')
            self.send_header("X-Linked-Etag", f'"{sha}"')
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Accept-Ranges", "bytes")

        def do_HEAD(self) -> None:  # noqa: N802
            hub.requests.append(("HEAD", self.path, None))
            key = self._key()
            if key is None:
                return self._not_found()
            size = hub.claimed_size or hub.files[key].stat().st_size
            self.send_response(200)
            self._common(key)
            self.send_header("Content-Length", str(size))
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            ranged = self.headers.get("Range")
            hub.requests.append(("GET", self.path, ranged))
            key = self._key()
            if key is None:
                return self._not_found()
            data = hub.files[key].read_bytes()
            if hub.corrupt:
                data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
            start = int(ranged.split("=")[1].split("-")[0]) if ranged else 0
            self.send_response(206 if start else 200)
            self._common(key)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self._body(data[start:])

        def _body(self, body: bytes) -> None:
            limit = len(body)
            drop = hub.drop_after is not None and not hub._dropped
            if drop:
                hub._dropped = True
                limit = min(limit, hub.drop_after or 0)
            if hub.hold_after is not None:
                limit = min(limit, hub.hold_after)
            for i in range(0, limit, _CHUNK):
                self.wfile.write(body[i : min(i + _CHUNK, limit)])
            self.wfile.flush()
            if hub.hold_after is not None and limit < len(body):
                hub.held.set()
                hub.release.wait(timeout=120)
            if limit < len(body):
                self.close_connection = True
                self.connection.shutdown(2)

    return Handler


def write_catalogue(config_dir: Path, gguf: Path, sha256: str = "") -> None:
    """A user catalogue (``<config>/catalogue.toml``) listing `gguf` as ``tiny-test``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "catalogue.toml").write_text(
        f"""[[model]]
name = "tiny-test"
tier = "0.5-1.5B"
params_b = 0.1
family = "smollm2"
template = "chatml"
licence = "apache-2.0"
context_length = 8192
repo = "{REPO}"
kv_bytes_per_token = 1000

[[model.quant]]
name = "Q4_1"
file = "{FILE}"
size = {gguf.stat().st_size}
sha256 = "{sha256}"
memory_gib = 0.5
"""
    )


@contextmanager
def serve(hub: HubFiles) -> Iterator[str]:
    """Serve `hub` on loopback; yields the endpoint URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        hub.release.set()
        server.shutdown()
        server.server_close()
