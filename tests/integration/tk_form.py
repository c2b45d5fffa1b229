"""A small Tk window for GUI tests. It prints one line per thing that happens to it,
which the test waits for (tests/xserver.py `GuiApp.expect`).

argv: CLASS TITLE GEOMETRY STATUS-TEXT. Lines printed:

    ready                      mapped and drawn
    pressed                    "Press me" clicked
    saved:TEXT                 "Save" clicked; TEXT is the field's content
    double / right             "Click area" double-clicked / right-clicked
    key:ctrl-s                 Ctrl+S pressed
    scroll:up / scroll:down    the wheel turned over the window
    drag:DX,DY                 a drag across the drag area, by (DX, DY) pixels
"""

from __future__ import annotations

import sys
import tkinter as tk

app_class, title, geometry, status_text = sys.argv[1:5]
FONT = ("DejaVu Sans", 16)


def say(line: str) -> None:
    print(line, flush=True)


root = tk.Tk(className=app_class)
root.title(title)
root.geometry(geometry)

status = tk.Label(root, text=status_text, font=FONT)
status.grid(row=0, column=0, columnspan=2, pady=6)
tk.Label(root, text="Name:", font=FONT).grid(row=1, column=0, sticky="e", padx=8, pady=6)
field = tk.Entry(root, font=FONT, width=24)
field.grid(row=1, column=1, sticky="w", pady=6)


def save() -> None:
    status.configure(text="Status: saved")
    say("saved:" + field.get())


tk.Button(root, text="Save", font=FONT, command=save).grid(row=2, column=0, pady=6)
tk.Button(root, text="Press me", font=FONT, command=lambda: say("pressed")).grid(
    row=2, column=1, pady=6
)
area = tk.Label(root, text="Click area", font=FONT, relief="ridge", padx=20, pady=6)
area.grid(row=3, column=0, columnspan=2, pady=6)
area.bind("<Double-Button-1>", lambda e: say("double"))
area.bind("<Button-3>", lambda e: say("right"))

canvas = tk.Canvas(root, width=400, height=90, background="#dddddd")
canvas.grid(row=4, column=0, columnspan=2, pady=6)
canvas.create_text(200, 45, text="Drag area", font=FONT)
start: list[int] = []
canvas.bind("<ButtonPress-1>", lambda e: start[:] or start.extend((e.x_root, e.y_root)))
canvas.bind(
    "<ButtonRelease-1>",
    lambda e: (say(f"drag:{e.x_root - start[0]},{e.y_root - start[1]}"), start.clear()),
)

root.bind_all("<Control-s>", lambda e: say("key:ctrl-s"))
root.bind_all("<Button-4>", lambda e: say("scroll:up"))
root.bind_all("<Button-5>", lambda e: say("scroll:down"))

root.after(200, lambda: (root.update_idletasks(), say("ready")))
root.mainloop()
