"""SWE-bench mode pieces without Docker: specs to scripts, grading, predictions, the run report."""
from __future__ import annotations

import json

from agent.swebench import envspec, grading
from agent.swebench.dataset import load_predictions, load_specs, oracle_predictions
from agent.swebench.report import build_report, outcome_path
from agent.swebench.run import pick_patch

PYTEST_LOG = """>>>>> patchwright: apply
>>>>> Applied Patch (git apply --verbose)
>>>>> patchwright: eval
+ : '>>>>> Start Test Output'
+ pytest -rA tests/test_x.py
=================================== FAILURES ===================================
___________________________ TestNet.test_get[http] ____________________________
E   requests.exceptions.ConnectionError: HTTPConnectionPool(host='httpbin.org', port=80): Max retries exceeded with url: /get (Caused by NewConnectionError('Failed to establish a new connection: [Errno -3] Temporary failure in name resolution'))
___________________________________ test_b ____________________________________
E   assert 1 == 2
PASSED tests/test_x.py::test_a
FAILED tests/test_x.py::TestNet::test_get[http] - requests.exceptions.ConnectionError
FAILED tests/test_x.py::test_b - assert 1 == 2
+ : '>>>>> End Test Output'
"""


def test_suites_follow_the_spec_python():
    assert envspec.choose_suite("3.9") == ("bullseye", "3.9")
    assert envspec.choose_suite("3.6") == ("bullseye", "3.9")
    assert envspec.choose_suite("3.10") == ("bullseye", "3.9")   # tie: the older, for era-pinned wheels
    assert envspec.choose_suite("3.11") == ("bookworm", "3.11")
    assert envspec.choose_suite("3.13") == ("trixie", "3.13")


def test_conda_names_become_pip_requirements():
    assert envspec.conda_to_pip("matplotlib-base") == "matplotlib"
    assert envspec.conda_to_pip("dask-core") == "dask"
    assert envspec.conda_to_pip("numpy=1.23") == "numpy==1.23.*"
    assert envspec.conda_to_pip("setuptools==38.2.4") == "setuptools==38.2.4"
    assert envspec.conda_to_pip("fsspec!=2021.7.0") == "fsspec!=2021.7.0"
    assert envspec.conda_to_pip("hdf5") is None and envspec.conda_to_pip("python=3.10") is None


def test_eval_script_is_the_official_one_offline():
    row = {"repo": "psf/requests", "instance_id": "psf__requests-1", "base_commit": "abc123",
           "test_patch": "diff --git a/test_requests.py b/test_requests.py\n"}
    spec = {"install": "python -m pip install .", "test_cmd": "pytest -rA"}
    script = envspec.eval_script(row, spec, ["test_requests.py"], ["test_requests.py"])
    assert "git checkout abc123 test_requests.py" in script
    assert script.index(": '>>>>> Start Test Output'") < script.index("pytest -rA test_requests.py") < script.index(": '>>>>> End Test Output'")
    assert "--no-index --no-build-isolation --no-deps --force-reinstall ." in script
    assert envspec.eval_install("python -m pip install -e .[test]") is None
    runner = envspec.runner_script("psf/requests", apply_patch=True)
    assert "git apply --verbose --reject" in runner and "patch --batch --fuzz=5 -p1 -i" in runner
    assert "HTTPBIN_URL" in runner and "exit 97" in runner
    assert "Applied Patch" not in envspec.runner_script("pallets/flask", apply_patch=False)
    assert envspec.PACKAGING.search("diff --git a/setup.cfg b/setup.cfg\n")
    assert envspec.PACKAGING.search("x\ndiff --git a/requirements/dev.txt b/requirements/dev.txt\n") is None
    assert not envspec.PACKAGING.search("diff --git a/pkg/setup_utils.py b/pkg/setup_utils.py\n")


