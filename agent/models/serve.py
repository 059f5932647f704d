"""Start a local OpenAI-compatible model server for a profile.

* GPU (``nvidia-smi`` works and ``vllm`` is importable): vLLM's OpenAI server
  with the profile's ``vllm_args``.
* Otherwise: llama.cpp through ``llama-cpp-python[server]`` serving the
  profile's GGUF (the embedded model is fetched on first use).

:func:`serve` runs in the foreground (for ``patchwright model serve``);
:func:`start_background` + :func:`wait_ready` are for the demo and tests.  The jobs live apart:
what the machine offers (:mod:`~agent.models.hardware`), the command line
(:mod:`~agent.models.server_command`), the AMX patch (:mod:`~agent.models.llama_patch`) and
the child process (:mod:`~agent.models.server_process`); their public names are importable here.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from agent.models.engine_info import write_launch_record
from agent.models.hardware import gpu_available
from agent.models.llama_patch import llama_cpp_server_main
from agent.models.profiles import Profile
from agent.models.server_command import Backend, build_command, detect_backend
from agent.models.server_process import free_port, start_background, stop, url_host, wait_ready

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


def serve(
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
    dry_run: bool = False,
) -> int:
    """Run the server in the foreground until it exits or Ctrl-C; returns its exit code.

    With ``dry_run`` only prints the command (still fetching the GGUF for llama.cpp).
    """
    command = build_command(profile, host, port, cache_dir, backend=backend, model_path=model_path,
                            n_ctx=n_ctx, n_threads=n_threads, extra_args=extra_args, avoid_amx=avoid_amx)
    cmd, chosen = command.argv, command.backend
    print(f"patchwright: serving with {chosen} on http://{url_host(host)}:{port}/v1", file=sys.stderr, flush=True)
    print("$ " + " ".join([*(f"{k}={v}" for k, v in command.env.items()), *cmd]), file=sys.stderr, flush=True)
    if dry_run:
        return 0
    proc = subprocess.Popen(cmd, env={**os.environ, **command.env})
    write_launch_record(port, {"pid": proc.pid, "backend": chosen, "argv": cmd})
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
