"""Exit statuses of the `patchwright` command and the one table from error class to status.

The CLI exits by it; the runner stops a run with its state and report kept for exactly the errors
in it. An error not in the table is a bug: it goes through with its traceback. The table cannot
live in agent.errors, which agent.models.base imports for the root of ModelError."""
from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from agent.errors import ConfigError, RunError
from agent.models.base import ModelError
from agent.peers.install import PeerError
from agent.swebench.dataset import DatasetError
from sandbox.base import SandboxError
from tools.errors import SecurityError, ToolError


class ExitStatus(IntEnum):
    FIXED = 0
    NOT_FIXED = 1
    BAD_INPUT = 2  # refused as given; nothing was changed
    MODEL_ENDPOINT = 3
    SANDBOX = 4  # the sandbox failed, which says nothing about the patch
    SECURITY = 5  # the repository reached outside its working copy; nothing is delivered


class Row(NamedTuple):
    error: type[BaseException]
    status: ExitStatus
    resumable: bool  # the service may come back: a run it stopped is worth `patchwright resume`


# First match wins, so a class comes before its bases (tests/test_exits.py checks this).
ERRORS: tuple[Row, ...] = (
    Row(SecurityError, ExitStatus.SECURITY, resumable=False),  # a ToolError
    Row(ToolError, ExitStatus.BAD_INPUT, resumable=False),
    Row(ConfigError, ExitStatus.BAD_INPUT, resumable=False),
    Row(DatasetError, ExitStatus.BAD_INPUT, resumable=False),
    Row(PeerError, ExitStatus.BAD_INPUT, resumable=False),  # not installed, or no OpenAI endpoint
    Row(RunError, ExitStatus.BAD_INPUT, resumable=False),  # one without a cause: busy, no usable checkpoint
    Row(ModelError, ExitStatus.MODEL_ENDPOINT, resumable=True),
    Row(SandboxError, ExitStatus.SANDBOX, resumable=True),
)


def classify(error: BaseException) -> Row | None:
    """The table's row for `error`, or None; a RunError exits as the error that stopped its run."""
    while isinstance(error, RunError) and error.cause is not None:
        error = error.cause
    return next((row for row in ERRORS if isinstance(error, row.error)), None)
