"""Did a new test reproduce the issue? A deterministic verdict on one run of one test file.

A reproduction counts only when the new test ran and failed the way a bug makes it fail: an
assertion about the expected behaviour, or the exception the issue names. A test that cannot run
(collection, syntax or its own import error, no tests, a missing fixture, a timeout) says nothing
about the bug, and neither does one failing with an exception the issue does not name: the most
common cause of that is a test calling the code wrongly, so it is not counted, but the model is
told what happened and may try again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.issue_sources import cut_text
from tools.testlogs import ERROR, FAILED, PASSED, SKIPPED, junit_failures, parse_junit, parse_pytest_output

REPRODUCED, PASSES, BROKEN, OTHER_FAILURE = "reproduced", "passes", "broken", "other_failure"

# pytest's outcome for pytest.fail() and pytest.raises' "DID NOT RAISE" is `Failed`: an assertion
# written another way.
ASSERTIONS = {"AssertionError", "Failed"}
# Errors a test usually makes itself (a wrong import or name, bad syntax): they reproduce nothing
# unless the issue names them, and then only when raised outside the test file (see _judge).
SELF_MADE = {"ImportError", "ModuleNotFoundError", "NameError", "SyntaxError", "IndentationError", "TabError"}

# "tests/test_x.py:5: AssertionError": where pytest says the failure was raised, and as what.
_CRASH = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+): (?P<type>[A-Za-z_][\w.]*)$")
# The message of a short summary line or a JUnit message: "ValueError: empty input".
_TYPE_AT_START = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::|$)")
# "E   ImportError: cannot import name ..." in a collection error's traceback.
_E_LINE_ERROR = re.compile(r"^E\s+(?P<type>[A-Za-z_][\w.]*(?:Error|Exception))\b", re.MULTILINE)
# A section header of pytest's report: "_____ test_a _____", "____ ERROR collecting x.py ____".
_SECTION = re.compile(r"^_{3,} (?P<name>.+?) _{3,}$")
_SECTION_END = re.compile(r"^(?:={5,}|-{5,}) ")


@dataclass(frozen=True)
class Verdict:
    kind: str
    """REPRODUCED, PASSES, BROKEN or OTHER_FAILURE."""
    reason: str
    """One line saying why, naming the test and the exception."""
    output: str
    """The relevant part of the output (the failure's traceback, else the whole), capped."""
    tests: dict[str, str] = field(default_factory=dict)
    """The test file's tests and their status in this run."""


def classify(test_path: str, issue_text: str, *, exit_code: int | None, output: str,
             junit_xml: str | None = None, timed_out: bool = False, limit: int = 3000) -> Verdict:
    """The verdict on one run of `test_path` (its command's exit code, output and JUnit XML)."""
    def verdict(kind: str, reason: str, excerpt: str = "") -> Verdict:
        return Verdict(kind, reason, cut_text(excerpt or output, limit), tests)

    statuses = (parse_junit(junit_xml) if junit_xml else {}) or parse_pytest_output(output)
    tests = {node: s for node, s in statuses.items() if node == test_path or node.startswith(test_path + "::")}
    if timed_out or exit_code is None:
        return verdict(BROKEN, "the test run timed out")
    details = _details(tests, output, junit_xml)
    if tests.get(test_path) == ERROR:  # an error on the file itself: it did not import
        found = _E_LINE_ERROR.findall(details.get(test_path, "")) or _E_LINE_ERROR.findall(output)
        what = f": {found[-1]}" if found else ""
        return verdict(BROKEN, f"{test_path} could not be collected{what}", details.get(test_path, ""))
    cases = {node: s for node, s in tests.items() if node != test_path}
    if not cases:
        return verdict(BROKEN, _why_nothing_ran(test_path, exit_code, output))

    judged = {node: _judge(test_path, issue_text, details.get(node, ""), _summary_message(output, node))
              for node, s in cases.items() if s == FAILED}
    failing_excerpt = "\n\n".join(details.get(node, "") for node in judged) or output
    for node, (kind, exc) in judged.items():
        if kind == REPRODUCED:
            how = "an assertion" if exc in ASSERTIONS else f"{exc}, which the issue names"
            return verdict(REPRODUCED, f"{node} fails with {how}", failing_excerpt)
    errors = [node for node, s in cases.items() if s == ERROR]
    if errors:
        text = details.get(errors[0], "")
        missing = re.search(r"fixture '[^']+' not found", text)
        why = missing.group(0) if missing else "an error in its setup or teardown"
        return verdict(BROKEN, f"{errors[0]} did not run: {why}", text)
    for wanted in (BROKEN, OTHER_FAILURE):
        for node, (kind, exc) in judged.items():
            if kind == wanted:
                made = "the test's own" if kind == BROKEN else "an exception the issue does not name:"
                return verdict(kind, f"{node} fails with {made} {exc or 'an unknown error'}", failing_excerpt)
    if all(s == SKIPPED for s in cases.values()):
        return verdict(BROKEN, f"every test in {test_path} was skipped (or xfail): none ran")
    passed = sorted(node for node, s in cases.items() if s == PASSED)
    return verdict(PASSES, f"{', '.join(passed)} passed on the unfixed code")


def _judge(test_path: str, issue_text: str, detail: str, summary: str) -> tuple[str, str]:
    """(kind, exception type) of one failed test, from where and as what pytest says it failed."""
    exc, site = _crash(detail)
    if not exc:
        exc = _exception_of(summary) or _exception_of(detail.split("\n", 1)[0])
    if exc in ASSERTIONS:
        return REPRODUCED, exc
    named = bool(exc) and re.search(rf"\b{re.escape(exc)}\b", issue_text) is not None
    in_test = site is None or site == test_path or site.endswith("/" + test_path)
    if exc in SELF_MADE and not named and in_test:
        return BROKEN, exc
    return (REPRODUCED if named else OTHER_FAILURE), exc


def _crash(detail: str) -> tuple[str, str | None]:
    """The exception type and file of the last "path:line: Type" line of a traceback (the one the
    test failed with when exceptions are chained), or ("", None)."""
    for line in reversed(detail.splitlines()):
        m = _CRASH.match(line.strip())
        if m:
            return m["type"].rsplit(".", 1)[-1], m["path"]
    return "", None


def _exception_of(message: str) -> str:
    """The exception type a failure message starts with; pytest leaves "AssertionError: " off
    rewritten asserts ("assert 0 == 5")."""
    message = message.strip()
    if message == "assert" or message.startswith("assert "):
        return "AssertionError"
    m = _TYPE_AT_START.match(message)
    return m["type"].rsplit(".", 1)[-1] if m else ""


def _summary_message(output: str, node: str) -> str:
    """The message of the test's short summary line ("FAILED node - message"), for runs without tracebacks."""
    prefix = f"FAILED {node} - "
    for line in output.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):]
    return ""


