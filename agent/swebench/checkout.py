"""The repository at an instance's base commit, for its instance image.

Normally the full history up to the base commit plus the tags it contains (setuptools_scm
versions come from them, as in the official images, which drop only tags newer than the base).
Some mirrors lack a few blobs (large data files, e.g. astropy's IERS table); a full fetch then
fails, so we fall back to a partial fetch (commits and trees, then the blobs the base commit
needs) with the missing paths left out of the working tree, and say which ones.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from tools import gitsafe
from tools.git import WorkspaceError, create_workspace


def gitdir(mirror: Path) -> Path:
    return mirror / ".git" if (mirror / ".git").is_dir() else mirror


def _git(*args: str, check: bool = True, stdin: str | None = None) -> str:
    return gitsafe.run(None, list(args), stdin=stdin, text=True, check=check, error=WorkspaceError).stdout


def checkout(mirror: Path, commit: str, dest: Path) -> list[str]:
    """Make `dest` the working copy; return the paths left out because the mirror lacks them."""
    try:
        create_workspace(mirror, commit, dest)
        missing: list[str] = []
    except WorkspaceError as e:
        if "unable to read" not in str(e) and "corrupt" not in str(e):
            raise
        missing = partial_checkout(mirror, commit, dest)
    tags = _git("--git-dir", str(gitdir(mirror)), "tag", "--merged", commit, check=False).split()
    if tags:
        extra = ["--filter=blob:none"] if missing else []
        _git("-C", str(dest), "fetch", "-q", "--no-tags", *extra, gitdir(mirror).resolve().as_uri(),
             *[f"refs/tags/{t}:refs/tags/{t}" for t in tags], check=False)
    return missing


def missing_blobs(mirror: Path, commit: str) -> list[str]:
    tree = _git("--git-dir", str(gitdir(mirror)), "ls-tree", "-r", commit)
    paths = {}
    for line in tree.splitlines():
        meta, path = line.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob":
            paths.setdefault(sha, []).append(path)
    report = _git("--git-dir", str(gitdir(mirror)), "cat-file", "--batch-check", stdin="\n".join(paths) + "\n")
    return sorted(p for line in report.splitlines() if line.endswith(" missing") for p in paths[line.split()[0]])


def partial_checkout(mirror: Path, commit: str, dest: Path) -> list[str]:
    missing = missing_blobs(mirror, commit)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    gitsafe.unseal(dest)
    d = str(dest)
    _git("init", "-q", "-b", "patchwright", d)
    _git("-C", d, "remote", "add", "origin", gitdir(mirror).resolve().as_uri())
    for key, value in (("remote.origin.promisor", "true"), ("remote.origin.partialclonefilter", "blob:none"),
                       ("remote.origin.uploadpack",
                        "git -c uploadpack.allowFilter=true -c uploadpack.allowAnySHA1InWant=true upload-pack"),
                       ("core.sparseCheckout", "true"), ("user.name", "patchwright"),
                       ("user.email", "patchwright@localhost"), ("core.autocrlf", "false")):
        _git("-C", d, "config", key, value)
    (dest / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (dest / ".git" / "info" / "sparse-checkout").write_text("/*\n" + "".join(f"!/{p}\n" for p in missing))
    _git("-C", d, "fetch", "-q", "--no-tags", "--filter=blob:none", "origin", commit)
    _git("-C", d, "checkout", "-q", "-B", "patchwright", commit)
    gitsafe.seal(dest)
    return missing
