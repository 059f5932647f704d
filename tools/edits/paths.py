"""Where an edit may write: the checks every edit format makes on the path the model gave."""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from tools.errors import SecurityError

_NOT_SOURCE = {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox"}


def refused_path(path: str) -> str:
    """Why a path as the model wrote it is refused ("" when it is not): a slip the model can mend,
    so it goes back as feedback rather than stopping the run."""
    rel = path.replace("\\", "/")
    if Path(rel).is_absolute() or ".." in rel.split("/") or ".git" in rel.split("/"):
        return (f"refused: {path} is outside the repository (or inside .git); "
                "use a path relative to the repository root")
    return ""


def safe_target(root: Path, rel: str) -> Path:
    """The real file an edit of `rel` would write, symlinks followed. One that leaves the working
    copy or lands in .git is the repository's doing (a committed symlink), not a slip of the
    model's: the run stops rather than let git read a config or hook the edit wrote."""
    target = (root / rel).resolve()
    if not target.is_relative_to(root) or target.is_relative_to(root / ".git") or target == root:
        raise SecurityError(f"security: the edit of {rel} would write {target}, outside the working copy "
                            "or inside .git, through a symbolic link; the run is stopped")
    return target


def file_not_found(root: Path, path: str) -> str:
    """The refusal of an edit to a file that is not there, with the likeliest files meant."""
    near = difflib.get_close_matches(path.replace("\\", "/"), _repo_files(root), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return f"file not found: {path}{hint}"


def _repo_files(root: Path, limit: int = 20000) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _NOT_SOURCE)
        rel = Path(dirpath).relative_to(root)
        found.extend((rel / f).as_posix() for f in sorted(filenames))
        if len(found) > limit:
            break
    return found
