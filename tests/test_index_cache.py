"""The parse cache and reading commits straight from git: after a change, only changed files are
parsed again, and any commit can be indexed without checking it out."""
import subprocess
from pathlib import Path

import pytest

from tools.index import build_index
from tools.index import parse as parse_mod


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "pkg").mkdir()
    (root / "pkg" / "a.py").write_text("def alpha():\n    return 1\n")
    (root / "pkg" / "b.py").write_text("def beta():\n    return 2\n")
    (root / "web.ts").write_text("export function gamma(): number {\n  return 3;\n}\n")
    (root / "README.md").write_text("not code\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "one")
    return root


def _parses(fn):
    before = parse_mod.PARSE_COUNT
    result = fn()
    return result, parse_mod.PARSE_COUNT - before


def test_reindex_after_change_parses_exactly_one_file(repo, tmp_path):
    cache = tmp_path / "cache.sqlite"
    first, n = _parses(lambda: build_index(repo, cache=cache))
    assert n == 3 and first.stats["parsed"] == 3 and first.stats["cached"] == 0

    (repo / "pkg" / "b.py").write_text("def beta():\n    return 2\n\n\ndef delta():\n    pass\n")
    second, n = _parses(lambda: build_index(repo, cache=cache))
    assert n == 1
    assert (second.stats["parsed"], second.stats["cached"]) == (1, 2)
    assert "delta" in {s.name for s in second.symbols()}

    third, n = _parses(lambda: build_index(repo, cache=cache))  # nothing changed: nothing parsed
    assert n == 0 and third.stats["cached"] == 3
    assert [s.qualname for s in third.symbols()] == [s.qualname for s in second.symbols()]


def test_commits_are_read_from_git_without_checkout(repo, tmp_path):
    cache = tmp_path / "cache.sqlite"
    first_sha = git(repo, "rev-parse", "HEAD")
    (repo / "pkg" / "a.py").write_text("def alpha2():\n    return 1\n")
    git(repo, "commit", "-qam", "two")
    second_sha = git(repo, "rev-parse", "HEAD")
    bare = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)

    old, n = _parses(lambda: build_index(bare, commit=first_sha, cache=cache))
    assert n == 3
    assert {s.name for s in old.symbols()} == {"alpha", "beta", "gamma"}
    assert old.read("pkg/a.py") == "def alpha():\n    return 1\n"
    assert old.read("README.md") == "not code\n"  # files outside the index are read from the commit too

    new, n = _parses(lambda: build_index(bare, commit=second_sha, cache=cache))
    assert n == 1  # only pkg/a.py changed between the two commits
    assert {s.name for s in new.symbols()} == {"alpha2", "beta", "gamma"}
    # The worktree index of the same content shares the cache: blob SHAs are the keys.
    _, n = _parses(lambda: build_index(repo, cache=cache))
    assert n == 0


def test_bad_files_in_every_language_are_skipped_and_counted(tmp_path):
    (tmp_path / "ok.go").write_text("package p\n\nfunc Ok() {}\n")
    (tmp_path / "broken.rs").write_text("fn fine() {}\n\nfn broken( {\n\nstruct After {}\n")
    (tmp_path / "bin.js").write_bytes(b"\x00\x00\x01function x() {}\n")
    (tmp_path / "latin1.java").write_bytes("class Caf\xe9 {}\n".encode("latin-1"))
    (tmp_path / "bundle.min.js").write_text("var a=1;" * 5000)  # one 40 kB line
    (tmp_path / "huge.ts").write_text("export const x = 1;\n" * 6000)  # 120 kB
    index = build_index(tmp_path, cache=None, max_file_bytes=100_000)
    st = index.stats
    assert sorted(index.files()) == ["broken.rs", "ok.go"]
    assert (st["skipped_binary"], st["skipped_non_utf8"], st["skipped_minified"], st["skipped_huge"]) == (1, 1, 1, 1)
    assert st["skipped"] == 4 and st["with_errors"] == 1
    assert {"Ok", "fine"} <= {s.name for s in index.symbols()}  # what parses around an error is kept


def test_unwritable_cache_degrades_to_parsing(repo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    index = build_index(repo, cache=blocker / "cache.sqlite")  # parent is a file: cannot be created
    assert index.stats["parsed"] == 3


def test_parallel_parse_gives_the_same_index(tmp_path, monkeypatch):
    import tools.index.repo as repo_mod

    for i in range(6):
        (tmp_path / f"m{i}.py").write_text(f"class C{i}:\n    def m(self):\n        return {i}\n")
    monkeypatch.setattr(repo_mod, "PARALLEL_MIN_FILES", 2)
    serial = build_index(tmp_path, cache=None)
    parallel, n = _parses(lambda: build_index(tmp_path, cache=None, workers=2))
    assert n == 6 and parallel.stats["parsed"] == 6
    assert parallel.symbols() == serial.symbols()
