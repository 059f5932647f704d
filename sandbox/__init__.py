"""Isolated environments that build a repository and run its tests."""

from .base import ExecResult, Sandbox, SandboxError

__all__ = ["ExecResult", "Sandbox", "SandboxError", "reap_orphans"]


def __getattr__(name: str):
    # Lazy: importing the contract (sandbox.base) must not load the Docker client library.
    if name == "reap_orphans":
        from .reaper import reap_orphans

        return reap_orphans
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
