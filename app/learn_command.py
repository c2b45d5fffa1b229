"""The terminal side of ``deskhand learn`` and ``deskhand learn rollback``: progress
lines, the verdict, one-line errors (exit 2), and Ctrl-C that leaves the default as it
was (exit 130). The work is `app.learn_personal.learn_personal`."""

from __future__ import annotations

import typer
from rich.console import Console

from agent.learn_gate import GateError, personal_store
from app.common import fail, settings_or_fail
from app.learn_personal import LearnError, learn_personal, plan

out = Console(highlight=False, soft_wrap=True)


def learn_now(*, steps: int, max_examples: int, dry_run: bool) -> None:
    settings = settings_or_fail()
    if steps < 1 or max_examples < 1:
        fail("--steps and --max-examples must be at least 1")
    if dry_run:
        learned = plan(settings, max_examples=max_examples)
        out.print(learned.summary(), markup=False)
        for case in learned.cases:
            out.print(f"  eval {case.family}: {case.name}", markup=False)
        out.print("dry run: nothing trained", markup=False)
        return

    def on_step(step: int, total: int, loss: float) -> None:
        out.print(f"train step {step}/{total}  loss {loss:.3f}", markup=False)

    try:
        verdict = learn_personal(
            settings,
            steps=steps,
            max_examples=max_examples,
            on_step=on_step,
            note=lambda text: out.print(text, markup=False),
        )
    except KeyboardInterrupt:
        out.print("interrupted: the default adapter is unchanged", markup=False)
        raise typer.Exit(130) from None
    except (LearnError, GateError) as exc:
        fail(str(exc))
    scores = " ".join(f"{f}={v:.2f}" for f, v in sorted(verdict.scores.items()))
    base = " ".join(f"{f}={v:.2f}" for f, v in sorted(verdict.baseline.items()))
    state = "accepted: now the default" if verdict.accepted else "refused: the default is unchanged"
    out.print(f"{verdict.name}: {scores} (current: {base}); {verdict.reason}", markup=False)
    out.print(state, markup=False)


def rollback_now() -> None:
    settings = settings_or_fail()
    try:
        now = personal_store(settings.data_dir).rollback()
    except GateError as exc:
        fail(str(exc))
    out.print(f"default adapter: {now or 'shipped'}", markup=False)