def test_sphinx_instances_get_tox_wrappers():
    specs = load_specs()
    spec = specs.spec("sphinx-doc/sphinx", "4.1")
    script = envspec.instance_script({"repo": "sphinx-doc/sphinx"}, spec)
    assert ".tox/py39/bin" in script and "exec /venv/bin/python" in script
    assert script.strip().endswith("git commit --allow-empty -am SWE-bench")


def test_grading_uses_the_official_parser_and_rules():
    parser = load_specs().parser("psf/requests")
    apply_log, test_output = grading.split_log(PYTEST_LOG)
    assert "Applied Patch" in apply_log and "Start Test Output" in test_output
    f2p, p2p = ["tests/test_x.py::test_a"], ["tests/test_x.py::test_b", "tests/test_x.py::TestNet::test_get[http]"]
    report = grading.grade("i-1", f2p, p2p, "diff", test_output, parser)["i-1"]
    assert report["patch_successfully_applied"] and not report["resolved"]
    assert report["tests_status"]["FAIL_TO_PASS"]["success"] == f2p
    failing = grading.failing_tests(report)
    assert grading.network_failures(test_output, failing) == ["tests/test_x.py::TestNet::test_get[http]"]
    crashed = "INTERNALERROR> socket.gaierror: [Errno -3] Temporary failure in name resolution\n"
    assert grading.network_failures(crashed, ["a", "b"]) == ["a", "b"]
    resolved = grading.grade("i-1", f2p, [], "diff", test_output, parser)["i-1"]
    assert resolved["resolved"]
    assert grading.grade("i-1", f2p, p2p, None, test_output, parser)["i-1"]["patch_is_None"]
    no_markers = grading.grade("i-1", f2p, [], "diff", "PASSED tests/test_x.py::test_a\n", parser)["i-1"]
    assert not no_markers["patch_successfully_applied"] and not no_markers["resolved"]


def test_bad_prediction_lines_are_recorded_not_fatal(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join([
        json.dumps({"instance_id": "a", "model_name_or_path": "m", "model_patch": "x"}),
        "{not json",
        json.dumps({"instance_id": "b", "model_name_or_path": "m", "model_patch": 3}),
        json.dumps({"model_patch": "x"}),
        json.dumps({"instance_id": "a", "model_name_or_path": "m", "model_patch": "y"}),
    ]) + "\n")
    preds = load_predictions(path)
    assert list(preds.by_id) == ["a"] and preds.by_id["a"]["model_patch"] == "x"
    assert [p["line"] for p in preds.problems] == [2, 3, 4, 5]
    oracle = oracle_predictions({"a": {"patch": "P"}}, ["a"], "empty")
    assert oracle.by_id["a"] == {"instance_id": "a", "model_name_or_path": "oracle-empty", "model_patch": ""}


def test_report_keeps_the_official_schema(tmp_path):
    preds = oracle_predictions({i: {"patch": "P"} for i in "abcd"}, list("abcd"), "gold")
    outcomes = {"a": {"status": "resolved"}, "b": {"status": "unresolved", "needs_internet": ["t::x"]},
                "c": {"status": "error", "reason": "patch does not apply"}}
    for iid, out in outcomes.items():
        path = outcome_path(tmp_path, "oracle-gold", iid)
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"python": {"spec": "3.6", "used": "3.9"}, **out}))
    report = build_report(tmp_path, list("abcde"), set("abcde"), preds, "gold", "r")
    official = ["total_instances", "submitted_instances", "completed_instances", "resolved_instances",
                "unresolved_instances", "empty_patch_instances", "error_instances", "completed_ids", "incomplete_ids",
                "empty_patch_ids", "submitted_ids", "resolved_ids", "unresolved_ids", "error_ids", "schema_version"]
    assert list(report)[:len(official)] == official
    assert report["resolved_ids"] == ["a"] and report["unresolved_ids"] == ["b"]
    assert report["error_ids"] == ["c", "d"] and report["incomplete_ids"] == ["e"]
    assert report["needs_internet"] == {"b": ["t::x"]}
    assert report["offline"] == {"instances": 3, "resolved": 1, "resolved_rate": 0.3333}
    assert report["oracle"] == "gold" and report["python_mismatch"]["a"]["spec"] == "3.6"


