"""`patchwright swebench eval`: grade predictions in containers built offline.

Per instance, like the official harness: logs/run_evaluation/RUN_ID/MODEL/INSTANCE/ holds
patch.diff, eval.sh, run_instance.log, test_output.txt and (once graded) report.json; we add
outcome.json (status, reason, timings, Python used). Any failure of one instance is recorded
there with its reason; the run goes on. Instances already graded are skipped unless --redo.
"""
from __future__ import annotations

import json
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from agent.swebench import envspec, grading
from agent.swebench.dataset import (KEY_PATCH, DatasetError, Predictions, Specs, load_dataset, load_predictions,
                                    oracle_predictions, select, test_directives, test_patch_files)
from agent.swebench.harness import Harness, SetupError
from agent.swebench.report import build_report, outcome_path, summary_lines
from sandbox import layers
from sandbox.base import SandboxError
from tools.errors import ToolError


@dataclass
class EvalOptions:
    dataset: Path
    run_id: str
    out_dir: Path
    predictions: Path | None = None
    oracle: str | None = None            # "gold" | "empty"
    instances: list[str] | None = None
    filter: str | None = None
    workers: int = 1
    timeout: float = 1800
    redo: bool = False


def evaluate(opts: EvalOptions, harness: Harness, specs: Specs, on_done=None, on_plan=None) -> dict:
    rows = load_dataset(opts.dataset)
    selected = select(rows, opts.instances, opts.filter)
    if opts.oracle:
        preds = oracle_predictions(rows, selected, opts.oracle)
    else:
        preds = load_predictions(opts.predictions)
    log_root = opts.out_dir / "logs" / "run_evaluation" / opts.run_id
    todo = [i for i in selected if i in preds.by_id and (opts.redo or not _graded(log_root, preds, i))]
    todo = [i for i in todo if preds.by_id[i].get(KEY_PATCH) not in ("", None) or opts.oracle == "empty"]
    if on_plan:
        on_plan(len(todo))
    lock = threading.Lock()

    def one(iid: str) -> dict:
        out = evaluate_instance(harness, specs, rows[iid], preds.by_id[iid], log_root, opts.oracle)
        if on_done:
            with lock:
                on_done(iid, out)
        return out

    if opts.workers <= 1:
        for iid in todo:
            one(iid)
    else:
        with ThreadPoolExecutor(max_workers=opts.workers) as pool:
            list(pool.map(one, todo))
    report = build_report(log_root, selected, set(rows), preds, opts.oracle, opts.run_id,
                          predictions=None if opts.oracle else opts.predictions, dataset=opts.dataset)
    (log_root).mkdir(parents=True, exist_ok=True)
    (log_root / "report.json").write_text(json.dumps(report, indent=2))
    (log_root / "summary.txt").write_text("\n".join(summary_lines(report)) + "\n")
    return report


def _graded(log_root: Path, preds: Predictions, iid: str) -> bool:
    path = outcome_path(log_root, preds.by_id[iid]["model_name_or_path"], iid)
    return path.is_file() and json.loads(path.read_text()).get("status") != "error"


