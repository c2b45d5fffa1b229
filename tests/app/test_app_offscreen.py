"""The app's tests that need no real X server also run on Qt's offscreen platform.

The session's QApplication has one platform for its whole life, so the offscreen run
is a second pytest process, with DESKHAND_TEST_QPA=offscreen (see conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
OFFSCREEN_FILES = ("test_app_approval.py", "test_app_history.py", "test_app_settings.py")


def test_palette_approval_history_and_settings_offscreen(tmp_path: Path) -> None:
    if os.environ.get("DESKHAND_TEST_QPA") == "offscreen":
        pytest.skip("this session already runs offscreen")
    env = {**os.environ, "DESKHAND_TEST_QPA": "offscreen"}
    env.pop("DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not model",
         "--basetemp", str(tmp_path / "t"), *(str(HERE / f) for f in OFFSCREEN_FILES)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=HERE.parent.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout
