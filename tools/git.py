"""Workspaces: a cached mirror per repository and a fresh working copy per run.

The working copy is made by fetching exactly the base commit into an empty repository, so no
branch, tag, remote ref or reflog reaches past it: the model cannot read the future fix.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from tools import gitsafe
from tools.errors import ToolError


class WorkspaceError(ToolError):
    """The repository or its base commit cannot be had."""


_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")
_SLUG = re.compile(r"^[\w.-]+/[\w.-]+$")


def resolve_source(repo: str, repos_dir: Path | None = None) -> str:
    """Turn 'owner/name', a path or a URL into something git can fetch from."""
    path = Path(repo).expanduser()
    if path.exists():
        return str(path.resolve())
    if _URL.match(repo):
        return repo
    if _SLUG.match(repo) and repos_dir is not None:
        owner, name = repo.split("/")
        for cand in (f"{owner}+{name}", f"{owner}__{name}", name):
            for suffix in ("", ".git"):
                base = repos_dir / f"{cand}{suffix}"
                for gitdir in (base / "repo", base):
                    if (gitdir / "HEAD").is_file() or (gitdir / ".git").exists():
                        return str(gitdir.resolve())
        raise WorkspaceError(f"repository {repo} not found under {repos_dir} (looked for {owner}+{name}, {owner}__{name}, {name})")
    raise WorkspaceError(f"repository not found: '{repo}' is neither an existing path nor a clone URL")


def ensure_mirror(source: str, mirrors_dir: Path) -> Path:
    """Local repositories are used in place; remote ones are mirrored once and refreshed."""
    if not _URL.match(source):
        path = Path(source)
        looks = (path / ".git").exists() or (path / "HEAD").is_file()
        if not looks or gitsafe.run(path, ["rev-parse", "--git-dir"], check=False).returncode != 0:
            raise WorkspaceError(f"not a git repository: {source}")
        return path
    digest = hashlib.sha256(source.encode()).hexdigest()[:10]
    name = re.sub(r"[^\w.-]", "_", source.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))
    mirror = mirrors_dir / f"{name}-{digest}.git"
    try:
        if mirror.exists():
            gitsafe.run(mirror, ["fetch", "--prune", "origin"], network=True, error=WorkspaceError)
        else:
            mirrors_dir.mkdir(parents=True, exist_ok=True)
            gitsafe.run(None, ["clone", "--mirror", "--quiet", source, str(mirror)], network=True, error=WorkspaceError)
    except WorkspaceError as e:
        raise WorkspaceError(f"could not mirror {source}: {e}") from e
    return mirror


def resolve_commit(mirror: Path, base_commit: str | None) -> str:
    rev = base_commit or "HEAD"
    if base_commit is not None and not _SHA.match(base_commit):
        raise WorkspaceError(f"base commit '{base_commit}' is not a commit id")
    proc = gitsafe.run(Path(mirror), ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], text=True, check=False)
    if proc.returncode != 0:
        raise WorkspaceError(f"base commit {rev} not found in {mirror}")
    return proc.stdout.strip()


# The whole .git/config of a working copy, written by the bot and sealed (tools.gitsafe): any
# change to it afterwards (an edit through a symlink, a build step) stops the run.
WORKSPACE_CONFIG = """[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
\tlogallrefupdates = false
\tautocrlf = false
[user]
\tname = patchwright
\temail = patchwright@localhost
"""


def create_workspace(mirror: Path, base_commit: str | None, dest: Path) -> str:
    """Make `dest` a working copy holding the base commit and its ancestors only; return the sha."""
    sha = resolve_commit(mirror, base_commit)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    gitsafe.unseal(dest)
    gitsafe.run(dest, ["init", "--quiet", "--initial-branch=patchwright"], error=WorkspaceError)
    (dest / ".git" / "config").write_text(WORKSPACE_CONFIG, encoding="utf-8")
    # Fetching a bare sha needs allowAnySHA1InWant on the serving side; it is our own local mirror.
    upload_pack = "git -c uploadpack.allowAnySHA1InWant=true upload-pack"
    try:
        gitsafe.run(dest, ["fetch", "--no-tags", "--quiet", f"--upload-pack={upload_pack}",
                           Path(mirror).resolve().as_uri(), sha], error=WorkspaceError)
        gitsafe.run(dest, ["update-ref", "refs/heads/patchwright", sha], error=WorkspaceError)
        gitsafe.run(dest, ["checkout", "--quiet", "-f", "patchwright"], error=WorkspaceError)
    except WorkspaceError as e:
        raise WorkspaceError(f"could not check out {sha} from {mirror}: {e}") from e
    (dest / ".git" / "FETCH_HEAD").unlink(missing_ok=True)
    gitsafe.run(dest, ["reflog", "expire", "--expire=now", "--all"], error=WorkspaceError)
    gitsafe.seal(dest)
    return sha


def init_repo_from_dir(src: Path, dest: Path, message: str = "sample repository") -> str:
    """Copy a plain directory into a new git repository with one commit (used by the demo)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    gitsafe.run(dest, ["init", "--quiet", "--initial-branch=main"])
    ident = {"GIT_AUTHOR_NAME": "patchwright", "GIT_AUTHOR_EMAIL": "patchwright@localhost",
             "GIT_COMMITTER_NAME": "patchwright", "GIT_COMMITTER_EMAIL": "patchwright@localhost"}
    for key in ("name", "email"):
        gitsafe.run(dest, ["config", f"user.{key}", ident[f"GIT_AUTHOR_{key.upper()}"]])
    gitsafe.run(dest, ["add", "-A"])
    gitsafe.run(dest, ["commit", "-q", "-m", message], env=ident)
    return gitsafe.output(dest, ["rev-parse", "HEAD"])
