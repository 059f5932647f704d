"""The command line that serves a profile's model: vLLM's OpenAI server on a GPU, else
llama-cpp-python's server with the profile's GGUF (the embedded model is fetched on first use)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from agent.models import hardware, llama_patch
from agent.models.base import ModelError
from agent.models.gguf import default_cache_dir, ensure_embedded_gguf
from agent.models.profiles import Profile, get_profile

__all__ = ["Backend", "LLAMA_CPP_INSTALL_HINT", "build_command", "check_llama_cpp", "detect_backend"]

Backend = Literal["vllm", "llama.cpp"]

LLAMA_CPP_INSTALL_HINT = 'pip install "llama-cpp-python[server]"  (compiles llama.cpp, about 5 minutes on 2 cores)'


def detect_backend() -> Backend:
    """vLLM when a GPU and vllm are present, else llama.cpp."""
    return "vllm" if hardware.gpu_available() and hardware.importable("vllm") else "llama.cpp"


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
    backend: Backend | None = None,
    model_path: Path | str | None = None,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    extra_args: list[str] | None = None,
    avoid_amx: bool | None = None,
) -> tuple[list[str], Backend]:
    """The server command line for ``profile`` (fetching the embedded GGUF if llama.cpp needs it).

    ``avoid_amx`` (llama.cpp only; default: :func:`agent.models.hardware.avoid_amx_default`)
    starts the server through :mod:`agent.models.llama_patch`, which turns off llama.cpp's extra
    weight buffer types: its AMX kernels crashed on the AMX-capable VMs this project runs on.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    backend = backend or detect_backend()
    extra = list(extra_args or [])
    if backend == "vllm":
        if not hardware.importable("vllm"):
            raise ModelError("cannot serve with vLLM: the vllm package is not importable (pip install vllm)")
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
               "--model", str(model_path or prof.hf_repo),
               "--served-model-name", prof.served_model_name,
               "--host", host, "--port", str(port), *prof.vllm_args, *extra]
        return cmd, backend
    if backend != "llama.cpp":
        raise ModelError(f"unknown model server backend {backend!r}; use 'vllm' or 'llama.cpp'")
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
    return cmd, backend
