"""One attempt at a sample of any family, by any model, through the real engine, with its
end state checked: what both the scripted teacher's GUI runs and the remote teacher use.

The model is any `ChatModel` that keeps the exchanges it was asked (`Recorder`: the
scripted `Teacher`, or `agent.learn.remote.Recording` around a remote model). The sample
is staged the way its family needs (`staged`): the fixture in a fresh workspace; for the
browser family its pages served on loopback and opened first; for the GUI family its
windows opened on the X display the caller names, and the GUI tool given. The run is
prepared as ``deskhand run GOAL`` prepares it (`agent.prepare`: the workspace listing,
the start page, the rules of the settings, memory of past runs off unless asked: the
curriculum's memory samples, agent/learn/memory.py), or for the GUI,
whose tool drives a display named here rather than the process's own, built from the
same parts (`agent.assemble`) as ``deskhand run GOAL --gui`` builds it.

Invariants:
- An attempt passed only when the run ended with ``finish``, every action's result was
  ok, and the sample's own check passed on the end state (the workspace, the site's
  record, or the windows' states).
- Its examples are the model's exchanges as recorded: the messages the engine handed
  the model, byte for byte, and the reply the engine took.
- Everything staged is taken down however the run ends.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ActionFinished, Event, ExperienceUsed, RunFinished, RunStarted
from agent.learn.gui import GuiSample
from agent.learn.sample import Sample
from agent.learn.teacher import Exchange
from agent.learn.trajectory import Trajectory
from agent.settings import Settings
from models.base import ChatModel

if TYPE_CHECKING:  # the GUI tool is imported only when a GUI sample is staged
    from tools.gui.tool import GuiTool

log = logging.getLogger(__name__)


class Recorder(ChatModel, Protocol):
    """A model that keeps every (messages, reply) it was asked, in call order."""

    exchanges: list[Exchange]


@dataclass(frozen=True, slots=True)
class Attempt:
    sample: Sample
    outcome: str
    message: str
    all_ok: bool
    passed: bool
    examples: tuple[Exchange, ...]
    #: The run's id in the settings' journal ("" when it never started).
    run_id: str = ""
    #: The past runs retrieval showed the model (run ids; empty with memory off).
    shown: tuple[str, ...] = ()

    def trajectory(self) -> Trajectory | None:
        """The attempt as training data, or None when it did not pass."""
        if not self.passed:
            return None
        s = self.sample
        return Trajectory(s.template, s.family, s.seed, s.goal, self.examples, self.message)


@dataclass
class Stage:
    """A staged sample: the workspace, the page to start on, the GUI tool, and how to
    read the end state (the folder the check is given)."""

    workspace: Path
    end_state: Callable[[], Path]
    start_url: str | None = None
    gui: GuiTool | None = None
    stop: threading.Event | None = None


def attempt(
    sample: Sample,
    settings: Settings,
    model: Recorder,
    *,
    display: str | None = None,
    max_steps: int | None = None,
    memory: bool = False,
) -> Attempt:
    """Run `sample` with `model`; see the module docstring. `display` is the X display
    for a GUI sample (`ValueError` without one). `memory`: retrieval shows the model the
    past runs of the settings' journal most like this one, as at run time."""
    with tempfile.TemporaryDirectory(prefix="deskhand-learn-") as tmp:
        with staged(sample, Path(tmp), display, settings) as stage:
            events = _events(sample, settings, model, stage, max_steps, memory)
            ran = _outcome(events)
            end = stage.end_state()
        passed = ran.outcome == "success" and ran.all_ok and sample.check(end, ran.message)
    if not passed:
        log.debug("%s seed %d not kept: outcome %s", sample.template, sample.seed, ran.outcome)
    return Attempt(
        sample,
        ran.outcome,
        ran.message,
        ran.all_ok,
        passed,
        tuple(model.exchanges),
        ran.run_id,
        ran.shown,
    )


