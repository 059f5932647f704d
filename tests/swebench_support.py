"""A SWE-bench-style fixture made in the test: a small git repository with a bug, its gold patch,
a test_patch adding the FAIL_TO_PASS test, a dataset line per instance and a spec for it."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = "local/calc"
VERSION = "0.1"
F2P = ["tests/test_ops.py::test_sub"]
P2P = ["tests/test_ops.py::test_add", "tests/test_ops.py::test_mul"]
PROBLEM = "calc.ops.sub returns the sum of its arguments: sub(5, 3) gives 8 instead of 2."
SPEC = {"python": "3.11", "install": "python -m pip install -e .", "pip_packages": ["pytest"],
        "test_cmd": "pytest -rA"}

OPS = '''def add(a, b):
    return a + b


def sub(a, b):
    return a + b


def mul(a, b):
    return a * b
'''
TESTS = '''from calc.ops import add, mul


def test_add():
    assert add(2, 3) == 5


def test_mul():
    assert mul(2, 3) == 6
'''
HIDDEN_TEST = '''

def test_sub():
    from calc.ops import sub
    assert sub(5, 3) == 2
'''
PYPROJECT = '''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "calc"
version = "0.1"

[tool.setuptools]
packages = ["calc"]
'''


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _diff_of(repo: Path, path: str, text: str) -> str:
    (repo / path).write_text(text)
    diff = _git(repo, "diff")
    _git(repo, "checkout", "--", path)
    return diff


def make_fixture(root: Path, instance_ids: list[str] | None = None) -> dict:
    """Returns paths and patches: repos (a folder holding local+calc), dataset, specs, gold,
    break_p2p (fixes sub, breaks mul), no_apply, hang (add never returns)."""
    repo = root / "repos" / "local+calc"
    (repo / "calc").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "calc" / "__init__.py").write_text("")
    (repo / "calc" / "ops.py").write_text(OPS)
    (repo / "tests" / "test_ops.py").write_text(TESTS)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "calc with a bug")
    base = _git(repo, "rev-parse", "HEAD").strip()
    fixed = OPS.replace("def sub(a, b):\n    return a + b", "def sub(a, b):\n    return a - b")
    patches = {
        "gold": _diff_of(repo, "calc/ops.py", fixed),
        "break_p2p": _diff_of(repo, "calc/ops.py", fixed.replace("return a * b", "return a * b + 1")),
        "hang": _diff_of(repo, "calc/ops.py", fixed.replace("def add(a, b):\n", "def add(a, b):\n    import time\n    time.sleep(3600)\n")),
        "no_apply": _diff_of(repo, "calc/ops.py", OPS.replace("return a * b", "return b * a")).replace("return a * b", "return a ** b"),
    }
    test_patch = _diff_of(repo, "tests/test_ops.py", TESTS + HIDDEN_TEST)
    ids = instance_ids or ["local__calc-1"]
    dataset = root / "dataset.jsonl"
    with dataset.open("w") as f:
        for iid in ids:
            f.write(json.dumps({"repo": REPO, "instance_id": iid, "base_commit": base, "patch": patches["gold"],
                                "test_patch": test_patch, "problem_statement": PROBLEM, "hints_text": "",
                                "created_at": "2024-01-01T00:00:00Z", "version": VERSION,
                                "FAIL_TO_PASS": json.dumps(F2P), "PASS_TO_PASS": json.dumps(P2P),
                                "environment_setup_commit": base, "difficulty": "<15 min fix"}) + "\n")
    specs = root / "specs.json"
    specs.write_text(json.dumps({"MAP_REPO_VERSION_TO_SPECS": {REPO: {VERSION: SPEC}},
                                 "MAP_REPO_TO_PARSER": {REPO: "parse_log_pytest"}}))
    return {"repos": root / "repos", "dataset": dataset, "specs": specs, "base": base,
            "test_patch": test_patch, **patches}


FIX_REPLY = """sub adds instead of subtracting.

calc/ops.py
<<<<<<< SEARCH
def sub(a, b):
    return a + b
=======
def sub(a, b):
    return a - b
>>>>>>> REPLACE
"""


def asked(server) -> str:
    """What each chat request to `server` ended with, for an assertion message: a run that asks
    more often than expected says why (edit feedback, test feedback, another stage)."""
    lines = []
    for i, body in enumerate(server.requests):
        last = (body.get("messages") or [{}])[-1]
        lines.append(f"request {i + 1}: {str(last.get('content', ''))[:400]!r}")
    return "\n".join(lines)
