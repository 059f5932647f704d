"""The embedded model as the Hugging Face folder vLLM loads, converted once from the pinned GGUF.

The folder (about 3.4 GB of bfloat16) lives in the model cache beside the GGUF, never in the
repository. The conversion is deterministic (the same bytes on every run with the pinned engine),
so the weights file is checked against a pinned digest like the GGUF itself; a ``.verified``
marker spares later starts the 3 GB re-hash.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from agent.models.gguf import GGUFError, default_cache_dir, ensure_embedded_gguf, is_verified, locked
from agent.models.vllm_engine import install_cpu_engine

EMBEDDED_HF_DIR = "qwen2.5-coder-1.5b-instruct-hf"
WEIGHTS_FILE = "model.safetensors"
# Measured on the first conversion with the engine pins of agent/models/vllm_engine.py.
EMBEDDED_HF_SHA256 = "d343342ac37f7e3a0e3977da4b33d4b64b6a9d428c0cf3137979440602814ba9"
EMBEDDED_HF_SIZE = 3_554_214_752
CONVERTER = Path(__file__).with_name("hf_convert.py")


def embedded_hf_ready(cache_dir: Path | str | None = None) -> bool:
    folder = Path(cache_dir or default_cache_dir()) / EMBEDDED_HF_DIR
    return is_verified(folder / WEIGHTS_FILE, EMBEDDED_HF_SHA256, EMBEDDED_HF_SIZE)


def ensure_embedded_hf(cache_dir: Path | str | None = None, *, log=print) -> Path:
    """The verified folder, converting the embedded GGUF (about a minute, 6 GB of memory) if needed."""
    cache = Path(cache_dir or default_cache_dir())
    folder = cache / EMBEDDED_HF_DIR
    if embedded_hf_ready(cache):
        return folder
    gguf = ensure_embedded_gguf(cache)
    python = install_cpu_engine(log=log)  # idempotent: returns at once when the engine is installed
    with locked(cache / f"{EMBEDDED_HF_DIR}.lock"):
        if embedded_hf_ready(cache):  # another process converted it meanwhile
            return folder
        log(f"converting {gguf.name} for vLLM into {folder} (about a minute)")
        started = time.monotonic()
        done = subprocess.run([str(python), "-I", str(CONVERTER), str(gguf), str(folder)], capture_output=True,
                              text=True, timeout=3600)
        if done.returncode != 0:
            raise GGUFError(f"converting {gguf.name} for vLLM failed: {done.stderr.strip()[-1500:]}")
        if not is_verified(folder / WEIGHTS_FILE, EMBEDDED_HF_SHA256, EMBEDDED_HF_SIZE):
            raise GGUFError(f"the converted weights {folder / WEIGHTS_FILE} do not match the pinned sha256 "
                            f"{EMBEDDED_HF_SHA256} and size {EMBEDDED_HF_SIZE}; the engine's pins may have changed")
        log(f"converted in {time.monotonic() - started:.0f} s")
    return folder
