#!/usr/bin/env python3
"""Which llama.cpp build `install.sh` installs: a prebuilt GPU wheel, or a source build.

Run by installer/install.sh with the Python that will own the virtual environment, before
the environment exists, so it uses the standard library only. It decides, says why, and
prints the decision for the shell (``--shell``: NAME=VALUE lines) or as JSON.

The decision:
- ``--cpu``, or no NVIDIA GPU and not Apple Silicon: the CPU build from source (what CI
  takes; pip's wheel cache makes a second install quick).
- NVIDIA: ``nvidia-smi`` gives the driver and the newest CUDA it supports; the newest
  published CUDA wheel index (``cu121`` ... ``cu125``) not newer than that is used when it
  has a wheel of the pinned llama-cpp-python for this Python and platform. Otherwise a
  source build with ``-DGGML_CUDA=on`` when the CUDA compiler (nvcc) is there, else CPU.
- Apple Silicon: the ``metal`` wheel index, else a source build with ``-DGGML_METAL=on``.
- The index cannot be reached (no network): the source build, saying so.

``DESKHAND_WHEEL_INDEX`` replaces the index's base URL (a mirror; tests use loopback).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

INDEX = "https://abetlen.github.io/llama-cpp-python/whl"
#: CUDA versions the wheel index publishes builds for, oldest first.
CUDA_TAGS = ("12.1", "12.2", "12.3", "12.4", "12.5")
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Machine:
    """What the choice depends on; `here()` reads this one, tests describe others."""

    system: str  # platform.system(): "Linux", "Darwin", "Windows"
    arch: str  # platform.machine(), lower case
    python: str  # "cp311"
    run: Callable[[list[str]], str | None]
    which: Callable[[str], str | None] = shutil.which


def here() -> Machine:
    py = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return Machine(platform.system(), platform.machine().lower(), py, _run)


@dataclass
class Choice:
    backend: str  # "cpu", "cuda" or "metal"
    method: str  # "wheel" or "source"
    reason: str
    version: str
    cmake_args: str = ""
    wheel_url: str = ""
    cuda: str = ""
    driver: str = ""
    gpu: str = ""


def pinned_version(constraints: Path = HERE / "constraints.txt") -> str:
    match = re.search(r"^llama-cpp-python==(\S+)", constraints.read_text(), re.M)
    return match.group(1) if match else ""


def _run(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def nvidia(m: Machine) -> tuple[str, str, str] | None:
    """(GPU name, driver version, newest CUDA the driver supports) from nvidia-smi."""
    query = m.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"])
    banner = m.run(["nvidia-smi"])
    if not query or not banner:
        return None
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", banner)
    name, _, driver = query.strip().splitlines()[0].partition(",")
    return name.strip(), driver.strip(), cuda.group(1) if cuda else ""


def cuda_tag(cuda: str) -> str | None:
    """The newest published wheel CUDA version the driver can run, e.g. "12.4" -> "cu124"."""

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split(".")[:2] if p.isdigit())

    fitting = [t for t in CUDA_TAGS if cuda and key(t) <= key(cuda)]
    return "cu" + fitting[-1].replace(".", "") if fitting else None


def wheel_matches(name: str, version: str, m: Machine) -> bool:
    """Whether wheel file `name` is `version` for this Python and platform."""
    if not name.startswith(f"llama_cpp_python-{version}-{m.python}-{m.python}-"):
        return False
    if m.system == "Darwin":
        return "-macosx_" in name and name.endswith("_arm64.whl")
    if m.system == "Windows":
        return name.endswith("-win_amd64.whl")
    return name.endswith(f"-linux_{m.arch}.whl")


def find_wheel(index: str, version: str, m: Machine) -> tuple[str | None, str]:
    """The URL of the pinned version's wheel for this Python in `index`, and why not."""
    page_url = f"{index}/llama-cpp-python/"
    try:
        with urllib.request.urlopen(page_url, timeout=15) as response:
            page = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"the wheel index {page_url} could not be reached ({reason})"
    for href in re.findall(r'href="([^"#]+\.whl)', page):
        if wheel_matches(urllib.parse.unquote(href.rsplit("/", 1)[-1]), version, m):
            return urllib.parse.urljoin(page_url, href), ""
    return None, f"{page_url} has no llama-cpp-python {version} wheel for this Python and platform"


def choose(force_cpu: bool, index: str, m: Machine) -> Choice:
    version = pinned_version()
    if force_cpu:
        return Choice("cpu", "source", "--cpu given: the CPU build, from source", version)
    if m.system == "Darwin" and m.arch in ("arm64", "aarch64"):
        url, why_not = find_wheel(f"{index}/metal", version, m)
        if url:
            return Choice(
                "metal", "wheel", "Apple Silicon: the prebuilt Metal wheel", version, wheel_url=url
            )
        return Choice(
            "metal",
            "source",
            f"Apple Silicon, but {why_not}: building with Metal from source",
            version,
            cmake_args="-DGGML_METAL=on",
        )
    card = nvidia(m)
    if card is None:
        return Choice(
            "cpu",
            "source",
            "no NVIDIA GPU (nvidia-smi not found or no driver): the CPU build",
            version,
        )
    return _cuda_choice(card, index, version, m)


def _cuda_choice(card: tuple[str, str, str], index: str, version: str, m: Machine) -> Choice:
    name, driver, cuda = card
    seen = dict(cuda=cuda, driver=driver, gpu=name)
    tag = cuda_tag(cuda)
    if tag:
        url, why_not = find_wheel(f"{index}/{tag}", version, m)
        if url:
            why = f"{name}, driver {driver} (CUDA {cuda}): the prebuilt {tag} wheel"
            return Choice("cuda", "wheel", why, version, wheel_url=url, **seen)
    else:
        why_not = f"no prebuilt wheel for CUDA {cuda or 'unknown'} (they need CUDA 12.1 or newer)"
    if m.which("nvcc"):
        why = f"{name}, driver {driver}: {why_not}; building with CUDA from source (nvcc found)"
        return Choice("cuda", "source", why, version, cmake_args="-DGGML_CUDA=on", **seen)
    why = (
        f"{name}, driver {driver}: {why_not}, and no CUDA compiler (nvcc) to build one: the CPU "
        "build (install the CUDA toolkit and run install.sh again for GPU offload)"
    )
    return Choice("cpu", "source", why, version, **seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="force the CPU build")
    parser.add_argument("--shell", action="store_true", help="print NAME=VALUE lines for sh")
    args = parser.parse_args(argv)
    index = os.environ.get("DESKHAND_WHEEL_INDEX", INDEX).rstrip("/")
    choice = choose(args.cpu, index, here())
    if args.shell:
        for key, value in asdict(choice).items():
            sys.stdout.write(f"llama_{key}={shlex.quote(str(value))}\n")
    else:
        sys.stdout.write(json.dumps(asdict(choice), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
