"""MiniWoB++ tasks end to end: the real agent loop and browser tool on the tasks' own
pages (from the `miniwob` package, served from loopback, in real headless Chromium), with
a scripted model that emits the right element actions. The page's own JavaScript starts
each episode and judges it; its reward must be positive.

The script reads the goal and the observation in the prompt to find its indices: that is
test code. The product knows nothing about these tasks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from pages import miniwob_site
from pages.runs import index_in, on, reply

from models.base import Message
from models.router import FallbackPolicy, ModelRouter
from models.scripted import ScriptedModel

Script = Callable[[str], list[object]]


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    try:
        root = miniwob_site.html_root()
    except miniwob_site.MiniwobMissing as exc:
        pytest.skip(str(exc))
    with miniwob_site.serve(root) as url:
        yield url


@pytest.fixture(scope="module")
def endpoint(origin: str) -> Iterator[str]:
    with miniwob_site.chromium() as cdp:
        yield cdp


def quoted(goal: str) -> list[str]:
    return re.findall(r'"([^"]*)"', goal)


def unnamed(kind: str, tool: str, **args: object) -> Callable[[Sequence[Message]], str]:
    """A reply acting on the first element shown as bare ``[N] textbox`` (+ `kind`)."""
    pattern = re.compile(rf"^\[(\d+)\] textbox{re.escape(kind)}$", re.MULTILINE)

    def answer(messages: Sequence[Message]) -> str:
        for message in reversed(messages):
            found = pattern.search(message.content)
            if message.role == "user" and found:
                return json.dumps(reply(tool, element=int(found.group(1)), **args))
        raise AssertionError(f"no unnamed textbox{kind} was shown")

    return answer


SCRIPTS: dict[str, Script] = {
    # 'Click on the "Yes" button.'
    "click-button": lambda goal: [on(quoted(goal)[0], "browser.click", confirm=False)],
    # 'Enter "Emile" into the text field and press Submit.'
    "enter-text": lambda goal: [
        unnamed("", "browser.type", text=quoted(goal)[0], submit=False),
        on("Submit", "browser.click", confirm=False),
    ],
    # 'Select EyPo6vi, nBu and click Submit.' (or 'Select nothing and click Submit.')
    "click-checkboxes": lambda goal: [
        *(
            on(name.strip(), "browser.check", checked=True)
            for name in re.sub(r"^Select | and click Submit\.$", "", goal).split(",")
            if name.strip() and name.strip() != "nothing"
        ),
        on("Submit", "browser.click", confirm=False),
    ],
    # 'Select Delores from the list and click Submit.'
    "choose-list": lambda goal: [
        lambda m: json.dumps(
            reply("browser.select", element=index_in(m, "Submit") - 1, option=_between(goal))
        ),
        on("Submit", "browser.click", confirm=False),
    ],
    # 'Close the dialog box by clicking the "x".'
    "click-dialog": lambda goal: [on("Close", "browser.click", confirm=False)],
    # 'Enter the username "donovan" and the password "29r2Q" into the text fields and press login.'
    # (its fields are named by their unlinked labels)
    "login-user": lambda goal: [
        on("Username", "browser.type", text=quoted(goal)[0], submit=False),
        on("Password", "browser.type", text=quoted(goal)[1], submit=False),
        on("Login", "browser.click", confirm=False),
    ],
}


def _between(goal: str) -> str:
    return goal.removeprefix("Select ").removesuffix(" from the list and click Submit.")


class GoalScript:
    """Replies chosen once the goal is known: the first call reads it from the prompt."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.replies: list[object] | None = None

    def __call__(self, messages: Sequence[Message]) -> str:
        if self.replies is None:
            goal = next(m.content for m in reversed(messages) if m.content.startswith("Goal: "))
            self.replies = self.script(goal.removeprefix("Goal: ").splitlines()[0])
        if not self.replies:
            raise AssertionError("the script asked for more steps than it has")
        answer = self.replies.pop(0)
        return answer(messages) if callable(answer) else json.dumps(answer)


@pytest.mark.parametrize("task", sorted(SCRIPTS))
def test_a_scripted_agent_solves_the_task(
    task: str, origin: str, endpoint: str, deskhand_home: Path, workspace: Path
) -> None:
    script = GoalScript(SCRIPTS[task])
    model = ScriptedModel([script] * 6)
    router = ModelRouter(model, None, FallbackPolicy(remote_allowed=False))
    settings = miniwob_site.settings_for(deskhand_home, endpoint)

    episode = miniwob_site.run_episode(
        settings, router, f"{origin}/miniwob/{task}.html", task=task, workspace=workspace,
        max_steps=6, episode_seconds=120,
    )  # fmt: skip

    assert episode.done, (episode.reason, episode.tools)
    assert episode.reward > 0, (episode.utterance, episode.reason, episode.tools)
    assert episode.tools and all(t.startswith("browser.") for t in episode.tools)
    # stopped right after the page said it was done: no step after the last scripted one
    assert episode.steps == len(SCRIPTS[task](episode.utterance))
