"""Working copies for agents that run at the same time (Settings.agents_at_once() > 1): a tool box
edits its files in place, and verify needs the run's working copy at the base files, so each agent
gets a copy of its own beside it (RUN_DIR/workspace.agent<N>, .git included, symlinks copied as
links, nothing run). With one agent at a time the run's working copy is used, as before, and put
back to the base files when the agent ends.

A copy is made whole or not at all (a kill mid-copy leaves a .partial that the next try replaces);
a resumed run reuses a finished one, which its tool box then restores to the recorded diff.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from tools.edits.diff import reset_worktree


def workspace(base: str, index: int, at_once: int) -> Path:
    """The working copy agent `index` edits."""
    root = Path(base)
    if at_once <= 1:
        return root
    copy = _copy_of(root, index)
    if not copy.is_dir():
        partial = copy.with_name(copy.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(root, partial, symlinks=True)
        partial.rename(copy)
    return copy


def release(base: str, index: int, at_once: int) -> None:
    """Agent `index` has ended: its copy goes, or the shared working copy goes back to the base files."""
    root = Path(base)
    if at_once <= 1:
        reset_worktree(root)
    else:
        shutil.rmtree(_copy_of(root, index), ignore_errors=True)


def _copy_of(root: Path, index: int) -> Path:
    return root.with_name(f"{root.name}.agent{index}")
