"""`HostedModel`: a local GGUF model served from a child process of its own.

Why: llama.cpp is native code. A crash in it (a segfault on one CPU's fast path, a GPU
driver fault, the kernel's out-of-memory killer) kills the process it runs in. Hosted in a
child, it ends one run as ``error`` and never takes down the tray app, the watched inbox
or a CLI run's journal.

The parent side is a `ChatModel`; the child (`_serve`) holds a `models.llamacpp.LlamaCppModel`
and answers one request at a time over a pipe. Everything that makes the local model fast
stays in the child with it: the KV cache, the prefix reuse, the generated-token splice, the
schema-directed decoder and the thread count that follows the load.

Invariants:
- The child is started by the constructor (so a bad model file fails where it always
  did, when the model is opened) with the ``spawn`` method: a fresh interpreter, never a
  fork of a process that has Qt or browser threads.
- A child that dies (signal or exit) fails the request in flight, or the next request if
  it died while idle, with `ModelCrashed` (one line, with the signal); the request after
  that starts a new child. A run therefore ends as ``error`` whenever its model died
  under it, and the next run works.
- Stop: the caller's `should_stop` is checked every `STOP_POLL_S` while a request is in
  flight; when it fires, a byte in shared memory tells the child, which checks it between
  generated tokens and answers `ModelCancelled`.
- No orphans: the child watches a pipe whose only writer is the parent and exits when it
  reads end-of-file, which the kernel delivers however the parent ended (kill -9 too).
  The child ignores SIGINT, so Ctrl-C in a terminal reaches the parent's stop flag only.
- Calls are serialised by a lock: one request in flight per child. A request abandoned
  by an exception that is not a model error (KeyboardInterrupt) ends the child, so no
  late answer is ever taken for the next request's.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from models.base import (
    Completion,
    JsonSchema,
    Message,
    ModelCrashed,
    ModelError,
    ModelInfo,
    ModelUnavailable,
    ShouldStop,
)

log = logging.getLogger(__name__)

#: How often the parent checks the caller's stop flag while the child works.
STOP_POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """Everything the child needs to load the model (picklable)."""

    path: Path
    n_ctx: int = 8192
    n_threads: int | None = None
    n_gpu_layers: int | None = None
    model_id: str | None = None
    cpu_repack: bool = False
    #: A GGUF LoRA adapter applied on top of the model (see models.train), or None.
    lora_path: Path | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    messages: tuple[Message, ...]
    schema: JsonSchema | None
    max_tokens: int


class HostedModel:
    """A `ChatModel` whose llama.cpp runs in a child process (see the module docstring)."""

    def __init__(self, spec: LoadSpec) -> None:
        self._spec = spec
        self._lock = threading.Lock()
        self._ctx = multiprocessing.get_context("spawn")
        self._stop = self._ctx.RawValue("b", 0)
        self._child: Any = None
        self._conn: Connection | None = None
        self._lifeline: Connection | None = None
        self._crash: str | None = None
        self._info: ModelInfo | None = None
        self._start()

    # -- ChatModel ---------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        assert self._info is not None
        return self._info.model_id

    @property
    def pid(self) -> int | None:
        """The child's process id (None while none runs)."""
        return self._child.pid if self._child is not None and self._child.is_alive() else None

    def info(self) -> ModelInfo:
        assert self._info is not None
        return self._info

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        with self._lock:
            if self._child is None:
                self._start()
            self._check_alive()
            assert self._conn is not None
            self._stop.value = 0
            try:
                self._conn.send(("complete", _Request(tuple(messages), schema, max_tokens)))
            except OSError:
                self._check_alive()
                raise
            try:
                return self._answer(should_stop)  # type: ignore[no-any-return]
            except ModelError:
                raise
            except BaseException:
                # Interrupted while the child works (a second Ctrl-C): its answer would
                # be read as the next request's, so this child goes and the next starts anew.
                self._end()
                raise

    def close(self) -> None:
        with self._lock:
            self._end()

    # -- the child's lifecycle -----------------------------------------------------------

    def _start(self) -> None:
        conn, child_conn = self._ctx.Pipe()
        life_read, life_write = self._ctx.Pipe(duplex=False)
        child = self._ctx.Process(
            target=_serve,
            args=(self._spec, child_conn, life_read, self._stop),
            name="deskhand-model",
            daemon=True,
        )
        child.start()
        child_conn.close()
        life_read.close()
        self._child, self._conn, self._lifeline = child, conn, life_write
        try:
            kind, payload = self._receive(None)
        except ModelCrashed as exc:  # died while loading: report it as a load failure
            self._end()
            raise ModelUnavailable(f"cannot load {self._spec.path.name}: {exc}") from exc
        if kind == "error":
            self._end()
            raise payload
        self._info = payload
        log.debug("model process %s serves %s", child.pid, self._spec.path)

    def _end(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert self._conn is not None and self._lifeline is not None
        try:
            if child.is_alive():
                self._conn.send(("close", None))
        except OSError:
            pass
        self._conn.close()
        self._lifeline.close()  # the child exits on this end-of-file if the close was lost
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()

    def _check_alive(self) -> None:
        """Raise `ModelCrashed` when the child has died (since the last request)."""
        if self._crash is None and self._child is not None and not self._child.is_alive():
            self._crash = _death(self._child.exitcode)
        if self._crash is not None:
            message, self._crash = self._crash, None
            self._end()
            raise ModelCrashed(message)

    # -- talking to the child ------------------------------------------------------------

    def _answer(self, should_stop: ShouldStop | None) -> Any:
        kind, payload = self._receive(should_stop)
        if kind == "error":
            raise payload
        return payload

    def _receive(self, should_stop: ShouldStop | None) -> tuple[str, Any]:
        """The child's next message; waits on the pipe and the child's death together."""
        assert self._conn is not None and self._child is not None
        poll = STOP_POLL_S if should_stop is not None else None
        while True:
            ready = wait([self._conn, self._child.sentinel], timeout=poll)
            if self._conn in ready:
                try:
                    message: tuple[str, Any] = self._conn.recv()
                    return message
                except (EOFError, OSError):
                    pass  # the child died as it wrote: its sentinel says how
            if ready:
                self._child.join()
                self._crash = _death(self._child.exitcode)
                self._check_alive()
            if should_stop is not None and should_stop():
                self._stop.value = 1


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = f"{signal.Signals(-exitcode).name}, "
        except ValueError:
            name = ""
        how = f"{name}signal {-exitcode}"
    else:
        how = f"exit status {exitcode}"
    return f"the model process crashed ({how}); it will be restarted"


# -- the child ------------------------------------------------------------------------


def _serve(spec: LoadSpec, conn: Connection, lifeline: Connection, stop: Any) -> None:
    """The child's main: load the model, then answer requests until told to close."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(lifeline,), daemon=True).start()
    from models.llamacpp import LlamaCppModel  # only the child loads llama.cpp's code paths

    try:
        model = LlamaCppModel(
            spec.path,
            n_ctx=spec.n_ctx,
            n_threads=spec.n_threads,
            n_gpu_layers=spec.n_gpu_layers,
            model_id=spec.model_id,
            cpu_repack=spec.cpu_repack,
            lora_path=spec.lora_path,
        )
    except ModelError as exc:
        conn.send(("error", exc))
        return
    conn.send(("ready", model.info()))
    while True:
        try:
            kind, request = conn.recv()
        except (EOFError, OSError):
            break
        if kind == "close":
            break
        conn.send(_complete(model, request, stop))
    model.close()


def _complete(model: Any, request: _Request, stop: Any) -> tuple[str, Any]:
    try:
        return "ok", model.complete(
            request.messages,
            schema=request.schema,
            max_tokens=request.max_tokens,
            should_stop=lambda: stop.value != 0,
        )
    except ModelError as exc:
        return "error", exc
    except Exception as exc:  # noqa: BLE001  (the process boundary: every failure becomes a ModelError)
        log.debug("model process failed", exc_info=True)
        return "error", ModelError(f"model process: {type(exc).__name__}: {exc}")


def _watch_parent(lifeline: Connection) -> None:
    """End this process as soon as the parent is gone (its end of `lifeline` closed)."""
    try:
        lifeline.recv()
    except (EOFError, OSError):
        pass
    os._exit(0)
