"""Git over the network with an installation token that never touches disk.

git asks a credential helper for the password; the helper is given on the command line and reads
the token from an environment variable of that one git process. Nothing is written to any
`.git/config`, the remote URL carries no credentials, and the sandbox (which gets no host
environment) never sees the token.
"""
from __future__ import annotations

import fcntl
import tempfile
from pathlib import Path

from tools import gitsafe
from tools.errors import ToolError

TOKEN_VAR = "PATCHWRIGHT_GIT_TOKEN"
# tools.gitsafe's pinned `credential.helper=` first clears any helper from other config.
HELPER = '!f() { test "$1" = get || exit 0; echo username=x-access-token; echo "password=$%s"; }; f' % TOKEN_VAR
IDENTITY = {"GIT_AUTHOR_NAME": "patchwright", "GIT_AUTHOR_EMAIL": "patchwright@users.noreply.github.com",
            "GIT_COMMITTER_NAME": "patchwright", "GIT_COMMITTER_EMAIL": "patchwright@users.noreply.github.com"}


class PushError(ToolError):
    """A git network operation failed; the message has git's own words, never the token."""


def git(args: list[str], cwd: Path | None = None, token: str | None = None, env: dict | None = None,
        stdin: str | None = None) -> str:
    # git gets the one token it needs and nothing else of this process's environment (tools.gitsafe).
    extra = {**(env or {}), **({TOKEN_VAR: token} if token else {})}
    proc = gitsafe.run(cwd, ["-c", f"credential.helper={HELPER}", *args], env=extra, stdin=stdin, text=True,
                       network=True, check=False)
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip()
        if token:
            message = message.replace(token, "***")
        raise PushError(f"git {args[0]} failed: {message}")
    return proc.stdout.strip()


def sync_mirror(url: str, dest: Path, token: str | None = None) -> Path:
    """A local bare copy of `url`'s branches, cloned once and fetched on later calls; locked so two
    jobs on one repository do not fetch into it at once."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.with_name(dest.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (dest / "HEAD").is_file():
            git(["fetch", "--prune", "--quiet", url, "+refs/heads/*:refs/heads/*"], cwd=dest, token=token)
        else:
            git(["clone", "--bare", "--quiet", url, str(dest)], token=token)
    return dest


def commit_patch(repo_dir: Path, base_sha: str, patch: str, message: str) -> str:
    """A commit of `patch` on top of `base_sha`, made in a scratch index so the working tree and
    branches of `repo_dir` stay as they are. Returns the new commit's sha."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**IDENTITY, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(["read-tree", base_sha], cwd=repo_dir, env=env)
        git(["apply", "--cached", "--whitespace=nowarn", "-"], cwd=repo_dir, env=env, stdin=patch)
        tree = git(["write-tree"], cwd=repo_dir, env=env)
        return git(["commit-tree", tree, "-p", base_sha, "-F", "-"], cwd=repo_dir, env=env, stdin=message)


def push_branch(repo_dir: Path, url: str, sha: str, branch: str, token: str | None) -> None:
    """Force `branch` on the remote to `sha`: a second run on the same issue replaces the first."""
    git(["push", "--quiet", "--force", url, f"{sha}:refs/heads/{branch}"], cwd=repo_dir, token=token)
