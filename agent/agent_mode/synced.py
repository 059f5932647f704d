"""The run's container kept holding the host working copy's files, for agent mode's tool box.

The host is the truth:
* an edit tool writes the host file, then copies it into the container (`sync`);
* after each command the container's diff against the base commit is read (`bring_back`) and,
  when it differs from the host's, the host is set to the base plus that diff (tools/edits/diff.py:
  check_applies first, on a scratch index; a symlink, a path out of the repository, a nested git
  repository or a diff that does not apply is refused). A refused diff leaves the host as it was,
  the container is started again from it, and the model is told why.
A deletion the model made with bash (`rm -rf *`) is a change like any other: it comes back as a
diff. Nothing outside the working copy can: the container has no host mount, and a broken one
(`rm -rf /`) is started again from the host working copy.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from sandbox.base import ExecResult, SandboxError
from sandbox.session import Session
from tools.edits.diff import apply_diff, check_applies, diff_worktree, reset_worktree
from tools.errors import PatchApplyError, SecurityError

_FILE_IN_DIFF = re.compile(r"^diff --git a/(.+) b/", re.MULTILINE)
# A nested repository (`git init sub` in the container) comes out as a submodule entry: not a source change.
_GITLINK = re.compile(r"^(?:new file mode|new mode|old mode|deleted file mode) 160000$|^index \S+ 160000$",
                      re.MULTILINE)
_KEPT_AS_IT_WAS = "the working copy is as it was before this command, and the container was started again from it"


class SyncedSession:
    """A container session on the working copy at `root`, started on first use by `start(root)`."""

    def __init__(self, root: Path, start: Callable[[Path], Session]):
        self.root, self._start = root, start
        self.session: Session | None = None

    def live(self) -> Session:
        if self.session is None:
            self.session = self._start(self.root)
        return self.session

    def restart(self) -> None:
        """A fresh container from the host working copy; a SandboxError here is the sandbox's own."""
        if self.session is not None:
            self.session.restart()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def exec(self, command: str, timeout: float) -> ExecResult:
        try:
            return self.live().exec(command, timeout)
        except SandboxError as exc:
            self.restart()
            return ExecResult(None, f"[patchwright: the command could not be run to its end ({exc}); the container "
                                    "was started again from the working copy]\n")

    def sync(self, files: list[str]) -> str:
        """Host files an edit wrote, copied in (nothing to do before the container starts: it starts
        from the host files); a note for the model when the container had to be started again."""
        if self.session is None or not files:
            return ""
        try:
            self.session.sync_in(self.root, files)
        except SandboxError as exc:
            self.restart()
            return f"\n[the container was started again from the working copy: {exc}]"
        return ""

    def bring_back(self) -> tuple[str, bool]:
        """Set the host working copy to the container's changes: (a note for the model, "" when there
        is nothing to say; whether the host files changed)."""
        try:
            theirs = self.live().diff_out()
        except SandboxError as exc:
            self.restart()
            return f"the container's changes could not be read ({exc}); {_KEPT_AS_IT_WAS}", False
        ours = diff_worktree(self.root)
        if theirs == ours:
            return "", False
        try:
            if _GITLINK.search(theirs):
                raise PatchApplyError("it adds or changes a nested git repository (a submodule)")
            if theirs.strip():
                check_applies(self.root, theirs)
        except (PatchApplyError, SecurityError) as exc:
            self.restart()
            return f"the changes this command made cannot be kept ({exc}); {_KEPT_AS_IT_WAS}", False
        try:
            set_to(self.root, theirs)
        except (PatchApplyError, SecurityError) as exc:  # checked on HEAD, yet an ignored host file was in the way
            set_to(self.root, ours)
            self.restart()
            return f"the changes this command made cannot be kept ({exc}); {_KEPT_AS_IT_WAS}", True
        files = set(_FILE_IN_DIFF.findall(theirs)) | set(_FILE_IN_DIFF.findall(ours))
        touched = sorted(f for f in files if _section(theirs, f) != _section(ours, f))
        return (f"files changed by this command: {', '.join(touched)}" if touched else ""), True


def set_to(root: Path, diff: str) -> None:
    """The working copy at the base commit plus `diff` (git apply changes all files or none)."""
    reset_worktree(root)
    if diff.strip():
        apply_diff(root, diff)


def files_in(diff: str) -> list[str]:
    """Every path a diff touches, deletions included."""
    return _FILE_IN_DIFF.findall(diff)


def _section(diff: str, path: str) -> str:
    """The part of `diff` about `path`."""
    start = diff.find(f"diff --git a/{path} b/")
    if start == -1:
        return ""
    end = diff.find("\ndiff --git ", start + 1)
    return diff[start:end if end != -1 else len(diff)]
