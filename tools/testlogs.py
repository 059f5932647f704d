"""Per-test results from pytest runs, and the before/after evidence they give.

The agent judges a patch by which tests changed state, so every result is
keyed by pytest's nodeid ("tests/test_x.py::TestC::test_a[1]"): the same id
whether it came from JUnit XML or from `pytest -rA` text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
FAILING = {FAILED, ERROR}


def _nodeid(classname: str, name: str, file: str | None) -> str:
    """Undo pytest's junit mangling of a nodeid.

    pytest writes classname = "<module path with / as .>.<Class>..." and
    drops the `file` attribute under the default xunit2 family, so without
    `file` the split between module and classes is guessed: class segments
    are the trailing ones starting with an upper-case letter (pytest's
    default `python_classes = Test*` makes that the common case).
    """
    if not classname:
        # Collection errors: name is the dotted module ("tests.test_x").
        if file:
            return file
        return name.replace(".", "/") + ".py" if "/" not in name and "::" not in name else name
    parts = classname.split(".")
    if file:
        module = file[:-3] if file.endswith(".py") else file
        dotted = module.replace("/", ".").split(".")
        if parts[: len(dotted)] == dotted:
            return "::".join([file, *parts[len(dotted) :], name])
    split = len(parts)
    while split > 1 and parts[split - 1][:1].isupper():
        split -= 1
    path = file or "/".join(parts[:split]) + ".py"
    return "::".join([path, *parts[split:], name])


def parse_junit(xml: str) -> dict[str, str]:
    """Map each JUnit <testcase> to passed/failed/error/skipped."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    results: dict[str, str] = {}
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        if "failure" in tags:
            status = FAILED
        elif "error" in tags:
            status = ERROR
        elif "skipped" in tags:  # pytest reports xfail this way too
            status = SKIPPED
        else:
            status = PASSED
        node = _nodeid(case.get("classname", ""), case.get("name", ""), case.get("file"))
        # A test failing in call and erroring in teardown keeps "failed".
        if results.get(node) in FAILING and status == ERROR:
            continue
        results[node] = status
    return results


def junit_failures(xml: str) -> dict[str, str]:
    """What JUnit says about each failing <testcase>: its failure or error message and text (the
    traceback pytest printed), keyed like parse_junit. Passing and skipped cases are left out."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    texts: dict[str, str] = {}
    for case in root.iter("testcase"):
        node = _nodeid(case.get("classname", ""), case.get("name", ""), case.get("file"))
        for child in case:
            if child.tag in ("failure", "error"):
                message, body = child.get("message", ""), child.text or ""
                # pytest's message is the traceback's last line again, unless it is "collection failure".
                text = body if message.split("\n", 1)[0] in body else "\n".join(p for p in (message, body) if p)
                texts[node] = f"{texts[node]}\n{text}" if node in texts else text
    return texts


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SUMMARY = {
    "PASSED": PASSED, "FAILED": FAILED, "ERROR": ERROR,
    "SKIPPED": SKIPPED, "XFAIL": SKIPPED, "XPASS": PASSED,
}
# `-v` progress lines: "tests/x.py::test_a PASSED   [ 50%]"
_VERBOSE = re.compile(r"^(\S+::\S.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")


def _summary_nodeid(rest: str) -> str:
    """The nodeid at the start of "tests/x.py::test[a - b] - AssertionError"."""
    first = rest.split()[0] if rest.split() else ""
    if "[" in first and not first.endswith("]"):
        # The parameter id contains spaces; it ends at the last "]" before
        # pytest's " - message" separator.
        end = rest.find("] - ")
        if end >= 0:
            return rest[: end + 1]
        if rest.rstrip().endswith("]"):
            return rest.rstrip()
    return first


_SESSION_START = re.compile(r"^=+ test session starts =+$")
_SESSION_END = re.compile(r"^=+ .*\bin \d+(\.\d+)? ?s(econds)?\b.*=+$")  # "=== 1 failed in 0.12s ===", "... in 0.12 seconds ==="


def _outer_lines(lines: list[str]) -> list[str]:
    """The lines of the outermost pytest sessions: pytest's own tests run sessions inside theirs
    and -rA prints those sessions' output (their FAILED lines, their summaries) in the outer log,
    where they would read as results of tests that do not exist. When the outer session has no
    end line of its own (cut off), every line."""
    kept, depth = [], 0
    for line in lines:
        if _SESSION_START.match(line):
            # Two levels: an inner session whose end line is missing (cut, or crashed) ends with the next one's.
            depth = min(depth + 1, 2)
            keep = depth == 1
        elif depth and _SESSION_END.match(line):
            keep = depth == 1
            depth -= 1
        else:
            keep = depth <= 1
        if keep:
            kept.append(line)
    return kept if depth == 0 else lines


def parse_pytest_output(log: str) -> dict[str, str]:
    """Results from `pytest -rA` short summary lines (and `-v` lines if any) of the outermost
    sessions in the log."""
    results: dict[str, str] = {}
    summary: dict[str, str] = {}
    for line in _outer_lines([_ANSI.sub("", raw).strip() for raw in log.splitlines()]):
        word, _, rest = line.partition(" ")
        if word in _SUMMARY and rest and not rest.startswith("["):
            # "SKIPPED [1] tests/x.py:12: reason" names no test id: left out.
            node = _summary_nodeid(rest)
            if node and not node.startswith("("):  # unittest's own "FAILED (failures=1)" names no test
                summary[node] = _SUMMARY[word]
            continue
        match = _VERBOSE.match(line)
        if match:
            results[match.group(1)] = _SUMMARY[match.group(2)]
    results.update(summary)  # the summary is the final word (teardown errors)
    return results


@dataclass
class Evidence:
    fail_to_pass: list[str] = field(default_factory=list)  # failing before, passing after
    pass_to_fail: list[str] = field(default_factory=list)  # regressions
    still_failing: list[str] = field(default_factory=list)  # failing after, not a regression
    passed_after: list[str] = field(default_factory=list)  # every test passing after


# pytest's exit codes for a session that stopped before running its tests: interrupted (collection
# errors), internal error, usage error (a conftest that does not import), no tests collected.
STOPPED_EARLY = {2, 3, 4, 5}


def compare(before: dict[str, str], after: dict[str, str], exit_code_after: int | None = None) -> Evidence:
    ev = Evidence()
    # A module that no longer imports shows up only as an error on the file's
    # own id; the tests it used to contain must count as regressions.
    broken = [node for node, status in after.items() if status == ERROR and "::" not in node]
    # A session that stopped before running anything (a conftest or package __init__ the patch
    # broke) reports no test at all: every test that passed before is a regression, not "no change".
    stopped = exit_code_after in STOPPED_EARLY
    for node, status in before.items():
        if status == PASSED and node not in after:
            if stopped or any(node.startswith(b + "::") for b in broken):
                ev.pass_to_fail.append(node)
    for node, status in after.items():
        was = before.get(node)
        if status == PASSED:
            ev.passed_after.append(node)
            if was in FAILING:
                ev.fail_to_pass.append(node)
        elif status in FAILING:
            (ev.pass_to_fail if was == PASSED else ev.still_failing).append(node)
    for bucket in (ev.fail_to_pass, ev.pass_to_fail, ev.still_failing, ev.passed_after):
        bucket.sort()
    return ev
