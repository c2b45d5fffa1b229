"""Running a browser sample with its scripted teacher, on real headless Chromium.

`agent.learn.attempt` stages the sample (its pages served on loopback by
`agent.learn.browser_site`, the run prepared by `agent.prepare` as ``deskhand run GOAL
--start-url URL`` prepares it, past runs not recalled) and checks the end state: what the
pages sent back to the site (the folder holding ``requests.json``, where a file sample's
check is given its workspace) and the finish message. This is the teacher's entry to it,
as `agent.learn.trajectory.run_sample` is for the file family.
"""

from __future__ import annotations

from agent.learn.attempt import attempt
from agent.learn.sample import Sample
from agent.learn.teacher import Teacher
from agent.learn.trajectory import Trajectory
from agent.settings import Settings


def run_browser_sample(
    sample: Sample, settings: Settings, prompt_style: str = "compact"
) -> Trajectory | None:
    """Run a browser `sample` with its teacher; the trajectory if it passed, else None.
    `prompt_style` as for `agent.learn.trajectory.run_sample`."""
    if sample.start_page is None:
        raise ValueError(f"{sample.template}: a browser sample names its start page")
    return attempt(sample, settings, Teacher(sample.gold, prompt_style=prompt_style)).trajectory()