@contextmanager
def staged(sample: Sample, tmp: Path, display: str | None, settings: Settings) -> Iterator[Stage]:
    ws = tmp.resolve() / "workspace"
    ws.mkdir()
    sample.fixture.build(ws)
    if isinstance(sample, GuiSample):
        with _gui_stage(sample, tmp, ws, display, settings) as stage:
            yield stage
    elif sample.start_page is not None:
        from agent.learn.browser_site import serving

        if sample.start_page not in sample.fixture.pages:
            raise ValueError(f"{sample.template}: start page {sample.start_page!r} is not served")
        with serving(sample.fixture.pages) as site:
            yield Stage(ws, lambda: site.saved(tmp / "site"), site.url(sample.start_page))
    else:
        yield Stage(ws, lambda: ws)


@contextmanager
def _gui_stage(
    sample: GuiSample, tmp: Path, ws: Path, display: str | None, settings: Settings
) -> Iterator[Stage]:
    if not display:
        raise ValueError(f"{sample.template}: a GUI sample needs an X display")
    from agent.learn.gui_stage import saved, windows_open
    from tools.gui.session import x11_desktop
    from tools.gui.tool import GuiTool

    desktop = x11_desktop(display)
    stop = threading.Event()
    tool = GuiTool(
        desktop, secrets=lambda _name: None, stop=stop, screenshots=settings.data_dir / "shots"
    )
    try:
        with windows_open(display, sample.windows, desktop) as windows:
            yield Stage(ws, lambda: saved(windows, tmp / "windows"), None, tool, stop)
    finally:
        # The real drivers each hold an X connection: closed with the sample, so a long
        # collection never runs out of the server's clients (Xvfb allows 256).
        for part in (desktop.screen, desktop.windows):
            close = getattr(part, "close", None)
            if callable(close):
                close()


def _events(
    sample: Sample,
    settings: Settings,
    model: ChatModel,
    stage: Stage,
    max_steps: int | None,
    memory: bool,
) -> Iterator[Event]:
    """The sample's run, prepared as every run is (`agent.prepare`), on the stage's
    workspace, start page and GUI tool."""
    from agent.prepare import RunRequest, prepare_run
    from agent.taskrun import run_task

    request = RunRequest(
        goal=sample.goal,
        workspace=(stage.workspace,),
        model=model,
        start_url=stage.start_url,
        approver=AlwaysAllow(),
        max_steps=max_steps,
        gui=stage.gui if stage.gui is not None else False,
        # Off by default: past generated runs must not leak into the next prompt.
        memory=memory,
    )
    journal = assemble.open_journal(settings)
    try:
        yield from run_task(prepare_run(request, settings, stage.stop), journal)
    finally:
        journal.close()


@dataclass
class _Ran:
    """What a run's events said: how it ended, whether every action went through, its id
    and the past runs it was shown."""

    outcome: str = "error"
    message: str = ""
    all_ok: bool = True
    run_id: str = ""
    shown: tuple[str, ...] = ()


def _outcome(events: Iterator[Event]) -> _Ran:
    ran = _Ran()
    for event in events:
        if isinstance(event, RunStarted):
            ran.run_id = event.run_id
        elif isinstance(event, ExperienceUsed):
            ran.shown = event.runs
        elif isinstance(event, ActionFinished):
            ran.all_ok = ran.all_ok and event.result.ok
        elif isinstance(event, RunFinished):
            ran.outcome, ran.message = event.outcome, event.message
    return ran


def run_gui_sample(
    sample: Sample, settings: Settings, display: str, prompt_style: str = "compact"
) -> Trajectory | None:
    """A GUI sample run with its scripted teacher on `display` (as `run_sample` runs the
    other families); the trajectory if it passed, else None."""
    from agent.learn.teacher import Teacher

    return attempt(sample, settings, Teacher(sample.gold, prompt_style=prompt_style),
                   display=display).trajectory()  # fmt: skip
