"""Global hotkeys: the palette and the kill switch, from anywhere on the desktop.

pynput on X11, Windows and macOS. Its listener runs on a thread of its own; the
callbacks only emit signals, which Qt queues to the UI thread, so a key press never
waits on the UI and the UI never waits on the listener (pynput is even imported and
started off the UI thread). On Wayland no client may grab keys globally: `start`
reports that (`unavailable`) and the user binds ``deskhand palette`` and
``deskhand stop`` in the desktop's own shortcut settings instead.

Hotkeys are written in pynput's syntax (``<ctrl>+<alt>+<space>``); `normalize` also
accepts the bracket-less spelling people type (``ctrl+alt+space``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from agent.settings import DesktopSession, HotkeySettings

log = logging.getLogger(__name__)

WAYLAND_MESSAGE = (
    "Global hotkeys are not available on Wayland: the compositor does not let "
    "applications grab keys. Bind `deskhand palette` (and `deskhand stop` as a kill "
    "switch) to shortcuts in your desktop's keyboard settings."
)


class HotkeyError(ValueError):
    """A hotkey that cannot be parsed; the message says which part."""


#: pynput's named keys (``pynput.keyboard.Key``), listed here because pynput itself
#: cannot even be imported without a display on Linux, and settings are checked anyway.
NAMED_KEYS = frozenset(
    "alt alt_r alt_gr backspace caps_lock cmd cmd_r ctrl ctrl_r delete "
    "down end enter esc home left page_down page_up right shift shift_r space tab "
    "up insert menu num_lock pause print_screen scroll_lock media_play_pause media_volume_mute "
    "media_volume_down media_volume_up media_previous media_next".split()
    + [f"f{n}" for n in range(1, 21)]
)


def normalize(combo: str) -> str:
    """``Ctrl+Alt+Space`` → ``<ctrl>+<alt>+<space>``; raises HotkeyError when invalid."""
    parts = [p.strip().lower() for p in combo.split("+")]
    if len(parts) < 2 or any(not p for p in parts):
        raise HotkeyError(f"not a key combination: {combo!r} (e.g. <ctrl>+<alt>+<space>)")
    names = [p[1:-1] if p.startswith("<") and p.endswith(">") else p for p in parts]
    for name in names:
        if len(name) > 1 and name not in NAMED_KEYS and not name.isdigit():
            raise HotkeyError(f"unknown key <{name}> in {combo!r}")
    text = "+".join(n if len(n) == 1 else f"<{n}>" for n in names)
    try:
        from pynput import keyboard
    except ImportError:
        return text
    try:
        keyboard.HotKey.parse(text)
    except ValueError as exc:
        raise HotkeyError(f"unknown key {exc} in {combo!r}") from exc
    return text


class GlobalHotkeys(QObject):
    """Listens for the configured hotkeys and emits `palette` and `stop`."""

    palette = Signal()
    stop = Signal()
    #: The listener is running.
    ready = Signal()
    #: No global hotkeys in this session: why, for the person.
    unavailable = Signal(str)

    def __init__(
        self, hotkeys: HotkeySettings, session: DesktopSession, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._hotkeys = hotkeys
        self._session = session
        self._lock = threading.Lock()
        self._listener: Any = None
        self._closed = False

    def start(self) -> None:
        """Start listening in the background; `ready` or `unavailable` follows."""
        if not self._hotkeys.enabled:
            self.unavailable.emit("global hotkeys are turned off in Settings")
        elif self._session == "wayland":
            self.unavailable.emit(WAYLAND_MESSAGE)
        elif self._session == "none":
            self.unavailable.emit("no display: global hotkeys need an X11 session")
        else:
            threading.Thread(target=self._listen, name="deskhand-hotkeys", daemon=True).start()

    def restart(self, hotkeys: HotkeySettings) -> None:
        self.close()
        with self._lock:
            self._closed = False
        self._hotkeys = hotkeys
        self.start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            listener, self._listener = self._listener, None
        if listener is not None:
            _stop_listener(listener)

    def _listen(self) -> None:
        try:
            from pynput import keyboard

            bindings = {
                normalize(self._hotkeys.palette): self.palette.emit,
                normalize(self._hotkeys.stop): self.stop.emit,
            }
            listener = keyboard.GlobalHotKeys(bindings)
        except (ImportError, HotkeyError) as exc:
            log.warning("global hotkeys unavailable: %s", exc)
            self.unavailable.emit(f"global hotkeys unavailable: {exc}")
            return
        with self._lock:
            if self._closed:
                return
            self._listener = listener
            listener.start()
        listener.wait()
        log.info("global hotkeys: palette %s, stop %s", self._hotkeys.palette, self._hotkeys.stop)
        self.ready.emit()


def _stop_listener(listener: Any) -> None:
    """Stop a pynput listener and wait for its thread, so its X connections close before
    the app (or the X server) goes.

    pynput's X11 listener asks to stop recording on the recording connection itself,
    where the request can sit unsent until the next key press (and its own cleanup then
    races with us on its other connection). The recording context is a server-side id:
    disabling it from a connection of our own ends the listener at once.
    """
    context = getattr(listener, "_context", None)
    if context is None:  # not the X11 backend
        listener.stop()
        listener.join(2.0)
        return
    from Xlib.display import Display
    from Xlib.error import ConnectionClosedError, DisplayError

    try:
        display = Display()
        try:
            display.record_disable_context(context)
            display.sync()
        finally:
            display.close()
    except (ConnectionClosedError, DisplayError):
        return  # the X server is gone, and the listener with it
    listener.join(2.0)
