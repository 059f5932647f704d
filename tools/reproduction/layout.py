"""The repository's test layout near the code an issue is about, so the model puts its new test
where the project keeps tests and imports the code the way they do."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from tools.localize.roles import is_test_path, source_stem

SHOWN_TESTS = 8
EXAMPLE_LINES, EXAMPLE_CHARS = 25, 1500  # the start of one test file: its imports and first test


@dataclass(frozen=True)
class NearbyTests:
    tests: list[str]
    """Existing test modules, those nearest the targets first."""
    new_path: str
    """A free path for the new test beside the nearest tests (the prompt's example)."""


def nearby_tests(files: list[str], targets: list[str], limit: int = SHOWN_TESTS) -> NearbyTests:
    """Test modules (test_*.py, *_test.py) nearest `targets` (the localized files, best first): a
    target itself or one named after a target first, in the targets' order; then those sharing the
    most directories with a target; then the shortest paths."""
    tests = [f for f in files if f.endswith(".py") and is_test_path(f) and source_stem(f) is not None]

    def nearness(test: str) -> tuple:
        named = [i for i, t in enumerate(targets)
                 if t == test or (not is_test_path(t) and _stem(t) == source_stem(test))]
        shared = max((_shared_dirs(test, t) for t in targets), default=0)
        return (min(named, default=len(targets)), -shared, len(test), test)

    nearest = sorted(tests, key=nearness)[:limit]
    return NearbyTests(nearest, _free_path(files, nearest, targets))


def example_head(text: str) -> str:
    """The start of a test file, enough to show how tests import the code."""
    return "\n".join(text.splitlines()[:EXAMPLE_LINES])[:EXAMPLE_CHARS]


def _free_path(files: list[str], nearest: list[str], targets: list[str]) -> str:
    folder = str(PurePosixPath(nearest[0]).parent) if nearest else "tests"
    stem = next((_stem(t) for t in targets if not is_test_path(t)), "issue")
    taken = {f.rsplit("/", 1)[-1] for f in files}
    for n in range(1, 100):
        name = f"test_{stem}_issue{'' if n == 1 else n}.py"
        if name not in taken:
            return name if folder == "." else f"{folder}/{name}"
    return f"{folder}/test_reproduction.py"


def _stem(path: str) -> str:
    p = PurePosixPath(path)
    return p.parent.name if p.stem == "__init__" and p.parent.name else p.stem


def _shared_dirs(a: str, b: str) -> int:
    shared = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1]):
        if x != y:
            break
        shared += 1
    return shared
