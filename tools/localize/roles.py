"""What a file is for, judged from its path: source, test, docs, example, benchmark, generated.

Fixes land in source files; tests, docs and examples explain a bug but rarely hold its fix, so
they get a prior below 1 unless the issue names them. The test-to-source map turns a test file the
issue names into the source files it exercises.
"""
from __future__ import annotations

import re

_TEST_DIRS = {"tests", "test", "testing", "__tests__", "spec", "specs"}
_DOC_DIRS = {"doc", "docs", "documentation"}
_EXAMPLE_DIRS = {"examples", "example", "samples", "sample", "demo", "demos", "tutorials", "gallery"}
_BENCH_DIRS = {"benchmarks", "benchmark", "bench", "asv_bench"}
# Shipped third-party assets: a theme's jquery.js is nobody's bug in this repository.
_ASSET_DIRS = {"static", "assets", "vendor", "vendored", "_vendor", "third_party", "extern", "externals"}
_SCRIPT_FILES = {"setup.py", "conftest.py", "noxfile.py", "tasks.py", "fabfile.py", "conf.py"}
_GENERATED = re.compile(r"(_pb2(_grpc)?\.py|\.min\.js|_generated\.\w+|\.d\.ts)$|(^|/)(generated|gen)/")
_TEST_NAME = re.compile(r"^(test_.*|.*_test|.*_tests|tests?|.*\.test|.*\.spec|.*Test|.*Tests)\.\w+$")

# Priors multiply a file's fused score. Chosen on the development split (see benchmarks/).
PRIORS = {"source": 1.0, "init": 0.7, "test": 0.3, "docs": 0.3, "example": 0.35,
          "benchmark": 0.35, "script": 0.6, "generated": 0.2, "asset": 0.2}
# Files in a language that is rare in the repository (a Python project's bundled JavaScript).
MINORITY_LANGUAGE = 0.5
MINORITY_SHARE = 0.1


def role(path: str) -> str:
    parts = path.split("/")
    name, dirs = parts[-1], {p.lower() for p in parts[:-1]}
    if _GENERATED.search(path):
        return "generated"
    if dirs & _ASSET_DIRS or "non-minified-js" in dirs:
        return "asset"
    if dirs & _TEST_DIRS or _TEST_NAME.match(name) or name == "conftest.py":
        return "test"
    if dirs & _DOC_DIRS:
        return "docs"
    if dirs & _EXAMPLE_DIRS:
        return "example"
    if dirs & _BENCH_DIRS:
        return "benchmark"
    if name in _SCRIPT_FILES or (len(parts) == 1 and name.endswith(".py")):
        return "script"  # top-level helper scripts: setup.py, bin-like one-offs
    if name in ("__init__.py", "index.js", "index.ts", "mod.rs", "lib.rs"):
        return "init"
    return "source"


def is_test_path(path: str) -> bool:
    return role(path) == "test"


def prior(path: str) -> float:
    return PRIORS[role(path)]


def source_stem(test_path: str) -> str | None:
    """test_foo.py / foo_test.go / Foo.test.ts / FooTest.java -> the stem of the file under test."""
    name = test_path.rsplit("/", 1)[-1]
    stem, _, _ = name.partition(".")
    for pre in ("test_", "tests_"):
        if stem.startswith(pre):
            return stem[len(pre):] or None
    for suf in ("_test", "_tests", "Tests", "Test"):
        if stem.endswith(suf) and len(stem) > len(suf):
            return stem[: -len(suf)]
    if name.count(".") >= 2 and name.split(".")[-2] in ("test", "spec"):
        return stem
    return None


def sources_for_test(test_path: str, files: list[str]) -> list[str]:
    """Non-test files whose stem matches the test's, nearest in the directory tree first."""
    stem = source_stem(test_path)
    if not stem:
        return []
    hits = [f for f in files if f.rsplit("/", 1)[-1].partition(".")[0] == stem and role(f) != "test"]
    tparts = test_path.split("/")

    def distance(f: str) -> int:
        fparts = f.split("/")
        common = 0
        while common < min(len(fparts), len(tparts)) - 1 and fparts[common] == tparts[common]:
            common += 1
        return len(fparts) + len(tparts) - 2 * common

    return sorted(hits, key=lambda f: (distance(f), f))
