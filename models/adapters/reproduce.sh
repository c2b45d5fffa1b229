#!/usr/bin/env bash
# Rebuild the shipped adapter's recipe from this repository alone, in one command:
#
#     bash models/adapters/reproduce.sh [WORK_DIR]     (default: a new temporary folder)
#
# Makes the training data through the real engine (tests/benchmarks/curriculum.py: files,
# browser on loopback pages, GUI on an Xvfb of its own, files with a past run shown),
# mixes it, and trains the three stages of models/adapters/README.md (fresh at lr 1e-3;
# then --tool-weight 5; then lr 3e-4 leaning on the browser). Writes
# WORK_DIR/smollm2-deskhand.gguf and prints how long each part took (about 53 minutes
# on 2 cores). Needs the train extra (pip install -e '.[train]'). The shipped adapter is
# what this script made at commit 99b4609; a new run's browser prompts hold other
# loopback port numbers (the rest of the data is byte-identical), so its adapter is the
# same recipe on the same data up to those digits, not the same bytes
# (models/adapters/README.md, "Reproduce").
set -euo pipefail
cd "$(dirname "$0")/../.."
P=.venv/bin/python
B=tests/benchmarks/curriculum.py
W=${1:-$(mktemp -d -t deskhand-adapter.XXXXXX)}
mkdir -p "$W"
echo "work folder: $W"
began=$(date +%s)

# The browser family waits on Chromium (a browser started and closed per sample) most of
# its time: it is made in three parts side by side, beside the rest, and the parts joined
# in order are the one data set (curriculum.py --shard).
pids=()
for i in 0 1 2; do
    $P $B --n 8 --seed 1 --family browser --shard $i/3 --jsonl "$W/browser.$i.jsonl" \
        >"$W/browser.$i.log" 2>&1 &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT  # a failed step leaves no shard running
$P $B --n 30 --seed 1 --family files --jsonl "$W/files.jsonl" | tail -n 1
$P $B --n 10 --seed 1 --family gui --jsonl "$W/gui.jsonl" | tail -n 1
$P $B --n 12 --seed 2 --family files --memory-share 0.5 --jsonl "$W/mem.jsonl" | tail -n 1
for i in 0 1 2; do
    wait "${pids[$i]}" || { tail -n 5 "$W/browser.$i.log"; exit 1; }
    tail -n 1 "$W/browser.$i.log"
done
trap - EXIT
cat "$W"/browser.{0,1,2}.jsonl >"$W/browser.jsonl"

# Stage 1: half of the file tasks' finish steps dropped (the easiest, most repeated);
# stage 2: stage 1's plus the past-run samples; stage 3: every browser and GUI step and
# 40 % of the file and past-run steps.
$P - "$W" <<'PY'
import json, random, sys
from pathlib import Path
work = Path(sys.argv[1])
rng = random.Random(7)
with open(work / "mix1.jsonl", "w") as out:
    for name in ("files", "browser", "gui"):
        for line in open(work / f"{name}.jsonl"):
            done = '"tool": "finish"' in json.loads(line)["messages"][-1]["content"]
            if name == "files" and done and rng.random() < 0.5:
                continue
            out.write(line)
with open(work / "mix2.jsonl", "w") as out:
    out.write((work / "mix1.jsonl").read_text() + (work / "mem.jsonl").read_text())
rng = random.Random(11)
with open(work / "mix3.jsonl", "w") as out:
    for name in ("browser", "gui", "files", "mem"):
        for line in open(work / f"{name}.jsonl"):
            if name in ("files", "mem") and rng.random() < 0.6:
                continue
            out.write(line)
PY
data=$(date +%s)

T=".venv/bin/deskhand train"
H="--held-out files.folder_and_file --held-out files.refuse_missing --held-out browser.menu"
C="--batch 8 --max-tokens 1024 --eval-max 24 --threads 2 --no-prompt-grad"
# shellcheck disable=SC2086
$T --data "$W/mix1.jsonl" -o "$W/stage1.gguf" --steps 180 --lr 1e-3 --seed 0 $H $C
# shellcheck disable=SC2086
$T --data "$W/mix2.jsonl" -o "$W/stage2.gguf" --init "$W/stage1.gguf" \
    --tool-weight 5 --steps 90 --lr 1e-3 --seed 1 $H $C
# shellcheck disable=SC2086
$T --data "$W/mix3.jsonl" -o "$W/smollm2-deskhand.gguf" --init "$W/stage2.gguf" \
    --tool-weight 5 --steps 40 --lr 3e-4 --seed 3 $H $C
done=$(date +%s)
echo "data $((data - began)) s, training $((done - data)) s, total $((done - began)) s"
echo "adapter: $W/smollm2-deskhand.gguf"
echo "score it: $P tests/benchmarks/goals.py --lora $W/smollm2-deskhand.gguf"
echo "          $P tests/benchmarks/miniwob.py --episodes 5 --lora $W/smollm2-deskhand.gguf"
