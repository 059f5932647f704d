"""The repository cannot make host git run a program, and edits cannot leave the working copy:
the attack from issue 10 (a committed `gitdir -> .git` symlink, an edit of `gitdir/config` adding
core.fsmonitor) and its relatives, against the real edit applier and the real git calls."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools import gitsafe
from tools.edits import apply_blocks, apply_diff, diff_worktree, parse_blocks, reset_worktree
from tools.errors import SecurityError
from tools.git import create_workspace


def _commit_repo(path: Path, files: dict[str, str], links: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    for rel, target in links.items():
        os.symlink(target, path / rel)
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@b"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "seed"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)
    return path


@pytest.fixture
def hostile(tmp_path):
    """A working copy made by the bot from a repository that commits symlinks into .git and out."""
    outside = tmp_path / "outside"
    outside.mkdir()
    seed = _commit_repo(tmp_path / "seed", {"pkg/mod.py": "x = 1\n"},
                        {"gitdir": ".git", "hooks": ".git/hooks", "out": str(outside), "escape.py": "../../etc/hostname"})
    work = tmp_path / "work"
    create_workspace(seed, None, work)
    return work, tmp_path / "canary", outside


def _fsmonitor_block(canary: Path, path: str = "gitdir/config") -> str:
    return (f"{path}\n<<<<<<< SEARCH\n=======\n[core]\n\tfsmonitor = sh -c 'touch {canary}; echo'\n"
            ">>>>>>> REPLACE\n")


def test_edit_through_a_symlink_into_git_stops_the_run_and_never_runs_git_config(hostile):
    work, canary, _ = hostile
    config_before = (work / ".git" / "config").read_bytes()
    with pytest.raises(SecurityError, match="gitdir/config.*inside .git"):
        apply_blocks(work, parse_blocks(_fsmonitor_block(canary)))
    assert (work / ".git" / "config").read_bytes() == config_before
    diff_worktree(work)  # the `git add` that ran the injected fsmonitor in the attack
    reset_worktree(work)
    assert not canary.exists()


@pytest.mark.parametrize("path", ["hooks/pre-commit", "out/planted.py", "escape.py"])
def test_edits_through_symlinks_out_of_the_working_copy_are_refused(hostile, path):
    work, _, outside = hostile
    block = f"{path}\n<<<<<<< SEARCH\n=======\nimport os\n>>>>>>> REPLACE\n"
    with pytest.raises(SecurityError, match="outside the working copy or inside .git"):
        apply_blocks(work, parse_blocks(block))
    assert list(outside.iterdir()) == [] and not (work / ".git" / "hooks" / "pre-commit").exists()


def test_literal_git_and_traversal_paths_go_back_to_the_model(hostile):
    work, canary, _ = hostile
    for path in (".git/config", "../x.py", "/etc/passwd"):
        result = apply_blocks(work, parse_blocks(_fsmonitor_block(canary, path)))
        assert not result.applied and "outside the repository" in result.failures[0].reason


def test_a_changed_git_config_stops_the_next_git_call(hostile):
    work, canary, _ = hostile
    with open(work / ".git" / "config", "a") as f:  # e.g. a build step that reached the working copy
        f.write(f"[core]\n\tfsmonitor = sh -c 'touch {canary}; echo'\n")
    (work / "pkg" / "mod.py").write_text("x = 2\n")
    with pytest.raises(SecurityError, match="changed since patchwright wrote it"):
        diff_worktree(work)
    assert not canary.exists()


def test_pinned_settings_hold_even_in_a_repository_the_bot_did_not_make(tmp_path):
    """fsmonitor and hooks set by the repository's own config never run (no seal needed)."""
    repo = _commit_repo(tmp_path / "r", {"a.py": "a = 1\n"}, {})
    canary = tmp_path / "canary"
    subprocess.run(["git", "config", "core.fsmonitor", f"sh -c 'touch {canary}.fsmonitor; echo'"], cwd=repo, check=True)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {canary}.hook\n")
    hook.chmod(0o755)
    (repo / "a.py").write_text("a = 2\n")
    gitsafe.run(repo, ["add", "-A"])
    gitsafe.run(repo, ["status"])
    gitsafe.run(repo, ["commit", "-q", "-m", "x"], env={"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
                                                     "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"})
    assert not Path(f"{canary}.fsmonitor").exists() and not Path(f"{canary}.hook").exists()
    # Without the pins the same repository does run its fsmonitor: the test can fail.
    subprocess.run(["git", "status"], cwd=repo, capture_output=True)
    assert Path(f"{canary}.fsmonitor").exists()


def test_git_child_processes_get_no_secret_from_this_process(tmp_path, monkeypatch):
    repo = _commit_repo(tmp_path / "r", {"a.py": "a = 1\n"}, {})
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret_value")
    monkeypatch.setenv("PATCHWRIGHT_APP__PRIVATE_KEY", "-----BEGIN KEY-----")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    seen = gitsafe.output(repo, ["-c", "alias.showenv=!env", "showenv"])
    assert "ghp_secret_value" not in seen and "BEGIN KEY" not in seen and "elsewhere" not in seen
    assert "GIT_CONFIG_GLOBAL=/dev/null" in seen


def test_a_patch_that_makes_a_symlink_is_never_applied(hostile):
    work, _, _ = hostile
    diff = ("diff --git a/link b/link\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n+++ b/link\n"
            "@@ -0,0 +1 @@\n+.git/config\n\\ No newline at end of file\n")
    with pytest.raises(SecurityError, match="symbolic link"):
        apply_diff(work, diff)
    assert not (work / "link").exists()
