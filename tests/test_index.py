import subprocess
from pathlib import Path

import pytest

from tools.errors import ToolError
from tools.index import Index, Symbol, build_index

FIXTURE = '''\
"""Module docstring."""
import functools


def top(a, b=1):
    """Add things."""
    return a + b


@functools.lru_cache(maxsize=None)
@staticmethod
def cached(x):
    return x


class Parser(Base):
    """Parses input."""

    def __init__(self, text):
        self.text = text

    @property
    def size(self) -> int:
        return len(self.text)

    async def parse(self,
                    strict: bool = False) -> "Tree":  # trailing comment
        def helper(y):
            return y
        return helper(self.text)

    class Options:
        verbose = False

        def toggle(self): self.verbose = not self.verbose
'''


def _write(root: Path, rel: str, data) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")


def _by_qualname(index):
    return {s.qualname: s for s in index.symbols()}


def test_symbols_kinds_and_line_ranges(tmp_path):
    _write(tmp_path, "pkg/mod.py", FIXTURE)
    index = build_index(tmp_path)
    syms = _by_qualname(index)

    assert set(syms) == {"top", "cached", "Parser", "Parser.__init__", "Parser.size",
                         "Parser.parse", "Parser.parse.helper", "Parser.Options",
                         "Parser.Options.toggle"}
    expected = {  # qualname: (kind, start_line, end_line)
        "top": ("function", 5, 7),
        "cached": ("function", 10, 13),        # starts at the first decorator
        "Parser": ("class", 16, 35),
        "Parser.__init__": ("method", 19, 20),
        "Parser.size": ("method", 22, 24),
        "Parser.parse": ("method", 26, 30),
        "Parser.parse.helper": ("function", 28, 29),
        "Parser.Options": ("class", 32, 35),
        "Parser.Options.toggle": ("method", 35, 35),
    }
    for qualname, (kind, start, end) in expected.items():
        s = syms[qualname]
        assert (s.kind, s.start_line, s.end_line) == (kind, start, end), qualname
        assert s.path == "pkg/mod.py"
        assert s.name == qualname.rsplit(".", 1)[-1]

    assert syms["top"].signature == "def top(a, b=1):"
    assert syms["top"].docstring == "Add things."
    assert syms["Parser"].signature == "class Parser(Base):"
    assert syms["Parser"].docstring == "Parses input."
    assert syms["Parser.parse"].signature.startswith("async def parse(self,\n")
    assert syms["Parser.parse"].signature.endswith('-> "Tree":')
    assert syms["Parser.Options.toggle"].signature == "def toggle(self):"
    assert syms["cached"].docstring == ""
    assert index.stats["symbols"] == 9 and index.stats["files_indexed"] == 1


def test_read_and_protocol(tmp_path):
    _write(tmp_path, "a.py", "x = 1\n")
    _write(tmp_path, "README.md", "hello\n")
    index = build_index(tmp_path)
    assert isinstance(index, Index)
    assert index.files() == ["a.py"]
    assert index.read("a.py") == "x = 1\n"
    assert index.read("README.md") == "hello\n"  # readable even though not indexed
    with pytest.raises(ToolError):
        index.read("../outside.py")
    with pytest.raises(ToolError):
        index.read("missing.py")


def test_bad_files_are_skipped_and_counted(tmp_path):
    _write(tmp_path, "good.py", "def ok():\n    return 1\n")
    _write(tmp_path, "binary.py", b"\x00\x01\x02def x(): pass\n")
    _write(tmp_path, "latin1.py", "name = 'caf\xe9'\n".encode("latin-1"))
    _write(tmp_path, "huge.py", "def big():\n    pass\n" + "# padding\n" * 200)
    _write(tmp_path, "broken.py", "def fine(a):\n    return a\n\ndef broken(:\n    pass\n\n"
                                  "class After:\n    def m(self):\n        return 2\n")
    index = build_index(tmp_path, max_file_bytes=1000)

    assert sorted(index.files()) == ["broken.py", "good.py"]
    st = index.stats
    assert (st["skipped_binary"], st["skipped_huge"], st["skipped_non_utf8"]) == (1, 1, 1)
    assert st["skipped"] == 3
    assert st["with_errors"] == 1
    assert st["files_indexed"] == 2
    names = {s.qualname for s in index.symbols()}
    # what tree-sitter can still parse around the error is kept
    assert {"ok", "fine", "After", "After.m"} <= names


def test_skips_vendored_dirs_when_walking(tmp_path):
    _write(tmp_path, "src/app.py", "def app(): pass\n")
    for junk in (".venv/lib/x.py", "node_modules/y.py", "build/lib/z.py", ".git/hooks/h.py",
                 "pkg.egg-info/w.py"):
        _write(tmp_path, junk, "def junk(): pass\n")
    assert build_index(tmp_path).files() == ["src/app.py"]


def test_uses_git_ls_files_in_a_repo(tmp_path):
    _write(tmp_path, ".gitignore", "ignored.py\n")
    _write(tmp_path, "tracked.py", "def t(): pass\n")
    _write(tmp_path, "ignored.py", "def i(): pass\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "tracked.py", ".gitignore"], check=True)
    _write(tmp_path, "new_untracked.py", "def n(): pass\n")
    files = build_index(tmp_path).files()
    assert files == ["new_untracked.py", "tracked.py"]


def test_symbol_is_hashable_value():
    s = Symbol("a.py", "f", "f", "function", 1, 2, "def f():", "")
    assert s == Symbol("a.py", "f", "f", "function", 1, 2, "def f():", "") and hash(s)
