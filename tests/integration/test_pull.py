"""`deskhand models pull` / `rm` as a user runs them, against a Hugging Face-compatible
server on loopback (tests/hf_server.py) serving the embedded GGUF file as a catalogue
model of the user's own catalogue. Real processes, real huggingface_hub, real files;
the only fake is the free-space reading in the one in-process test of the disk check."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import hf_server
from tests.hf_server import FILE, NAME, REPO, HubFiles, serve

DESKHAND = str(Path(sys.executable).parent / "deskhand")
MB = 1_000_000


def write_catalogue(home: Path, gguf: Path, sha256: str = "") -> None:
    hf_server.write_catalogue(home / "config", gguf, sha256)


@pytest.fixture
def hub(embedded_gguf: Path, deskhand_home: Path) -> HubFiles:
    write_catalogue(deskhand_home, embedded_gguf)
    return HubFiles({f"{REPO}/{FILE}": embedded_gguf})


@pytest.fixture
def endpoint(hub: HubFiles) -> Iterator[str]:
    with serve(hub) as url:
        yield url


def hf_env(endpoint: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_XET="1",
        **extra,
    )
    return env


def deskhand(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESKHAND, *args], capture_output=True, text=True, timeout=300, env=env)


def listed(env: dict[str, str]) -> dict[str, dict[str, object]]:
    proc = deskhand(env, "models", "--json")
    assert proc.returncode == 0, proc.stderr
    return {r["name"]: r for r in json.loads(proc.stdout)}


def models_dir(home: Path) -> Path:
    return home / "data" / "models"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(stderr: str) -> bool:
    """The failure is one ``deskhand:`` line (a progress bar may be drawn above it)."""
    errors = [line for line in stderr.splitlines() if line.startswith("deskhand:")]
    return len(errors) == 1 and "Traceback" not in stderr


def gets(hub: HubFiles) -> list[str | None]:
    """The Range header of every GET the server saw (None: from the start)."""
    return [r for method, _, r in hub.requests if method == "GET"]


def test_pull_shows_progress_verifies_installs_and_lists_the_model(
    hub: HubFiles, endpoint: str, tmp_path: Path, deskhand_home: Path, embedded_gguf: Path
) -> None:
    env = hf_env(endpoint, tmp_path)
    proc = deskhand(env, "models", "pull", "tiny-test", "--json", "--default")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    done = [e["done"] for e in events if e["event"] == "progress"]
    size = embedded_gguf.stat().st_size
    assert len(done) > 2 and done == sorted(done) and done[-1] == size
    assert events[-1]["event"] == "installed" and events[-1]["name"] == NAME
    installed = Path(events[-1]["path"])
    assert installed.parent == models_dir(deskhand_home) and sha256(installed) == sha256(
        embedded_gguf
    )
    assert not list(models_dir(deskhand_home).glob("*.partial"))
    row = listed(env)[NAME]
    assert row["available"] and row["default"] and Path(str(row["location"])) == installed

    human = deskhand(env, "models", "pull", NAME)
    assert human.returncode == 0 and "already installed" in human.stdout
    assert gets(hub) == [None], "an installed model is not downloaded again"

    ws = tmp_path / "ws"
    ws.mkdir()
    run = deskhand(
        env,
        "run",
        "Create a folder named reports",
        "-w",
        str(ws),
        "--max-steps",
        "1",
        "--yes",
        "--json",
    )
    assert run.returncode in (0, 1), run.stderr  # the default is now the pulled model
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert events[0]["event"] == "RunStarted" and events[0]["model_id"] == NAME
    assert events[-1]["event"] == "RunFinished" and events[-1]["outcome"] != "error"


def test_pull_resumes_after_the_server_drops_the_connection_halfway(
    hub: HubFiles, endpoint: str, tmp_path: Path, deskhand_home: Path, embedded_gguf: Path
) -> None:
    hub.drop_after = 45 * MB
    proc = deskhand(hf_env(endpoint, tmp_path), "models", "pull", "tiny-test")
    assert proc.returncode == 0, proc.stderr
    first, second = gets(hub)
    assert first is None and second is not None
    resumed_at = int(second.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 45 * MB, "the bytes received before the drop are kept"
    assert sha256(models_dir(deskhand_home) / FILE) == sha256(embedded_gguf)


def test_ctrl_c_keeps_a_resumable_partial_and_lists_nothing(
    hub: HubFiles, endpoint: str, tmp_path: Path, deskhand_home: Path, embedded_gguf: Path
) -> None:
    hub.hold_after = 60 * MB
    env = hf_env(endpoint, tmp_path)
    proc = subprocess.Popen(
        [DESKHAND, "models", "pull", "tiny-test", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until two chunks were reported (one surely written)
        if json.loads(line).get("done", 0) >= 20 * MB:
            break
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "pull again to resume" in stderr and "Traceback" not in stderr
    partial = models_dir(deskhand_home) / (FILE + ".partial")
    kept = partial.stat().st_size
    assert 0 < kept < embedded_gguf.stat().st_size
    assert NAME not in listed(env)

    hub.hold_after = None
    hub.release.set()
    again = deskhand(env, "models", "pull", "tiny-test")
    assert again.returncode == 0, again.stderr
    assert gets(hub)[-1] == f"bytes={kept}-"
    assert sha256(models_dir(deskhand_home) / FILE) == sha256(embedded_gguf)
    assert listed(env)[NAME]["available"]


def test_a_checksum_mismatch_is_refused_and_nothing_is_listed(
    hub: HubFiles, endpoint: str, tmp_path: Path, deskhand_home: Path
) -> None:
    hub.corrupt = True
    env = hf_env(endpoint, tmp_path)
    proc = deskhand(env, "models", "pull", "tiny-test")
    assert proc.returncode == 1
    assert "sha256 mismatch" in proc.stderr and "nothing was installed" in proc.stderr
    assert one_error_line(proc.stderr)
    assert NAME not in listed(env)
    assert not [p for p in models_dir(deskhand_home).iterdir() if not p.name.startswith(".")]


def test_a_server_file_the_catalogue_does_not_list_is_refused_before_downloading(
    hub: HubFiles, endpoint: str, tmp_path: Path, deskhand_home: Path, embedded_gguf: Path
) -> None:
    write_catalogue(deskhand_home, embedded_gguf, sha256="0" * 64)
    proc = deskhand(hf_env(endpoint, tmp_path), "models", "pull", "tiny-test")
    assert proc.returncode == 1 and "not the one the catalogue lists" in proc.stderr
    assert gets(hub) == []


def test_not_enough_disk_space_is_refused_before_downloading(
    hub: HubFiles, endpoint: str, tmp_path: Path
) -> None:
    hub.claimed_size = 10**16  # 10 PB: more than any disk here
    proc = deskhand(hf_env(endpoint, tmp_path), "models", "pull", "tiny-test")
    assert proc.returncode == 1
    assert "not enough disk space for tiny-test:Q4_1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert gets(hub) == []


def test_the_disk_check_reads_free_space_at_its_seam(
    hub: HubFiles, endpoint: str, deskhand_home: Path
) -> None:
    from models.catalogue_data import load_catalogue
    from models.pull import NotEnoughSpace, pull

    model, quant = load_catalogue(deskhand_home / "config" / "catalogue.toml").find("tiny-test")
    asked: list[Path] = []

    def free(folder: Path) -> int:
        asked.append(folder)
        return 50 * MB

    with pytest.raises(NotEnoughSpace, match="has 0.0 GiB free"):
        pull(model, quant, models_dir(deskhand_home), free=free, endpoint=endpoint)
    assert asked == [models_dir(deskhand_home)] and gets(hub) == []


def test_offline_mode_is_one_line(endpoint: str, tmp_path: Path) -> None:
    proc = deskhand(hf_env(endpoint, tmp_path, HF_HUB_OFFLINE="1"), "models", "pull", "tiny-test")
    assert proc.returncode == 1
    assert "HF_HUB_OFFLINE" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_file_in_the_hugging_face_cache_is_used_offline_and_rm_leaves_it(
    hub: HubFiles, endpoint: str, tmp_path: Path, deskhand_home: Path, embedded_gguf: Path
) -> None:
    from huggingface_hub import hf_hub_download

    hf_home = tmp_path / "hf-home"
    cached = Path(hf_hub_download(REPO, FILE, endpoint=endpoint, cache_dir=hf_home / "hub"))
    before = len(hub.requests)
    env = hf_env(endpoint, tmp_path, HF_HUB_OFFLINE="1")
    proc = deskhand(env, "models", "pull", "tiny-test")
    assert proc.returncode == 0, proc.stderr
    assert len(hub.requests) == before, "nothing was fetched"
    row = listed(env)[NAME]
    assert Path(str(row["location"])) == cached.resolve() and row["available"]
    assert deskhand(env, "models", "rm", NAME).returncode == 0
    assert NAME not in listed(env) and cached.resolve().is_file()


def test_an_unreachable_server_is_one_line(
    deskhand_home: Path, tmp_path: Path, hub: HubFiles
) -> None:
    proc = deskhand(hf_env("http://127.0.0.1:9", tmp_path), "models", "pull", "tiny-test")
    assert proc.returncode == 1
    assert "cannot reach 127.0.0.1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_unknown_names_are_bad_input(endpoint: str, tmp_path: Path) -> None:
    env = hf_env(endpoint, tmp_path)
    for args in (("pull", "no-such-model"), ("pull", "tiny-test:Q9_9"), ("rm", "tiny-test:Q4_1")):
        proc = deskhand(env, "models", *args)
        assert proc.returncode == 2, args
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "it has Q4_1" in deskhand(env, "models", "pull", "tiny-test:Q9_9").stderr


def test_rm_deletes_the_model_and_a_default_falls_back_to_embedded(
    endpoint: str, tmp_path: Path, deskhand_home: Path
) -> None:
    env = hf_env(endpoint, tmp_path)
    assert deskhand(env, "models", "pull", "tiny-test", "--default").returncode == 0
    proc = deskhand(env, "models", "rm", NAME)
    assert proc.returncode == 0, proc.stderr
    assert "deskhand now uses 'embedded'" in proc.stdout
    rows = listed(env)
    assert NAME not in rows and rows["embedded"]["default"]
    assert not list(models_dir(deskhand_home).glob("*.gguf*"))
