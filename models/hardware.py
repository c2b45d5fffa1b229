"""What this machine can run: memory, CPU features, GPUs, and whether llama.cpp can use them.

`detect` reads the machine through `Probes` (the OS, ``/proc/cpuinfo`` or ``sysctl``,
NVML or ``nvidia-smi``, psutil, the installed llama.cpp), each a plain function, so tests
detect from the outputs of other machines: an NVIDIA box, an Apple M-series Mac, a
CPU-only laptop. Nothing here raises on a missing tool: what cannot be read is absent.

`recommend` is pure: from a `Hardware` and the catalogue it picks the largest size tier
whose preferred quantisation fits the memory budget of the device the model will run on,
then the best quantisation of that model that still fits, and says why.
"""

from __future__ import annotations

import platform
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psutil

from models.catalogue_data import TIERS, CatalogueModel, ModelCatalogue, Quant, gib

_GIB = 2**30
#: CPU flags that decide llama.cpp's speed on x86 (amx_tile: Sapphire Rapids and later).
CPU_FEATURES = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile")


@dataclass(frozen=True, slots=True)
class Gpu:
    vendor: str  # "nvidia" or "apple"
    name: str
    memory_bytes: int
    driver: str | None = None
    cuda: str | None = None


@dataclass(frozen=True, slots=True)
class Hardware:
    system: str  # "linux", "darwin", "windows"
    machine: str  # "x86_64", "arm64", ...
    cpu_name: str
    cores: int
    cpu_features: tuple[str, ...]
    ram_bytes: int
    gpus: tuple[Gpu, ...] = ()
    #: None: the installed llama.cpp could not be asked.
    llama_gpu_offload: bool | None = None

    @property
    def apple_silicon(self) -> bool:
        return self.system == "darwin" and self.machine in ("arm64", "aarch64")

    @property
    def nvidia(self) -> Gpu | None:
        cards = [g for g in self.gpus if g.vendor == "nvidia"]
        return max(cards, key=lambda g: g.memory_bytes) if cards else None


