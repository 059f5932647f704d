"""Turn a working copy into a patch and back, with git as the only source of truth.

Diffing and checking go through a throw-away index (GIT_INDEX_FILE), so neither the repository's
real index nor its working tree is touched by looking at a patch.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tools import gitsafe
from tools.errors import PatchApplyError, SecurityError, ToolError

# Config that would change the diff format (prefixes, colours, external tools) is pinned here.
_DIFF_FLAGS = ["--binary", "--no-color", "--no-ext-diff", "--no-renames", "--full-index",
               "--src-prefix=a/", "--dst-prefix=b/"]


# A diff that makes or changes a symlink could point the working copy at host files or .git.
_SYMLINK_MODE = re.compile(r"^(?:new file mode|new mode|old mode|deleted file mode) 120000$|^index \S+ 120000$",
                           re.MULTILINE)


def _git(root: Path, *args: str, stdin: bytes | None = None, env: dict | None = None,
         error: type[ToolError] = ToolError) -> bytes:
    return gitsafe.run(root, ["-c", "core.quotepath=off", *args], stdin=stdin, env=env, timeout=300,
                       error=error).stdout


@contextmanager
def _scratch_index(root: Path, *, from_current: bool):
    """An environment whose GIT_INDEX_FILE is a private copy (or a fresh HEAD read)."""
    tmp = tempfile.mkdtemp(prefix="pw-index-")
    try:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        real = Path(root, _git(root, "rev-parse", "--git-path", "index").decode().strip())
        if from_current and real.is_file():
            # copy2 keeps the index's mtime too: git trusts an entry's stat only when the file is older
            # than the index (racy-git), and a fresh mtime would hide an edit made in the same clock
            # tick as the last checkout, same size and inode (a + b -> a - b): an empty diff.
            shutil.copy2(real, env["GIT_INDEX_FILE"])
        else:
            _git(root, "read-tree", "HEAD", env=env)
        yield env
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def diff_worktree(root: Path) -> str:
    """Unified diff of the working copy against HEAD, new untracked (non-ignored) files included."""
    root = Path(root)
    _git(root, "rev-parse", "--verify", "HEAD")
    with _scratch_index(root, from_current=True) as env:
        _git(root, "add", "--all", "--", ".", env=env)
        out = _git(root, "diff", "--cached", *_DIFF_FLAGS, "HEAD", env=env)
    return out.decode("utf-8", "surrogateescape")


def files_changed(diff: str) -> list[str]:
    """The paths a unified diff writes, in its order (its +++ b/ lines; a deletion writes none)."""
    return [line[6:] for line in diff.splitlines() if line.startswith("+++ b/")]


def base_text(root: Path, path: str) -> str | None:
    """The file's text at HEAD (the base commit), None when HEAD has no such file."""
    try:
        return _git(Path(root), "cat-file", "blob", f"HEAD:{path}").decode("utf-8", "replace")
    except ToolError:
        return None


def reset_worktree(root: Path) -> None:
    """Back to HEAD; ignored files (venvs, caches, build output) are kept on purpose."""
    root = Path(root)
    _git(root, "reset", "--hard", "--quiet", "HEAD")
    _git(root, "clean", "-fd", "--quiet")


def check_applies(root: Path, diff: str) -> None:
    """Would `diff` apply to a clean HEAD? Checked on a scratch index, whatever the worktree holds."""
    root = Path(root)
    if not diff.strip():
        raise PatchApplyError("the diff is empty")
    _refuse_symlinks(diff)
    with _scratch_index(root, from_current=False) as env:
        _git(root, "apply", "--check", "--cached", "-", stdin=_bytes(diff), env=env,
             error=PatchApplyError)


def apply_diff(root: Path, diff: str) -> None:
    root = Path(root)
    if not diff.strip():
        raise PatchApplyError("the diff is empty")
    _refuse_symlinks(diff)
    _git(root, "apply", "--whitespace=nowarn", "-", stdin=_bytes(diff), error=PatchApplyError)


def _refuse_symlinks(diff: str) -> None:
    if _SYMLINK_MODE.search(diff):
        raise SecurityError("security: the patch creates or changes a symbolic link; patchwright never "
                            "applies such a patch (a link could point at host files or into .git)")


def _bytes(diff: str) -> bytes:
    data = diff.encode("utf-8", "surrogateescape")
    return data if data.endswith(b"\n") else data + b"\n"  # git rejects a hunk cut at EOF
