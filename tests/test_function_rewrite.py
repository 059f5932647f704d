"""Whole-function rewrites (run.edit_format = "whole_function"): the model names a function and
writes it whole; exactly that definition is replaced, and what cannot be applied goes back to the
model as feedback it can act on. Ends with the demo fix run end to end in this format."""
from __future__ import annotations

import dataclasses
import json
import os

import pytest

from agent.config import Settings
from agent.demo_run import run_demo
from agent.edit_format import resolve_edit_format
from agent.models import PROFILES, ScriptedModel
from pipeline_support import AFTER, BEFORE, BUG_TESTS, FUNCTION_FIX_REPLY
from sandbox.scripted import ScriptedSandboxConfig
from tools.edits import FunctionRewrite, apply_rewrites, parse_rewrites, rewrite_feedback
from tools.errors import PatchApplyError, SecurityError
from tools.index import build_index

SOURCE = '''\
"""Shapes."""
import functools


def outer(values):
    def inner(v):
        return v + 1
    return [inner(v) for v in values]


def inner(v):
    return v + 1


class Square:
    def __init__(self, side):
        self.side = side

    @property
    def area(self):
        return self.side * self.side

    def describe(self):
        return "a shape of " + str(self.side)


class Circle:
    @functools.lru_cache(maxsize=None)
    def describe(self):
        return "a shape of " + str(self.side)
'''


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "shapes.py").write_text(SOURCE)
    return tmp_path


def _reply(target: str, code: str) -> str:
    return f"The fix.\n\nFUNCTION {target}\n```python\n{code}```\n"


def _rewrite(repo, target: str, code: str, index=None):
    return apply_rewrites(repo, parse_rewrites(_reply(target, code)), index)


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new) if a != b]


# -- exactly the named definition ----------------------------------------------------------

def test_a_nested_function_is_replaced_and_the_same_named_top_level_one_is_not(repo):
    result = _rewrite(repo, "shapes.py::outer.inner", "def inner(v):\n    return v + 2\n")
    assert result.failures == []
    after = (repo / "shapes.py").read_text()
    assert _changed_lines(SOURCE, after) == [("        return v + 1", "        return v + 2")]
    assert "def inner(v):\n    return v + 1\n" in after  # the module-level inner, same body, untouched


def test_only_the_named_class_method_changes_when_another_class_has_one_of_that_name(repo):
    code = 'def describe(self):\n    return "a square of " + str(self.side)\n'
    assert _rewrite(repo, "shapes.py::Square.describe", code).failures == []
    after = (repo / "shapes.py").read_text()
    assert _changed_lines(SOURCE, after) == [('        return "a shape of " + str(self.side)',
                                              '        return "a square of " + str(self.side)')]
    assert after.rstrip().endswith('return "a shape of " + str(self.side)')  # Circle.describe as it was


def test_a_decorated_function_written_without_decorators_keeps_them(repo):
    # Models leave decorators out when they think of "the function"; @property must not be lost.
    assert _rewrite(repo, "shapes.py::Square.area", "def area(self):\n    return self.side ** 2\n").failures == []
    after = (repo / "shapes.py").read_text()
    assert "    @property\n    def area(self):\n        return self.side ** 2\n\n    def describe" in after


def test_a_decorated_function_written_with_decorators_gets_the_new_ones(repo):
    code = '@functools.cache\ndef describe(self):\n    return "a circle"\n'
    assert _rewrite(repo, "shapes.py::Circle.describe", code).failures == []
    after = (repo / "shapes.py").read_text()
    assert after.endswith('class Circle:\n    @functools.cache\n    def describe(self):\n        return "a circle"\n')
    assert "lru_cache" not in after


@pytest.mark.parametrize("indent", ["", "    ", "        "])
def test_a_method_is_reindented_to_its_class_whatever_indentation_it_came_with(repo, indent):
    code = "".join(indent + line for line in ["def __init__(self, side):\n", "    self.side = abs(side)\n"])
    assert _rewrite(repo, "shapes.py::Square.__init__", code).failures == []
    assert "class Square:\n    def __init__(self, side):\n        self.side = abs(side)\n\n    @property" in \
        (repo / "shapes.py").read_text()


def test_reindenting_leaves_the_lines_of_a_multiline_string_as_written(repo):
    code = 'def describe(self):\n    return """a square\n  of side\n"""\n'
    assert _rewrite(repo, "shapes.py::Square.describe", code).failures == []
    after = (repo / "shapes.py").read_text()
    assert '    def describe(self):\n        return """a square\n  of side\n"""\n' in after  # the value unchanged


