"""Benchmark: does the agent get better at the user's kind of task by using past runs?

    .venv/bin/python tests/benchmarks/learning.py [--k 3] [--templates N | --template ID ...]
                                                  [--model NAME|PATH] [--max-steps 6]
                                                  [--vary wording|task]

Task families: the generated file tasks of the curriculum (agent/learn/); MiniWoB++ is
never used. For each template, first ``--demos`` runs played by the curriculum's teacher
(the gold actions: a run of this kind that went well yesterday, rated good), then K runs
by the model, one after another, in two fresh data folders. What the K runs ask:

- ``--vary wording`` (the default; the issue's "each run K times with new wording"): the
  same task as the demo (the same names, files and answer) asked in other words each time
  (agent/learn/phrases.py `reworded`): the user who asks again for what worked yesterday;
- ``--vary task``: a new task of the same kind each time (new names and values too), so a
  past run helps only if the model carries its pattern over, not its names.

The two conditions:

- base: memory off (``deskhand run --no-memory``);
- retrieval: memory on; a run that finished with its end state right is rated good, as
  its user would, so the next runs can be shown it (agent/experience.py).

Success is the end state being right (the sample's check; as in goals.py, calling finish
is reported apart). Per run the table shows ``ok``/``--`` (end state), ``f``/``-``
(finished) and how many past runs it was shown.

- learned (with ``--learn``): ``deskhand learn`` (`app.learn_personal.learn_personal`,
  ``--learn-steps`` steps) on the retrieval condition's data folder; then K runs of every
  template, memory on, asked anew (other wordings; with ``--vary task`` also ``--seed`` +
  1, so no task it was trained on comes back), with the adapter the gate left as the
  default (the new one if accepted, else the one before). Without ``--learn``: learned=n/a.

Every run goes through the one goal-run preparation ``deskhand run GOAL`` uses, with the
real model and every file action allowed; the end state is checked here, outside the
agent. Last line, machine-readable: ``base=0.NN retrieval=0.NN learned=0.NN`` (or n/a).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ExperienceUsed, RunFinished, RunStarted
from agent.learn.registry import generators, make, sample_seed
from agent.learn.sample import Generator, Sample
from agent.learn.teacher import Teacher
from agent.prepare import RunRequest, prepare_run
from agent.settings import load_settings
from agent.taskrun import run_task
from models.base import ChatModel


@dataclass(frozen=True)
class Outcome:
    #: The end state is right (the sample's own check, given the finish message if any).
    passed: bool
    #: The run ended with finish.
    finished: bool
    used: int
    seconds: float


def run_one(
    model: ChatModel, sample: Sample, home: Path, n: int, *, memory: bool, max_steps: int
) -> Outcome:
    """One goal run of `sample` in a fresh workspace under `home`; rated good if it passed."""
    settings = load_settings({"DESKHAND_HOME": str(home)})
    ws = home / f"ws-{n}"
    ws.mkdir(parents=True)
    sample.fixture.build(ws)
    request = RunRequest(
        goal=sample.goal,
        workspace=[ws],
        model=model,
        approver=AlwaysAllow(),
        max_steps=max_steps,
        memory=memory,
    )
    plan = prepare_run(request, settings)
    journal = assemble.open_journal(settings)
    run_id, message, outcome, used = "", "", "error", 0
    started = time.perf_counter()
    try:
        for event in run_task(plan, journal):
            if isinstance(event, RunStarted):
                run_id = event.run_id
            elif isinstance(event, ExperienceUsed):
                used = len(event.runs)
            elif isinstance(event, RunFinished):
                outcome, message = event.outcome, event.message
        passed = sample.check(ws, message if outcome == "success" else "")
        if passed and outcome == "success":
            journal.add_feedback(run_id, rating=1)
    finally:
        journal.close()
    return Outcome(passed, outcome == "success", used, time.perf_counter() - started)


def demonstrate(sample: Sample, home: Path, n: int, max_steps: int) -> Outcome:
    """A run of `sample` played by the curriculum's teacher (the gold actions), as a run
    that went well yesterday: journaled and rated good like any other that passed."""
    return run_one(
        Teacher(sample.gold, prompt_style="full"),
        sample,
        home,
        n,
        memory=False,
        max_steps=max_steps,
    )


@dataclass(frozen=True)
class Asking:
    """Which sample the i-th request of a template is (see ``--vary`` above)."""

    vary: str
    seed: int
    #: The learned condition asks in round 1: other wordings (and tasks, with "task").
    round: int = 0

    def sample(self, gen: Generator, i: int) -> Sample:
        if self.vary == "task":
            return make(gen, sample_seed(self.seed + self.round, gen.template, i))
        task = sample_seed(self.seed, gen.template, 0)
        wording = sample_seed(self.seed, gen.template, 10_000 * self.round + i)
        return make(gen, task, wording=wording)

    def anew(self) -> Asking:
        """Requests none of this one's were (the learned condition's)."""
        return Asking(self.vary, self.seed, self.round + 1)

    def demo(self, gen: Generator, j: int) -> Sample:
        return self.sample(gen, 1000 + j)


def condition(
    model: ChatModel,
    gens: list[Generator],
    k: int,
    asking: Asking,
    *,
    memory: bool,
    max_steps: int,
    demos: int,
    home: Path | None = None,
    label: str = "",
) -> list[list[Outcome]]:
    """`demos` teacher runs, then K runs, of every template in one fresh data folder;
    the K runs' outcomes by template."""
    results: list[list[Outcome]] = []
    with tempfile.TemporaryDirectory(prefix="deskhand-learning-") as scratch:
        tmp = str(home) if home is not None else scratch
        n = 0
        for gen in gens:
            for j in range(demos):
                n += 1
                shown = asking.demo(gen, j)
                if not demonstrate(shown, Path(tmp), n, max_steps).passed:
                    print(f"demo of {gen.template} failed its check", flush=True)
            row = []
            for i in range(k):
                sample = asking.sample(gen, i)
                n += 1
                row.append(run_one(model, sample, Path(tmp), n, memory=memory, max_steps=max_steps))
            results.append(row)
            marks = " ".join(
                ("ok" if o.passed else "--") + ("f" if o.finished else "-") + str(o.used)
                for o in row
            )
            name = label or ("retrieval" if memory else "base")
            secs = sum(o.seconds for o in row)
            print(f"{name:9} {gen.template:28} {marks}  ({secs:.0f} s)", flush=True)
    return results


