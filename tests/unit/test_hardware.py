"""Hardware detection from the outputs of other machines, the recommendation each gets,
the catalogue's data, and the real detection on this machine through `deskhand doctor`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from models.catalogue_data import TIERS, CatalogueError, ModelCatalogue, load_catalogue
from models.hardware import Hardware, Probes, detect, recommend

GIB = 2**30
DESKHAND = str(Path(sys.executable).parent / "deskhand")
CPUINFO = """processor\t: 0
model name\t: AMD Ryzen 7 5800X 8-Core Processor
flags\t\t: fpu sse2 avx avx2 fma f16c bmi2
"""
SMI_QUERY = "NVIDIA GeForce RTX 3070, 8192, 550.54.14\n"
SMI_BANNER = "| NVIDIA-SMI 550.54.14   Driver Version: 550.54.14   CUDA Version: 12.4     |\n"


def runner(outputs: dict[str, str]) -> object:
    """A fake `Probes.run`: the output for a command line, None for any other."""

    def run(argv: Sequence[str]) -> str | None:
        return outputs.get(" ".join(argv))

    return run


NVIDIA_SMI = {
    "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits": SMI_QUERY,
    "nvidia-smi": SMI_BANNER,
}


def linux(memory: int, *, run: object, offload: bool) -> Probes:
    return Probes(
        system=lambda: "linux",
        machine=lambda: "x86_64",
        cores=lambda: 8,
        memory=lambda: memory,
        read=lambda path: CPUINFO if path == "/proc/cpuinfo" else None,
        run=run,  # type: ignore[arg-type]
        nvml=lambda: None,
        llama_gpu_offload=lambda: offload,
    )


def apple_m2_16gb() -> Probes:
    outputs = {
        "sysctl -n machdep.cpu.brand_string": "Apple M2\n",
        "sysctl -n hw.memsize": f"{16 * GIB}\n",
    }
    return Probes(
        system=lambda: "darwin",
        machine=lambda: "arm64",
        cores=lambda: 8,
        memory=lambda: 0,
        read=lambda path: None,
        run=runner(outputs),  # type: ignore[arg-type]
        nvml=lambda: None,
        llama_gpu_offload=lambda: True,
    )


@pytest.fixture(scope="module")
def catalogue() -> ModelCatalogue:
    return load_catalogue()


def test_nvidia_8gb_gets_a_7b_model_on_the_gpu(catalogue: ModelCatalogue) -> None:
    hw = detect(linux(32 * GIB, run=runner(NVIDIA_SMI), offload=True))
    card = hw.nvidia
    assert card is not None and card.name == "NVIDIA GeForce RTX 3070"
    assert card.memory_bytes == 8 * GIB and card.cuda == "12.4" and card.driver == "550.54.14"
    assert hw.cpu_features == ("avx", "avx2", "fma", "f16c")
    rec = recommend(hw, catalogue)
    assert rec.ref == "qwen2.5-7b-instruct:Q4_K_M" and rec.budget.device == "cuda"
    assert any("RTX 3070" in r for r in rec.reasons) and not rec.budget.fixes


def test_a_gpu_that_llama_cpp_cannot_use_falls_back_to_the_cpu_and_says_how_to_fix_it(
    catalogue: ModelCatalogue,
) -> None:
    hw = detect(linux(32 * GIB, run=runner(NVIDIA_SMI), offload=False))
    rec = recommend(hw, catalogue)
    assert rec.budget.device == "cpu"
    assert rec.ref == "qwen2.5-7b-instruct:Q8_0"  # 16 GiB of RAM for the model, 8 cores
    (fix,) = rec.budget.fixes
    assert "no GPU offload" in fix and "installer/install.sh" in fix


def test_apple_m_series_16gb_gets_a_7b_model_in_unified_memory(catalogue: ModelCatalogue) -> None:
    hw = detect(apple_m2_16gb())
    assert hw.apple_silicon and hw.ram_bytes == 16 * GIB
    (gpu,) = hw.gpus
    assert gpu.vendor == "apple" and gpu.name == "Apple M2"
    rec = recommend(hw, catalogue)
    assert rec.ref == "qwen2.5-7b-instruct:Q8_0" and rec.budget.device == "metal"
    assert rec.budget.bytes == 10 * GIB  # 16 GiB less the 6 GiB macOS and the apps keep


def test_cpu_only_8gb_gets_a_3b_model(catalogue: ModelCatalogue) -> None:
    hw = detect(linux(8 * GIB, run=runner({}), offload=False))
    assert hw.gpus == () and hw.nvidia is None
    rec = recommend(hw, catalogue)
    assert rec.ref == "llama-3.2-3b-instruct:Q4_K_M" and rec.budget.device == "cpu"
    assert rec.budget.bytes == 4 * GIB and not rec.budget.fixes


def test_few_cores_keep_to_the_small_tier_and_tiny_memory_keeps_the_embedded_model(
    catalogue: ModelCatalogue,
) -> None:
    two_cores = Hardware("linux", "x86_64", "", 2, ("avx2",), 64 * GIB)
    assert recommend(two_cores, catalogue).model.tier == "0.5-1.5B"  # type: ignore[union-attr]
    tiny = Hardware("linux", "x86_64", "", 8, ("avx2",), 1 * GIB)
    rec = recommend(tiny, catalogue)
    assert rec.model is None and rec.ref == "embedded" and "embedded" in rec.reasons[-1]


def test_the_catalogue_covers_each_tier_and_family_with_consistent_data(
    catalogue: ModelCatalogue,
) -> None:
    for tier in TIERS:
        assert len(catalogue.by_tier(tier)) >= 2, tier
    families = {m.family.rstrip("0123456789.") for m in catalogue.models}
    assert {"qwen", "llama", "gemma", "phi", "smollm"} <= families
    assert {m.template for m in catalogue.models} == {"chatml", "llama3", "gemma", "phi"}
    for m in catalogue.models:
        for q in m.quants:
            assert q.file.endswith(".gguf") and re.fullmatch(r"([0-9a-f]{64})?", q.sha256)
            assert abs(m.memory_bytes(q, 8192) / GIB - q.memory_gib) < 0.06, (m.name, q.name)
    assert catalogue.find("QWEN2.5-7B-INSTRUCT:q8_0")[1].name == "Q8_0"


def test_a_user_catalogue_adds_and_replaces_entries_and_a_bad_one_names_the_field(
    tmp_path: Path,
) -> None:
    user = tmp_path / "catalogue.toml"
    user.write_text(
        '[[model]]\nname = "qwen3-8b"\ntier = "7-9B"\nparams_b = 8\nfamily = "qwen3"\n'
        'template = "chatml"\nlicence = "apache-2.0"\ncontext_length = 32768\n'
        'repo = "me/mirror"\nkv_bytes_per_token = 1\n'
        '[[model.quant]]\nname = "Q4_K_M"\nfile = "q.gguf"\nsize = 1\nmemory_gib = 1\n'
    )
    merged = load_catalogue(user)
    assert merged.find("qwen3-8b")[0].repo == "me/mirror"
    assert len(merged.models) == len(load_catalogue().models)
    user.write_text(user.read_text().replace('template = "chatml"', 'template = "alpaca"'))
    with pytest.raises(CatalogueError, match=r"catalogue.toml: model.0.template"):
        load_catalogue(user)


def test_doctor_reports_this_machine_and_exits_0(deskhand_home: Path) -> None:
    proc = subprocess.run([DESKHAND, "doctor"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("memory", "cpu", "gpu", "llama.cpp", "model", "fits", "browser", "disk"):
        assert re.search(rf"^(OK|WARN)\s+{re.escape(name)}\s", proc.stdout, re.M), name
    as_json = subprocess.run(
        [DESKHAND, "doctor", "--json"], capture_output=True, text=True, timeout=120
    )
    findings = json.loads(as_json.stdout)["findings"]
    assert {f["state"] for f in findings} <= {"ok", "warn"}
    rec = json.loads(
        subprocess.run(
            [DESKHAND, "models", "recommend", "--json"], capture_output=True, text=True, timeout=120
        ).stdout
    )
    assert rec["device"] in ("cpu", "cuda", "metal") and rec["reasons"]


def test_doctor_says_when_the_default_model_needs_more_memory_than_the_machine_gives(
    deskhand_home: Path, embedded_gguf: Path
) -> None:
    from models.installed import InstalledModel, write_record

    config = deskhand_home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "catalogue.toml").write_text(
        '[[model]]\nname = "huge-test"\ntier = "7-9B"\nparams_b = 8\nfamily = "qwen3"\n'
        'template = "chatml"\nlicence = "apache-2.0"\ncontext_length = 32768\n'
        'repo = "me/huge"\nkv_bytes_per_token = 100000000\n'  # 100 MB a token: 800 GB of KV
        f'[[model.quant]]\nname = "Q4_K_M"\nfile = "{embedded_gguf.name}"\nsize = 1\nmemory_gib = 1\n'
    )
    (config / "config.toml").write_text('[model]\ndefault = "huge-test:Q4_K_M"\n')
    folder = deskhand_home / "data" / "models"
    folder.mkdir(parents=True)
    write_record(
        folder,
        InstalledModel(
            "huge-test:Q4_K_M", embedded_gguf, "me/huge", embedded_gguf.name, "0" * 64, 1
        ),
    )
    proc = subprocess.run(
        [DESKHAND, "doctor", "--json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    (model,) = [f for f in json.loads(proc.stdout)["findings"] if f["name"] == "model"]
    assert model["state"] == "warn" and "not enough memory" in model["fix"]
    assert "deskhand models pull" in model["fix"]


def test_doctor_says_what_to_fix_on_wayland_and_without_a_browser(
    deskhand_home: Path, tmp_path: Path
) -> None:
    import os

    env = {
        **os.environ,
        "XDG_SESSION_TYPE": "wayland",
        "WAYLAND_DISPLAY": "wayland-0",
        "DESKHAND_BROWSER": str(tmp_path / "no-such-chromium"),
    }
    proc = subprocess.run(
        [DESKHAND, "doctor", "--json"], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    found = {f["name"]: f for f in json.loads(proc.stdout)["findings"]}
    assert found["desktop"]["state"] == "warn" and "X11" in found["desktop"]["fix"]
    assert found["browser"]["state"] == "warn" and "Chromium" in found["browser"]["fix"]
