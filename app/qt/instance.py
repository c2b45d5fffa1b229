"""One tray app per data directory: later ``deskhand palette`` / ``deskhand stop`` calls
hand their command to the running app over a local socket and exit.

This is how Wayland users get a hotkey (their desktop runs ``deskhand palette``), and
why that shows the palette at once: the running app, whose palette is already built,
shows it. The socket's name is derived from the data directory, so separate
``DESKHAND_HOME`` folders (tests) never talk to each other's app.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Literal

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from agent.settings import Settings

log = logging.getLogger(__name__)

Command = Literal["palette", "stop"]
COMMANDS: tuple[Command, ...] = ("palette", "stop")


def instance_name(settings: Settings) -> str:
    digest = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:16]
    return f"deskhand-{os.getuid() if hasattr(os, 'getuid') else 0}-{digest}"


def is_running(settings: Settings, timeout_ms: int = 300) -> bool:
    sock = QLocalSocket()
    sock.connectToServer(instance_name(settings))
    connected = bool(sock.waitForConnected(timeout_ms))
    sock.abort()
    return connected


def send(settings: Settings, command: Command, timeout_ms: int = 500) -> bool:
    """Hand `command` to the running app; False when none is running."""
    sock = QLocalSocket()
    sock.connectToServer(instance_name(settings))
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write(f"{command}\n".encode())
    sock.waitForBytesWritten(timeout_ms)
    sock.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for commands from later ``deskhand`` calls."""

    command = Signal(str)

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._name = instance_name(settings)

    def listen(self) -> bool:
        # A socket file left by a crashed app blocks listen(); the caller has checked
        # with `send` that no app answers on it.
        QLocalServer.removeServer(self._name)
        ok = self._server.listen(self._name)
        if not ok:
            log.warning("cannot listen on %s: %s", self._name, self._server.errorString())
        return ok

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while (sock := self._server.nextPendingConnection()) is not None:
            sock.readyRead.connect(lambda s=sock: self._read(s))
            self._read(sock)

    def _read(self, sock: QLocalSocket) -> None:
        """One command a line, one line a connection: done after the first line."""
        if not sock.canReadLine():
            return
        text = bytes(sock.readLine().data()).decode(errors="replace").strip()
        if text in COMMANDS:
            self.command.emit(text)
        else:
            log.warning("ignored unknown command %r", text[:40])
        # Deleted from here, never from its `disconnected` signal: that one also fires
        # while the socket is being destroyed with the server, and a deletion queued
        # then crashes.
        sock.readyRead.disconnect()
        sock.abort()
        sock.deleteLater()
