"""Stamp an adapter GGUF with the tool families it learned, without retraining.

An adapter written before ``deskhand.families`` existed reads as files only
(models.adapter_meta), so runs given the browser or the GUI leave it off. When such an
adapter did learn them, say so once::

    .venv/bin/python -m models.train.stamp ADAPTER --families browser,files,gui

The file is rewritten whole (`models.train.adapter.stamp_families`): tensors and every
other key unchanged. Needs gguf-py (the train extra). Exit status: 0 stamped, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from models.adapter_meta import adapter_families
from models.train import missing_modules


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.train.stamp",
        description="Record the tool families an adapter learned (deskhand.families).",
    )
    parser.add_argument("adapter", type=Path, help="the adapter GGUF to rewrite")
    parser.add_argument(
        "--families", required=True, help="the families it learned, comma-separated"
    )
    args = parser.parse_args(argv)
    if "gguf" in missing_modules():
        sys.stderr.write("stamp: needs gguf (pip install 'deskhand[train]')\n")
        return 2
    from models.train.adapter import stamp_families

    names = [n.strip() for n in str(args.families).split(",") if n.strip()]
    before = ",".join(sorted(adapter_families(args.adapter)))
    try:
        value = stamp_families(args.adapter, names)
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write(f"stamp: {args.adapter}: {exc}\n")
        return 2
    sys.stdout.write(f"{args.adapter}: families {before} -> {value}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