def _run(argv: Sequence[str]) -> str | None:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _nvml() -> list[Gpu] | None:
    """NVIDIA GPUs through NVML (the nvidia-ml-py package), None when it is not usable."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        cuda = pynvml.nvmlSystemGetCudaDriverVersion()
        cuda_text = f"{cuda // 1000}.{cuda % 1000 // 10}"
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = _text(pynvml.nvmlDeviceGetName(handle))
            total = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)
            gpus.append(Gpu("nvidia", name, total, driver, cuda_text))
        return gpus
    except pynvml.NVMLError:
        return None
    finally:
        pynvml.nvmlShutdown()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _llama_gpu_offload() -> bool | None:
    try:
        from models.llamacpp import gpu_offload_supported
    except (ImportError, OSError):  # llama.cpp missing or its library does not load
        return None
    return gpu_offload_supported()


def _memory() -> int:
    return int(psutil.virtual_memory().total)


@dataclass(frozen=True, slots=True)
class Probes:
    """How `detect` reads the machine; tests replace any of them."""

    system: Callable[[], str] = field(default=lambda: platform.system().lower())
    machine: Callable[[], str] = field(default=lambda: platform.machine().lower())
    cores: Callable[[], int] = field(default=lambda: psutil.cpu_count(logical=True) or 1)
    memory: Callable[[], int] = _memory
    read: Callable[[str], str | None] = _read
    run: Callable[[Sequence[str]], str | None] = _run
    nvml: Callable[[], list[Gpu] | None] = _nvml
    llama_gpu_offload: Callable[[], bool | None] = _llama_gpu_offload


def detect(probes: Probes | None = None) -> Hardware:
    p = probes or Probes()
    system, machine = p.system(), p.machine()
    if system == "darwin":
        cpu_name, features, ram = _mac_cpu(p)
    else:
        cpu_name, features = _linux_cpu(p.read("/proc/cpuinfo") or "")
        ram = p.memory()
    gpus: list[Gpu] = []
    if system == "darwin" and machine in ("arm64", "aarch64"):
        gpus.append(Gpu("apple", cpu_name or "Apple Silicon", ram))
    elif system != "darwin":
        gpus += p.nvml() or nvidia_smi(p.run)
    return Hardware(
        system=system,
        machine=machine,
        cpu_name=cpu_name,
        cores=p.cores(),
        cpu_features=features,
        ram_bytes=ram,
        gpus=tuple(gpus),
        llama_gpu_offload=p.llama_gpu_offload(),
    )


def _linux_cpu(cpuinfo: str) -> tuple[str, tuple[str, ...]]:
    name = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    flags_line = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", cpuinfo, re.M)
    flags = set(flags_line.group(1).split()) if flags_line else set()
    return (name.group(1).strip() if name else ""), tuple(f for f in CPU_FEATURES if f in flags)


def _mac_cpu(p: Probes) -> tuple[str, tuple[str, ...], int]:
    brand = (p.run(["sysctl", "-n", "machdep.cpu.brand_string"]) or "").strip()
    flags = (
        p.run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"]) or ""
    ).lower()
    features = tuple(f for f in CPU_FEATURES if f in flags.replace(".", "_").split())
    memsize = (p.run(["sysctl", "-n", "hw.memsize"]) or "").strip()
    ram = int(memsize) if memsize.isdigit() else p.memory()
    return brand, features, ram


def nvidia_smi(run: Callable[[Sequence[str]], str | None]) -> list[Gpu]:
    """NVIDIA GPUs as ``nvidia-smi`` reports them (memory in MiB), with the CUDA version
    its banner shows; [] without the tool or a driver."""
    query = run(
        [
            "nvidia-smi",
            "--query-gpu=name,memory.total,driver_version",
            "--format=csv,noheader,nounits",
        ]
    )
    if not query:
        return []
    cuda_match = re.search(r"CUDA Version:\s*([\d.]+)", run(["nvidia-smi"]) or "")
    cuda = cuda_match.group(1) if cuda_match else None
    gpus = []
    for line in query.strip().splitlines():
        parts = [s.strip() for s in line.split(",")]
        if len(parts) >= 3 and parts[1].isdigit():
            gpus.append(Gpu("nvidia", parts[0], int(parts[1]) * 2**20, parts[2], cuda))
    return gpus


@dataclass(frozen=True, slots=True)
class Budget:
    device: str  # "cuda", "metal" or "cpu"
    bytes: int
    #: The largest tier worth running there (speed, not memory).
    max_tier: str
    reasons: tuple[str, ...]
    fixes: tuple[str, ...] = ()


def budget(hw: Hardware) -> Budget:
    """Where a model would run and how much memory it may take there."""
    card = hw.nvidia
    if card is not None and hw.llama_gpu_offload:
        return Budget(
            "cuda",
            int(card.memory_bytes * 0.9),
            TIERS[-1],
            (
                f"{card.name} with {gib(card.memory_bytes)} VRAM and llama.cpp built with GPU offload: "
                "the whole model goes on the GPU (90% of its memory; the rest is the driver's)",
            ),
        )
    if hw.apple_silicon and hw.llama_gpu_offload is not False:
        usable = min(int(hw.ram_bytes * 0.65), hw.ram_bytes - 6 * _GIB)
        return Budget(
            "metal",
            max(usable, 0),
            TIERS[-1],
            (
                f"{hw.cpu_name or 'Apple Silicon'} with {gib(hw.ram_bytes)} unified memory: Metal may use "
                "about two thirds of it, and macOS, the browser and deskhand need 6 GiB",
            ),
        )
    fixes = []
    if card is not None:
        fixes.append(
            f"{card.name} found but this llama.cpp has no GPU offload: run installer/install.sh "
            "again (it installs the CUDA build), then deskhand doctor"
        )
    return _cpu_budget(hw, tuple(fixes))


def _cpu_budget(hw: Hardware, fixes: tuple[str, ...]) -> Budget:
    if hw.cores >= 8:
        tier, why = "7-9B", f"{hw.cores} cores run up to 7-9B models at a usable speed"
    elif hw.cores >= 4:
        tier, why = "3-4B", f"{hw.cores} cores run up to 3-4B models at a usable speed"
    else:
        tier, why = "0.5-1.5B", f"{hw.cores} cores: only small models answer in seconds"
    return Budget(
        "cpu",
        hw.ram_bytes // 2,
        tier,
        (
            f"no usable GPU: the model runs on the CPU in RAM ({gib(hw.ram_bytes)}; half is kept "
            "for the system, the browser and deskhand)",
            why,
        ),
        fixes,
    )


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The model to pull (None: nothing in the catalogue fits; stay on the embedded one)."""

    model: CatalogueModel | None
    quant: Quant | None
    budget: Budget
    reasons: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.model.name}:{self.quant.name}" if self.model and self.quant else "embedded"


def recommend(hw: Hardware, catalogue: ModelCatalogue, n_ctx: int = 8192) -> Recommendation:
    """The largest tier whose preferred quantisation fits, then the best quantisation of
    that model that fits (catalogue order breaks ties)."""
    room = budget(hw)
    allowed = TIERS[: TIERS.index(room.max_tier) + 1]
    for tier in reversed(allowed):
        for model in catalogue.by_tier(tier):
            if model.memory_bytes(model.quants[0], n_ctx) > room.bytes:
                continue
            quant = max(
                (q for q in model.quants if model.memory_bytes(q, n_ctx) <= room.bytes),
                key=lambda q: q.size,
            )
            need = model.memory_bytes(quant, n_ctx)
            why = (
                f"{model.name} {quant.name} needs {gib(need)} with a {n_ctx}-token context; "
                f"{gib(room.bytes)} is available on the {room.device.upper()}",
            )
            return Recommendation(model, quant, room, room.reasons + why)
    none = (f"no catalogue model fits in {gib(room.bytes)}: keep the embedded SmolLM2-135M",)
    return Recommendation(None, None, room, room.reasons + none)
