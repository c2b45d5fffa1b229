#!/usr/bin/env bash
# Rebuild the shipped adapter from this repository alone, in one command:
#
#     bash models/adapters/reproduce.sh [WORK_DIR]     (default: a new temporary folder)
#
# Makes the training data through the real engine (tests/benchmarks/curriculum.py: files,
# browser on loopback pages, GUI on an Xvfb of its own, files with a past run shown),
# mixes it, and trains one LoRA run (tool weight 5, cosine lr 1e-3 -> 1e-4). Writes
# WORK_DIR/smollm2-deskhand.gguf and prints how long each part took. Needs the train
# extra (pip install -e '.[train]'). What the numbers were: models/adapters/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
P=.venv/bin/python
B=tests/benchmarks/curriculum.py
W=${1:-$(mktemp -d -t deskhand-adapter.XXXXXX)}
mkdir -p "$W"
echo "work folder: $W"
began=$(date +%s)

# The browser family waits on Chromium most of its ten minutes: it runs beside the rest.
$P $B --n 8 --seed 1 --family browser --jsonl "$W/browser.jsonl" >"$W/browser.log" 2>&1 &
browser=$!
$P $B --n 30 --seed 1 --family files --jsonl "$W/files.jsonl" | tail -n 1
$P $B --n 10 --seed 1 --family gui --jsonl "$W/gui.jsonl" | tail -n 1
$P $B --n 12 --seed 2 --family files --memory-share 0.5 --jsonl "$W/mem.jsonl" | tail -n 1
wait "$browser" || { tail -n 5 "$W/browser.log"; exit 1; }
tail -n 1 "$W/browser.log"

# The mix: every browser and GUI step, half of the file and past-run steps (files are
# the easiest family and the most numerous; halving them gives the browser about 40 %).
$P - "$W" <<'PY'
import random, sys
from pathlib import Path
work = Path(sys.argv[1])
rng, kept = random.Random(7), 0
with open(work / "mix.jsonl", "w") as out:
    for name in ("files", "browser", "gui", "mem"):
        for line in open(work / f"{name}.jsonl"):
            if name in ("files", "mem") and rng.random() < 0.5:
                continue
            out.write(line)
            kept += 1
print(f"mix: {kept} steps")
PY
data=$(date +%s)

.venv/bin/deskhand train --data "$W/mix.jsonl" -o "$W/smollm2-deskhand.gguf" \
    --steps 180 --batch 8 --lr 1e-3 --lr-end 1e-4 --tool-weight 5 --seed 0 \
    --held-out files.folder_and_file --held-out files.refuse_missing --held-out browser.menu \
    --max-tokens 1024 --eval-max 24 --threads 2 --no-prompt-grad
done=$(date +%s)
echo "data $((data - began)) s, training $((done - data)) s, total $((done - began)) s"
echo "adapter: $W/smollm2-deskhand.gguf"
