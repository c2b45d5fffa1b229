"""What `deskhand models` says about repacked weights, on CPUs with and without AMX."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_cpp")

from models.llamacpp import cpu_repack_choice  # noqa: E402


def test_off_by_default_and_the_reason_names_amx_where_the_cpu_has_it() -> None:
    assert cpu_repack_choice(False, amx=True) == (
        "cpu repack: off (this CPU has AMX, whose llama.cpp path crashes; "
        "model.cpu_repack = true opts in)"
    )
    assert cpu_repack_choice(False, amx=False).startswith("cpu repack: off (safe default;")


def test_opting_in_on_an_amx_cpu_says_the_risk() -> None:
    assert "may crash" in cpu_repack_choice(True, amx=True)
    assert cpu_repack_choice(True, amx=False) == "cpu repack: on (model.cpu_repack = true)"
