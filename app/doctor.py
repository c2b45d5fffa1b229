"""`deskhand doctor`: what this machine has, what deskhand can run on it, and what to fix.

Each check is a `Finding`: a name, a state (``ok``, ``warn`` or ``fail``), what was
found, and, when something is wrong, the fix in one line. The hardware comes from
`models.hardware.detect`, the recommendation from `models.hardware.recommend`; the
desktop session and the browser are the app's and the tools' own answers, so doctor
says what a run would meet.

Exit status: 0 when nothing is ``fail`` (warnings are advice), 1 otherwise: deskhand
cannot run a local model as configured.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from rich.console import Console

from agent import assemble
from agent.assemble import BadInput
from agent.settings import Settings, desktop_session
from app.common import settings_or_fail
from app.models_cli import backend_line, backend_record, catalogue_or_fail, models_dir
from models.catalogue_data import ModelCatalogue, UnknownCatalogueModel, gib
from models.hardware import Hardware, Recommendation, detect, recommend
from models.installed import installed_models
from tools.base import ToolFailure
from tools.browser.launch import find_executable

out = Console(highlight=False, soft_wrap=True)


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    state: str  # "ok", "warn" or "fail"
    found: str
    fix: str = ""


def doctor_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check this machine for deskhand: memory, CPU, GPU, the llama.cpp build, the
    model, the desktop session, the browser; say what fits and what to fix."""
    settings = settings_or_fail()
    hw = detect()
    catalogue = catalogue_or_fail(settings)
    rec = recommend(hw, catalogue, settings.model.n_ctx)
    findings = hardware_findings(hw) + [
        llama_finding(hw),
        model_finding(settings, catalogue, rec),
        recommendation_finding(settings, rec),
        session_finding(),
        browser_finding(settings),
        disk_finding(settings),
    ]
    failed = any(f.state == "fail" for f in findings)
    if as_json:
        sys.stdout.write(json.dumps({"findings": [asdict(f) for f in findings]}) + "\n")
    else:
        for f in findings:
            out.print(f"{f.state.upper():<4}  {f.name:<10} {f.found}", markup=False)
            if f.fix:
                out.print(f"{'':<16}fix: {f.fix}", markup=False)
    raise typer.Exit(1 if failed else 0)


def hardware_findings(hw: Hardware) -> list[Finding]:
    features = ", ".join(hw.cpu_features) or "none of avx2/avx512/amx"
    cpu = Finding("cpu", "ok", f"{hw.cpu_name or hw.machine}, {hw.cores} threads; {features}")
    if hw.machine in ("x86_64", "amd64") and "avx2" not in hw.cpu_features:
        cpu = Finding("cpu", "warn", cpu.found, "without AVX2 llama.cpp is several times slower")
    ram_state = "ok" if hw.ram_bytes >= 8 * 2**30 else "warn"
    ram_fix = "" if ram_state == "ok" else "under 8 GiB only the small models fit"
    found = [
        Finding(
            "system",
            "ok",
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        ),
        cpu,
        Finding("memory", ram_state, f"{gib(hw.ram_bytes)} RAM", ram_fix),
    ]
    if not hw.gpus:
        found.append(
            Finding("gpu", "ok", "none found (NVIDIA through NVML or nvidia-smi, Apple Silicon)")
        )
    for g in hw.gpus:
        extra = (
            f", driver {g.driver}, CUDA {g.cuda}" if g.vendor == "nvidia" else " (unified memory)"
        )
        found.append(Finding("gpu", "ok", f"{g.name}, {gib(g.memory_bytes)}{extra}"))
    return found


def llama_finding(hw: Hardware) -> Finding:
    record = backend_line(backend_record())
    if hw.llama_gpu_offload is None:
        return Finding(
            "llama.cpp", "fail", "llama-cpp-python does not load", "run installer/install.sh"
        )
    offload = "with GPU offload" if hw.llama_gpu_offload else "CPU only"
    found = f"{offload}; {record}"
    if hw.gpus and not hw.llama_gpu_offload:
        return Finding(
            "llama.cpp",
            "warn",
            found,
            "this machine has a GPU the build cannot use: run installer/install.sh again "
            "(it installs the CUDA or Metal build)",
        )
    return Finding("llama.cpp", "ok", found)


def model_finding(settings: Settings, catalogue: ModelCatalogue, rec: Recommendation) -> Finding:
    """The default model: can it be opened, and (a catalogue model) does it fit?"""
    name = settings.model.default
    try:
        entry = assemble.resolve_model(settings, name)
    except BadInput as exc:
        return Finding("model", "fail", str(exc), "deskhand models pull NAME, or set model.default")
    found = f"default {entry.name} ({entry.kind}): {entry.location}"
    try:
        model, quant = catalogue.find(name)
    except UnknownCatalogueModel:
        return Finding("model", "ok", found)  # the embedded model, a remote, a GGUF path
    need, room = model.memory_bytes(quant, settings.model.n_ctx), rec.budget
    if need <= room.bytes:
        return Finding("model", "ok", f"{found}; needs {gib(need)} of {gib(room.bytes)}")
    return Finding(
        "model",
        "warn",
        f"{found}; needs {gib(need)}, but a model gets {gib(room.bytes)} on the {room.device.upper()} here",
        f"not enough memory: it will swap or fail to load; use {rec.ref} (deskhand models pull "
        f"{rec.ref} --default) or lower model.n_ctx",
    )


def recommendation_finding(settings: Settings, rec: Recommendation) -> Finding:
    why = "; ".join(rec.reasons)
    fix = "; ".join(rec.budget.fixes)
    if rec.model is None or settings.model.default == rec.ref:
        return Finding("fits", "warn" if fix else "ok", f"{rec.ref}: {why}", fix)
    pulled = {m.name for m in installed_models(models_dir(settings))}
    step = (
        f"deskhand models pull {rec.ref} --default"
        if rec.ref not in pulled
        else (f"make it the default: deskhand models pull {rec.ref} --default")
    )
    return Finding(
        "fits",
        "warn",
        f"{rec.ref} would do more than {settings.model.default}: {why}",
        "; ".join(filter(None, [step, fix])),
    )


def session_finding() -> Finding:
    session = desktop_session()
    if session == "wayland":
        return Finding(
            "desktop",
            "warn",
            "Wayland session",
            "the global hotkey and the GUI tool need X11: log in to an X11 (Xorg) session, "
            "or use the tray menu and the palette command",
        )
    if session == "none":
        return Finding(
            "desktop", "ok", "no display (headless): CLI, task files and the browser work"
        )
    return Finding("desktop", "ok", f"{session} session")


def browser_finding(settings: Settings) -> Finding:
    if settings.browser.cdp_endpoint:
        return Finding("browser", "ok", f"attaches to {settings.browser.cdp_endpoint}")
    try:
        path = find_executable(settings.browser.executable)
    except ToolFailure as failure:
        return Finding(
            "browser", "warn", failure.message, "install Chromium, Chrome or Edge for browser tasks"
        )
    return Finding("browser", "ok", str(path))


def disk_finding(settings: Settings) -> Finding:
    folder = settings.data_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    state = "ok" if free >= 10 * 2**30 else "warn"
    fix = "" if state == "ok" else "a 7-9B model needs 5-9 GB: free some space first"
    return Finding("disk", state, f"{gib(free)} free for models under {settings.data_dir}", fix)
