"""What the fix graph's verify node runs on a SWE-bench instance.

A strong scaffold tests its patch where the project's tests actually run, and must not peek at
the hidden tests. So verify gets the instance's own environment (the spec's install recipe: the
same cached image eval uses) and runs the repository's *existing* tests for the code the issue is
about: test files named after, or importing, the modules the attempt's candidates change and the
ones localization ranks highest for the problem statement. FAIL_TO_PASS, PASS_TO_PASS and test_patch never reach this module: it is
handed the instance's public fields only (repo, version, commits).
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from agent.swebench.envspec import service_lines
from agent.swebench.harness import Harness
from sandbox import layers
from sandbox.base import ExecResult
from tools.edits.diff import diff_worktree

PUBLIC_FIELDS = ("instance_id", "repo", "version", "base_commit", "environment_setup_commit")
REGRESSION_SCRIPT = "/patchwright/regression.sh"
TEST_COMMAND = f"bash {REGRESSION_SCRIPT}"
MAX_TEST_FILES = 3


def public_row(row: dict) -> dict:
    return {k: row[k] for k in PUBLIC_FIELDS if k in row}


class SpecSandbox:
    """`prepare` builds (or reuses) the spec's environment and the instance on top of it, and
    picks the regression test files; `run` applies the working copy's diff there and runs them."""

    def __init__(self, harness: Harness, row: dict, issue_text: str, timeout: float = 900):
        self.harness, self.row, self.issue_text, self.timeout = harness, public_row(row), issue_text, timeout
        self.spec = harness.specs.spec(self.row["repo"], self.row["version"])
        self.images: list[str] = []
        self.tests: list[str] = []

    @property
    def run_id(self) -> str:  # sandbox.base.Sandbox: the harness's containers carry it
        return self.harness.sb.run_id

    def prepare(self, repo_dir: Path, install: list[str]) -> str:
        env = self.harness.env_image(self.row)
        image, _, _ = self.harness.instance_image(self.row, env)
        self.images.append(image)
        self.tests = choose_tests(Path(repo_dir), self.issue_text)
        return image

    def focus(self, repo_dir: Path, changed: list[str]) -> None:
        """Before verify's first test run: the regression set also covers the modules the attempt's
        candidates change (a candidate may edit code localization did not rank)."""
        self.tests = choose_tests(Path(repo_dir), self.issue_text, changed=changed)

    def script(self) -> str:
        if not self.tests:
            return "echo 'patchwright: no existing test file matches the code this issue is about'\n"
        return "set -x\n" + " ".join([self.spec["test_cmd"], *map(shlex.quote, self.tests)]) + "\n"

    def reproduce_command(self) -> str:
        """run.reproduce_command here: the instance's own test command on the one new test file
        (the hidden tests never come into it). Runners that take module labels rather than paths
        (Django's runtests.py) cannot run it: such a test reads as broken, and the run goes on."""
        return f"{self.spec['test_cmd']} {{test}}"

    def run(self, env: str, repo_dir: Path, command: str, *, timeout: float | None = None,
            junit_path: str | None = "/tmp/junit.xml") -> ExecResult:
        diff = diff_worktree(Path(repo_dir))
        # The same local services as grading: without httpbin, early requests tests wait on the
        # disabled network until the timeout.
        lines = ["cd /testbed", *service_lines(self.row["repo"])]
        if diff.strip():
            lines.append("git apply --whitespace=nowarn /patchwright/patch.diff || exit 125")
        lines.append(command)
        files = {REGRESSION_SCRIPT: self.script().encode(), "/patchwright/patch.diff": diff.encode()}
        result, extra = layers.run_script(self.harness.sb, env, "\n".join(lines) + "\n", timeout=timeout or self.timeout,
                                          files=files, network=layers.ensure_network(self.harness.sb),
                                          mem_limit=self.harness.mem_limit, cpus=self.harness.cpus,
                                          read_files=(junit_path,) if junit_path else ())
        result.junit_xml = extra.get(junit_path) if junit_path else None
        return result

    def close(self) -> None:
        for image in self.images:
            self.harness.drop_instance_image(image)


class NoTestSandbox:
    """--verify none: every applicable patch passes; the prediction is the first one. Labelled in
    the output of every test run so no report mistakes it for evidence."""

    run_id = ""  # sandbox.base.Sandbox: it starts no container

    def prepare(self, repo_dir: Path, install: list[str]) -> str:
        return "none"

    def run(self, env, repo_dir, command, *, timeout=None, junit_path=None) -> ExecResult:
        return ExecResult(0, "patchwright: tests not run (swebench run --verify none)\n")

    def close(self) -> None:
        pass


def choose_tests(root: Path, issue_text: str, limit: int = MAX_TEST_FILES, changed: list[str] = ()) -> list[str]:
    """Existing test files for the modules a patch changes (`changed`, one each) and for the ones
    localization ranks first for the issue (up to `limit`): by name (test_<module>.py) first, then
    by importing the module."""
    from tools.index import build_index
    from tools.localize import is_test_path, localize

    index = build_index(root)
    loc = localize(index, issue_text, top_files=10)
    ranked = [p for p, _ in loc.files if p.endswith(".py") and not is_test_path(p)][:3]
    touched = [p for p in dict.fromkeys(changed) if p.endswith(".py") and not is_test_path(p)][:MAX_TEST_FILES]
    sources = touched + [p for p in ranked if p not in touched]
    limit += len(touched)
    tests = [p for p in index.files() if is_test_path(p) and Path(p).name.startswith("test") and p.endswith(".py")]
    chosen: list[str] = []
    for src in sources:
        stem = Path(src).stem if Path(src).stem != "__init__" else Path(src).parent.name
        module = src[:-3].replace("/", ".").removesuffix(".__init__")
        by_name = [t for t in tests if Path(t).stem in (f"test_{stem}", f"test{stem}")]
        mention = re.compile(rf"(from\s+{re.escape(module)}\s+import|import\s+{re.escape(module)}\b|"
                             rf"from\s+{re.escape(module.rpartition('.')[0])}\s+import\s+[^\n]*\b{re.escape(stem)}\b)")
        by_import = [t for t in tests if t not in by_name and module.count(".") and mention.search(index.read(t))]
        for t in by_name + sorted(by_import, key=len):
            if t not in chosen:
                chosen.append(t)
                break
    return chosen[:limit]