def test_line_numbers_copied_from_the_listing_and_markdown_around_the_header_are_tolerated(repo):
    reply = ("**FUNCTION `shapes.py::Square.area`**\n```python\n"
             "   21 |     def area(self):\n   22 |         return self.side ** 2\n```\n"
             "```python\nFUNCTION shapes.py::inner\ndef inner(v):\n    return v - 1\n```\n")  # header inside the fence
    rewrites = parse_rewrites(reply)
    assert [(r.path, r.qualname) for r in rewrites] == [("shapes.py", "Square.area"), ("shapes.py", "inner")]
    assert apply_rewrites(repo, rewrites).failures == []
    after = (repo / "shapes.py").read_text()
    assert "        return self.side ** 2\n" in after and "def inner(v):\n    return v - 1\n" in after


def test_crlf_and_a_missing_final_newline_are_kept(tmp_path):
    (tmp_path / "m.py").write_bytes(b"def f():\r\n    return 1\r\n\r\ndef g():\r\n    return 2")
    assert _rewrite(tmp_path, "m.py::g", "def g():\n    return 3\n").failures == []
    assert (tmp_path / "m.py").read_bytes() == b"def f():\r\n    return 1\r\n\r\ndef g():\r\n    return 3"


# -- refusals the model can act on ---------------------------------------------------------

def test_a_name_not_in_the_file_is_refused_with_the_closest_names(repo):
    result = _rewrite(repo, "shapes.py::Square.descibe", "def descibe(self):\n    return 1\n")
    [failure] = result.failures
    assert failure.reason.startswith("no function `Square.descibe` in shapes.py; closest: Square.describe, ")
    text = rewrite_feedback(result.failures)
    assert "FUNCTION shapes.py::Square.descibe" in text and "Reply with corrected FUNCTION blocks" in text
    assert (repo / "shapes.py").read_text() == SOURCE


def test_a_name_defined_in_another_file_is_pointed_at(repo):
    (repo / "util.py").write_text("def scale(x):\n    return 2 * x\n")
    result = _rewrite(repo, "util.py::area", "def area(self):\n    return 0\n", index=build_index(repo, cache=None))
    [failure] = result.failures
    assert failure.reason == ("no function `area` in util.py; closest: scale; "
                              "`area` is defined in other files: shapes.py::Square.area")


def test_a_class_name_is_refused_as_a_class(repo):
    [failure] = _rewrite(repo, "shapes.py::Square", "class Square:\n    pass\n").failures
    assert "`Square` is a class: name one of its methods" in failure.reason


def test_a_missing_file_is_refused_with_the_likely_file(repo):
    [failure] = _rewrite(repo, "shape.py::inner", "def inner(v):\n    return v\n").failures
    assert failure.reason == "file not found: shape.py; did you mean shapes.py?"


def test_a_reply_without_a_function_block_is_refused_with_the_format():
    with pytest.raises(PatchApplyError, match=r"no FUNCTION block found: write each rewrite as a line `FUNCTION"):
        parse_rewrites("The bug is in clamp(): it uses low twice.")
    with pytest.raises(PatchApplyError, match="SEARCH/REPLACE blocks are not used here"):
        parse_rewrites("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n")
    with pytest.raises(PatchApplyError, match="on line 1 names no file"):
        parse_rewrites("FUNCTION clamp\n```python\ndef clamp():\n    pass\n```\n")
    with pytest.raises(PatchApplyError, match="has no code block after it"):
        parse_rewrites("FUNCTION a.py::f\ndef f():\n    pass\n")
    with pytest.raises(PatchApplyError, match="missing its closing ``` line"):  # a reply cut at the token limit
        parse_rewrites("FUNCTION a.py::f\n```python\ndef f():\n    return (1,\n")


@pytest.mark.parametrize("code, why", [
    ("def area2(self):\n    return 0\n", "the code block defines `area2`, not `area`"),
    ("def area(self):\n    return (0\n", "does not parse as Python"),
    ("class Area:\n    pass\n", "exactly one function definition"),
    ("import math\ndef area(self):\n    return math.pi\n", "exactly one function definition"),
    ("", "the code block is empty"),
])
def test_new_code_that_is_not_a_definition_of_that_name_is_refused(repo, code, why):
    [failure] = _rewrite(repo, "shapes.py::Square.area", code).failures
    assert why in failure.reason
    assert (repo / "shapes.py").read_text() == SOURCE


def test_a_name_defined_twice_is_told_apart_by_its_decorators_or_refused(tmp_path):
    source = ("class C:\n    @property\n    def p(self):\n        return self._p\n\n"
              "    @p.setter\n    def p(self, v):\n        self._p = v\n")
    (tmp_path / "m.py").write_text(source)
    [failure] = _rewrite(tmp_path, "m.py::C.p", "def p(self, v):\n    self._p = int(v)\n").failures
    assert failure.reason == ("`C.p` is defined 2 times in m.py (lines 2, 6): write the decorators of the one "
                              "to replace too, so it is clear which one")
    assert _rewrite(tmp_path, "m.py::C.p", "@p.setter\ndef p(self, v):\n    self._p = int(v)\n").failures == []
    assert _changed_lines(source, (tmp_path / "m.py").read_text()) == [("        self._p = v",
                                                                         "        self._p = int(v)")]


