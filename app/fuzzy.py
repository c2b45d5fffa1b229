"""Fuzzy matching for the palette's suggestions: typed letters in order, anywhere in a
candidate, ranked so that word starts, adjacent letters and recent goals come first.

Pure and fast (a few hundred candidates per keystroke on the UI thread), no Qt.
"""

from __future__ import annotations

from collections.abc import Iterable


def score(query: str, candidate: str) -> float | None:
    """How well `query` matches `candidate` (higher is better), or None for no match.

    Every non-space letter of the query must occur in the candidate in order (case
    ignored). A letter earns more when it starts a word or follows the previous match.
    """
    q = "".join(query.lower().split())
    if not q:
        return 0.0
    c = candidate.lower()
    total, pos, prev = 0.0, 0, -2
    for ch in q:
        found = c.find(ch, pos)
        if found < 0:
            return None
        points = 1.0
        if found == 0 or not c[found - 1].isalnum():
            points += 2.0
        if found == prev + 1:
            points += 1.5
        total += points
        prev, pos = found, found + 1
    if query.strip().lower() in c:
        total += 3.0 * len(q)
    return total - 0.01 * len(c)


def rank(query: str, candidates: Iterable[str], limit: int = 8) -> list[str]:
    """The best `limit` matches, best first. Ties keep the candidates' order, so recent
    goals (given newest first) win; duplicates are dropped."""
    scored: list[tuple[float, int, str]] = []
    seen: set[str] = set()
    for order, text in enumerate(candidates):
        key = text.strip()
        if not key or key in seen:
            continue
        seen.add(key)
        s = score(query, key)
        if s is not None:
            scored.append((-s, order, key))
    scored.sort()
    return [text for _, _, text in scored[:limit]]
