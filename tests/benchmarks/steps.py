"""Benchmark: a multi-step run with the embedded model, and our decode speed against raw
llama.cpp.

    .venv/bin/python tests/benchmarks/steps.py [--model PATH] [--steps N]
                                               [--adapter ADAPTER.gguf | --no-adapter]

Prints, per step: prompt tokens, tokens reused from the KV cache, tokens evaluated,
model seconds, tool seconds. Then, on the last step's prompt, output tokens per second of
  - ours: the schema-directed decoder, exactly as the agent runs it;
  - raw: llama-cpp-python's unconstrained greedy completion (same prompt, same length);
  - gbnf: llama-cpp-python's grammar-constrained completion for the same JSON schema
    (the usual way, shown for reference: its cost is why we do not use it).
The run goes through the model as every entry point opens it: hosted in its own process
(`models.host`). The process boundary's cost per step is the caller's wall time of a
completion minus the time the child measured inside it (printed as ``boundary``).
The decode comparison runs in-process, beside raw llama-cpp-python.
Then the same run with a LoRA adapter (deskhand's shipped one for the embedded model,
or ``--adapter``; the tuned model sees its own compact prompt), its steps, and the
adapter's cost: mean model seconds per step with / without (``adapter_step_ratio``)
and our decode rate on the same prompt with / without (``adapter_decode_ratio``).
Last line, machine-readable: ``reuse=0.NN decode_ratio=0.NN boundary_ms=N.N`` where reuse
is tokens reused / prompt tokens over steps 2 and later, decode_ratio is ours / raw, and
boundary_ms the median extra latency of the process boundary per step (plus
``adapter_step_ratio=N.NN adapter_decode_ratio=N.NN`` when an adapter ran).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llama_cpp import Llama, LlamaGrammar

from agent import assemble
from agent.approval import AlwaysAllow
from agent.events import ActionFinished, ActionProposed, RunFinished
from agent.loop import Engine, run
from agent.settings import load_settings
from agent.task import Limits, Task
from models.adapter_meta import shipped_adapter
from models.base import ChatModel, Message
from models.catalogue import LocalOptions, embedded_model_path, gguf_entry
from models.llamacpp import LlamaCppModel, default_threads, load_params
from models.router import FallbackPolicy, ModelRouter

GOAL = (
    "Create a folder named reports, write a file reports/summary.txt that says "
    "'all good', then list the reports folder, then finish."
)


class Recording:
    """Passes calls to the model and keeps the last prompt (for the decode comparison)."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.model_id = model.model_id
        self.last: list[Message] = []
        #: per step: the caller's wall time minus the model's own measured time
        self.boundary: list[float] = []

    def info(self):  # type: ignore[no-untyped-def]
        return self.model.info()

    def complete(self, messages, **kw):  # type: ignore[no-untyped-def]
        self.last = list(messages)
        started = time.perf_counter()
        reply = self.model.complete(messages, **kw)
        self.boundary.append(time.perf_counter() - started - reply.usage.seconds)
        return reply

    def close(self) -> None:
        pass


def run_steps(
    model: ChatModel, steps: int, home: Path
) -> tuple[list[dict[str, float]], list[Message], list[float]]:
    settings = load_settings({"DESKHAND_HOME": str(home)})
    ws = home / "ws"
    ws.mkdir()
    journal = assemble.open_journal(settings)
    registry = assemble.registry(settings, [ws])
    recorder = Recording(model)
    engine = Engine(
        ModelRouter(recorder, None, FallbackPolicy(remote_allowed=False)),
        registry,
        journal,
        AlwaysAllow(),
    )
    task = Task(goal=GOAL, workspace=(ws,), limits=Limits(max_steps=steps))
    rows: list[dict[str, float]] = []
    for event in run(task, engine):
        if isinstance(event, ActionProposed):
            u = event.usage
            rows.append(
                {
                    "step": event.step,
                    "tool": event.tool,  # type: ignore[dict-item]
                    "prompt": u.prompt_tokens,
                    "reused": u.cached_tokens,
                    "evaluated": u.evaluated_tokens,
                    "out": u.completion_tokens,
                    "model_s": u.seconds,
                }
            )
        elif isinstance(event, ActionFinished):
            rows[-1]["tool_s"] = event.seconds
        elif isinstance(event, RunFinished):
            print(f"run {event.run_id}: {event.outcome}: {event.message}")
    messages = list(recorder.last)
    journal.close()
    return rows, messages, recorder.boundary