def learned(
    args: argparse.Namespace,
    gens: list[Generator],
    home: Path,
    asking: Asking,
    kw: dict[str, int],
) -> list[list[Outcome]] | None:
    """`deskhand learn` on the runs in `home`, then K new runs with the default it left."""
    from app.learn_personal import LearnError, learn_personal

    settings = load_settings({"DESKHAND_HOME": str(home)})
    try:
        verdict = learn_personal(settings, steps=args.learn_steps, note=print)
    except LearnError as exc:
        print(f"learn: {exc}", flush=True)
        return None
    print(
        f"learn: {verdict.name} {dict(verdict.scores)} vs {dict(verdict.baseline)}: "
        f"{'accepted' if verdict.accepted else 'refused'} ({verdict.reason})",
        flush=True,
    )
    model = assemble.resolve_model(settings, args.model).opener()  # the default adapter now
    try:
        return condition(
            model,
            gens,
            args.k,
            asking.anew(),
            memory=True,
            max_steps=kw["max_steps"],
            demos=kw["demos"],
            label="learned",
        )
    finally:
        model.close()


def rate(results: list[list[Outcome]], finished: bool = False) -> float:
    flat = [o.finished if finished else o.passed for row in results for o in row]
    return sum(flat) / max(1, len(flat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=3, help="runs per template (new wording each)")
    parser.add_argument("--templates", type=int, default=0, help="the first N templates (0: all)")
    parser.add_argument("--template", action="append", default=[], help="a template id")
    parser.add_argument("--model", default=None, help="'embedded', a configured name or a path")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--vary",
        choices=("wording", "task"),
        default="wording",
        help="the K runs: the demo's task in other words, or new tasks of its kind",
    )
    parser.add_argument(
        "--demos", type=int, default=1, help="teacher-played runs per template before the K runs"
    )
    parser.add_argument("--learn", action="store_true", help="add the learned condition")
    parser.add_argument("--learn-steps", type=int, default=8, help="deskhand learn --steps")
    args = parser.parse_args()
    gens = generators(["files"])
    if args.template:
        gens = [g for g in gens if g.template in set(args.template)]
    elif args.templates:
        gens = gens[: args.templates]
    with tempfile.TemporaryDirectory() as tmp:
        entry = assemble.resolve_model(load_settings({"DESKHAND_HOME": tmp}), args.model)
        model = entry.opener()
        home = Path(tmp) / "retrieval"
        try:
            info = model.info()
            asking = Asking(args.vary, args.seed)
            print(
                f"model {info.model_id}; {len(gens)} templates x {args.k} runs;"
                f" each run: {'the same task reworded' if args.vary == 'wording' else 'a new task'}",
                flush=True,
            )
            kw = {"max_steps": args.max_steps, "demos": args.demos}
            base = condition(model, gens, args.k, asking, memory=False, **kw)
            recalled = condition(model, gens, args.k, asking, memory=True, home=home, **kw)
        finally:
            model.close()
        after = learned(args, gens, home, asking, kw) if args.learn else None
    shown = sum(1 for row in recalled for o in row if o.used)
    print(f"runs shown a past run: {shown} of {sum(len(r) for r in recalled)}")
    print(f"finished: base={rate(base, True):.2f} retrieval={rate(recalled, True):.2f}")
    learned_rate = "n/a" if after is None else f"{rate(after):.2f}"
    print(f"base={rate(base):.2f} retrieval={rate(recalled):.2f} learned={learned_rate}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
