"""Shards of the curriculum (agent/learn/registry.py `generate(..., shard=)`): K parts,
concatenated in order, are the whole data set, so K processes can make it side by side."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from agent.learn.registry import generate
from agent.learn.sample import Sample


def _key(samples: Iterable[Sample]) -> list[tuple[str, str]]:
    return [(s.template, s.goal) for s in samples]


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_shards_in_order_are_the_whole(parts: int) -> None:
    whole = _key(generate(2, 5, ["files"]))
    pieces = [_key(generate(2, 5, ["files"], (i, parts))) for i in range(parts)]
    assert [x for piece in pieces for x in piece] == whole
    assert all(pieces) and max(map(len, pieces)) - min(map(len, pieces)) <= 1


def test_a_shard_outside_the_parts_is_refused() -> None:
    with pytest.raises(ValueError, match="shard 2/2"):
        list(generate(1, 0, ["files"], (2, 2)))
