"""MiniWoB++ tasks, served from loopback and driven through the real engine.

Shared by the benchmark (tests/benchmarks/miniwob.py) and the scripted end-to-end test
(tests/integration/test_miniwob.py). The task pages come from the `miniwob` PyPI package
(``miniwob/html/miniwob/*.html`` with ``miniwob/html/core/core.js``); the package is found
on disk and never imported (its dependencies, selenium and gymnasium, are not wanted).

How the harness and the agent share one page: `Chromium` starts the browser with a CDP
port, exactly as a user would start their own browser, and each episode's browser tool
attaches to it through the product's own setting (``DESKHAND_BROWSER_CDP``, i.e.
``[browser] cdp_endpoint``), so the tool, its assembly and its guards are the ones
``deskhand run GOAL --start-url URL`` uses. The agent opens the task in a tab of its own.
The harness attaches a second CDP client of its own (`PageScripts`, a Playwright
connection on a helper thread, because Playwright's sync objects belong to the thread
that made them) and uses it only to call the page's own JavaScript: start the episode
(``core.startEpisodeReal()``), read the utterance (``core.getUtterance()``) and the
reward (``WOB_DONE_GLOBAL``, ``WOB_RAW_REWARD_GLOBAL``, ``WOB_REWARD_GLOBAL``).

The episode time limit (``core.EPISODE_MAX_TIME``, 10 s in MiniWoB) is raised for every
episode, so a slow model is judged on what it does, not on how fast it thinks.
"""

from __future__ import annotations

import importlib.machinery
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agent import assemble
from agent.approval import AlwaysDeny
from agent.events import ActionFinished, ActionProposed, RunFinished
from agent.journal import Journal
from agent.loop import Engine, run
from agent.settings import Settings, load_settings
from agent.task import Limits, Task
from models.router import ModelRouter
from tools.browser.launch import find_executable
from tools.browser.tool import BrowserTool

MISSING = "the miniwob package is not installed: run `.venv/bin/pip install --no-deps miniwob`"
EPISODE_SECONDS = 600.0
_DEADLINE_S = 30.0


class MiniwobMissing(Exception):
    """The `miniwob` package (its html folder) is not installed."""


def html_root() -> Path:
    """The package's ``html`` folder, found on sys.path without importing the package
    (a script called miniwob.py on the path is skipped: it is not the package)."""
    for entry in sys.path:
        spec = importlib.machinery.PathFinder.find_spec("miniwob", [entry or "."])
        for location in (spec.submodule_search_locations or []) if spec else []:
            root = Path(location) / "html"
            if (root / "core" / "core.js").is_file() and (root / "miniwob").is_dir():
                return root
    raise MiniwobMissing(MISSING)


