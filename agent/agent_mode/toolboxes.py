"""The agent's tool box: opened when an agent first needs it, on the working copy put back to the
agent's diff so far, and kept in Deps.toolboxes until the agent ends or the patch step does.

A run resumed after a kill opens a new tool box on the working copy restored to the diff its
checkpoint recorded after the last finished step, so the step it resumes at sees what that step
saw the first time, whatever the killed call had half done.

The factory: Deps.toolbox_factory when set (tests pass a fake), else agent/agent_mode/toolbox.py's
`make_toolbox(state, deps) -> ToolBox` (tools/agent_tools/base.py), which opens a tool box on the
working copy at state["workspace_dir"] as it is on disk, its diff() against the base commit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from agent.deps import Deps
from agent.errors import ConfigError
from tools.agent_tools.base import ToolBox
from tools.edits.diff import apply_diff, reset_worktree

_REAL = "agent.agent_mode.toolbox"


def toolbox_for(state: dict, deps: Deps, key: tuple, diff: str) -> ToolBox:
    """The open tool box of agent `key`, else a new one on the base files plus `diff`."""
    if key not in deps.toolboxes:
        restore(Path(state["workspace_dir"]), diff)
        deps.toolboxes[key] = _factory(deps)(state, deps)
    return deps.toolboxes[key]


def close(deps: Deps, key: tuple) -> None:
    box = deps.toolboxes.pop(key, None)
    if box is not None:
        box.close()


def close_all(deps: Deps) -> None:
    """Close every open tool box (the patch step ends, normally or not: a box may hold a container)."""
    for key in list(deps.toolboxes):
        close(deps, key)


def restore(root: Path, diff: str) -> None:
    """The working copy at the base commit plus `diff`."""
    reset_worktree(root)
    if diff:
        apply_diff(root, diff)


def _factory(deps: Deps) -> Callable[[dict, Deps], ToolBox]:
    if deps.toolbox_factory is not None:
        return deps.toolbox_factory
    try:
        from agent.agent_mode.toolbox import make_toolbox  # the real tools: a container per run
    except ModuleNotFoundError as e:
        if e.name != _REAL:
            raise
        raise ConfigError(f"run.solve = \"agent\" needs {_REAL}.make_toolbox, which this installation lacks; "
                          "set run.solve = \"pipeline\"") from e
    return make_toolbox
