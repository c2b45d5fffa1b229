"""`LlamaCppModel`: a GGUF model in-process through llama.cpp. The only module that
imports `llama_cpp`.

Invariants:
- One `Llama` object per model, used by exactly one thread (the first caller of
  `complete`); another thread gets a `RuntimeError`, since llama.cpp contexts are not
  thread-safe.
- The KV cache keeps the longest common token prefix of consecutive prompts: each call
  evaluates only the tokens after the part shared with the previous call, and `Usage`
  says how many were reused. Callers keep prompts append-only to make that large.
- A reply that comes back as an assistant message is spliced into the next prompt as the
  token ids that were generated, not re-tokenized: a constrained reply is fed in pieces
  (`{"` then `thought`...) whose ids differ from the canonical tokenization of the same
  text, and re-tokenizing would end the shared prefix at the start of the last reply.
  The spliced prompt spells the same text as the templated transcript, for every family:
  a template that trims messages (Llama 3, Gemma) gets a reply spliced only when it has
  no outer whitespace, and text inside a reply is tokenized without the space that a
  SentencePiece vocabulary (Phi, Llama 2) puts before the start of a text.
- The chat template is the model file's own; a file without one gets its family's,
  recognised by the vocabulary (`models.chatformat`), and each conversation is fitted to
  what the template accepts (a system role, alternating turns). The prompt starts with
  BOS when the vocabulary asks for one and the template did not write it.
- Stop tokens: every end-of-generation token of the vocabulary, eos, eot, and the token
  the template writes after an assistant message (`stop_tokens`).
- With a schema, the reply is produced by `models.constrained` (we write the JSON
  structure, the model fills in values), so it always parses; without one, greedy
  decoding until an end-of-generation token.
- A LoRA adapter (`lora_path`, a GGUF adapter as `models.train` writes) is applied at run
  time on top of the base weights; `info().detail` names it. Nothing else changes.
- GPU offload is on whenever llama.cpp was built with CUDA or Metal.
- Weights are never repacked into llama.cpp's extra CPU buffer types unless the caller
  asks (`cpu_repack=True`): on CPUs with Intel AMX, llama.cpp 0.3.36 repacks into an AMX
  buffer whose matrix product segfaults on any prompt batch. `cpu_repack_choice` says
  what was chosen and why (`deskhand models` prints it).
- Unless a fixed thread count is given, the thread count follows the machine's load
  (`models.threads.ThreadBudget`): it is set before each prompt and re-checked while the
  reply is generated, so another busy process costs a share of the cores, not a stall at
  every barrier.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import llama_cpp
import numpy as np
import numpy.typing as npt
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from models import chatformat
from models.adapter_meta import prompt_style
from models.base import (
    Completion,
    ContextOverflow,
    JsonSchema,
    Message,
    ModelCancelled,
    ModelInfo,
    ModelUnavailable,
    ShouldStop,
    Usage,
    adapter_id,
)
from models.constrained import ConstrainedDecoder, VocabMasks
from models.spelling import Speller
from models.threads import ThreadBudget, usable_cores

log = logging.getLogger(__name__)

#: How many recent replies keep their generated token ids (see `prompt_tokens`).
_REPLY_MEMO_SIZE = 64
_MARKER = re.compile("\x00reply(\\d+)\x00")
_FILE_TEMPLATE = "the model file's"


def gpu_offload_supported() -> bool:
    return bool(llama_cpp.llama_supports_gpu_offload())


def default_threads() -> int:
    return usable_cores()


def cpu_repack_choice(cpu_repack: bool, *, amx: bool | None = None) -> str:
    """One line for `deskhand models`: whether weights are repacked for this CPU, and why."""
    amx = cpu_has_amx() if amx is None else amx
    if cpu_repack:
        risk = " (this CPU has AMX: llama.cpp's AMX path may crash)" if amx else ""
        return f"cpu repack: on (model.cpu_repack = true){risk}"
    why = "this CPU has AMX, whose llama.cpp path crashes" if amx else "safe default"
    return f"cpu repack: off ({why}; model.cpu_repack = true opts in)"


def cpu_has_amx() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return any(line.startswith("flags") and " amx_tile" in line for line in f)
    except OSError:  # not Linux: no AMX to worry about (Apple, Windows on ARM) or unknown
        return False


@contextlib.contextmanager
def load_params(*, extra_buffers: bool) -> Iterator[None]:
    """Make `Llama()` load with `use_extra_bufts = extra_buffers`.

    `use_extra_bufts` is a field of llama.cpp's model params that `Llama()` does not take
    as an argument; it builds the params from `llama_model_default_params`, so that is
    what is wrapped, for the duration of one load (loads happen on one thread)."""
    default = llama_cpp.llama_cpp.llama_model_default_params

    def params() -> Any:
        p = default()
        p.use_extra_bufts = extra_buffers
        return p

    llama_cpp.llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        llama_cpp.llama_cpp.llama_model_default_params = default


class LlamaCppModel:
    """A local GGUF chat model. Load it on the thread that will use it."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        model_id: str | None = None,
        cpu_repack: bool = False,
        lora_path: Path | None = None,
    ) -> None:
        self._path = Path(path)
        if not self._path.is_file():
            raise ModelUnavailable(f"model file not found: {self._path}")
        if lora_path is not None and not Path(lora_path).is_file():
            raise ModelUnavailable(f"adapter file not found: {lora_path}")
        #: A GGUF LoRA adapter applied at run time (see models.train), or None.
        self.lora_path = None if lora_path is None else Path(lora_path)
        self.adapter_id = "" if self.lora_path is None else adapter_id(self.lora_path)
        self._gpu = gpu_offload_supported() if n_gpu_layers is None else n_gpu_layers != 0
        #: None: a fixed thread count was given.
        self._budget = None if n_threads else ThreadBudget()
        threads = n_threads or default_threads()
        try:
            with load_params(extra_buffers=cpu_repack):
                self._llm = llama_cpp.Llama(
                    model_path=str(self._path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_gpu_layers=(-1 if self._gpu else 0) if n_gpu_layers is None else n_gpu_layers,
                    logits_all=False,
                    lora_path=None if lora_path is None else str(lora_path),
                    verbose=False,
                )
        # Foreign data at the boundary: besides native load errors, llama-cpp-python
        # compiles the file's chat templates here (a Jinja syntax error is no ValueError).
        except Exception as exc:
            raise ModelUnavailable(f"cannot load {self._path.name}: {exc}") from exc
        self.threads = threads
        self._model_id = model_id or self._path.stem
        self._read_vocabulary()
        self._reply_start = False  # True until the reply's first text is tokenized
        self._owner: int | None = None
        #: reply text -> (token ids in the KV cache when it was generated, text they cover)
        self._replies: OrderedDict[str, tuple[list[int], str]] = OrderedDict()
        log.debug("loaded %s (gpu offload: %s, threads: %d)", self._path, self._gpu, threads)

    def _read_vocabulary(self) -> None:
        """What decoding needs from the file's tokenizer and chat template: token pieces
        and masks, the template and its traits, BOS, stop tokens, the space prefix."""
        self._n_vocab = self._llm.n_vocab()
        self._pieces = [self._token_piece(i) for i in range(self._n_vocab)]
        self._masks = VocabMasks.from_pieces(self._pieces)
        #: Where the chat template came from (the file, or the family's; see chatformat).
        self.chat_template = self._load_template()
        self._traits = chatformat.probe(self._render)
        self._bos_text = self._special_text(llama_cpp.llama_vocab_bos(self._vocab()))
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self._vocab())) and bool(
            self._bos_text
        )
        self._eog = self._stop_tokens()
        self._space_prefix = self._llm.detokenize(self._plain_tokens("a")) == b" a"
        self._speller = Speller(self._pieces, self._byte_tokens()) if self._space_prefix else None
        #: The template's reply starts a new text, so the reply's first token carries
        #: SentencePiece's space prefix (Phi-3); that space is no part of the reply's text.
        self._reply_prefix = self._space_prefix and self._reply_gets_prefix()

    # -- ChatModel ---------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def n_ctx(self) -> int:
        return int(self._llm.n_ctx())

    def info(self) -> ModelInfo:
        threads = "follow the load" if self._budget is not None else f"{self.threads} fixed"
        adapter = f"; adapter: {self.lora_path}" if self.lora_path is not None else ""
        if self.chat_template != _FILE_TEMPLATE:
            adapter += f"; chat template: {self.chat_template}"
        return ModelInfo(
            model_id=self._model_id,
            kind="gguf",
            location=str(self._path),
            gpu_offload=self._gpu,
            detail=f"context {self.n_ctx} tokens; threads: {threads}; "
            + cpu_repack_choice(self.cpu_repack)
            + adapter,
            prompt_style=prompt_style(self.lora_path),
        )

    @property
    def stop_tokens(self) -> frozenset[int]:
        """The token ids that end free text (see the module docstring)."""
        return frozenset(self._eog)

    @property
    def cpu_repack(self) -> bool:
        """Whether llama.cpp was told to use extra (repacked) buffer types for the weights."""
        return bool(self._llm.model_params.use_extra_bufts)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: JsonSchema | None = None,
        max_tokens: int = 512,
        should_stop: ShouldStop | None = None,
    ) -> Completion:
        self._check_thread()
        started = time.perf_counter()
        prompt = self.prompt_tokens(messages)
        if len(prompt) + max_tokens > self.n_ctx:
            raise ContextOverflow(
                f"prompt of {len(prompt)} tokens + {max_tokens} for the reply exceeds "
                f"the context of {self.n_ctx}"
            )
        self._follow_load()
        reused = self._load_prompt(prompt)
        decode_start = time.perf_counter()
        if schema is not None:
            text, generated = self._constrained(schema, max_tokens, should_stop)
        else:
            text, generated = self._free_text(max_tokens, should_stop)
        self._remember_reply(text, list(self._llm.input_ids[len(prompt) : self._llm.n_tokens]))
        now = time.perf_counter()
        usage = Usage(
            prompt_tokens=len(prompt),
            cached_tokens=reused,
            completion_tokens=generated,
            seconds=now - started,
            decode_seconds=now - decode_start,
        )
        return Completion(
            text=text, model_id=self._model_id, usage=usage, adapter_id=self.adapter_id
        )

    def close(self) -> None:
        self._llm.close()

    # -- prompt and cache ----------------------------------------------------------------

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The token ids of the chat prompt, ending with the assistant turn's header.

        Assistant messages that this model generated recently are spliced in as the ids it
        generated (see the module docstring); everything else is tokenized.
        """
        turns: list[tuple[str, str]] = []
        spliced: list[tuple[list[int], str]] = []
        for m in messages:
            known = self._replies.get(m.content) if m.role == "assistant" else None
            if known is None or not (self._traits.verbatim or m.content == m.content.strip()):
                turns.append((m.role, m.content))
                continue
            ids, covered = known
            turns.append((m.role, f"\x00reply{len(spliced)}\x00"))
            spliced.append((ids, m.content[len(covered) :]))
        try:
            rendered = self._render(chatformat.fit(turns, self._traits))
        except chatformat.TemplateRefused as exc:
            raise ModelUnavailable(
                f"the chat template of {self._path.name} refuses this conversation: {exc}"
            ) from exc
        pieces = _MARKER.split(rendered)  # text, index, text, index, ..., text
        bos = self._add_bos and not rendered.startswith(self._bos_text)
        tokens = self._tokenize_special(pieces[0], bos=bos)
        for i in range(1, len(pieces), 2):
            ids, rest = spliced[int(pieces[i])]
            tokens += ids + self.tokenize(rest) + self._tokenize_special(pieces[i + 1], bos=False)
        return tokens

    def _tokenize_special(self, text: str, *, bos: bool) -> list[int]:
        if not text:
            return []
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True))

    def _remember_reply(self, text: str, ids: list[int]) -> None:
        covered = self._llm.detokenize(ids).decode("utf-8", errors="replace")
        if self._reply_prefix:
            covered = covered.removeprefix(" ")
        if not text.startswith(covered):  # a piece split a character: re-tokenize instead
            return
        self._replies[text] = (ids, covered)
        self._replies.move_to_end(text)
        while len(self._replies) > _REPLY_MEMO_SIZE:
            self._replies.popitem(last=False)

    def _load_prompt(self, prompt: list[int]) -> int:
        """Evaluate `prompt`, reusing the KV cache of the longest shared prefix.

        At least one token is always evaluated, so that logits for the reply exist.
        Returns the number of tokens reused.
        """
        cached = self._llm.input_ids[: self._llm.n_tokens]
        common = 0
        for a, b in zip(cached, prompt, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(prompt) - 1)
        self._llm.n_tokens = common  # eval() drops the KV cache past n_tokens
        self._llm.eval(prompt[common:])
        return common

    # -- TokenSource (used by ConstrainedDecoder) ----------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """Ids that spell exactly `text` inside a reply. A SentencePiece vocabulary with a
        space prefix starts every text with a space; that space is taken off its first token."""
        ids = self._plain_tokens(text)
        if self._reply_start:  # the reply's first text: spelled as after the prompt
            self._reply_start = False
            return ids
        if not self._space_prefix or not ids or not self._pieces[ids[0]].startswith(b" "):
            return ids
        assert self._speller is not None
        head = self._speller.spell(self._pieces[ids[0]][1:])
        return ids if head is None else head + ids[1:]

    def feed(self, tokens: Sequence[int]) -> None:
        if self._llm.n_tokens + len(tokens) > self.n_ctx:
            raise ContextOverflow("the reply ran past the end of the context window")
        self._follow_load()
        self._llm.eval(list(tokens))

    def logits(self) -> npt.NDArray[np.float32]:
        pointer = self._llm._ctx.get_logits()  # type: ignore[no-untyped-call]
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))

    # -- internals -------------------------------------------------------------------

    def _follow_load(self) -> None:
        """Use one thread per core that other processes leave free (see models.threads)."""
        if self._budget is None:
            return
        threads = self._budget.threads()
        if threads != self.threads:
            log.debug(
                "threads %d -> %d (others busy on %.2f cores)",
                self.threads,
                threads,
                self._budget.others_busy,
            )
            llama_cpp.llama_set_n_threads(self._llm.ctx, threads, threads)
            self.threads = threads

    def _constrained(
        self, schema: JsonSchema, max_tokens: int, should_stop: ShouldStop | None
    ) -> tuple[str, int]:
        decoder = ConstrainedDecoder(
            self, self._masks, self._piece_text, max_tokens=max_tokens, should_stop=should_stop
        )
        self._reply_start = self._reply_prefix
        try:
            text = decoder.generate(schema)
        finally:
            self._reply_start = False
        return text, decoder.stats.sampled + decoder.stats.forced

    def _free_text(self, max_tokens: int, should_stop: ShouldStop | None) -> tuple[str, int]:
        out: list[bytes] = []
        for _ in range(max_tokens):
            if should_stop is not None and should_stop():
                raise ModelCancelled("stopped while generating")
            token = int(np.argmax(self.logits()))
            if token in self._eog:
                break
            out.append(self._pieces[token])
            self.feed([token])
        text = b"".join(out).decode("utf-8", errors="replace")
        return (text.removeprefix(" ") if self._reply_prefix else text), len(out)

    def _piece_text(self, token: int) -> str:
        return self._pieces[token].decode("utf-8")

    def _vocab(self) -> Any:
        return llama_cpp.llama_model_get_vocab(self._llm.model)

    def _load_template(self) -> str:
        """Build the formatter from the file's template, or its family's; say which."""
        meta = self._llm.metadata
        template = meta.get("tokenizer.chat_template")
        source = _FILE_TEMPLATE
        if not template:
            known = chatformat.known_format(self._is_special)
            template = known.template
            source = f"{known.family} (the file has none; its vocabulary has {known.marker})"
            log.info("%s has no chat template: using %s", self._path.name, source)
        vocab = self._vocab()
        self._formatter = Jinja2ChatFormatter(  # the file's was compiled at load already
            template=template,
            eos_token=self._special_text(llama_cpp.llama_vocab_eos(vocab)),
            bos_token=self._special_text(llama_cpp.llama_vocab_bos(vocab)),
        )
        return source

    def _render(self, chat: chatformat.Chat) -> str:
        try:
            return self._formatter(messages=cast(Any, chat)).prompt
        except Exception as exc:  # raise_exception() in the template, or a Jinja error
            raise chatformat.TemplateRefused(f"{type(exc).__name__}: {exc}") from exc

    def _reply_gets_prefix(self) -> bool:
        prompt = self._render(chatformat.fit([("user", "u")], self._traits))
        head = self._tokenize_special(prompt, bos=False)
        whole = self._tokenize_special(prompt + "x", bos=False)
        return whole[: len(head)] == head and self._llm.detokenize(whole[len(head) :]) == b" x"

    def _stop_tokens(self) -> set[int]:
        vocab = self._vocab()
        stops = {i for i in range(self._n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, i)}
        stops |= {llama_cpp.llama_vocab_eos(vocab), llama_cpp.llama_vocab_eot(vocab)}
        after = self._tokenize_special(self._traits.after_reply, bos=False)[:1]
        if after and self._is_special_id(after[0]):
            stops.add(after[0])
        return {int(t) for t in stops if 0 <= t < self._n_vocab}

    def _is_special(self, text: str) -> bool:
        ids = self._tokenize_special(text, bos=False)
        return len(ids) == 1 and self._is_special_id(ids[0])

    def _is_special_id(self, token: int) -> bool:
        """A control or user-defined token (converters mark turn markers as either)."""
        kinds = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
        return bool(llama_cpp.llama_vocab_get_attr(self._vocab(), token) & kinds)

    def _special_text(self, token: int) -> str:
        if not 0 <= token < self._n_vocab:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    def _token_piece(self, token: int) -> bytes:
        """The bytes of one token (llama-cpp-python's detokenize cuts pieces over 32 bytes)."""
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(self._vocab(), token, buf, len(buf), 0, False)
        return buf.raw[: max(n, 0)]

    def _byte_tokens(self) -> set[int]:
        attr = llama_cpp.llama_vocab_get_attr
        byte = llama_cpp.LLAMA_TOKEN_ATTR_BYTE
        return {i for i in range(self._n_vocab) if attr(self._vocab(), i) & byte}

    def _plain_tokens(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _check_thread(self) -> None:
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError("a LlamaCppModel must be used by one thread only")
