"""Isolated environments that build a repository and run its tests."""

from .base import ExecResult, Sandbox, SandboxError

__all__ = ["ExecResult", "Sandbox", "SandboxError"]
