"""The gate for personal adapters: a new adapter becomes the default only when it is at
least as good as the current one on every task family and better on one; adapters are
versioned under the data folder and a rollback is one call.

    store = AdapterStore(settings.data_dir / "adapters")
    verdict = gate(store, new_adapter_file, evaluate)   # evaluate(adapter | None) -> scores

`evaluate` is injected: it scores an adapter (None: what runs by default without a
personal adapter, the shipped one) per family, as a success rate in [0, 1], on the user's
own saved task files and a held-out slice of their recent successful runs
(agent/learn/replay_eval.py, ``deskhand learn``). The gate only compares.

The store's current adapter is the embedded model's default (`current_adapter`, read by
`agent.assemble.local_options`) unless the settings name one; ``--adapter NAME`` picks
one for a run (`resolve_adapter`).

Invariants:
- A candidate is copied into the store as ``STEM-vN.gguf`` (N counts the store's
  versions) beside ``STEM-vN.json`` (scores, baseline, the verdict: accepted, reason and
  the families it was worse on, ``worse``; provenance), and kept whatever the verdict,
  so `deskhand models adapters` can show why it was refused; only an accepted one
  becomes current.
- The index (``adapters.json``) is replaced whole by an atomic write: a crash leaves the
  old index or the new one, never a torn one. Version names are unique and ordered.
- ``history`` lists the adapters that were current, oldest first; `rollback` makes the
  previous one current again (or the bare model when there is none) and never deletes
  a file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.adapter_meta import ADAPTERS_DIR, shipped_adapter
from tools.atomic_write import write_atomic

Scores = Mapping[str, float]
Evaluate = Callable[[Path | None], Scores]

INDEX = "adapters.json"
#: The name ``--adapter`` takes for the shipped adapter (models/adapters/).
SHIPPED = "shipped"


class GateError(Exception):
    """The adapter store cannot be used (a bad index, a missing adapter file)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    reason: str
    #: The candidate's version name in the store.
    name: str
    scores: Mapping[str, float]
    baseline: Mapping[str, float]
    #: The families the candidate scored strictly lower on: a refusal with none of them
    #: is "no better", one with some is "worse" (data, so nobody parses `reason`).
    worse: tuple[str, ...] = ()


def worse_families(baseline: Scores, candidate: Scores) -> tuple[str, ...]:
    """The families `candidate` scores strictly lower on (a family it was not scored on
    counts as 0), sorted."""
    families = sorted(set(baseline) | set(candidate))
    return tuple(f for f in families if candidate.get(f, 0.0) < baseline.get(f, 0.0))


def judge(baseline: Scores, candidate: Scores) -> tuple[bool, str]:
    """Accept only at least as good on every family and better on at least one."""
    families = sorted(set(baseline) | set(candidate))
    if not families:
        return False, "no task family was evaluated"
    worse = worse_families(baseline, candidate)
    if worse:
        detail = ", ".join(
            f"{f} {candidate.get(f, 0.0):.2f} < {baseline.get(f, 0.0):.2f}" for f in worse
        )
        return False, f"worse on {detail}"
    better = [f for f in families if candidate.get(f, 0.0) > baseline.get(f, 0.0)]
    if not better:
        return False, "no better on any family"
    return True, "better on " + ", ".join(better) + ", no worse on any"


