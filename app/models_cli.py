"""`deskhand models`: list the models, and recommend, pull and remove catalogue models.

``deskhand models`` (``--json``) lists every model a run can name: the embedded one,
configured remotes, and the catalogue models `pull` installed (named ``NAME:QUANT``).
The subcommands work on the catalogue (`models.catalogue_data`): ``recommend`` says
which entry fits this machine and why (`models.hardware`), ``pull`` downloads and
verifies one (`models.pull`), ``rm`` deletes one, ``catalogue`` lists the entries.

Exit status: 0 done, 1 a pull that failed (network, checksum, disk space, offline),
2 bad input (a name the catalogue does not list, a model that is not installed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from agent import assemble
from agent.settings import Settings
from app.common import err, fail, settings_or_fail
from models.adapter_meta import adapter_families
from models.catalogue_data import (
    CatalogueError,
    ModelCatalogue,
    UnknownCatalogueModel,
    gib,
    installed_name,
    load_catalogue,
)
from models.installed import find_installed, installed_models, remove_installed

out = Console(highlight=False, soft_wrap=True)
models_app = typer.Typer(
    help="List the models; recommend, pull and remove catalogue models.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _emit(data: object) -> None:
    """One JSON document on stdout, flushed (a reader may act on each line at once)."""
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def models_dir(settings: Settings) -> Path:
    """Where pulled models live."""
    return settings.data_dir / "models"


def catalogue_or_fail(settings: Settings) -> ModelCatalogue:
    try:
        return load_catalogue(settings.config_dir / "catalogue.toml")
    except CatalogueError as exc:
        fail(f"bad catalogue: {exc}")


def backend_record() -> dict[str, Any] | None:
    """The llama.cpp build installer/install.sh chose (``<venv>/deskhand-backend.json``)."""
    try:
        data = json.loads((Path(sys.prefix) / "deskhand-backend.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def backend_line(record: dict[str, Any] | None) -> str:
    if record is None:
        return "llama.cpp build: not recorded (installed without installer/install.sh)"
    return (
        f"llama.cpp build: {record.get('backend')}, {record.get('method')} ({record.get('reason')})"
    )


@models_app.callback(invoke_without_command=True)
def models_command(ctx: typer.Context, as_json: _Json = False) -> None:
    """List the embedded, configured and pulled models, where each lives, GPU offload,
    and how local models run on this CPU."""
    if ctx.invoked_subcommand is not None:
        return
    from models.llamacpp import cpu_repack_choice, gpu_offload_supported

    settings = settings_or_fail()
    gpu = gpu_offload_supported()
    record = backend_record()
    local = {
        "process": "own (a crash ends a run, not deskhand)",
        "threads": settings.model.threads or "follow the load",
        "cpu_repack": settings.model.cpu_repack,
        "cpu_repack_choice": cpu_repack_choice(settings.model.cpu_repack),
        "llama_cpp_build": record,
    }
    rows = [
        {
            "name": e.name,
            "kind": e.kind,
            "location": e.location,
            "available": e.available,
            "default": e.name == settings.model.default,
            "gpu_offload": gpu and e.kind == "gguf" and settings.model.gpu_layers != 0,
            **(local if e.kind == "gguf" else {}),
            **(_adapter_fields(e.adapter) if e.kind == "gguf" else {}),
        }
        for e in assemble.catalogue(settings).entries()
    ]
    if as_json:
        _emit(rows)
        return
    width = max(12, *(len(str(r["name"])) for r in rows))
    for r in rows:
        mark = "*" if r["default"] else " "
        state = "" if r["available"] else "  (not installed)"
        gpu_note = ""
        if r["kind"] == "gguf":
            gpu_note = "  gpu offload: on" if r["gpu_offload"] else "  gpu offload: off"
            learned = ",".join(r["adapter_families"])
            gpu_note += f"  adapter: {r['adapter']} (learned {learned})" if r["adapter"] else ""
        out.print(
            f"{mark} {r['name']:<{width}} {r['kind']:<7} {r['location']}{gpu_note}{state}",
            markup=False,
        )
    out.print(
        f"local models: own process; threads: {local['threads']}; {local['cpu_repack_choice']}",
        markup=False,
    )
    out.print(backend_line(record), markup=False)


def _adapter_fields(adapter: Path | None) -> dict[str, Any]:
    """A local model's adapter and the tool families it learned (models.adapter_meta)."""
    if adapter is None:
        return {"adapter": None, "adapter_families": []}
    return {"adapter": str(adapter), "adapter_families": sorted(adapter_families(adapter))}


@models_app.command("adapters")
def adapters_command(as_json: _Json = False) -> None:
    """List the adapters for the embedded model, shipped and personal (``deskhand
    learn``), with the tool families each learned and their gate scores; ``*`` marks
    the default."""
    from agent.learn_gate import GateError, personal_store
    from models.adapter_meta import ADAPTERS_DIR

    settings = settings_or_fail()
    try:
        personal = personal_store(settings.data_dir).versions()
    except GateError as exc:
        fail(str(exc))
    default = assemble.local_options(settings).adapter_for(embedded=True)
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "kind": "shipped",
            "families": sorted(adapter_families(p)),
            "scores": {},
            "accepted": None,
            "reason": "",
            "default": default == p,
        }
        for p in sorted(ADAPTERS_DIR.glob("*.gguf"))
    ]
    rows += [
        {
            "name": v["name"],
            "kind": "personal",
            "families": sorted(adapter_families(settings.data_dir / "adapters" / v["name"])),
            "scores": v["scores"],
            "accepted": v["accepted"],
            "reason": v["reason"],
            "default": default == settings.data_dir / "adapters" / v["name"],
        }
        for v in personal
    ]
    if as_json:
        _emit(rows)
        return
    for r in rows:
        scores = " ".join(f"{f}={v:.2f}" for f, v in sorted(r["scores"].items()))
        verdict = {True: "accepted", False: "refused", None: ""}[r["accepted"]]
        detail = f"  {scores}  {verdict}: {r['reason']}" if r["kind"] == "personal" else ""
        learned = ",".join(r["families"])
        mark = "*" if r["default"] else " "
        out.print(f"{mark} {r['name']}  {r['kind']}{detail}  learned: {learned}", markup=False)
    if not any(r["default"] for r in rows):
        out.print("  (no adapter is the default: the model runs bare)", markup=False)