def test_prediction_prefers_passing_then_fewest_failures():
    attempts = [{"diff": "A", "outcome": "tests_failed", "failing": ["x", "y"]},
                {"diff": "B", "outcome": "tests_failed", "failing": ["x"]},
                {"diff": "", "outcome": "patch_failed"}]
    assert pick_patch({"attempts": attempts}) == "B"
    assert pick_patch({"attempts": attempts + [{"diff": "C", "outcome": "tests_passed"}]}) == "C"
    assert pick_patch({"attempts": [{"diff": "", "outcome": "patch_failed"}]}) == ""


def test_prediction_prefers_an_attempt_without_regressions_to_one_with_fewer_failures():
    # B fails fewer tests, but one of them passed on the base commit: A's failures were there before.
    attempts = [{"attempt": 1, "diff": "A", "outcome": "tests_failed", "failing": ["x", "y"], "tier": 2,
                 "regressions": []},
                {"attempt": 2, "diff": "B", "outcome": "tests_failed", "failing": ["z"], "tier": 3,
                 "regressions": ["z"]}]
    assert pick_patch({"attempts": attempts}) == "A"
    same = [{**attempts[0], "diff": "A2", "attempt": 3}]  # as good as A, and later: it saw A's test output
    assert pick_patch({"attempts": attempts + same}) == "A2"


def test_run_verification_starts_the_same_local_httpbin_as_grading(tmp_path, monkeypatch):
    """Early requests tests call $HTTPBIN_URL: without the local service they wait on the
    disabled network until the timeout (seven minutes a run, seen on psf__requests-1724)."""
    import subprocess
    from types import SimpleNamespace

    from agent.swebench import verify_env

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("a\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a"],
                   check=True)
    scripts = []

    def fake_run_script(sb, env, script, **kw):
        scripts.append(script)
        return verify_env.ExecResult(0, ""), {}

    monkeypatch.setattr(verify_env.layers, "run_script", fake_run_script)
    monkeypatch.setattr(verify_env.layers, "ensure_network", lambda sb: "none")
    harness = SimpleNamespace(specs=SimpleNamespace(spec=lambda repo, version: {"test_cmd": "pytest -rA"}),
                              sb=None, mem_limit="1g", cpus=1.0)
    for repo, expected in (("psf/requests", True), ("pallets/flask", False)):
        box = verify_env.SpecSandbox(harness, {"repo": repo, "version": "2.0", "instance_id": "x"}, "issue")
        box.run("env", tmp_path, "bash /patchwright/regression.sh")
        assert ("export HTTPBIN_URL=http://127.0.0.1:" in scripts[-1]) is expected
        assert scripts[-1].index("cd /testbed") < scripts[-1].index("bash /patchwright/regression.sh")


def test_the_regression_set_covers_the_modules_a_candidate_changes(tmp_path):
    # The issue is about parsing; a candidate edits the formatter, which localization did not rank.
    pkg, tests = tmp_path / "pkg", tmp_path / "tests"
    pkg.mkdir(), tests.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "parse.py").write_text("def parse_header(line):\n    return line.split(':')\n")
    (pkg / "render.py").write_text("def render_table(rows):\n    return '\\n'.join(rows)\n")
    (tests / "test_parse.py").write_text("from pkg.parse import parse_header\n\ndef test_parse():\n    pass\n")
    (tests / "test_render.py").write_text("from pkg.render import render_table\n\ndef test_render():\n    pass\n")
    issue = "parse_header splits a header line wrongly when the value holds a colon"
    from agent.swebench.verify_env import choose_tests

    assert choose_tests(tmp_path, issue) == ["tests/test_parse.py"]
    assert choose_tests(tmp_path, issue, changed=["pkg/render.py", "tests/test_new.py"]) == [
        "tests/test_render.py", "tests/test_parse.py"]
