"""Agent mode's deterministic tools (tools/agent_tools/) on a small repository written here, and the
tool box (agent/agent_mode/toolbox.py) with the scripted sandbox: no Docker."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agent.agent_mode.toolbox import make_toolbox
from agent.config import Settings
from agent.deps import Deps
from sandbox.scripted import ScriptedSandbox
from sandbox.base import ExecResult
from tools.agent_tools import (EDIT, VIEW, checked, create, definition, edit, insert, references, search, view)
from tools.errors import SecurityError
from tools.index import build_index

GREET = '''\
def greet(name):
    """Say hello."""
    message = "hello " + name
    return message


class Greeter:
    def __init__(self, loud):
        self.loud = loud

    def run(self, name):
        text = greet(name)
        if self.loud:
            text = text.upper()
        return text
'''
USE = "from pkg.greet import greet\n\n\ndef welcome():\n    return greet('you') + '!'\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "greet.py").write_text(GREET)
    (root / "pkg" / "use.py").write_text(USE)
    (root / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 1001)))
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


# -- view -------------------------------------------------------------------------------------

def test_view_numbers_lines_and_shows_a_range(repo):
    whole = view(repo, "pkg/greet.py")
    assert whole.ok and whole.text.startswith("pkg/greet.py (lines 1-15 of 15)")
    assert "    1 | def greet(name):" in whole.text and "   15 |         return text" in whole.text
    part = view(repo, "pkg/greet.py", start=7, end=9)
    assert part.text.splitlines() == ["pkg/greet.py (lines 7-9 of 15)", "    7 | class Greeter:",
                                      "    8 |     def __init__(self, loud):", "    9 |         self.loud = loud"]
    assert not view(repo, "pkg/greet.py", start=20).ok
    assert not view(repo, "pkg/greet.py", start=9, end=3).ok


def test_view_is_capped_and_says_how_to_see_more(repo):
    shown = view(repo, "long.txt", max_lines=50)
    assert shown.truncated and "(lines 1-50 of 1000)" in shown.text
    assert "call view with start=51" in shown.text and "line 51\n" not in shown.text
    by_chars = view(repo, "long.txt", max_lines=1000, max_chars=200)
    assert by_chars.truncated and len(by_chars.text) < 400 and "call view with start=" in by_chars.text
    asked = view(repo, "long.txt", start=990)
    assert not asked.truncated and "1000 | line 1000" in asked.text


def test_view_lists_a_directory(repo):
    (repo / "pkg" / "sub").mkdir()
    listing = view(repo, ".")
    assert listing.ok
    lines = listing.text.splitlines()
    assert "pkg/" in lines and "long.txt" in lines and ".git/" not in lines and ".git" not in lines
    assert "sub/" in view(repo, "pkg").text.splitlines()


def test_view_refuses_outside_git_binary_and_missing(repo):
    for bad in ("../outside.txt", "/etc/passwd", ".git/config", "pkg/../../x"):
        refused = view(repo, bad)
        assert not refused.ok and "outside the repository" in refused.text, bad
    binary = view(repo, "logo.png")
    assert not binary.ok and "binary" in binary.text
    missing = view(repo, "pkg/gret.py")
    assert not missing.ok and "did you mean pkg/greet.py" in missing.text


def test_a_symlink_out_of_the_repository_stops_the_run(repo, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret\n")
    os.symlink(secret, repo / "link.txt")
    os.symlink(tmp_path, repo / "up")
    with pytest.raises(SecurityError):
        view(repo, "link.txt")
    with pytest.raises(SecurityError):
        view(repo, "up/secret.txt")
    with pytest.raises(SecurityError):
        edit(repo, "link.txt", "host", "x")
    with pytest.raises(SecurityError):
        create(repo, "up/new.py", "x = 1\n")
    assert secret.read_text() == "host secret\n" and not (tmp_path / "new.py").exists()


# -- search -----------------------------------------------------------------------------------

def test_search_finds_text_as_path_line_text(repo):
    found = search(repo, "greet(")  # a fixed string: the parenthesis is not regex syntax
    assert found.ok
    lines = found.text.splitlines()
    assert lines[0] == "3 matching lines in 2 files"
    assert "pkg/greet.py:1: def greet(name):" in lines and "pkg/greet.py:12:         text = greet(name)" in lines
    assert "pkg/use.py:5:     return greet('you') + '!'" in lines
    regex = search(repo, r"def \w+\(self", regex=True)
    assert regex.ok and "pkg/greet.py:8:" in regex.text and "pkg/greet.py:11:" in regex.text
    only = search(repo, "greet", path="pkg/use.py")
    assert only.ok and "pkg/greet.py" not in only.text
    glob = search(repo, "line 7", path="*.txt")
    assert glob.ok and "long.txt:7: line 7" in glob.text


def test_search_sees_new_files_and_says_no_match_and_cuts(repo):
    (repo / "pkg" / "fresh.py").write_text("UNIQUE_MARKER = 1\n")
    assert "pkg/fresh.py:1:" in search(repo, "UNIQUE_MARKER").text
    nothing = search(repo, "no such text anywhere")
    assert not nothing.ok and "no match" in nothing.text
    assert not search(repo, "x", path="../elsewhere").ok
    assert not search(repo, "(", regex=True).ok  # a broken regex is the model's to mend
    cut = search(repo, "line", path="long.txt", max_matches=10)
    assert cut.truncated and "1000 matching lines" in cut.text and "990 more matches not shown" in cut.text


def test_an_exact_search_that_finds_nothing_offers_the_lines_holding_its_words(repo):
    # Seen on pytest-5809: `lexer=python3` for `"lexer": "python3",`; the model then edited blind.
    near = search(repo, "message=hello", path="pkg")
    assert not near.ok and "no match for 'message=hello' in pkg" in near.text
    assert 'lines holding all of its words (message, hello):' in near.text
    assert 'pkg/greet.py:3:     message = "hello " + name' in near.text
    assert "try a shorter" in search(repo, "message=goodbye").text  # no line has both words


def test_definition_and_references_from_the_index(repo):
    index = build_index(repo, cache=None)
    where = definition(index, "greet")
    assert where.ok and "pkg/greet.py:1-4: function greet: def greet(name):" in where.text
    method = definition(index, "Greeter.run")
    assert method.ok and "pkg/greet.py:11-15: method Greeter.run" in method.text
    assert "Greeter.run" in definition(index, "run").text
    wrong = definition(index, "greeet")
    assert not wrong.ok and "did you mean greet" in wrong.text
    used = references(index, "greet")
    assert used.ok
    assert "pkg/greet.py:12:" in used.text and "pkg/use.py:1: from pkg.greet import greet" in used.text
    assert "pkg/use.py:5:" in used.text
    assert not references(index, "nobody_uses_this").ok


# -- edit, insert, create ---------------------------------------------------------------------

def test_edit_replaces_a_unique_string_and_shows_it(repo):
    done = edit(repo, "pkg/greet.py", 'message = "hello " + name', 'message = "hi " + name')
    assert done.ok and done.extra == {"files_changed": ["pkg/greet.py"]}
    assert done.text.startswith("edited pkg/greet.py:") and '    3 |     message = "hi " + name' in done.text
    assert '"hi " + name' in (repo / "pkg" / "greet.py").read_text()


def test_edit_not_found_shows_the_closest_lines(repo):
    missed = edit(repo, "pkg/greet.py", 'message = "hello "+name', 'message = "hi " + name')
    assert not missed.ok and "was not found" in missed.text
    assert '    3 |     message = "hello " + name' in missed.text  # the real line, to copy
    assert (repo / "pkg" / "greet.py").read_text() == GREET


def test_edit_found_several_times_says_where(repo):
    several = edit(repo, "pkg/greet.py", "text", "words")
    assert not several.ok and "appears 4 times" in several.text
    assert "lines 12, 14, 15" in several.text and "more surrounding lines" in several.text
    assert (repo / "pkg" / "greet.py").read_text() == GREET


def test_edit_takes_lines_copied_from_view_with_their_numbers(repo):
    copied = "   13 |         if self.loud:\n   14 |             text = text.upper()\n"
    wanted = "   13 |         if not self.loud:\n   14 |             text = text.lower()\n"
    assert edit(repo, "pkg/greet.py", copied, wanted).ok
    assert "        if not self.loud:\n            text = text.lower()\n" in (repo / "pkg" / "greet.py").read_text()


def test_edit_with_the_lines_indented_otherwise_is_made_at_the_files_indentation(repo):
    # Seen on pytest-5809: the model copied a dict's lines with 4 spaces fewer, seven times over.
    old = "if self.loud:\n    text = text.upper()\n"
    done = edit(repo, "pkg/greet.py", old, "if not self.loud:\n    text = text.lower()\n")
    assert done.ok and "other indentation" in done.text and "   14 |             text = text.lower()" in done.text
    assert "        if not self.loud:\n            text = text.lower()\n" in (repo / "pkg" / "greet.py").read_text()
    (repo / "pkg" / "twice.py").write_text("def a():\n    x = 1\n\n\ndef b():\n        x = 1\n")
    twice = edit(repo, "pkg/twice.py", "\tx = 1\n", "\tx = 2\n")
    assert not twice.ok and "old, read with other indentation, matches 2 places (lines 2, 6)" in twice.text


def test_edit_keeps_crlf_line_endings(repo):
    (repo / "win.txt").write_bytes(b"one\r\ntwo\r\n")
    assert edit(repo, "win.txt", "two\n", "2\n").ok
    assert (repo / "win.txt").read_bytes() == b"one\r\n2\r\n"


def test_a_change_that_would_break_the_syntax_is_refused_with_the_line_and_nothing_is_written(repo):
    # As SWE-agent's linting edit: a file that parsed must parse after each change.
    indented = edit(repo, "pkg/greet.py", "    return message\n", "      return message\n")
    assert not indented.ok and "would leave pkg/greet.py unparseable, at line 4: unexpected indent" in indented.text
    assert "make the change in one call" in indented.text
    assert not insert(repo, "pkg/use.py", 5, "    if (\n").ok
    assert not create(repo, "pkg/new.py", "def broken(:\n").ok and not (repo / "pkg" / "new.py").exists()
    assert (repo / "pkg" / "greet.py").read_text() == GREET and (repo / "pkg" / "use.py").read_text() == USE
    assert insert(repo, "long.txt", 1, "(").ok  # text files are not judged


def test_insert_after_a_line(repo):
    top = insert(repo, "pkg/use.py", 0, '"""Welcome."""')
    assert top.ok and '    1 | """Welcome."""' in top.text
    end = insert(repo, "pkg/use.py", 6, "\n\nBYE = 1\n")
    assert end.ok and (repo / "pkg" / "use.py").read_text().endswith("+ '!'\n\n\nBYE = 1\n")
    beyond = insert(repo, "pkg/use.py", 99, "x")
    assert not beyond.ok and "between 0 and 9" in beyond.text


def test_create_a_new_file_but_not_over_one(repo):
    made = create(repo, "pkg/new/mod.py", "VALUE = 1\n")
    assert made.ok and made.extra["files_changed"] == ["pkg/new/mod.py"]
    assert (repo / "pkg" / "new" / "mod.py").read_text() == "VALUE = 1\n"
    again = create(repo, "pkg/greet.py", "x = 1\n")
    assert not again.ok and "exists already" in again.text
    assert (repo / "pkg" / "greet.py").read_text() == GREET
    for bad in ("../escape.py", ".git/hooks/pre-commit", "/tmp/abs.py"):
        assert not create(repo, bad, "x").ok, bad
    assert not (repo.parent / "escape.py").exists() and not (repo / ".git" / "hooks" / "pre-commit").exists()


# -- arguments and the tool box ---------------------------------------------------------------

def test_arguments_are_checked_against_the_schema():
    assert checked(VIEW, {"path": "a.py", "start": "12"}) == ({"path": "a.py", "start": 12}, "")
    assert "needs path" in checked(VIEW, {})[1]
    assert "no argument file" in checked(VIEW, {"file": "a.py"})[1]
    assert "start must be a whole number" in checked(VIEW, {"path": "a.py", "start": "ten"})[1]
    assert "old must be a string" in checked(EDIT, {"path": "a", "old": 3, "new": "x"})[1]
    assert "object of named arguments" in checked(VIEW, "a.py")[1]
    for spec in (VIEW, EDIT):
        assert set(spec.parameters["required"]) <= set(spec.parameters["properties"])


def _deps(tmp_path: Path, results: list[ExecResult]) -> Deps:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return Deps.create(Settings(home=tmp_path / "home"), run_dir, model=object(), sandbox=ScriptedSandbox(results))


def test_toolbox_without_docker_edits_tests_and_submits(repo, tmp_path):
    junit = ('<testsuite><testcase classname="tests.test_repro" name="test_bug">'
             '<failure message="boom">boom</failure></testcase></testsuite>')
    deps = _deps(tmp_path, [ExecResult(1, "1 failed", junit_xml=junit)])
    state = {"workspace_dir": str(repo), "env_image": "scripted",
             "reproduction": {"status": "reproduced", "path": "tests/test_repro.py",
                              "code": "def test_bug():\n    assert 0\n"}}
    box = make_toolbox(state, deps)
    names = [s.name for s in box.specs()]
    assert names == ["view", "search", "definition", "references", "edit", "insert", "create", "run_tests", "submit"]
    assert "tests/test_repro.py" in next(s for s in box.specs() if s.name == "run_tests").description

    assert not box.call("rm", {}).ok
    assert "needs old" in box.call("edit", {"path": "pkg/greet.py", "new": "x"}).text
    assert box.call("edit", {"path": "pkg/greet.py", "old": "hello ", "new": "hi "}).ok
    assert "Greeter.run" in box.call("definition", {"name": "run"}).text  # the index after the edit
    assert '+    message = "hi " + name' in box.diff()

    ran = box.call("run_tests", {})
    assert "tests: 1 failed" in ran.text and "failing: tests/test_repro.py::test_bug" in ran.text
    assert deps.sandbox.calls[-1]["command"].endswith("tests/test_repro.py")
    assert not (repo / "tests" / "test_repro.py").exists()  # only there while the test ran
    assert "test_repro" not in box.diff()

    done = box.call("submit", {"summary": "  The greeting said hello; it says hi now.  "})
    assert done.submitted and "pkg/greet.py" in done.text
    assert done.extra["summary"] == "The greeting said hello; it says hi now."  # for the pull request
    assert box.call("submit", {}).submitted  # the summary is optional
    box.close()
