"""Running a browser sample through the real engine, on real headless Chromium.

The sample's pages are served on loopback (`agent.learn.browser_site`), and the run is
prepared and driven the one way every run is (`agent.prepare.prepare_run`,
`agent.taskrun.run_task`: the browser opened on the start page, its site granted, the
page shown ahead of the workspace listing; past runs not recalled), so each prompt the
teacher answers is the prompt ``deskhand run GOAL --start-url URL`` gives the embedded
model. After the run the site's record of what the
pages sent back is saved, and the sample's check reads it with the finish message.

Invariants:
- Kept as `agent.learn.trajectory.run_sample` keeps a file sample: the run ended with
  ``finish``, every action's result was ok, and the check passed.
- The browser is closed and the server stopped however the run ends.
- The check of a browser sample is given the folder holding ``requests.json``
  (`browser_site.requests_in`), where a file sample's check is given its workspace.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ActionFinished, RunFinished
from agent.learn.browser_site import Site, serving
from agent.learn.sample import Sample
from agent.learn.teacher import Teacher
from agent.learn.trajectory import Trajectory
from agent.prepare import RunRequest, prepare_run
from agent.settings import Settings
from agent.taskrun import run_task

log = logging.getLogger(__name__)


def run_browser_sample(
    sample: Sample, settings: Settings, prompt_style: str = "compact"
) -> Trajectory | None:
    """Run a browser `sample` with its teacher; the trajectory if it passed, else None.
    `prompt_style` as for `agent.learn.trajectory.run_sample`."""
    if sample.start_page is None or sample.start_page not in sample.fixture.pages:
        raise ValueError(f"{sample.template}: start page {sample.start_page!r} is not served")
    teacher = Teacher(sample.gold, prompt_style=prompt_style)
    with tempfile.TemporaryDirectory(prefix="deskhand-learn-") as tmp:
        ws = Path(tmp).resolve() / "workspace"
        ws.mkdir()
        sample.fixture.build(ws)
        with serving(sample.fixture.pages) as site:
            outcome, message, all_ok = _run(sample, settings, ws, site, teacher)
            record = site.saved(Path(tmp) / "site")
        passed = outcome == "success" and all_ok and sample.check(record, message)
    if not passed:
        log.debug("%s seed %d not kept: outcome %s", sample.template, sample.seed, outcome)
        return None
    examples = tuple(teacher.exchanges)
    return Trajectory(sample.template, sample.family, sample.seed, sample.goal, examples, message)


def _run(
    sample: Sample, settings: Settings, ws: Path, site: Site, teacher: Teacher
) -> tuple[str, str, bool]:
    assert sample.start_page is not None
    request = RunRequest(
        goal=sample.goal,
        workspace=(ws,),
        model=teacher,
        start_url=site.url(sample.start_page),
        approver=AlwaysAllow(),
        memory=False,  # past generated runs must not leak into the next sample's prompt
    )
    journal = assemble.open_journal(settings)
    try:
        outcome, message, all_ok = "error", "", True
        for event in run_task(prepare_run(request, settings), journal):
            if isinstance(event, ActionFinished):
                all_ok = all_ok and event.result.ok
            elif isinstance(event, RunFinished):
                outcome, message = event.outcome, event.message
        return outcome, message, all_ok
    finally:
        journal.close()
