"""What this machine offers a model server: a GPU, how many CPUs, and whether llama.cpp would use
the AMX kernels that crash here (see agent.models.llama_patch)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["avoid_amx_default", "cpu_count", "cpu_flags", "gpu_available", "importable", "llama_cpp_has_amx"]


def gpu_available() -> bool:
    """True when ``nvidia-smi -L`` runs and lists at least one GPU."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return False
    try:
        proc = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and "GPU" in proc.stdout


def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def cpu_count() -> int:
    """CPUs this process may run on (its affinity, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_dtype() -> str:
    """The dtype vLLM's CPU engine computes fastest here: bfloat16 where the CPU has bf16 arithmetic
    (AVX512-BF16 or AMX), else float32. Without it every bf16 matmul is emulated: on an AVX-512 VM
    without BF16 the embedded model decoded about 0.5 tokens/s in bf16 (benchmarks/serving.py)."""
    return "bfloat16" if {"avx512_bf16", "amx_bf16"} & cpu_flags() else "float32"


def avoid_amx_default() -> bool:
    """True when llama.cpp would pick its AMX kernels.

    PATCHWRIGHT_LLAMA_EXTRA_BUFTS=1 keeps llama.cpp's defaults (e.g. with a llama-cpp-python
    built without AMX: CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=ON -DGGML_FMA=ON -DGGML_F16C=ON").
    """
    if os.environ.get("PATCHWRIGHT_LLAMA_EXTRA_BUFTS", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return bool({"amx_tile", "amx_int8"} & cpu_flags()) and llama_cpp_has_amx()


def llama_cpp_has_amx() -> bool:
    """Whether the installed llama-cpp-python was compiled with AMX kernels (a native build on an
    AMX CPU); the portable build of scripts/setup.sh is not.  Unknown layouts count as yes."""
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    libs = [p for root in spec.submodule_search_locations for p in Path(root).glob("lib/libggml-cpu*.so*")]
    if not libs:
        return True
    for lib in {p.resolve() for p in libs}:
        try:
            if b"ggml_backend_amx" in lib.read_bytes():
                return True
        except OSError:
            return True
    return False