def task_names(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "miniwob").glob("*.html"))


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 (a free port) from a thread; yields the origin."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium(executable: str | None = None) -> Iterator[str]:
    """A headless Chromium with a CDP port; yields its ``http://127.0.0.1:PORT`` endpoint
    once the browser has printed that it listens."""
    exe = find_executable(executable)
    with tempfile.TemporaryDirectory(prefix="dh-miniwob-") as profile:
        proc = subprocess.Popen(
            [str(exe), "--headless=new", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
             "--no-first-run", "--no-default-browser-check", "--disable-gpu",
             # as Playwright launches it: no sandbox (it refuses to start as root otherwise)
             "--no-sandbox", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            yield _endpoint(proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _endpoint(proc: subprocess.Popen[str]) -> str:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + _DEADLINE_S
    said = ""
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError("chromium did not open its debugging port in time") from None
        if line is None:
            raise RuntimeError(f"chromium exited with status {proc.wait()}: {said.strip()}")
        if line.startswith("DevTools listening on ws://"):
            host_port = line.split("ws://", 1)[1].split("/", 1)[0]
            return f"http://{host_port}"
        said = line


class PageScripts:
    """The harness's own CDP connection to the tab showing one task page: runs that
    page's JavaScript. Connect after the agent opened the tab (a connection lists the
    tabs that exist when it is made). Every call runs on one helper thread, the owner of
    this Playwright connection."""

    def __init__(self, endpoint: str, url: str) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="miniwob-js")
        self._pw: Any = None
        self._page: Any = None
        try:
            self._call(self._connect, endpoint, url)
        except BaseException:
            self.close()
            raise

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._thread.submit(fn, *args).result(timeout=_DEADLINE_S * 2)

    def _connect(self, endpoint: str, url: str) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        browser = self._pw.chromium.connect_over_cdp(endpoint)
        pages = [p for c in browser.contexts for p in c.pages if p.url == url]
        if not pages:
            raise RuntimeError(f"no tab shows {url}")
        self._page = pages[0]
        self._page.wait_for_function(
            "typeof core !== 'undefined' && core.cover_div !== null", timeout=_DEADLINE_S * 1000
        )

    def evaluate(self, expression: str) -> Any:
        return self._call(lambda: self._page.evaluate(expression))

    def close(self) -> None:
        if self._pw is not None:
            self._call(self._pw.stop)
        self._thread.shutdown()


@dataclass
class Episode:
    task: str
    utterance: str
    #: The page's raw reward (before MiniWoB's time penalty); 0 when it never finished.
    reward: float
    done: bool
    reason: str
    steps: int
    #: The agent's own time: the model's replies plus the actions (not the harness's).
    seconds: float
    prompt_tokens: int = 0
    new_tokens: int = 0
    reply_tokens: int = 0
    tools: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.done and self.reward > 0


def settings_for(home: Path, endpoint: str, env: dict[str, str] | None = None) -> Settings:
    """Settings as ``deskhand`` builds them from `env` (the configured models and
    permission rules included), with the journal under `home` and the browser tool
    attached to the harness's browser at `endpoint`."""
    base = load_settings(env)
    browser = base.browser.model_copy(update={"cdp_endpoint": endpoint})
    return base.model_copy(update={"data_dir": home / "data", "browser": browser})


START = "core.EPISODE_MAX_TIME = {ms}; core.startEpisodeReal(); core.getUtterance()"
REWARD = "[WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL, WOB_REWARD_GLOBAL, WOB_REWARD_REASON]"


def run_episode(
    settings: Settings,
    router: ModelRouter,
    url: str,
    *,
    task: str,
    workspace: Path,
    max_steps: int,
    episode_seconds: float = EPISODE_SECONDS,
) -> Episode:
    """One episode as ``deskhand run UTTERANCE --start-url URL --allow
    browser.input:127.0.0.1`` runs it (unattended: whatever else would ask is denied),
    stopped as soon as the page says the episode is over. `settings` attach the browser
    tool to the harness's Chromium (`settings_for`)."""
    assert settings.browser.cdp_endpoint, "settings_for() attaches the tool to the harness"
    browser = assemble.browser_tool(settings, [workspace])
    journal = assemble.open_journal(settings)
    scripts: PageScripts | None = None
    try:
        browser.start(url)
        scripts = PageScripts(settings.browser.cdp_endpoint, url)
        utterance = scripts.evaluate(START.format(ms=int(episode_seconds * 1000)))
        browser.set_goal(utterance)
        episode = Episode(task, utterance, 0.0, False, "", 0, 0.0)
        _drive(settings, router, browser, scripts, episode, url, workspace, journal,
               Limits(max_steps=max_steps, max_seconds=episode_seconds))  # fmt: skip
        done, raw, _scaled, why = scripts.evaluate(REWARD)
        episode.done, episode.reward = bool(done), float(raw) if done else 0.0
        episode.reason = str(why) if done and why else episode.reason
    finally:
        if scripts is not None:
            scripts.close()
        browser.close()
        journal.close()
    return episode


def _drive(
    settings: Settings,
    router: ModelRouter,
    browser: BrowserTool,
    scripts: PageScripts,
    episode: Episode,
    url: str,
    workspace: Path,
    journal: Journal,
    limits: Limits,
) -> None:
    """Run the agent on the episode; after each action, stop it if the page is done."""
    files = assemble.file_tool(settings, [workspace])
    task = Task(
        goal=episode.utterance,
        workspace=(workspace,),
        grants=(
            assemble.start_url_grant(url),
            *assemble.permission_rules(settings, ["browser.input:127.0.0.1"], [workspace]),
        ),
        limits=limits,
        context=(
            f"The browser shows this page:\n{browser.view()}\n\n"
            f"Workspace contents:\n{files.listing('.')}"
        ),
    )
    stop = threading.Event()
    registry = assemble.registry(settings, [workspace], browser)
    engine = Engine(router, registry, journal, AlwaysDeny(), stop=stop)
    for event in run(task, engine):
        if isinstance(event, ActionProposed):
            u = event.usage
            episode.prompt_tokens += u.prompt_tokens
            episode.new_tokens += u.evaluated_tokens
            episode.reply_tokens += u.completion_tokens
            episode.seconds += u.seconds
            episode.tools.append(event.tool)
        elif isinstance(event, ActionFinished):
            episode.steps += 1
            episode.seconds += event.seconds
            if scripts.evaluate("WOB_DONE_GLOBAL"):
                stop.set()  # the loop ends before the next step
        elif isinstance(event, RunFinished):
            episode.reason = event.message