def test_other_languages_are_refused_clearly(tmp_path):
    (tmp_path / "app.js").write_text("function f() { return 1; }\n")
    [failure] = _rewrite(tmp_path, "app.js::f", "function f() { return 2; }\n").failures
    assert failure.reason == "app.js is not a Python file: FUNCTION blocks rewrite Python functions only (.py, .pyi)"


@pytest.mark.parametrize("path", ["../evil.py", "/etc/passwd", "pkg/../../evil.py", ".git/config"])
def test_paths_leaving_the_working_copy_are_refused(repo, path):
    [failure] = apply_rewrites(repo, [FunctionRewrite(path, "f", "def f():\n    pass\n")]).failures
    assert failure.reason.startswith(f"refused: {path} is outside the repository (or inside .git)")
    assert not (repo.parent / "evil.py").exists()


def test_a_symlink_out_of_the_working_copy_stops_the_run(tmp_path):
    outside, work = tmp_path / "outside", tmp_path / "work"
    outside.mkdir()
    work.mkdir()
    (outside / "lib.py").write_text("def f():\n    return 1\n")
    os.symlink(outside / "lib.py", work / "lib.py")
    with pytest.raises(SecurityError, match="outside the working copy or inside .git"):
        _rewrite(work, "lib.py::f", "def f():\n    return 2\n")
    assert (outside / "lib.py").read_text() == "def f():\n    return 1\n"


# -- which format a run uses ---------------------------------------------------------------

def test_auto_takes_the_model_profiles_format_and_run_edit_format_overrides_it(tmp_path, monkeypatch):
    assert {p.edit_format for p in PROFILES.values()} == {"search_replace"}  # until measured (issue 14)
    assert resolve_edit_format(Settings(home=tmp_path)) == "search_replace"
    name = Settings(home=tmp_path).model.profile
    monkeypatch.setitem(PROFILES, name, dataclasses.replace(PROFILES[name], edit_format="whole_function"))
    assert resolve_edit_format(Settings(home=tmp_path)) == "whole_function"
    assert resolve_edit_format(Settings(home=tmp_path, run={"edit_format": "search_replace"})) == "search_replace"


# -- the demo fix run in this format -------------------------------------------------------

def _whole_function_settings(tmp_path) -> Settings:
    return Settings(home=tmp_path, run={"edit_format": "whole_function"},
                    sandbox=ScriptedSandboxConfig(results=[BEFORE, AFTER]))


def _changed(diff: str) -> list[str]:
    return [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_a_whole_function_run_fixes_the_demo_and_changes_only_that_function(tmp_path):
    model = ScriptedModel([FUNCTION_FIX_REPLY])
    result = run_demo(_whole_function_settings(tmp_path), serve_model=False, model=model)
    assert result.fixed
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["tests"]["fail_to_pass"] == BUG_TESTS and report["files_changed"] == ["textkit/numbers.py"]
    assert [(a["outcome"], a["edit_format"]) for a in report["attempts"]] == [("tests_passed", "whole_function")]
    assert _changed((result.run_dir / "patch.diff").read_text()) == [
        "-    return max(low, min(value, low))", "+    return max(low, min(value, high))"]
    [request] = model.requests
    shown = "\n".join(m["content"] for m in request)
    assert "Every change is a FUNCTION block" in request[0]["content"]  # the system prompt
    assert "FUNCTION shop/greeting.py::Greeter.greet" in request[2]["content"]  # the worked example
    assert "Fix the issue with FUNCTION blocks" in request[-1]["content"]
    assert "FUNCTION textkit/numbers.py::" in request[-1]["content"]  # a real file in the instructions
    assert "SEARCH" not in shown


def test_a_wrong_name_gets_the_closest_names_and_the_corrected_reply_applies(tmp_path):
    wrong = FUNCTION_FIX_REPLY.replace("numbers.py::clamp", "numbers.py::numbers.clamp")
    model = ScriptedModel([wrong, FUNCTION_FIX_REPLY])
    result = run_demo(_whole_function_settings(tmp_path), serve_model=False, model=model)
    assert result.fixed
    feedback = model.requests[1][-1]["content"]
    assert "no function `numbers.clamp` in textkit/numbers.py; closest: clamp, parse_int_list" in feedback
    assert "Answer again with corrected FUNCTION blocks" in feedback
    assert model.requests[1][-2] == {"role": "assistant", "content": wrong}
    report = json.loads((result.run_dir / "report.json").read_text())
    assert [(a["turns"], a["edit_format"]) for a in report["attempts"]] == [(2, "whole_function")]
    assert _changed((result.run_dir / "patch.diff").read_text()) == [
        "-    return max(low, min(value, low))", "+    return max(low, min(value, high))"]