@models_app.command("catalogue")
def catalogue_command(as_json: _Json = False) -> None:
    """List the catalogue: every model deskhand can pull, by size tier."""
    settings = settings_or_fail()
    catalogue = catalogue_or_fail(settings)
    if as_json:
        _emit([m.model_dump(mode="json") for m in catalogue.models])
        return
    installed = {m.name for m in installed_models(models_dir(settings))}
    for m in catalogue.models:
        for q in m.quants:
            name = installed_name(m, q)
            mark = "installed" if name in installed else ""
            out.print(
                f"{name:<36} {m.tier:<9} {gib(q.size):>9} file, {q.memory_gib:>5.1f} GiB to run  "
                f"{m.licence:<14} {mark}",
                markup=False,
            )


@models_app.command("recommend")
def recommend_command(as_json: _Json = False) -> None:
    """Which catalogue model and quantisation fit this machine, and why."""
    from models.hardware import detect, recommend

    settings = settings_or_fail()
    rec = recommend(detect(), catalogue_or_fail(settings), settings.model.n_ctx)
    data = {
        "model": rec.ref,
        "device": rec.budget.device,
        "budget_bytes": rec.budget.bytes,
        "reasons": list(rec.reasons),
        "fixes": list(rec.budget.fixes),
    }
    if as_json:
        _emit(data)
        return
    out.print(f"recommended: {rec.ref}", markup=False)
    for line in rec.reasons:
        out.print(f"  - {line}", markup=False)
    for line in rec.budget.fixes:
        out.print(f"  fix: {line}", markup=False)
    if rec.model is not None:
        out.print(f"get it: deskhand models pull {rec.ref}", markup=False)


@models_app.command("pull")
def pull_command(
    name: Annotated[
        str, typer.Argument(help="NAME or NAME:QUANT from `deskhand models catalogue`.")
    ],
    default: Annotated[
        bool, typer.Option("--default", help="Make it the default model when it is installed.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print progress as JSON lines.")] = False,
) -> None:
    """Download a catalogue model from Hugging Face, check its sha256, and install it.

    An interrupted pull (Ctrl-C, a dropped connection) resumes where it stopped."""
    from models.pull import PullError, pull

    settings = settings_or_fail()
    try:
        model, quant = catalogue_or_fail(settings).find(name)
    except UnknownCatalogueModel as exc:
        fail(str(exc))
    ref = installed_name(model, quant)
    folder = models_dir(settings)
    was_installed = find_installed(folder, ref) is not None
    try:
        with _progress_reporter(ref, as_json) as report:
            installed = pull(model, quant, folder, progress=report)
    except PullError as exc:
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        fail(f"interrupted: the partial download of {ref} is kept; pull again to resume", 130)
    if default:
        _make_default(settings, ref)
    if as_json:
        _emit({"event": "installed", "name": ref, "path": str(installed.path)})
        return
    what = "already installed" if was_installed else "installed (sha256 verified)"
    out.print(f"{ref}: {what}: {installed.path}", markup=False)
    if not default and settings.model.default != ref:
        out.print(f"use it: deskhand run --model {ref} ...  (or pull with --default)", markup=False)


@models_app.command("rm")
def rm_command(name: Annotated[str, typer.Argument(help="An installed NAME:QUANT.")]) -> None:
    """Delete a pulled model (and any partial download of it)."""
    settings = settings_or_fail()
    folder = models_dir(settings)
    installed = find_installed(folder, name)
    if installed is None:
        have = ", ".join(m.name for m in installed_models(folder)) or "none"
        fail(f"{name!r} is not an installed model (installed: {have})")
    removed = remove_installed(folder, installed)
    out.print(f"removed {name} ({len(removed)} files)", markup=False)
    if settings.model.default == name:
        out.print("it was the default model: deskhand now uses 'embedded'", markup=False)
        _make_default(settings, "embedded")


def _make_default(settings: Settings, name: str) -> None:
    from app.config_file import write_config

    model = settings.model.model_copy(update={"default": name})
    write_config(settings.model_copy(update={"model": model}))


class _progress_reporter:  # noqa: N801  (a context manager used like a function)
    """A rich progress bar on stderr, or one JSON line per progress step on stdout."""

    def __init__(self, ref: str, as_json: bool) -> None:
        self.ref, self.as_json = ref, as_json
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self.task = self.bar.add_task(ref, total=None)
        self.started = False

    def __enter__(self) -> _progress_reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.bar.stop()

    def __call__(self, done: int, total: int | None) -> None:
        if self.as_json:
            _emit({"event": "progress", "done": done, "total": total})
        else:
            if not self.started:  # not before a byte moves: an installed model shows no bar
                self.started = True
                self.bar.start()
            self.bar.update(self.task, completed=done, total=total)
