"""The reproduction test file the model writes: its reply format, the rules for its path, and
writing it into the working copy. Everything here comes from the model, so nothing is trusted:
the path must name a new test module inside the repository, and the code is parsed, never run.

Reply format: `TEST path/to/test_file.py` on a line of its own, then the whole file in one fenced
python block.
"""
from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tools.edits.diff import diff_worktree
from tools.edits.paths import refused_path, safe_target
from tools.errors import ToolError

MAX_TEST_CHARS = 20_000  # a reproduction is small; more is a model rambling, not a test
TEST_PLACEHOLDER = "{test}"

_TEST_LINE = re.compile(r"^[ \t]*\**TEST\**:?[ \t]+`?(?P<path>[^\s`]+)`?[ \t]*$", re.MULTILINE)
_FENCE_OPEN = re.compile(r"^[ \t]*```[\w+-]*[ \t]*$", re.MULTILINE)
_FENCE_CLOSE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_MODULE_NAME = re.compile(r"^test_\w+\.py$")


class ReproductionReplyError(ToolError):
    """The model's reproduction test cannot be used as given (reply format, path or code); the
    message says why, for the model's next turn."""


@dataclass(frozen=True)
class ReproductionTest:
    path: str
    """Relative to the repository root, with / separators."""
    code: str
    """The whole file."""


def parse_test_reply(reply: str) -> ReproductionTest:
    """The one test file a reply holds (`TEST path` then a fenced block), its code checked to parse
    and to define a test; anything else is a ReproductionReplyError."""
    heads = _TEST_LINE.findall(reply)
    if not heads:
        raise ReproductionReplyError("no `TEST path/to/test_file.py` line found: put it on a line of its own, "
                                     "then the whole test file in one fenced python block")
    if len(set(heads)) > 1:
        raise ReproductionReplyError(f"the reply names {len(set(heads))} test files; write exactly one")
    start = _TEST_LINE.search(reply).end()
    opening = _FENCE_OPEN.search(reply, start)
    closing = _FENCE_CLOSE.search(reply, opening.end()) if opening else None
    if not opening or not closing:
        raise ReproductionReplyError("after the TEST line, write the whole test file in one fenced block: "
                                     "```python, the code, then ``` on a line of its own")
    code = reply[opening.end():closing.start()].strip("\n") + "\n"
    return ReproductionTest(heads[0], _checked_code(code))


def _checked_code(code: str) -> str:
    if len(code) > MAX_TEST_CHARS:
        raise ReproductionReplyError(f"the test file has {len(code)} characters; keep it under {MAX_TEST_CHARS}: "
                                     "one small test is enough")
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise ReproductionReplyError(f"the test file does not parse: {type(e).__name__} at line {e.lineno}: "
                                     f"{e.msg}") from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, absurd nesting
        raise ReproductionReplyError(f"the test file does not parse: {type(e).__name__}") from None
    if not any(_is_test(node) for node in tree.body):
        raise ReproductionReplyError("the file defines no test: pytest collects functions named test_* "
                                     "(and test_* methods of classes named Test*)")
    return code


def _is_test(node: ast.stmt) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name.startswith("test")
    return isinstance(node, ast.ClassDef) and node.name.startswith("Test") and any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test") for n in node.body)


def check_new_test_path(root: Path, path: str, files: list[str]) -> str:
    """`path` normalised, when it names a new test module inside the working copy; else a
    ReproductionReplyError saying why. `files` are the repository's files (for name clashes).
    A symbolic link in the way is the repository's doing: SecurityError, as for every edit."""
    rel = path.strip().replace("\\", "/").removeprefix("./")
    parts = rel.split("/")
    if refusal := refused_path(rel):  # absolute, .. or .git; a drive letter fails _PART below
        raise ReproductionReplyError(refusal)
    if any(p.startswith(".") for p in parts) or "" in parts:
        raise ReproductionReplyError(f"refused: {path} is in .git or a hidden directory; put the test with the "
                                     "repository's tests")
    if not all(_PART.match(p) for p in parts):
        raise ReproductionReplyError(f"refused: {path} has characters a test path should not have; use letters, "
                                     "digits, _ . and -")
    if not _MODULE_NAME.match(parts[-1]):
        raise ReproductionReplyError(f"refused: {parts[-1]} is not a test module name: call it test_<what>.py")
    root = Path(root).resolve()
    if rel in files or (root / rel).exists() or (root / rel).is_symlink():
        raise ReproductionReplyError(f"refused: {rel} already exists; write a NEW test file, do not replace one")
    clash = next((f for f in files if f.rsplit("/", 1)[-1] == parts[-1]), None)
    if clash:
        raise ReproductionReplyError(f"refused: a test module named {parts[-1]} already exists ({clash}); "
                                     "pytest may not collect two modules of one name: pick another name")
    for i in range(1, len(parts)):
        above = root.joinpath(*parts[:i])
        if above.exists() and not above.is_dir():
            raise ReproductionReplyError(f"refused: {'/'.join(parts[:i])} is a file, not a directory")
    safe_target(root, rel)
    return rel


def write_test(root: Path, test: ReproductionTest) -> str:
    """Write the (checked) test into a clean working copy; return the diff that adds it. A path
    git ignores would be invisible to the diff, so to the sandbox and the pull request: refused."""
    root = Path(root).resolve()
    target = safe_target(root, test.path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(test.code, encoding="utf-8")
    except OSError as e:
        raise ReproductionReplyError(f"cannot create {test.path}: {e.strerror or e}") from None
    diff = diff_worktree(root)
    if f"+++ b/{test.path}\n" not in diff:
        target.unlink()
        raise ReproductionReplyError(f"refused: git ignores {test.path} (.gitignore); put the test where the "
                                     "repository keeps its tests")
    return diff


def command_for(template: str, path: str) -> str:
    """The command that runs the one test file: `template` with {test} replaced by the quoted path
    (replaced, not str.format: a command may hold other braces)."""
    return template.replace(TEST_PLACEHOLDER, shlex.quote(path))
