"""The personal adapter's gate (agent/learn_gate.py) on real files: a worse adapter is
refused and the old one stays current; a better one replaces it; rollback restores the
previous adapter; nothing is deleted."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from agent.learn_gate import AdapterStore, Evaluate, GateError, Scores, gate, judge


def adapter(tmp_path: Path, name: str, body: bytes) -> Path:
    path = tmp_path / f"{name}.gguf"
    path.write_bytes(body)
    return path


def scorer(by_content: Mapping[bytes | None, Scores]) -> Evaluate:
    """Scores an adapter by its file's bytes (None: the bare model)."""

    def evaluate(path: Path | None) -> Scores:
        return by_content[path.read_bytes() if path is not None else None]

    return evaluate


def test_judge_needs_no_worse_everywhere_and_better_somewhere() -> None:
    base = {"files": 0.5, "browser": 0.25}
    assert judge(base, {"files": 0.75, "browser": 0.25})[0]
    assert not judge(base, {"files": 0.5, "browser": 0.25})[0]  # only as good
    ok, why = judge(base, {"files": 1.0, "browser": 0.0})
    assert not ok and "browser 0.00 < 0.25" in why
    assert not judge(base, {"files": 1.0})[0]  # a family it was not scored on counts as 0
    assert not judge({}, {})[0]


def test_a_worse_adapter_is_refused_and_the_old_one_stays(tmp_path: Path) -> None:
    store = AdapterStore(tmp_path / "data" / "adapters")
    scores = {
        None: {"files": 0.25},
        b"good": {"files": 0.5},
        b"worse": {"files": 0.0},  # made worse on purpose
    }
    first = gate(store, adapter(tmp_path, "mine", b"good"), scorer(scores))
    assert first.accepted and store.current() == first.name
    assert first.baseline == {"files": 0.25}

    second = gate(store, adapter(tmp_path, "mine", b"worse"), scorer(scores))
    assert not second.accepted and "worse on files" in second.reason
    assert store.current() == first.name  # kept
    assert store.path(first.name).read_bytes() == b"good"
    listed = {v["name"]: v for v in store.versions()}
    assert listed[second.name]["accepted"] is False and listed[second.name]["scores"] == {
        "files": 0.0
    }
    assert listed[first.name]["current"] is True


def accepted_first(
    tmp_path: Path, store: AdapterStore, scores: Mapping[bytes | None, Scores]
) -> str:
    """An accepted personal adapter (``b"v1"``), current before the candidate is weighed."""
    v1 = gate(store, adapter(tmp_path, "mine", b"v1"), scorer(scores))
    assert v1.accepted and store.current() == v1.name
    return v1.name


def test_worse_on_one_family_is_refused_even_when_better_on_another(tmp_path: Path) -> None:
    store = AdapterStore(tmp_path / "adapters")
    scores = {
        None: {"files": 0.25, "browser": 0.25},
        b"v1": {"files": 0.5, "browser": 0.5},
        b"candidate": {"files": 1.0, "browser": 0.25},  # strictly lower on browser
    }
    v1 = accepted_first(tmp_path, store, scores)

    verdict = gate(store, adapter(tmp_path, "mine", b"candidate"), scorer(scores))
    assert not verdict.accepted
    assert verdict.reason == "worse on browser 0.25 < 0.50"
    assert verdict.worse == ("browser",)
    assert verdict.baseline == {"files": 0.5, "browser": 0.5}  # weighed against v1
    assert store.current() == v1 and store.path(v1).read_bytes() == b"v1"
    listed = {v["name"]: v for v in store.versions()}
    assert listed[verdict.name]["accepted"] is False
    assert listed[verdict.name]["reason"] == verdict.reason
    assert listed[verdict.name]["worse"] == ["browser"]
    # The verdict is kept with the adapter, beside its file.
    kept = json.loads(store.path(verdict.name).with_suffix(".json").read_text())
    assert (kept["accepted"], kept["reason"], kept["worse"]) == (
        False,
        "worse on browser 0.25 < 0.50",
        ["browser"],
    )
    assert kept["scores"] == {"files": 1.0, "browser": 0.25}


def test_as_good_everywhere_is_refused_as_no_better_not_as_worse(tmp_path: Path) -> None:
    store = AdapterStore(tmp_path / "adapters")
    scores = {
        None: {"files": 0.25, "browser": 0.0},
        b"v1": {"files": 0.5, "browser": 0.5},
        b"candidate": {"files": 0.5, "browser": 0.5},  # equal on every family
    }
    v1 = accepted_first(tmp_path, store, scores)

    verdict = gate(store, adapter(tmp_path, "mine", b"candidate"), scorer(scores))
    assert not verdict.accepted
    assert verdict.reason == "no better on any family"
    assert verdict.worse == ()
    assert store.current() == v1
    kept = json.loads(store.path(verdict.name).with_suffix(".json").read_text())
    assert (kept["reason"], kept["worse"]) == ("no better on any family", [])


def test_with_no_personal_adapter_the_shipped_default_stays(tmp_path: Path) -> None:
    store = AdapterStore(tmp_path / "adapters")
    scores = {None: {"files": 0.5}, b"worse": {"files": 0.25}, b"same": {"files": 0.5}}
    worse = gate(store, adapter(tmp_path, "mine", b"worse"), scorer(scores))
    same = gate(store, adapter(tmp_path, "mine", b"same"), scorer(scores))
    assert (worse.reason, worse.worse) == ("worse on files 0.25 < 0.50", ("files",))
    assert (same.reason, same.worse) == ("no better on any family", ())
    assert store.current() is None  # the default without a personal adapter


def test_rollback_restores_the_previous_adapter(tmp_path: Path) -> None:
    store = AdapterStore(tmp_path / "adapters")
    scores = {None: {"files": 0.0}, b"v1": {"files": 0.25}, b"v2": {"files": 0.5}}
    v1 = gate(store, adapter(tmp_path, "a", b"v1"), scorer(scores)).name
    v2 = gate(store, adapter(tmp_path, "a", b"v2"), scorer(scores)).name
    assert store.current() == v2 and v1 != v2
    assert store.rollback() == v1
    assert store.current() == v1 and store.path(v2).is_file()  # nothing deleted
    assert store.rollback() is None  # the bare model
    with pytest.raises(GateError):
        store.rollback()


def test_a_torn_or_foreign_index_is_one_error(tmp_path: Path) -> None:
    root = tmp_path / "adapters"
    root.mkdir()
    (root / "adapters.json").write_text("{not json")
    with pytest.raises(GateError, match="cannot read"):
        AdapterStore(root).current()
    with pytest.raises(GateError, match="no adapter file"):
        gate(AdapterStore(tmp_path / "other"), tmp_path / "missing.gguf", lambda p: {})