def _details(tests: dict[str, str], output: str, junit_xml: str | None) -> dict[str, str]:
    """Each failing test's traceback: from JUnit when there is one, else its section of the output."""
    found = junit_failures(junit_xml) if junit_xml else {}
    sections = _sections(output)
    for node in tests:
        if node in found:
            continue
        parts = node.split("::")
        name = ".".join(parts[1:]) if len(parts) > 1 else f"ERROR collecting {node}"
        text = next((sections[h] for h in (name, f"ERROR at setup of {name}", f"ERROR at teardown of {name}")
                     if h in sections), "")
        if text:
            found[node] = text
    return found


def _sections(output: str) -> dict[str, str]:
    """pytest's report sections by header name ("test_a", "TestC.test_b", "ERROR collecting x.py")."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        header = _SECTION.match(line)
        if header:
            current = sections.setdefault(header["name"], [])
        elif _SECTION_END.match(line):
            current = None
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip("\n") for name, lines in sections.items()}


def _why_nothing_ran(test_path: str, exit_code: int, output: str) -> str:
    if "file or directory not found" in output or exit_code == 4:
        return f"pytest did not find or could not run {test_path} (exit code {exit_code})"
    if exit_code == 5 or "no tests ran" in output or "collected 0 items" in output:
        return f"no tests collected from {test_path}: name the test functions test_*"
    return f"the run reported no result for {test_path} (exit code {exit_code})"
