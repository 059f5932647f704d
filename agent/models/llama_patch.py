"""``python -m llama_cpp.server`` with llama.cpp's extra buffer types (AMX, repacking) off.

llama.cpp's AMX kernels crashed (SIGSEGV in ``ldtilecfg``) on the AMX-capable VMs this project
runs on, and llama-cpp-python does not expose ``use_extra_bufts``, so the default model params are
patched before the server module runs.  Costs some prompt-processing speed (no weight repacking)
but avoids the crash.  agent.models.server_command starts the server through this module when
agent.models.hardware.avoid_amx_default() says so::

    python -m agent.models.llama_patch [llama_cpp.server options]
"""
from __future__ import annotations

import runpy
import sys

__all__ = ["llama_cpp_server_main"]


def llama_cpp_server_main(argv: list[str] | None = None) -> None:
    """Run llama-cpp-python's server with ``argv`` (default: this process's arguments), AMX off."""
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


if __name__ == "__main__":
    llama_cpp_server_main()
