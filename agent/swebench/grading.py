"""Grade one evaluation exactly as the official harness does: the repository's own log parser on
the text between the official markers, then swebench's get_eval_tests_report and
get_resolution_status (resolved = every FAIL_TO_PASS and every PASS_TO_PASS test passes).

On top, and never changing the verdict: which failing tests failed for want of the internet."""
from __future__ import annotations

import re

from agent.swebench.envspec import END, START

BAD_CODES = (">>>>> Patch Apply Failed", ">>>>> Reset Failed", ">>>>> Tests Errored", ">>>>> Tests Timed Out")
# What a test that needed the internet dies of, here where nothing resolves or connects.
NETWORK_ERRORS = re.compile(
    r"Name or service not known|Temporary failure in name resolution|nodename nor servname|"
    r"No address associated with hostname|Failed to establish a new connection|Network is unreachable|"
    r"socket\.gaierror|ConnectTimeout|Max retries exceeded with url: .* \(Caused by (?:NewConnection|ConnectTimeout)|"
    r"gaierror|ProxyError|Connection to \S+ timed out")
_SECTION = re.compile(r"^_{3,} (.+?) _{3,}$", re.M)


def split_log(output: str) -> tuple[str, str]:
    """(apply log, test output): the runner prints '>>>>> patchwright: eval' between them."""
    head, sep, tail = output.partition(">>>>> patchwright: eval\n")
    return (head, tail) if sep else (output, "")


def status_map(test_output: str, parser, test_spec=None) -> tuple[dict[str, str], bool]:
    """The official get_logs_eval, on text rather than a file."""
    if any(code in test_output for code in BAD_CODES):
        return {}, False
    if not (START in test_output and END in test_output):
        return {}, False
    between = test_output.split(START)[1].split(END)[0]
    found = parser(between, test_spec)
    return (found or parser(test_output, test_spec)), True


def grade(instance_id: str, f2p: list[str], p2p: list[str], patch: str | None, test_output: str | None,
          parser) -> dict:
    """The official per-instance report: {instance_id: {patch_is_None, patch_exists,
    patch_successfully_applied, resolved, tests_status}}."""
    from swebench.harness.constants import FAIL_TO_PASS, PASS_TO_PASS, EvalType, ResolvedStatus
    from swebench.harness.grading import get_eval_tests_report, get_resolution_status

    report = {"patch_is_None": patch is None, "patch_exists": patch is not None,
              "patch_successfully_applied": False, "resolved": False}
    if patch is None or test_output is None:
        return {instance_id: report}
    found, ok = status_map(test_output, parser)
    if not ok:
        return {instance_id: report}
    report["patch_successfully_applied"] = True
    tests = get_eval_tests_report(found, {"instance_id": instance_id, FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p},
                                  eval_type=EvalType.PASS_AND_FAIL)
    report["resolved"] = get_resolution_status(tests) == ResolvedStatus.FULL.value
    report["tests_status"] = tests
    return {instance_id: report}


def failing_tests(report: dict) -> list[str]:
    status = report.get("tests_status") or {}
    return [t for key in ("FAIL_TO_PASS", "PASS_TO_PASS") for t in status.get(key, {}).get("failure", [])]


def network_failures(test_output: str, failing: list[str]) -> list[str]:
    """The failing tests whose failure text shows a DNS or connection error."""
    if not failing or not NETWORK_ERRORS.search(test_output):
        return []
    internal = "\n".join(line for line in test_output.splitlines() if line.startswith("INTERNALERROR>"))
    if NETWORK_ERRORS.search(internal):  # the session itself died reaching out: no test ran
        return list(failing)
    sections: dict[str, str] = {}
    matches = list(_SECTION.finditer(test_output))
    for m, nxt in zip(matches, matches[1:] + [None]):
        sections[m.group(1).strip()] = test_output[m.end(): nxt.start() if nxt else len(test_output)]
    summary = {line.split()[1]: line for line in test_output.splitlines()
               if line.startswith(("FAILED ", "ERROR ")) and len(line.split()) > 1}
    out = []
    for test in failing:
        text = summary.get(test, "")
        for name in _section_names(test):
            text += sections.get(name, "")
        if NETWORK_ERRORS.search(text):
            out.append(test)
    return out


def _section_names(test: str) -> list[str]:
    """pytest's failure section title for a test id: 'Class.test_x[param]' or 'test_x[param]'."""
    parts = test.split("::")
    names = [".".join(parts[1:])] if len(parts) > 1 else []
    if len(parts) > 1:
        names.append(parts[-1])
    return names or [test]


def _tail_text(text: str, lines: int = 8) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])
