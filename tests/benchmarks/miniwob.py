"""Benchmark: the real agent with the browser tool on MiniWoB++ tasks.

    .venv/bin/python tests/benchmarks/miniwob.py [TASK ...] [--episodes N] [--model NAME|PATH]
        [--max-steps N] [--episode-seconds S] [--json PATH] [--markdown PATH]
        [--lora ADAPTER.gguf | --adapter]

Needs the `miniwob` package for its task pages (``pip install --no-deps miniwob``; its
dependencies, selenium and gymnasium, are not used). The pages are served from loopback;
a headless Chromium is started with a CDP port and each episode's browser tool attaches
to it through the product's own setting (``DESKHAND_BROWSER_CDP``), so every episode runs
as ``deskhand run UTTERANCE --start-url URL --allow browser.input:127.0.0.1`` would, with
the model opened once as the CLI opens it (`agent.assemble.open_router`). The harness
starts each episode and reads its reward through the page's own JavaScript
(tests/pages/miniwob_site.py). The configuration is the user's own (models, remotes,
permission rules); only the journal goes to a temporary folder. An episode succeeds when the page's raw reward is
positive; it ends when the page says so, at the step budget, or when the model finishes.

MiniWoB gives an episode 10 s; here the limit is raised (--episode-seconds) so a slow
model on a CPU is judged on what it does. Seconds per step are the agent's own time
(model reply plus action); tokens per step are the prompt plus the reply, and "new" the
prompt tokens evaluated anew (not reused from the KV cache).
Last line, machine-readable: ``success=0.NN episodes=N sec_per_step=N.N``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This file is called miniwob.py: keep its folder off the path, so the name is the package's.
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != HERE]
sys.path.insert(0, str(HERE.parents[1]))  # the project
sys.path.insert(0, str(HERE.parent))  # tests/, for pages.miniwob_site

from pages import miniwob_site  # noqa: E402
from pages.miniwob_site import Episode  # noqa: E402

from agent import assemble  # noqa: E402
from agent.assemble import BadInput  # noqa: E402
from agent.settings import Settings, SettingsError, adapter_scope, load_settings  # noqa: E402
from models.base import ModelError  # noqa: E402
from models.router import ModelRouter  # noqa: E402

DEFAULT_TASKS = (
    "click-button", "click-link", "enter-text", "focus-text",
    "click-checkboxes", "choose-list", "click-dialog", "login-user",
)  # fmt: skip


def summary(episodes: Sequence[Episode]) -> dict[str, float]:
    n = len(episodes)
    steps = sum(e.steps for e in episodes)
    return {
        "episodes": n,
        "success": sum(e.success for e in episodes) / n if n else 0.0,
        "mean_reward": sum(e.reward for e in episodes) / n if n else 0.0,
        "mean_steps": steps / n if n else 0.0,
        "sec_per_step": sum(e.seconds for e in episodes) / steps if steps else 0.0,
        "tokens_per_step": sum(e.prompt_tokens + e.reply_tokens for e in episodes) / steps
        if steps
        else 0.0,
        "new_tokens_per_step": sum(e.new_tokens for e in episodes) / steps if steps else 0.0,
    }


def markdown(rows: dict[str, dict[str, float]]) -> str:
    lines = [
        "| task | episodes | success | mean reward | mean steps | s/step | tokens/step (new) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in rows.items():
        lines.append(
            f"| {name} | {s['episodes']:.0f} | {s['success']:.2f} | {s['mean_reward']:+.2f} "
            f"| {s['mean_steps']:.1f} | {s['sec_per_step']:.1f} "
            f"| {s['tokens_per_step']:.0f} ({s['new_tokens_per_step']:.0f}) |"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("tasks", nargs="*", default=list(DEFAULT_TASKS), metavar="TASK")
    parser.add_argument("--episodes", type=int, default=3, help="episodes per task")
    parser.add_argument("--model", default=None, help="'embedded', a configured name or a path")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument(
        "--adapter",
        action="store_true",
        help="keep the default adapter on even if it did not learn the browser",
    )
    parser.add_argument(
        "--lora", type=Path, default=None, help="run with this GGUF adapter (deskhand train)"
    )
    parser.add_argument("--episode-seconds", type=float, default=miniwob_site.EPISODE_SECONDS)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here")
    args = parser.parse_args()
    if args.episodes < 1 or args.max_steps < 1:
        parser.error("--episodes and --max-steps must be at least 1")
    return args


def main() -> int:
    args = parse_args()
    try:
        root = miniwob_site.html_root()
    except miniwob_site.MiniwobMissing as exc:
        print(f"miniwob.py: {exc}", file=sys.stderr)
        return 2
    unknown = sorted(set(args.tasks) - set(miniwob_site.task_names(root)))
    if unknown:
        print(f"miniwob.py: no such MiniWoB task: {', '.join(unknown)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="dh-miniwob-") as tmp:
        home = Path(tmp)
        try:
            settings = load_settings()  # the user's configured models
            if args.lora is not None:  # a named adapter runs as named
                model = settings.model.model_copy(update={"adapter": args.lora.resolve()})
                settings = settings.model_copy(update={"model": model})
            default = assemble.local_options(settings).adapter_for(embedded=True)
            settings = adapter_scope(settings, default, browser=not args.adapter, gui=False)
            entry = assemble.resolve_model(settings, args.model)
        except (BadInput, SettingsError) as exc:
            print(f"miniwob.py: {exc}", file=sys.stderr)
            return 2
        with miniwob_site.serve(root) as origin, miniwob_site.chromium() as endpoint:
            settings = miniwob_site.settings_for(home, endpoint)
            try:
                router = assemble.open_router(settings, entry)
            except ModelError as exc:
                print(f"miniwob.py: cannot open model {entry.name}: {exc}", file=sys.stderr)
                return 2
            print(
                f"model {router.model_id}; episode time limit raised to "
                f"{args.episode_seconds:g} s (MiniWoB's own: 10 s) so a slow model is "
                f"judged on correctness; max {args.max_steps} steps",
                flush=True,
            )
            episodes = run_all(args, settings, router, origin, home)
            router.close()
    rows = {t: summary([e for e in episodes if e.task == t]) for t in args.tasks}
    rows["overall"] = summary(episodes)
    table = markdown(rows)
    print(table)
    if args.json:
        data = {"model": entry.name, "episodes": [e.__dict__ for e in episodes], "summary": rows}
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(table + "\n")
    total = rows["overall"]
    print(
        f"success={total['success']:.2f} episodes={len(episodes)} "
        f"sec_per_step={total['sec_per_step']:.1f}"
    )
    return 0


def run_all(
    args: argparse.Namespace, settings: Settings, router: ModelRouter, origin: str, home: Path
) -> list[Episode]:
    episodes: list[Episode] = []
    for task in args.tasks:
        for n in range(1, args.episodes + 1):
            workspace = home / "ws" / f"{task}-{n}"
            workspace.mkdir(parents=True)
            e = miniwob_site.run_episode(
                settings,
                router,
                f"{origin}/miniwob/{task}.html?episode={n}",
                task=task,
                workspace=workspace,
                max_steps=args.max_steps,
                episode_seconds=args.episode_seconds,
            )
            episodes.append(e)
            mark = "ok  " if e.success else "FAIL"
            print(
                f"{mark} {task} #{n} reward={e.reward:+.2f} steps={e.steps} "
                f"{e.seconds:5.1f}s {e.utterance!r}: {' '.join(e.tools)}",
                flush=True,
            )
    return episodes


if __name__ == "__main__":
    sys.exit(main())
