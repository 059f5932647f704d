"""Shared pieces for the fix-pipeline tests: settings for a temporary home, scripted replies for
the bundled demo repository (real model-format answers, replayed over HTTP) and the demo's test
runs as the scripted sandbox reports them."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from agent.config import RunConfig, Settings
from agent.models import OpenAIModelConfig
from sandbox.scripted import ScriptedResult

ROOT = Path(__file__).resolve().parents[1]

FIX_REPLY = """The upper bound is never used: the inner min() takes `low` where it needs `high`.

textkit/numbers.py
<<<<<<< SEARCH
    return max(low, min(value, low))
=======
    return max(low, min(value, high))
>>>>>>> REPLACE
"""

# Applies cleanly but does not fix the bug: values above the range still come back as `low`.
WRONG_REPLY = """textkit/numbers.py
<<<<<<< SEARCH
    return max(low, min(value, low))
=======
    return min(value, max(low, value))
>>>>>>> REPLACE
"""

# Spacing differs from the real line, so the SEARCH text matches nothing.
NO_MATCH_REPLY = """textkit/numbers.py
<<<<<<< SEARCH
    return max(low,min(value,low))
=======
    return max(low, min(value, high))
>>>>>>> REPLACE
"""

# The same fix as a whole-function rewrite (run.edit_format = "whole_function").
FUNCTION_FIX_REPLY = '''The upper bound is never used: the inner min() takes `low` where it needs `high`.

FUNCTION textkit/numbers.py::clamp
```python
def clamp(value, low, high):
    """Limit ``value`` to the range [low, high]."""
    return max(low, min(value, high))
```
'''

# The demo's tests as the scripted sandbox reports them: before the fix the two clamp tests fail.
DEMO_TESTS = ["tests/test_numbers.py::test_parse_int_list",
              "tests/test_numbers.py::test_clamp_limits_values_outside_the_range",
              "tests/test_numbers.py::test_clamp_keeps_values_inside_the_range",
              "tests/test_words.py::test_word_count_simple"]
BUG_TESTS = sorted(DEMO_TESTS[1:3])


def run_result(failing: list[str], output: str = "") -> ScriptedResult:
    """A pytest run of the demo tests where `failing` fail, as JUnit XML (classname is the dotted module)."""
    cases = []
    for test in DEMO_TESTS:
        path, name = test.split("::")
        failure = '<failure message="assert">AssertionError</failure>' if test in failing else ""
        cases.append(f'<testcase classname="{path[:-3].replace("/", ".")}" name="{name}">{failure}</testcase>')
    xml = f'<testsuites><testsuite name="pytest" tests="{len(cases)}">{"".join(cases)}</testsuite></testsuites>'
    return ScriptedResult(exit_code=1 if failing else 0, output=output or f"{len(failing)} failed", junit_xml=xml)


BEFORE, AFTER = run_result(BUG_TESTS), run_result([])


def make_settings(home: Path, base_url: str, **run) -> Settings:
    model = OpenAIModelConfig(base_url=base_url, max_retries=0, timeout=5.0)
    return Settings(home=home, model=model, run=RunConfig(**run))


def cli_env(home: Path, base_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHWRIGHT_")}
    env.update(PATCHWRIGHT_HOME=str(home), PATCHWRIGHT_MODEL__BASE_URL=base_url,
               PATCHWRIGHT_MODEL__MAX_RETRIES="0", PATCHWRIGHT_MODEL__TIMEOUT="3")
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent.cli", *args]
