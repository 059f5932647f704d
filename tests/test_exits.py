"""agent.exits: the one table from error class to exit status, and the layer roots it relies on."""
from __future__ import annotations

import pytest

from agent.errors import ConfigError, PatchwrightError, RunError
from agent.exits import ERRORS, ExitStatus, classify
from agent.models import ModelError, UnknownProfileError
from agent.models.gguf import GGUFError
from agent.swebench.dataset import DatasetError
from agent.swebench.harness import SetupError
from sandbox.base import SandboxError
from tools.errors import PatchApplyError, SecurityError, ToolError
from tools.forge.push import PushError
from tools.git import WorkspaceError
from tools.issue_sources import IssueError


def test_no_row_is_shadowed():
    """First match wins: a row whose class is a subclass of an earlier row's would never match."""
    for i, row in enumerate(ERRORS):
        for earlier in ERRORS[:i]:
            assert not issubclass(row.error, earlier.error), f"{row.error.__name__} is shadowed by {earlier.error.__name__}"


@pytest.mark.parametrize("error,status", [
    (ToolError("x"), 2), (PatchApplyError("x"), 2), (WorkspaceError("x"), 2), (IssueError("x"), 2),
    (PushError("x"), 2), (ConfigError("x"), 2), (DatasetError("x"), 2), (RunError("r", "busy"), 2),
    (ModelError("x"), 3), (GGUFError("x"), 3), (UnknownProfileError("x"), 3),
    (SandboxError("x"), 4), (SecurityError("x"), 5),
])
def test_exit_statuses(error, status):
    row = classify(error)
    assert row.status == status and row.resumable == (status in (3, 4))
    assert classify(RunError("r", str(error), cause=error)) == row  # a stopped run exits as its cause


@pytest.mark.parametrize("error", [ValueError("x"), SetupError("x"), PatchwrightError("x"), RunError("r", "x", ValueError())])
def test_untyped_errors_go_through(error):
    assert classify(error) is None


def test_layer_roots():
    assert all(issubclass(c, ToolError) for c in (PatchApplyError, SecurityError, WorkspaceError, IssueError, PushError))
    assert all(issubclass(c, PatchwrightError) for c in (ConfigError, RunError, ModelError, DatasetError, SetupError))
    assert issubclass(ConfigError, ValueError) and issubclass(DatasetError, ValueError)
    assert [s.value for s in ExitStatus] == [0, 1, 2, 3, 4, 5]
