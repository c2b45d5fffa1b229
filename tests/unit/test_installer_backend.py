"""installer/backend.py: which llama.cpp build install.sh installs, decided with a faked
``nvidia-smi`` (and ``nvcc``) on PATH, a faked platform, and a wheel index that is either
unreachable (no network) or served on loopback."""

from __future__ import annotations

import importlib.util
import os
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "installer" / "backend.py"
PY = f"cp{sys.version_info.major}{sys.version_info.minor}"


def load_backend() -> ModuleType:
    spec = importlib.util.spec_from_file_location("installer_backend", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["installer_backend"] = module
    spec.loader.exec_module(module)
    return module


backend = load_backend()
VERSION = backend.pinned_version()


def closed_port() -> str:
    """A loopback URL nothing listens on: the wheel index without a network."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/whl"


@pytest.fixture
def index() -> Iterator[tuple[str, dict[str, str]]]:
    """A wheel index on loopback: fill `pages` with path -> HTML."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            data = (body or "").encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whl", pages
    finally:
        server.shutdown()
        server.server_close()


def fake_tools(folder: Path, cuda: str, *, nvcc: bool) -> dict[str, str]:
    """An environment whose PATH has a fake nvidia-smi (driver 550.54.14, CUDA `cuda`)
    and, when `nvcc`, a fake CUDA compiler, before the real tools."""
    folder.mkdir(exist_ok=True)
    smi = folder / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--query-gpu=name,driver_version" ]; then\n'
        '  echo "NVIDIA GeForce RTX 3070, 550.54.14"\n'
        "else\n"
        f'  echo "| NVIDIA-SMI 550.54.14   Driver Version: 550.54.14   CUDA Version: {cuda} |"\n'
        "fi\n"
    )
    smi.chmod(0o755)
    if nvcc:
        (folder / "nvcc").write_text("#!/bin/sh\necho nvcc\n")
        (folder / "nvcc").chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:/usr/bin:/bin"}


def run_script(env: dict[str, str], *args: str) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--shell", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return {
        k.removeprefix("llama_"): shlex.split(v)[0] if v else ""
        for k, _, v in (line.partition("=") for line in proc.stdout.splitlines())
    }


def wheel_page(name: str) -> str:
    return f'<html><body><a href="{name}">{name}</a></body></html>'


def test_cuda_without_network_falls_back_to_a_cuda_source_build_and_says_so(
    tmp_path: Path,
) -> None:
    env = fake_tools(tmp_path / "bin", "12.4", nvcc=True)
    choice = run_script({**env, "DESKHAND_WHEEL_INDEX": closed_port()})
    assert choice["backend"] == "cuda" and choice["method"] == "source"
    assert choice["cmake_args"] == "-DGGML_CUDA=on"
    assert "could not be reached" in choice["reason"] and "from source" in choice["reason"]
    assert choice["cuda"] == "12.4" and choice["driver"] == "550.54.14"


def test_cuda_without_network_or_compiler_takes_the_cpu_build_and_says_why(
    tmp_path: Path,
) -> None:
    env = fake_tools(tmp_path / "bin", "12.4", nvcc=False)
    choice = run_script({**env, "DESKHAND_WHEEL_INDEX": closed_port()})
    assert choice["backend"] == "cpu" and choice["method"] == "source"
    assert "no CUDA compiler" in choice["reason"] and "could not be reached" in choice["reason"]


def test_cuda_with_a_matching_wheel_installs_the_prebuilt_one(
    tmp_path: Path, index: tuple[str, dict[str, str]]
) -> None:
    url, pages = index
    arch = os.uname().machine
    wheel = f"llama_cpp_python-{VERSION}-{PY}-{PY}-linux_{arch}.whl"
    pages["/whl/cu125/llama-cpp-python/"] = wheel_page(wheel)
    env = fake_tools(tmp_path / "bin", "12.6", nvcc=False)  # a CUDA 12.6 driver runs cu125
    choice = run_script({**env, "DESKHAND_WHEEL_INDEX": url})
    assert choice["backend"] == "cuda" and choice["method"] == "wheel"
    assert choice["wheel_url"] == f"{url}/cu125/llama-cpp-python/{wheel}"
    assert "prebuilt cu125 wheel" in choice["reason"]


def test_an_index_without_this_pythons_wheel_is_a_source_build(
    tmp_path: Path, index: tuple[str, dict[str, str]]
) -> None:
    url, pages = index
    pages["/whl/cu124/llama-cpp-python/"] = wheel_page(
        f"llama_cpp_python-{VERSION}-cp38-cp38-linux_x86_64.whl"
    )
    env = fake_tools(tmp_path / "bin", "12.4", nvcc=True)
    choice = run_script({**env, "DESKHAND_WHEEL_INDEX": url})
    assert choice["method"] == "source" and "has no llama-cpp-python" in choice["reason"]


def test_old_cuda_has_no_wheel_and_cpu_flag_and_no_gpu_take_the_cpu_build(tmp_path: Path) -> None:
    old = run_script(
        {**fake_tools(tmp_path / "old", "11.8", nvcc=False), "DESKHAND_WHEEL_INDEX": closed_port()}
    )
    assert old["backend"] == "cpu" and "CUDA 12.1 or newer" in old["reason"]
    forced = run_script(fake_tools(tmp_path / "bin", "12.4", nvcc=True), "--cpu")
    assert forced["backend"] == "cpu" and forced["reason"].startswith("--cpu given")
    bare = tmp_path / "bare"
    bare.mkdir()
    none = run_script({**os.environ, "PATH": str(bare)})
    assert none["backend"] == "cpu" and "no NVIDIA GPU" in none["reason"]


def test_apple_silicon_takes_the_metal_wheel_or_a_metal_source_build(
    index: tuple[str, dict[str, str]],
) -> None:
    url, pages = index
    mac = backend.Machine("Darwin", "arm64", PY, run=lambda argv: None, which=lambda name: None)
    offline = backend.choose(False, closed_port(), mac)
    assert (offline.backend, offline.method, offline.cmake_args) == (
        "metal",
        "source",
        "-DGGML_METAL=on",
    )
    assert "could not be reached" in offline.reason
    wheel = f"llama_cpp_python-{VERSION}-{PY}-{PY}-macosx_11_0_arm64.whl"
    pages["/whl/metal/llama-cpp-python/"] = wheel_page(wheel)
    online = backend.choose(False, url, mac)
    assert (online.backend, online.method) == ("metal", "wheel") and online.wheel_url.endswith(
        wheel
    )


def test_the_cuda_wheel_tag_is_the_newest_the_driver_runs() -> None:
    assert backend.cuda_tag("12.4") == "cu124"
    assert backend.cuda_tag("12.8") == "cu125"
    assert backend.cuda_tag("13.0") == "cu125"
    assert backend.cuda_tag("12.0") is None and backend.cuda_tag("") is None
