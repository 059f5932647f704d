"""The file or directory a tool call names. A path the model wrote badly (absolute, `..`, inside
.git) is refused with feedback it can act on; a symlink out of the working copy is the
repository's doing and stops the run (SecurityError from tools/edits/paths.py, as edits do)."""
from __future__ import annotations

import posixpath
from pathlib import Path

from tools.edits.paths import refused_path, safe_target

BINARY_PROBE = 8192  # bytes looked at for a NUL, as git does, to call a file binary


def locate(root: Path, path: object) -> tuple[Path | None, str]:
    """(the real path, "") or (None, why the path is refused). "." is the root itself."""
    if not isinstance(path, str) or not path.strip():
        return None, 'the path is empty: give one relative to the repository root ("." for the root)'
    if refusal := refused_path(path.strip()):
        return None, refusal
    rel = posixpath.normpath(path.strip().replace("\\", "/"))
    top = Path(root).resolve()
    if rel == ".":
        return top, ""
    return safe_target(top, rel), ""


def relative(root: Path, target: Path) -> str:
    """`target` (a located path) as the model should write it."""
    rel = target.relative_to(Path(root).resolve()).as_posix()
    return rel if rel != "." else "."


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_PROBE]