def decode_speeds(
    model: LlamaCppModel, path: Path, messages: list[Message], schema: dict, reps: int
) -> dict[str, float]:  # type: ignore[type-arg]
    prompt = model.prompt_tokens(messages)
    ours, lengths = [], []
    for _ in range(reps):
        c = model.complete(messages, schema=schema, max_tokens=256)
        ours.append(c.usage.completion_tokens / c.usage.decode_seconds)
        lengths.append(c.usage.completion_tokens)
    n_out = max(8, int(statistics.median(lengths)))
    with load_params(extra_buffers=model.cpu_repack):  # the same weights layout as ours
        raw = Llama(
            model_path=str(path), n_ctx=model.n_ctx, n_threads=default_threads(), verbose=False
        )
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)

    def timed(**kw: object) -> float:
        raw.create_completion(prompt, max_tokens=1, temperature=0.0)  # warm the prefix cache
        start = time.perf_counter()
        out = raw.create_completion(prompt, max_tokens=n_out, temperature=0.0, **kw)  # type: ignore[arg-type]
        return out["usage"]["completion_tokens"] / (time.perf_counter() - start)  # type: ignore[index]

    raw_rates = [timed() for _ in range(reps)]
    gbnf_rates = [timed(grammar=grammar) for _ in range(max(1, reps // 2))]
    raw.close()
    return {
        "ours_tok_s": statistics.median(ours),
        "raw_tok_s": statistics.median(raw_rates),
        "gbnf_tok_s": statistics.median(gbnf_rates),
        "reply_tokens": float(n_out),
    }


def print_rows(rows: list[dict[str, float]]) -> None:
    print(
        f"{'step':>4} {'tool':<18} {'prompt':>7} {'reused':>7} {'evaluated':>9} {'out':>5} {'model s':>8} {'tool s':>7}"
    )
    for r in rows:
        print(
            f"{r['step']:>4} {r['tool']:<18} {r['prompt']:>7} {r['reused']:>7} {r['evaluated']:>9} "
            f"{r['out']:>5} {r['model_s']:>8.3f} {r.get('tool_s', 0.0):>7.3f}"
        )


def mean_step_s(rows: list[dict[str, float]]) -> float:
    return statistics.mean(r["model_s"] for r in rows) if rows else float("nan")


def adapter_cost(
    path: Path,
    adapter: Path,
    bare_rows: list[dict[str, float]],
    messages: list[Message],
    args: argparse.Namespace,
    home: Path,
) -> str:
    """The run again with `adapter`, printed; the machine-readable ratios."""
    options = LocalOptions(cpu_repack=args.cpu_repack, adapter=adapter)
    home.mkdir()
    settings = load_settings({"DESKHAND_HOME": str(home)})
    schema = assemble.registry(settings, [home]).action_schema()
    tuned = gguf_entry(path.stem, path, options).opener()
    print(f"with adapter {adapter.name} (prompt: {tuned.info().prompt_style}):")
    rows, _, _ = run_steps(tuned, args.steps, home)
    tuned.close()
    print_rows(rows)
    step_ratio = mean_step_s(rows) / mean_step_s(bare_rows)
    rates = {}
    for name, lora in (("bare", None), ("adapter", adapter)):
        model = LlamaCppModel(path, cpu_repack=args.cpu_repack, lora_path=lora)
        done = [model.complete(messages, schema=schema, max_tokens=256) for _ in range(args.reps)]
        rates[name] = statistics.median(
            c.usage.completion_tokens / c.usage.decode_seconds for c in done
        )
        model.close()
    print(
        f"model s/step: bare {mean_step_s(bare_rows):.3f}, adapter {mean_step_s(rows):.3f} "
        f"(x{step_ratio:.2f}); decode on the same prompt: bare {rates['bare']:.1f} tok/s, "
        f"adapter {rates['adapter']:.1f} tok/s"
    )
    return f" adapter_step_ratio={step_ratio:.2f} adapter_decode_ratio={rates['adapter'] / rates['bare']:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--cpu-repack", action="store_true", help="llama.cpp's repacked CPU weights (opt-in)"
    )
    parser.add_argument("--adapter", type=Path, default=None, help="default: the shipped one")
    parser.add_argument("--no-adapter", action="store_true", help="skip the adapter run")
    args = parser.parse_args()
    path = args.model or embedded_model_path()
    if path is None:
        print("embedded model not installed", file=sys.stderr)
        return 2
    hosted = gguf_entry(path.stem, path, LocalOptions(cpu_repack=args.cpu_repack)).opener()
    with tempfile.TemporaryDirectory() as tmp:
        rows, messages, boundary = run_steps(hosted, args.steps, Path(tmp))
        hosted.close()
        print_rows(rows)
        adapter = None if args.no_adapter else (args.adapter or shipped_adapter())
        tail = ""
        if adapter is not None:
            tail = adapter_cost(path, adapter, rows, messages, args, Path(tmp) / "tuned")
        model = LlamaCppModel(path, cpu_repack=args.cpu_repack)
        later = [r for r in rows if r["step"] >= 2]
        reuse = sum(r["reused"] for r in later) / max(1, sum(r["prompt"] for r in later))
        settings = load_settings({"DESKHAND_HOME": tmp})
        schema = assemble.registry(settings, [Path(tmp) / "ws"]).action_schema()
        speeds = decode_speeds(model, path, messages, schema, args.reps)
    ratio = speeds["ours_tok_s"] / speeds["raw_tok_s"]
    print(
        f"decode on a {len(model.prompt_tokens(messages))}-token prompt, ~{speeds['reply_tokens']:.0f}-token reply: "
        f"ours {speeds['ours_tok_s']:.1f} tok/s, raw {speeds['raw_tok_s']:.1f} tok/s, "
        f"gbnf {speeds['gbnf_tok_s']:.1f} tok/s (gbnf/raw {speeds['gbnf_tok_s'] / speeds['raw_tok_s']:.2f})"
    )
    boundary_ms = 1000 * statistics.median(boundary)
    print(
        f"process boundary per step: median {boundary_ms:.1f} ms, max {1000 * max(boundary):.1f} ms"
    )
    print(model.info().detail)
    print(f"reuse={reuse:.2f} decode_ratio={ratio:.2f} boundary_ms={boundary_ms:.1f}" + tail)
    model.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