def evaluate_instance(h: Harness, specs: Specs, row: dict, pred: dict, log_root: Path, oracle: str | None) -> dict:
    iid = row["instance_id"]
    path = outcome_path(log_root, pred["model_name_or_path"], iid)
    log_dir = path.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "report.json").unlink(missing_ok=True)
    patch = pred.get(KEY_PATCH) or ""
    (log_dir / "patch.diff").write_text(patch)
    out: dict = {"instance_id": iid, "model_name_or_path": pred["model_name_or_path"], "oracle": oracle,
                 "status": "error", "reason": "", "timings": {}}
    image = tmp_image = None
    try:
        spec = specs.spec(row["repo"], row["version"])
        started = time.monotonic()
        env = h.env_image(row)
        out["python"] = {"spec": env.python_spec, "used": env.python_used, "suite": env.suite}
        out["env_missing"] = env.missing
        out["timings"]["env_build_s"] = env.seconds if not env.cached else 0.0
        out["timings"]["env_cached"] = env.cached
        image, setup_s, _ = h.instance_image(row, env)
        out["timings"]["instance_setup_s"] = setup_s
        left_out = h.out_dir / "build_images" / "instances" / iid / "left_out.txt"
        if left_out.is_file():
            out.setdefault("notes", []).append("the mirror lacks these files of the base commit; checked out "
                                               f"without them: {left_out.read_text().split()}")
        eval_sh = envspec.eval_script(row, spec, test_directives(row), test_patch_files(row))
        (log_dir / "eval.sh").write_text(eval_sh)
        apply = None if oracle == "empty" else patch
        reinstall_log = ""
        if apply and envspec.PACKAGING.search(apply):
            patched, reinstall_log = h.reinstall_layer(row, image, apply)
            (log_dir / "reinstall.log").write_text(reinstall_log)
            if patched:
                tmp_image, apply = patched, None
                out.setdefault("notes", []).append("the patch touches packaging files: applied and installed "
                                                   "with the network before the offline test run")
        result = h.run_eval(row, tmp_image or image, apply, eval_sh)
        out["timings"]["eval_s"] = round(result.duration, 2)
        if result.truncated:  # graded from the part of the log the capped read kept
            out.setdefault("notes", []).extend(f"output cut: {note}" for note in result.truncated)
        out["timings"]["total_s"] = round(time.monotonic() - started, 2)
        apply_log, test_output = grading.split_log(result.output)
        (log_dir / "run_instance.log").write_text(apply_log)
        (log_dir / "test_output.txt").write_text(test_output)
        if result.timed_out:
            with open(log_dir / "test_output.txt", "a") as f:
                f.write(f"\n\nTimeout error: {h.timeout:g} seconds exceeded.")
            out["reason"] = f"tests timed out after {h.timeout:g} s"
        elif ">>>>> Patch Apply Failed" in apply_log + reinstall_log:
            out["reason"] = "patch does not apply (git apply, git apply --reject, patch --fuzz=5 all failed): " \
                            + grading._tail_text(apply_log)
        else:
            _grade(out, row, pred, patch, test_output, specs, log_dir)
            if result.oom_killed:
                out.setdefault("notes", []).append(f"the test container ran out of memory ({h.mem_limit})")
    except (SetupError, SandboxError, ToolError, DatasetError) as e:  # no image, no mirror, no spec
        out["reason"] = str(e)
        if getattr(e, "needs_internet", None):
            out["needs_internet"] = [e.needs_internet]
    except Exception as e:  # one instance never stops the run: keep its traceback with it
        out["reason"] = f"internal error: {type(e).__name__}: {e}"
        (log_dir / "traceback.txt").write_text(traceback.format_exc())
    finally:
        if tmp_image:
            layers.remove_image(h.sb, tmp_image)
        if image:
            h.drop_instance_image(image)
    path.write_text(json.dumps(out, indent=2))
    return out


def _grade(out: dict, row: dict, pred: dict, patch: str, test_output: str, specs: Specs, log_dir: Path) -> None:
    iid = row["instance_id"]
    report = grading.grade(iid, row["FAIL_TO_PASS"], row["PASS_TO_PASS"], patch, test_output,
                           specs.parser(row["repo"]))
    (log_dir / "report.json").write_text(json.dumps(report, indent=4))
    entry = report[iid]
    out["status"] = "resolved" if entry["resolved"] else "unresolved"
    failing = grading.failing_tests(entry)
    out["failing"] = failing
    if not entry["patch_successfully_applied"]:
        out["reason"] = "no test results between the official markers (test run crashed or was killed)"
    elif not entry["resolved"]:
        out["needs_internet"] = grading.network_failures(test_output, failing)
        out["reason"] = f"{len(failing)} FAIL_TO_PASS/PASS_TO_PASS test(s) not passing" + (
            f", {len(out['needs_internet'])} of them for want of the internet" if out["needs_internet"] else "")
