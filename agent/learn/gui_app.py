"""The window a GUI curriculum sample opens: a small Tk app built from a JSON spec, run
as its own process on the sample's X display (`agent.learn.gui_stage` starts it).

    python agent/learn/gui_app.py DISPLAY SPEC_JSON

The spec names the window (``title``, ``app``: its WM_CLASS, ``geometry``), a few
``lines`` of text, ``buttons`` (labels, one per row so OCR reads each on its own),
``fields`` (label and name; clicking a label puts the keyboard in its field, so
"type into the field labelled Name" is one action) and ``keys`` (chords the window
answers, e.g. ``ctrl+s``). Enter in a field submits the fields, as the Save button does.

Protocol on stdin/stdout, one line each:

    ready            printed once the window is mapped and drawn
    sync             (read) process every pending X event, then print the state:
    state JSON       {"clicked": [...], "submitted": [{name: text}...], "keys": [...],
                      "focused": bool}

`sync` is how the check waits without sleeping: Tk's ``update`` round-trips to the X
server first, so every input the GUI tool sent before the sync (pyautogui syncs after
each one) has reached this window when the state is printed.

Invariants: the app only reads its spec and stdin and writes stdout; it never touches
files, so a sample's workspace holds only its own fixture.
"""

from __future__ import annotations

import json
import sys
import tkinter as tk
from typing import Any

FONT = ("DejaVu Sans", 16)
#: Tk event sequences of the chords a spec may name.
SEQUENCES = {
    "ctrl+s": "<Control-s>",
    "ctrl+n": "<Control-n>",
    "ctrl+p": "<Control-p>",
    "ctrl+z": "<Control-z>",
    "esc": "<Escape>",
    "f5": "<F5>",
    "f2": "<F2>",
}


def say(line: str) -> None:
    """One protocol line to the process that started this window."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class App:
    def __init__(self, display: str, spec: dict[str, Any]) -> None:
        self.root = tk.Tk(screenName=display, className=str(spec["app"]))
        self.root.title(str(spec["title"]))
        self.root.geometry(str(spec["geometry"]))
        self.clicked: list[str] = []
        self.submitted: list[dict[str, str]] = []
        self.keys: list[str] = []
        self.entries: dict[str, tk.Entry] = {}
        row = 0
        for line in spec.get("lines", []):
            tk.Label(self.root, text=line, font=FONT).grid(row=row, column=0, columnspan=2)
            row += 1
        for label, name in spec.get("fields", []):
            row = self._field(row, str(label), str(name))
        for label in spec.get("buttons", []):
            command = self._submit if label == spec.get("submit") else self._clicker(label)
            button = tk.Button(self.root, text=label, font=FONT, command=command)
            button.grid(row=row, column=0, columnspan=2, pady=4)
            row += 1
        for chord in spec.get("keys", []):
            self.root.bind_all(SEQUENCES[chord], self._keyer(chord))

    def _field(self, row: int, label: str, name: str) -> int:
        entry = tk.Entry(self.root, font=FONT, width=18)
        shown = tk.Label(self.root, text=label, font=FONT)
        shown.grid(row=row, column=0, sticky="e", padx=8, pady=4)
        entry.grid(row=row, column=1, sticky="w", pady=4)
        shown.bind("<Button-1>", lambda _e: entry.focus_set())
        entry.bind("<Return>", lambda _e: self._submit())
        self.entries[name] = entry
        return row + 1

    def _clicker(self, label: str) -> Any:
        return lambda: self.clicked.append(label)

    def _keyer(self, chord: str) -> Any:
        return lambda _e: self.keys.append(chord)

    def _submit(self) -> None:
        self.submitted.append({name: e.get() for name, e in self.entries.items()})

    def sync(self) -> None:
        self.root.update()
        state = {
            "clicked": self.clicked,
            "submitted": self.submitted,
            "keys": self.keys,
            "focused": self.root.focus_get() is not None,
        }
        say("state " + json.dumps(state))

    def on_stdin(self, *_args: object) -> None:
        line = sys.stdin.readline()
        if not line:
            self.root.destroy()
        elif line.strip() == "sync":
            self.sync()

    def run(self) -> None:
        self.root.tk.createfilehandler(sys.stdin, tk.READABLE, self.on_stdin)
        self.root.wait_visibility()  # mapped: the X server shows it
        self.root.update()  # and drawn
        say("ready")
        self.root.mainloop()


if __name__ == "__main__":
    App(sys.argv[1], json.loads(sys.argv[2])).run()
