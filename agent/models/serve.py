"""Start a local OpenAI-compatible model server for a profile.

* GPU (``nvidia-smi`` works and ``vllm`` is importable): vLLM's OpenAI server
  with the profile's ``vllm_args``.
* Otherwise: llama.cpp through ``llama-cpp-python[server]`` serving the
  profile's GGUF (the embedded model is fetched on first use).

:func:`serve` runs in the foreground (for ``patchwright model serve``);
:func:`start_background` + :func:`wait_ready` are for the demo and tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

from agent.models.base import ModelError
from agent.models.gguf import default_cache_dir, ensure_embedded_gguf
from agent.models.profiles import Profile, get_profile

__all__ = [
    "Backend",
    "build_command",
    "detect_backend",
    "free_port",
    "gpu_available",
    "llama_cpp_server_main",
    "serve",
    "start_background",
    "stop",
    "wait_ready",
]

Backend = Literal["vllm", "llama.cpp"]

LLAMA_CPP_INSTALL_HINT = 'pip install "llama-cpp-python[server]"  (compiles llama.cpp, about 5 minutes on 2 cores)'


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


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def detect_backend() -> Backend:
    """vLLM when a GPU and vllm are present, else llama.cpp."""
    return "vllm" if gpu_available() and _importable("vllm") else "llama.cpp"


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _check_llama_cpp() -> None:
    missing = [m for m in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context",
                           "pydantic_settings") if not _importable(m)]
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

    ``avoid_amx`` (llama.cpp only; default: when the CPU advertises AMX and the installed
    llama-cpp-python was compiled with AMX kernels) starts the server
    through :func:`llama_cpp_server_main`, which turns off llama.cpp's extra weight buffer
    types: its AMX kernels crashed (SIGSEGV in ``ldtilecfg``) on the AMX-capable VMs this
    project runs on.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    backend = backend or detect_backend()
    extra = list(extra_args or [])
    if backend == "vllm":
        if not _importable("vllm"):
            raise ModelError("cannot serve with vLLM: the vllm package is not importable (pip install vllm)")
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
               "--model", str(model_path or prof.hf_repo),
               "--served-model-name", prof.served_model_name,
               "--host", host, "--port", str(port), *prof.vllm_args, *extra]
        return cmd, backend
    if backend != "llama.cpp":
        raise ModelError(f"unknown model server backend {backend!r}; use 'vllm' or 'llama.cpp'")
    _check_llama_cpp()
    if model_path is None:
        if not prof.embedded:
            raise ModelError(
                f"profile {prof.name!r} is meant for vLLM on a GPU ({prof.hf_repo}); to run it with "
                f"llama.cpp pass a GGUF file explicitly (model_path), e.g. from {prof.gguf_repo or 'a GGUF repository'}"
            )
        model_path = ensure_embedded_gguf(cache_dir if cache_dir is not None else default_cache_dir())
    if avoid_amx is None:
        avoid_amx = _avoid_amx_default()
    launcher = ["-m", __name__, "llama-cpp-server"] if avoid_amx else ["-m", "llama_cpp.server"]
    cmd = [sys.executable, *launcher,
           "--model", str(model_path),
           "--host", host, "--port", str(port),
           "--n_ctx", str(n_ctx or prof.context_window),
           "--n_threads", str(n_threads or _cpu_count()),
           "--model_alias", prof.served_model_name, *extra]
    return cmd, backend


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _avoid_amx_default() -> bool:
    """True when llama.cpp would pick its AMX kernels.

    PATCHWRIGHT_LLAMA_EXTRA_BUFTS=1 keeps llama.cpp's defaults (e.g. with a llama-cpp-python
    built without AMX: CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=ON -DGGML_FMA=ON -DGGML_F16C=ON").
    """
    if os.environ.get("PATCHWRIGHT_LLAMA_EXTRA_BUFTS", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return bool({"amx_tile", "amx_int8"} & _cpu_flags()) and _llama_cpp_has_amx()


def _llama_cpp_has_amx() -> bool:
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


def llama_cpp_server_main(argv: list[str] | None = None) -> None:
    """``python -m llama_cpp.server`` with llama.cpp's extra buffer types (AMX, repacking) off.

    llama-cpp-python does not expose ``use_extra_bufts``, so the default model params are
    patched before the server module runs.  Costs some prompt-processing speed (no weight
    repacking) but avoids the AMX crash.
    """
    import llama_cpp.llama_cpp as bindings

    original = bindings.llama_model_default_params

    def model_params():
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = model_params
    sys.argv = ["llama_cpp.server", *(sys.argv[1:] if argv is None else argv)]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)


def start_background(
    profile: Profile | str,
    host: str = "127.0.0.1",
    port: int = 0,
    cache_dir: Path | str | None = None,
    *,
    log_file: Path | str | None = None,
    **kwargs,
) -> tuple[subprocess.Popen, str]:
    """Start the server as a child process; returns ``(process, base_url)``.

    ``port=0`` picks a free port.  Output goes to ``log_file`` (default: a file in the
    cache dir) rather than a pipe, so a chatty server never blocks.  The child runs in its
    own process group; stop it with :func:`stop`.  Follow with :func:`wait_ready`.
    """
    port = port or free_port(host if host not in ("0.0.0.0", "") else "127.0.0.1")
    cmd, backend = build_command(profile, host, port, cache_dir, **kwargs)
    if log_file is None:
        logs = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        logs.mkdir(parents=True, exist_ok=True)
        log_file = logs / f"server-{port}.log"
    log_path = Path(log_file)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    proc.log_file = log_path  # type: ignore[attr-defined]
    proc.backend = backend  # type: ignore[attr-defined]
    return proc, f"http://{_url_host(host)}:{port}/v1"


def _log_tail(proc: subprocess.Popen | None, lines: int = 20) -> str:
    path = getattr(proc, "log_file", None)
    if not path:
        return ""
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return f"\nlast lines of {path}:\n" + "\n".join(text)


def wait_ready(base_url: str, timeout: float = 180.0, proc: subprocess.Popen | None = None,
               interval: float = 0.25) -> float:
    """Poll ``GET {base_url}/models`` until it lists a model; returns the seconds waited.

    Raises :class:`ModelError` if ``timeout`` passes or ``proc`` exits first.
    """
    url = base_url.rstrip("/") + "/models"
    started = time.monotonic()
    last = "no answer yet"
    while True:
        if proc is not None and proc.poll() is not None:
            raise ModelError(
                f"model server for {base_url} exited with code {proc.returncode} before it was ready"
                + _log_tail(proc)
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                data = json.loads(response.read() or b"{}")
            if isinstance(data, dict) and data.get("data"):
                return time.monotonic() - started
            last = f"GET /models listed no models: {str(data)[:200]}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(getattr(exc, "reason", exc))
        if time.monotonic() - started > timeout:
            raise ModelError(
                f"model server at {base_url} was not ready within {timeout:g} s ({last})" + _log_tail(proc)
            )
        time.sleep(interval)


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> int | None:
    """Terminate a server started by :func:`start_background` (its whole process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


def serve(
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
    dry_run: bool = False,
) -> int:
    """Run the server in the foreground until it exits or Ctrl-C; returns its exit code.

    With ``dry_run`` only prints the command (still fetching the GGUF for llama.cpp).
    """
    cmd, chosen = build_command(profile, host, port, cache_dir, backend=backend, model_path=model_path,
                                n_ctx=n_ctx, n_threads=n_threads, extra_args=extra_args, avoid_amx=avoid_amx)
    print(f"patchwright: serving with {chosen} on http://{_url_host(host)}:{port}/v1", file=sys.stderr, flush=True)
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    if dry_run:
        return 0
    proc = subprocess.Popen(cmd)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "llama-cpp-server":
        llama_cpp_server_main(sys.argv[2:])
    else:
        print("usage: python -m agent.models.serve llama-cpp-server [llama_cpp.server options]", file=sys.stderr)
        sys.exit(2)
