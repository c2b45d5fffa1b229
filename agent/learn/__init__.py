"""Learning: a curriculum of generated tasks with known answers, run through the real
engine by a scripted teacher, exported as chat examples (ARCHITECTURE.md, "Learning").

    generate(n, seed, families) -> Iterator[Sample]      (agent/learn/registry.py)
    run_sample(sample, settings) -> Trajectory | None   (agent/learn/trajectory.py)
    write_jsonl(trajectories, out) -> lines written

Invariants: generators draw every choice from a seeded ``random.Random``; a trajectory
is kept only when its end-state check passed; exported messages are exactly those the
engine handed the model. MiniWoB++ is the exam, never the textbook: nothing here copies
its pages, utterances or layouts.
"""

from agent.learn.registry import generate, generators
from agent.learn.trajectory import Trajectory, run_sample, split_by_template, write_jsonl

__all__ = ["Trajectory", "generate", "generators", "run_sample", "split_by_template", "write_jsonl"]
