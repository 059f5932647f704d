"""Check a vLLM command line against the installed vLLM before starting it (agent/models/vllm_argcheck.py)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from agent.models.base import ModelError

ARGCHECK = Path(__file__).with_name("vllm_argcheck.py")


def check_vllm_args(python: Path | str, args: list[str], *, what: str = "the vLLM command") -> dict:
    """The parse result (version, tool parser, prefix caching); a ModelError naming the flag when
    the installed vLLM refuses `args`."""
    done = subprocess.run([str(python), "-I", str(ARGCHECK), *args], capture_output=True, text=True, timeout=600)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise ModelError(f"could not check {what} against the installed vLLM ({python}): "
                         f"{(done.stderr or done.stdout).strip()[-1200:]}") from None
    if not result.get("ok"):
        flags = ", ".join(result.get("unknown") or [])
        named = f"it does not know {flags}" if flags else result.get("error")
        raise ModelError(f"vLLM {result.get('version')} refuses {what}: {named}. Fix the profile's vllm_args "
                         f"or pass other flags (the installed vLLM's own list: python -m "
                         f"vllm.entrypoints.openai.api_server --help)")
    return result
