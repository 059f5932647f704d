"""The working copy at a base commit holds nothing newer: the model cannot read the future fix."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tools.git import WorkspaceError, create_workspace, resolve_source
from tools.issue_sources import IssueError, load_issue


def git(cwd, *args) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def upstream(tmp_path) -> tuple[Path, str, str]:
    """A bare 'upstream' with a base commit, a later fix commit, a tag and a branch past the base."""
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    git(src, "config", "user.email", "t@t"); git(src, "config", "user.name", "t")
    (src / "m.py").write_text("def f():\n    return 1\n")
    git(src, "add", "."); git(src, "commit", "-qm", "base")
    base = git(src, "rev-parse", "HEAD")
    (src / "m.py").write_text("def f():\n    return 2  # THE FUTURE FIX\n")
    git(src, "commit", "-qam", "fix"); git(src, "tag", "v2")
    git(src, "branch", "later")
    fix = git(src, "rev-parse", "HEAD")
    bare = tmp_path / "owner+name.git"
    git(tmp_path, "clone", "-q", "--bare", str(src), str(bare))
    return bare, base, fix


def test_workspace_holds_no_newer_commit(tmp_path, upstream):
    bare, base, fix = upstream
    dest = tmp_path / "ws"
    assert create_workspace(bare, base, dest) == base
    assert git(dest, "rev-list", "--all").split() == [base]
    assert fix not in git(dest, "log", "--all", "--format=%H", "--reflog")
    assert git(dest, "tag") == "" and git(dest, "remote") == ""
    assert subprocess.run(["git", "cat-file", "-e", fix], cwd=dest).returncode != 0  # the object itself is absent
    assert "THE FUTURE FIX" not in (dest / "m.py").read_text()


def test_owner_slug_resolves_in_a_mirror_folder(tmp_path, upstream):
    bare, base, _ = upstream
    assert resolve_source("owner/name", tmp_path) == str(bare.resolve())
    with pytest.raises(WorkspaceError, match="not found under"):
        resolve_source("other/repo", tmp_path)


def test_swebench_issue_carries_only_the_problem_statement(tmp_path):
    row = {"repo": "o/r", "instance_id": "o__r-1", "base_commit": "a" * 40, "patch": "GOLD PATCH",
           "test_patch": "TEST PATCH", "problem_statement": "It breaks.", "FAIL_TO_PASS": '["t1"]', "PASS_TO_PASS": "[]"}
    dataset = tmp_path / "d.jsonl"
    dataset.write_text(json.dumps(row) + "\n")
    issue = load_issue("swebench:o__r-1", dataset=dataset)
    dumped = json.dumps(issue.model_dump())
    assert issue.body == "It breaks." and issue.base_commit == "a" * 40
    for secret in ("GOLD PATCH", "TEST PATCH", "t1"):
        assert secret not in dumped
    with pytest.raises(IssueError, match="unknown SWE-bench instance id"):
        load_issue("swebench:x__y-2", dataset=dataset)


REQUESTS_MIRROR = Path("/work/.mirror/psf+requests/repo")


@pytest.mark.skipif(not REQUESTS_MIRROR.exists(), reason="fetched requests mirror not on this machine")
def test_real_swebench_base_commit_has_no_future(tmp_path):
    dest = tmp_path / "ws"
    base = "0192aac24123735b3eaf9b08df46429bb770c283"  # psf__requests-5414's base commit
    create_workspace(REQUESTS_MIRROR, base, dest)
    newest = git(dest, "log", "--all", "-1", "--format=%H")
    assert newest == base
    assert git(dest, "rev-list", "--all", "--count") == git(REQUESTS_MIRROR, "rev-list", "--count", base)
