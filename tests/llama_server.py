"""Runs llama-cpp-python's OpenAI-compatible server as ``python -m llama_cpp.server ARGS``
would, with the weights loaded the way deskhand loads them by default: without llama.cpp's
extra (repacked) buffer types, whose AMX path segfaults on prompt batches (0.3.36).

    python tests/llama_server.py --model M.gguf --port N ...
"""

from __future__ import annotations

import runpy

from models.llamacpp import load_params

if __name__ == "__main__":
    with load_params(extra_buffers=False):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
