"""`swebench eval` end to end on a fixture repository made in the test: real images built offline
from a test-only spec, real containers, the official parser and grading."""
from __future__ import annotations

import json

import pytest

from agent.swebench.dataset import load_specs
from agent.swebench.eval import EvalOptions, evaluate
from agent.swebench.harness import Harness
from swebench_support import F2P, P2P, make_fixture

pytestmark = [pytest.mark.docker]
IDS = ["local__calc-1", "local__calc-2", "local__calc-3", "local__calc-4", "local__calc-5"]


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return make_fixture(tmp_path_factory.mktemp("swebench"), IDS)


def _eval(fx, out, run_id, **kw):
    specs = load_specs(fx["specs"])
    harness = Harness(specs, fx["repos"], out, timeout=kw.pop("timeout", 300), cpus=1.0, mem_limit="1g")
    opts = EvalOptions(dataset=fx["dataset"], run_id=run_id, out_dir=out, **kw)
    return evaluate(opts, harness, specs)


def test_gold_resolves_empty_does_not(fixture, tmp_path):
    gold = _eval(fixture, tmp_path, "gold", oracle="gold", instances=["local__calc-1"])
    assert gold["resolved_ids"] == ["local__calc-1"] and gold["oracle"] == "gold"
    assert gold["model_name_or_path"] == ["oracle-gold"] and gold["schema_version"] == 2
    inst = tmp_path / "logs/run_evaluation/gold/oracle-gold/local__calc-1"
    for name in ("patch.diff", "eval.sh", "run_instance.log", "test_output.txt", "report.json", "outcome.json"):
        assert (inst / name).is_file(), name
    per = json.loads((inst / "report.json").read_text())["local__calc-1"]
    assert per["resolved"] and per["patch_successfully_applied"]
    assert per["tests_status"]["FAIL_TO_PASS"]["success"] == F2P
    assert sorted(per["tests_status"]["PASS_TO_PASS"]["success"]) == P2P
    outcome = json.loads((inst / "outcome.json").read_text())
    assert outcome["python"] == {"spec": "3.11", "used": "3.11", "suite": "bookworm"}
    assert "oracle-gold" in (tmp_path / "logs/run_evaluation/gold/summary.txt").read_text()

    empty = _eval(fixture, tmp_path, "empty", oracle="empty", instances=["local__calc-1"])
    assert empty["resolved_ids"] == [] and empty["unresolved_ids"] == ["local__calc-1"]
    per = json.loads((tmp_path / "logs/run_evaluation/empty/oracle-empty/local__calc-1/report.json").read_text())
    assert per["local__calc-1"]["tests_status"]["FAIL_TO_PASS"]["failure"] == F2P
    assert empty["needs_internet"] == {}

    again = _eval(fixture, tmp_path, "gold", oracle="gold", instances=["local__calc-1"])  # resumed: nothing to do
    assert again["resolved_ids"] == ["local__calc-1"]


def test_each_failure_is_recorded_per_instance(fixture, tmp_path):
    preds = tmp_path / "predictions.jsonl"
    lines = [json.dumps({"instance_id": iid, "model_name_or_path": "m/test", "model_patch": fixture[kind]})
             for iid, kind in zip(IDS[:4], ["gold", "break_p2p", "no_apply", "hang"])]
    lines += ['{"instance_id": "local__calc-5", "model_patch": 42',            # cut-off line
              json.dumps({"instance_id": "nope__nope-1", "model_name_or_path": "m/test", "model_patch": "x"})]
    preds.write_text("\n".join(lines) + "\n")
    report = _eval(fixture, tmp_path, "mixed", predictions=preds, workers=2, timeout=25)
    assert report["resolved_ids"] == ["local__calc-1"]
    assert report["unresolved_ids"] == ["local__calc-2"]
    per = json.loads((tmp_path / "logs/run_evaluation/mixed/m__test/local__calc-2/report.json").read_text())
    assert per["local__calc-2"]["tests_status"]["PASS_TO_PASS"]["failure"] == ["tests/test_ops.py::test_mul"]
    errors = report["errors"]
    assert "does not apply" in errors["local__calc-3"]
    assert "timed out" in errors["local__calc-4"]
    assert "unknown instance id" in errors["nope__nope-1"]
    assert report["malformed_predictions"][0]["line"] == 5
    assert set(report["error_ids"]) == {"local__calc-3", "local__calc-4", "nope__nope-1"}
    assert report["incomplete_ids"] == ["local__calc-5"]
    assert not (tmp_path / "logs/run_evaluation/mixed/m__test/local__calc-3/report.json").exists()
    timeout_log = (tmp_path / "logs/run_evaluation/mixed/m__test/local__calc-4/test_output.txt").read_text()
    assert "Timeout error" in timeout_log
