"""Spelling a text with a vocabulary's own pieces, for text in the middle of a reply.

Why: a SentencePiece vocabulary with a space prefix (Phi-3, Llama 2, Mistral) makes
llama.cpp's tokenizer start every text with a space, so JSON that the constrained decoder
writes in pieces (``{"``, ``thought``...) would each gain one. `models.llamacpp` takes
that space off the first token and spells what is left of that token here.

Invariant: the tokens spell exactly the given bytes, or `spell` says it cannot (None).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


class Speller:
    """Longest-piece-first spelling over one vocabulary's pieces (token id -> bytes)."""

    def __init__(self, pieces: Sequence[bytes], byte_tokens: Collection[int] = ()) -> None:
        table: dict[bytes, int] = {}
        for i, piece in enumerate(pieces):
            # A text token, not a byte-fallback token, where both spell the same bytes.
            if piece and (piece not in table or table[piece] in byte_tokens):
                table[piece] = i
        self._table = table
        self._longest = max((len(p) for p in table), default=0)

    def spell(self, text: bytes) -> list[int] | None:
        ids: list[int] = []
        while text:
            for end in range(min(len(text), self._longest), 0, -1):
                token = self._table.get(text[:end])
                if token is not None:
                    ids.append(token)
                    text = text[end:]
                    break
            else:
                return None
        return ids
