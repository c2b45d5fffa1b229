"""``deskhand collect``: training data from a remote teacher.

    deskhand collect --teacher-url URL [--teacher-model NAME] [--teacher-key-secret NAME]
                     [--family files|browser|gui|all] [--template T]... [-n N] [--seed S]
                     [--max-steps K] [--prompt compact|full] [--display :N] -o OUT.jsonl

Any OpenAI-compatible endpoint (a cloud model, vLLM, Ollama, llama.cpp's server) runs
N generated tasks per template of the chosen families through the real engine, as the
embedded model would (`agent.learn.remote`); each run is checked on its end state and
only the runs that pass are written to OUT.jsonl, in the chat-record format of the
scripted teacher's export, which ``deskhand train --data`` reads. Dropped runs are
counted per template. Last line: ``kept=N dropped=N total=N steps=N``.

Nothing leaves the machine unless ``--teacher-url`` is given (it is required); the key,
if the endpoint wants one, is read from the OS keyring under the name given. The runs
are journaled in a scratch home that is deleted afterwards, so generated tasks never
enter the user's history. The GUI family drives the X display named by ``--display``
(start an Xvfb for it: its windows and pointer are the run's).

Exit status: 0 when the collection ran (whatever it kept); 2 on bad input (an unusable
URL, an endpoint that does not answer, an unknown family or template, gui without a
display, an unwritable output).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from agent.learn import generate, generators, write_jsonl
from agent.learn.registry import FAMILIES, NEEDS_DISPLAY
from agent.learn.remote import Tally, collect
from agent.settings import load_settings
from app.common import fail
from models.base import Message, ModelError
from models.openai_compat import OpenAICompatModel
from models.secrets import SecretStoreError, get_secret

out = Console(highlight=False, soft_wrap=True)
Family = Literal["files", "browser", "gui", "all"]


def teacher(url: str, model: str, key_secret: str | None) -> OpenAICompatModel:
    """The endpoint's model, asked once for a one-token reply so an endpoint that is not
    there is bad input now, not a hundred dropped runs later."""
    key = None
    if key_secret:
        try:
            key = get_secret(key_secret)
        except SecretStoreError as exc:
            fail(f"cannot read the key {key_secret!r}: {exc}")
        if key is None:
            fail(f"no secret named {key_secret!r} in the keyring")
    try:
        probe = OpenAICompatModel(url, model, api_key=key, timeout_s=60, max_retries=0)
    except ModelError as exc:
        fail(f"the teacher at {url} cannot be used: {exc}")
    client_log = logging.getLogger(OpenAICompatModel.__module__)
    level = client_log.level
    client_log.setLevel(logging.ERROR)  # the probe's failure is said once, below
    try:
        probe.complete([Message("user", "Say OK.")], max_tokens=1)
    except ModelError as exc:
        fail(f"the teacher at {url} cannot be used: {exc}")
    finally:
        client_log.setLevel(level)
        probe.close()
    return OpenAICompatModel(url, model, api_key=key, timeout_s=300, max_retries=2)


def families_of(family: Family, templates: list[str]) -> tuple[list[str], set[str]]:
    """(the families to generate, the templates to keep of them: all when none named)."""
    names = list(FAMILIES) if family == "all" else [family]
    known = {g.template for g in generators(names)}
    unknown = sorted(set(templates) - known)
    if unknown:
        fail(f"unknown template(s) for --family {family}: {', '.join(unknown)}")
    return names, set(templates) or known


def collect_command(
    teacher_url: Annotated[
        str, typer.Option("--teacher-url", help="OpenAI-compatible endpoint, e.g. .../v1.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Chat JSONL to write.")],
    teacher_model: Annotated[str, typer.Option(help="Model name the endpoint serves.")] = "teacher",
    teacher_key_secret: Annotated[
        str | None, typer.Option(help="Keyring name of the endpoint's API key.")
    ] = None,
    family: Annotated[Family, typer.Option(help="Which tasks (all: every family).")] = "files",
    template: Annotated[
        list[str] | None, typer.Option("--template", help="Only this template (repeatable).")
    ] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="Tasks per template.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the generated tasks.")] = 0,
    max_steps: Annotated[int, typer.Option(min=1, help="Step budget of each run.")] = 12,
    prompt: Annotated[
        Literal["compact", "full"], typer.Option(help="Prompt the teacher (and student) sees.")
    ] = "compact",
    display: Annotated[
        str | None, typer.Option(help="X display for the gui family (an Xvfb), e.g. :99.")
    ] = None,
) -> None:
    """Run generated tasks with a remote teacher; keep the runs that pass their checks."""
    names, wanted = families_of(family, template or [])
    if NEEDS_DISPLAY & set(names) and not display:
        fail("the gui family needs --display (an X display to open its windows on, e.g. Xvfb)")
    remote = teacher(teacher_url, teacher_model, teacher_key_secret)
    try:
        sink = output.open("w", encoding="utf-8")
    except OSError as exc:
        remote.close()
        fail(f"cannot write {output}: {exc}")
    tally = Tally()
    samples = (s for s in generate(n, seed, names) if s.template in wanted)
    with sink, tempfile.TemporaryDirectory(prefix="deskhand-collect-") as home:
        settings = load_settings({"DESKHAND_HOME": home})
        try:
            for done in collect(
                samples, settings, remote, prompt_style=prompt, display=display,
                max_steps=max_steps,
            ):  # fmt: skip
                tally.add(done)
                kept = done.trajectory()
                if kept is not None:
                    write_jsonl([kept], sink)
                    sink.flush()
                word = "kept" if kept is not None else f"dropped ({done.outcome})"
                out.print(f"{done.sample.template} seed {done.sample.seed}: {word}", markup=False)
        finally:
            remote.close()
    for name, count in sorted(tally.dropped.items()):
        out.print(f"dropped: {name} x{count}", markup=False)
    out.print(tally.summary(), markup=False)