class AdapterStore:
    """Versioned adapters in one folder, with an index of scores and the current one."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- the index ------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        path = self.root / INDEX
        if not path.is_file():
            return {"versions": {}, "history": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GateError(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
            raise GateError(f"{path}: not an adapter index")
        data.setdefault("history", [])
        return data

    def _write(self, data: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / INDEX, json.dumps(data, indent=2, sort_keys=True) + "\n")

    # -- reads --------------------------------------------------------------------------

    def current(self) -> str | None:
        history = self._read()["history"]
        return str(history[-1]) if history else None

    def path(self, name: str) -> Path:
        if name not in self._read()["versions"]:
            raise GateError(f"no adapter named {name!r} (see `deskhand models adapters`)")
        return self.root / name

    def versions(self) -> list[dict[str, Any]]:
        """Every stored adapter, oldest first: name, scores, accepted, current."""
        data = self._read()
        now = self.current()
        return [
            {"name": name, **entry, "current": name == now}
            for name, entry in sorted(data["versions"].items())
        ]

    # -- writes -------------------------------------------------------------------------

    def add(
        self,
        adapter: Path,
        scores: Scores,
        *,
        accepted: bool,
        reason: str,
        baseline: Scores | None = None,
        provenance: Mapping[str, Any] | None = None,
        worse: Sequence[str] = (),
    ) -> str:
        """Copy `adapter` in as a new version with its scores and verdict (`worse`: the
        families it scored strictly lower on); its version name."""
        data = self._read()
        stem = adapter.stem.rsplit("-v", 1)[0] if "-v" in adapter.stem else adapter.stem
        name = f"{stem}-v{len(data['versions']) + 1}.gguf"
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(adapter, self.root / name)
        entry = {
            "scores": dict(scores),
            "baseline": dict(baseline or {}),
            "accepted": accepted,
            "reason": reason,
            "worse": list(worse),
            "provenance": dict(provenance or {}),
        }
        write_atomic((self.root / name).with_suffix(".json"), json.dumps(entry, indent=2) + "\n")
        data["versions"][name] = entry
        self._write(data)
        return name

    def promote(self, name: str) -> None:
        data = self._read()
        if name not in data["versions"]:
            raise GateError(f"no adapter named {name!r}")
        data["history"].append(name)
        self._write(data)

    def rollback(self) -> str | None:
        """Make the adapter current before this one current again; the new current one
        (None: the bare model)."""
        data = self._read()
        if not data["history"]:
            raise GateError("no adapter is current; nothing to roll back")
        data["history"].pop()
        self._write(data)
        return str(data["history"][-1]) if data["history"] else None


def gate(
    store: AdapterStore,
    candidate: Path,
    evaluate: Evaluate,
    provenance: Mapping[str, Any] | None = None,
) -> Verdict:
    """Score `candidate` against the current adapter (or the default without one) with
    `evaluate`; store it either way and make it current only if `judge` accepts it."""
    if not candidate.is_file():
        raise GateError(f"no adapter file {candidate}")
    current = store.current()
    baseline = evaluate(store.path(current) if current is not None else None)
    scores = evaluate(candidate)
    accepted, reason = judge(baseline, scores)
    worse = worse_families(baseline, scores)
    name = store.add(
        candidate,
        scores,
        accepted=accepted,
        reason=reason,
        baseline=baseline,
        provenance=provenance,
        worse=worse,
    )
    if accepted:
        store.promote(name)
    return Verdict(accepted, reason, name, dict(scores), dict(baseline), worse)


# -- the personal adapter as the default ----------------------------------------------------


def personal_store(data_dir: Path) -> AdapterStore:
    """The user's adapters: ``data_dir/adapters``."""
    return AdapterStore(Path(data_dir) / "adapters")


def current_adapter(data_dir: Path) -> Path | None:
    """The accepted personal adapter runs use by default; None when there is none (or
    the store cannot be read: a broken index never stops a run, it falls back)."""
    store = personal_store(data_dir)
    try:
        name = store.current()
        return store.path(name) if name is not None else None
    except GateError:
        return None


def resolve_adapter(data_dir: Path, name: str) -> Path:
    """The adapter file ``--adapter NAME`` means: ``shipped`` or a shipped file's name
    (models/adapters/), else a personal version (``STEM-vN.gguf``, ``.gguf`` optional)."""
    if name == SHIPPED:
        found = shipped_adapter()
        if found is None:
            raise GateError("no shipped adapter is installed")
        return found
    file = name if name.endswith(".gguf") else name + ".gguf"
    if (ADAPTERS_DIR / file).is_file() and "/" not in file:
        return ADAPTERS_DIR / file
    store = personal_store(data_dir)
    path = store.path(file)
    if not path.is_file():
        raise GateError(f"adapter file {path} is missing")
    return path
