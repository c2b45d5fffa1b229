"""Finding the model processes (`models.host`) that a process started, for crash tests."""

from __future__ import annotations

import psutil


def model_children(parent: int) -> list[psutil.Process]:
    """The llama.cpp children of `parent`: processes started by multiprocessing's spawn,
    which is how `models.host.HostedModel` starts them (not its resource tracker)."""
    found = []
    for child in psutil.Process(parent).children():
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found
