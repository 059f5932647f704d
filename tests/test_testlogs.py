"""tools.testlogs against output of a real pytest run, generated here."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools.testlogs import Evidence, compare, parse_junit, parse_pytest_output

SAMPLE = textwrap.dedent(
    """
    import pytest

    class TestCalc:
        def test_ok(self):
            assert 1 + 1 == 2

        class TestNested:
            def test_deep(self):
                assert 1 + 1 == 3

    @pytest.fixture
    def broken():
        raise RuntimeError("fixture exploded")

    def test_error(broken):
        pass

    @pytest.mark.parametrize("value", [1.5, "a b - c"])
    def test_param(value):
        assert value == 1.5

    def test_skip():
        pytest.skip("not today")

    @pytest.mark.xfail
    def test_xfail():
        assert False
    """
)

EXPECTED = {
    "tests/unit/test_sample.py::TestCalc::test_ok": "passed",
    "tests/unit/test_sample.py::TestCalc::TestNested::test_deep": "failed",
    "tests/unit/test_sample.py::test_error": "error",
    "tests/unit/test_sample.py::test_param[1.5]": "passed",
    "tests/unit/test_sample.py::test_param[a b - c]": "failed",
    "tests/unit/test_sample.py::test_skip": "skipped",
    "tests/unit/test_sample.py::test_xfail": "skipped",
}


def _pytest(root: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *args],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode in (0, 1, 2), proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def sample_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    (root / "pytest.ini").write_text("[pytest]\n")  # pins rootdir to root
    (root / "tests" / "unit").mkdir(parents=True)
    (root / "tests" / "unit" / "test_sample.py").write_text(SAMPLE)
    return root


@pytest.mark.parametrize("family", ["xunit2", "xunit1"])
def test_parse_junit_real_pytest(sample_repo: Path, family: str):
    # xunit2 (pytest's default) has no `file` attribute; xunit1 has one.
    out = sample_repo / f"junit-{family}.xml"
    _pytest(sample_repo, "-o", f"junit_family={family}", f"--junitxml={out}")
    assert parse_junit(out.read_text()) == EXPECTED


def test_parse_pytest_output_real_pytest(sample_repo: Path):
    log = _pytest(sample_repo)
    results = parse_pytest_output(log)
    # `SKIPPED [1] path:line: reason` names no test id, so skips drop out.
    assert results == {k: v for k, v in EXPECTED.items() if not k.endswith("test_skip")}


NESTING = textwrap.dedent(
    """
    import subprocess, sys, unittest

    def test_runs_pytest_inside(tmp_path):
        # As pytest's own tests do (pytester): a session run inside a test, its output printed.
        (tmp_path / "test_inner.py").write_text("def test_one():\\n    assert 0\\n\\ndef test_two():\\n    pass\\n")
        inner = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
                               capture_output=True, text=True, cwd=tmp_path)
        print(inner.stdout)
        assert inner.returncode == 1

    def test_runs_unittest_inside():
        class Case(unittest.TestCase):
            def test_no(self):
                self.fail("inner")
        print(unittest.TextTestRunner(stream=sys.stdout).run(Case("test_no")).wasSuccessful())
        print("FAILED (failures=1)")

    def test_outer_fails():
        assert 0
    """
)


def test_sessions_run_inside_tests_give_no_results_of_their_own(tmp_path: Path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_outer.py").write_text(NESTING)
    log = _pytest(tmp_path)
    assert "test_inner.py::test_one" in log and "FAILED (failures=1)" in log  # the inner output is in the log
    assert parse_pytest_output(log) == {"test_outer.py::test_runs_pytest_inside": "passed",
                                        "test_outer.py::test_runs_unittest_inside": "passed",
                                        "test_outer.py::test_outer_fails": "failed"}


def test_sessions_of_older_pytest_and_a_log_cut_inside_a_session():
    inner = ["=== test session starts ===", "FAILED t.py::inner - assert 0", "=== 1 failed in 0.02 seconds ==="]
    outer = ["=== test session starts ===", *inner, "=== short test summary info ===",
             "PASSED testing/test_x.py::test_outer", "=== 1 passed in 1.50 seconds ==="]
    assert parse_pytest_output("\n".join(outer)) == {"testing/test_x.py::test_outer": "passed"}
    # The outer session cut off (no end line of its own): every line counts, as before.
    cut = outer[:4] + ["PASSED testing/test_x.py::test_outer"]
    assert parse_pytest_output("\n".join(cut)) == {"t.py::inner": "failed", "testing/test_x.py::test_outer": "passed"}


def test_text_and_junit_agree_on_collection_error(tmp_path: Path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_broken.py").write_text("import no_such_module_here\n")
    junit = tmp_path / "j.xml"
    log = _pytest(tmp_path, f"--junitxml={junit}")
    assert parse_junit(junit.read_text()) == {"tests/test_broken.py": "error"}
    assert parse_pytest_output(log) == {"tests/test_broken.py": "error"}


def test_parse_junit_garbage_is_empty():
    assert parse_junit("not xml <") == {}
    assert parse_pytest_output("") == {}


def test_compare_evidence():
    before = {
        "t.py::fixed": "failed",
        "t.py::fixed_err": "error",
        "t.py::stays_ok": "passed",
        "t.py::regressed": "passed",
        "t.py::still_bad": "failed",
        "t.py::skipped_then_fail": "skipped",
        "u.py::lost_to_import_error": "passed",
        "v.py::deselected": "passed",
    }
    after = {
        "t.py::fixed": "passed",
        "t.py::fixed_err": "passed",
        "t.py::stays_ok": "passed",
        "t.py::regressed": "error",
        "t.py::still_bad": "failed",
        "t.py::skipped_then_fail": "failed",
        "t.py::new_test": "passed",
        "u.py": "error",
    }
    assert compare(before, after) == Evidence(
        fail_to_pass=["t.py::fixed", "t.py::fixed_err"],
        pass_to_fail=["t.py::regressed", "u.py::lost_to_import_error"],
        still_failing=["t.py::skipped_then_fail", "t.py::still_bad", "u.py"],
        passed_after=["t.py::fixed", "t.py::fixed_err", "t.py::new_test", "t.py::stays_ok"],
    )


@pytest.mark.parametrize("exit_code", [2, 4, 5])
def test_a_session_that_stopped_before_any_test_breaks_every_test_that_passed(exit_code):
    # Seen on requests-5414: the patch broke requests/models.py, conftest.py could not import it,
    # and pytest ran nothing (exit code 4). That read as "no regression", the tier of a harmless patch.
    before = {"t.py::a": "passed", "t.py::b": "failed", "u.py::c": "passed"}
    assert compare(before, {}, exit_code).pass_to_fail == ["t.py::a", "u.py::c"]
    assert compare(before, {}, 1).pass_to_fail == [] and compare(before, {}).pass_to_fail == []
