"""Workspaces: a cached mirror per repository and a fresh working copy per run.

The working copy is made by fetching exactly the base commit into an empty repository, so no
branch, tag, remote ref or reflog reaches past it: the model cannot read the future fix.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import git

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
        try:
            git.Repo(source)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as e:
            raise WorkspaceError(f"not a git repository: {source}") from e
        return Path(source)
    digest = hashlib.sha256(source.encode()).hexdigest()[:10]
    name = re.sub(r"[^\w.-]", "_", source.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))
    mirror = mirrors_dir / f"{name}-{digest}.git"
    try:
        if mirror.exists():
            git.Git(str(mirror)).fetch("--prune", "origin")
        else:
            mirrors_dir.mkdir(parents=True, exist_ok=True)
            git.Repo.clone_from(source, mirror, mirror=True)
    except git.GitCommandError as e:
        raise WorkspaceError(f"could not mirror {source}: {e.stderr.strip()}") from e
    return mirror


def resolve_commit(mirror: Path, base_commit: str | None) -> str:
    repo = git.Git(str(mirror))  # runs inside the (possibly bare) repository directory
    rev = base_commit or "HEAD"
    if base_commit is not None and not _SHA.match(base_commit):
        raise WorkspaceError(f"base commit '{base_commit}' is not a commit id")
    try:
        return repo.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
    except git.GitCommandError as e:
        raise WorkspaceError(f"base commit {rev} not found in {mirror}") from e


def create_workspace(mirror: Path, base_commit: str | None, dest: Path) -> str:
    """Make `dest` a working copy holding the base commit and its ancestors only; return the sha."""
    sha = resolve_commit(mirror, base_commit)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    repo = git.Repo.init(dest, initial_branch="patchwright")
    # Fetching a bare sha needs allowAnySHA1InWant on the serving side; it is our own local mirror.
    upload_pack = "git -c uploadpack.allowAnySHA1InWant=true upload-pack"
    try:
        repo.git.fetch("--no-tags", "--quiet", f"--upload-pack={upload_pack}", Path(mirror).resolve().as_uri(), sha)
        repo.git.update_ref("refs/heads/patchwright", sha)
        repo.git.checkout("--quiet", "-f", "patchwright")
    except git.GitCommandError as e:
        raise WorkspaceError(f"could not check out {sha} from {mirror}: {e.stderr.strip()}") from e
    (dest / ".git" / "FETCH_HEAD").unlink(missing_ok=True)
    repo.git.reflog("expire", "--expire=now", "--all")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "patchwright")
        cw.set_value("user", "email", "patchwright@localhost")
        cw.set_value("core", "autocrlf", "false")
    return sha


def init_repo_from_dir(src: Path, dest: Path, message: str = "sample repository") -> str:
    """Copy a plain directory into a new git repository with one commit (used by the demo)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    repo = git.Repo.init(dest, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "patchwright")
        cw.set_value("user", "email", "patchwright@localhost")
    repo.git.add("-A")
    repo.git.commit("-q", "-m", message)
    return repo.head.commit.hexsha
