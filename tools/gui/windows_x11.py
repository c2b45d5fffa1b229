"""The real `Windows` on X11: python-xlib, the only module that imports it.

Why python-xlib and not xdotool: it is already installed with pyautogui (which drives X
through it), it costs no process per call (xdotool would be a fork and exec for every
lookup, and one more system package for the user to install), and its errors are typed
exceptions instead of exit codes and stderr text to parse.

How windows are found, with or without a window manager:
- With an EWMH window manager (every mainstream desktop), ``_NET_CLIENT_LIST_STACKING``
  on the root window lists the application windows bottom to top.
- Without one (Xvfb in tests, bare X sessions), the root window's children are walked
  in stacking order, and each one's application window is the first (it or a
  descendant) that carries ``WM_CLASS``.
Either way `Window.bounds` is the outer rectangle (with the title bar a window manager
adds), so a click on a title bar belongs to that window's application.

Focus goes through ``_NET_ACTIVE_WINDOW`` when the window manager supports it (it would
undo a focus it did not give), else raise + ``SetInputFocus``; either way the change is
confirmed by reading the focus back within `FOCUS_DEADLINE_S`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import Xlib.display
import Xlib.error
import Xlib.protocol.event
from Xlib import X

from tools.base import ToolFailure
from tools.gui.base import GuiUnavailable, Window
from tools.gui.geometry import Rect

log = logging.getLogger(__name__)

FOCUS_DEADLINE_S = 2.0
_FOCUS_RECHECK_S = 0.02
_SEARCH_DEPTH = 3


class X11Windows:
    def __init__(self, display: str) -> None:
        self._name = display
        self._conn: Any = None

    def visible(self) -> list[Window]:
        with _x_errors():
            found = []
            for frame, client in reversed(self._stack()):
                window = self._describe(frame, client)
                if window is not None:
                    found.append(window)
            return found

    def at(self, x: int, y: int) -> Window | None:
        return next((w for w in self.visible() if w.bounds.contains(x, y)), None)

    def focused(self) -> Window | None:
        d = self._display()
        with _x_errors():
            focus = d.get_input_focus().focus
            if isinstance(focus, int) or focus.id in (X.NONE, X.PointerRoot):
                # No focus window: keys go to the window under the pointer.
                pointer = d.screen().root.query_pointer()
                return self.at(pointer.root_x, pointer.root_y)
            top = self._top_level(focus)
        return next((w for w in self.visible() if self._top_level_id(w) == top), None)

    def focus(self, window: Window) -> None:
        d = self._display()
        with _x_errors():
            client = d.create_resource_object("window", window.id)
            root = d.screen().root
            if self._supports("_NET_ACTIVE_WINDOW"):
                data = [2, X.CurrentTime, 0, 0, 0]  # 2: asked for by a pager-like tool
                event = Xlib.protocol.event.ClientMessage(
                    window=client,
                    client_type=d.intern_atom("_NET_ACTIVE_WINDOW"),
                    data=(32, data),
                )
                mask = X.SubstructureRedirectMask | X.SubstructureNotifyMask
                root.send_event(event, event_mask=mask)
            else:
                d.create_resource_object("window", self._top_level(client)).configure(
                    stack_mode=X.Above
                )
                client.set_input_focus(X.RevertToParent, X.CurrentTime)
            d.sync()
        deadline = time.monotonic() + FOCUS_DEADLINE_S
        while time.monotonic() < deadline:
            now = self.focused()
            if now is not None and now.id == window.id:
                return
            time.sleep(_FOCUS_RECHECK_S)  # the window manager answers asynchronously
        raise ToolFailure("focus_failed", f"could not give the keyboard to {window.scope}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- X details ------------------------------------------------------------------

    def _display(self) -> Any:
        if self._conn is None:
            try:
                self._conn = Xlib.display.Display(self._name)
            except (Xlib.error.DisplayError, Xlib.error.ConnectionClosedError) as exc:
                raise GuiUnavailable(f"cannot connect to X display {self._name}: {exc}") from exc
        return self._conn

    def _stack(self) -> list[tuple[Any, Any]]:
        """(top-level window, application window) pairs, bottom to top."""
        d = self._display()
        root = d.screen().root
        listed = root.get_full_property(
            d.intern_atom("_NET_CLIENT_LIST_STACKING"), X.AnyPropertyType
        )
        if listed is not None and len(listed.value):
            clients = [d.create_resource_object("window", wid) for wid in listed.value]
            return [(d.create_resource_object("window", self._top_level(c)), c) for c in clients]
        pairs = []
        for child in root.query_tree().children:
            client = _with_class(child, _SEARCH_DEPTH)
            if client is not None:
                pairs.append((child, client))
        return pairs

    def _describe(self, frame: Any, client: Any) -> Window | None:
        """A visible window's description; None for hidden or vanished ones."""
        try:
            if frame.get_attributes().map_state != X.IsViewable:
                return None
            geometry = frame.get_geometry()
            origin = self._display().screen().root.translate_coords(frame, 0, 0)
            wm_class = client.get_wm_class()
            title = self._title(client)
        except Xlib.error.BadWindow:  # closed while we looked
            return None
        app = wm_class[1] if wm_class else ""
        bounds = Rect(origin.x, origin.y, geometry.width, geometry.height)
        return Window(client.id, app, title, bounds)

    def _title(self, client: Any) -> str:
        d = self._display()
        prop = client.get_full_property(d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING"))
        if prop is not None and prop.value:
            raw = prop.value
            return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        name = client.get_wm_name()
        if isinstance(name, bytes):
            return name.decode("latin-1")
        return name or ""

    def _top_level(self, window: Any) -> int:
        """The id of the ancestor of `window` that is a child of the root window."""
        root_id = self._display().screen().root.id
        current = window
        while True:
            parent = current.query_tree().parent
            # The root's parent comes back as the plain integer 0 (None in X terms).
            if isinstance(parent, int) or parent is None or parent.id in (root_id, X.NONE):
                return int(current.id)
            current = parent

    def _top_level_id(self, window: Window) -> int:
        with _x_errors():
            return self._top_level(self._display().create_resource_object("window", window.id))

    def _supports(self, atom_name: str) -> bool:
        d = self._display()
        supported = d.screen().root.get_full_property(
            d.intern_atom("_NET_SUPPORTED"), X.AnyPropertyType
        )
        return supported is not None and d.intern_atom(atom_name) in supported.value


def _with_class(window: Any, depth: int) -> Any:
    """`window` or its first descendant (breadth first, `depth` levels) with WM_CLASS."""
    level = [window]
    for _ in range(depth + 1):
        following = []
        for w in level:
            try:
                if w.get_wm_class() is not None:
                    return w
                following.extend(w.query_tree().children)
            except Xlib.error.BadWindow:
                continue
        level = following
    return None


@contextmanager
def _x_errors() -> Iterator[None]:
    try:
        yield
    except Xlib.error.BadWindow as exc:
        raise ToolFailure("window_gone", "the window closed while it was being used") from exc
    except Xlib.error.ConnectionClosedError as exc:
        raise ToolFailure("screen_error", f"the X connection closed: {exc}") from exc
    except Xlib.error.XError as exc:
        log.debug("X error: %s", exc)
        raise ToolFailure("window_error", f"the window system refused: {exc}") from exc
