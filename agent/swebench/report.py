"""The run report: the official make_run_report schema (schema_version 2), rebuilt from the
per-instance files on disk so an interrupted or resumed evaluation reports everything it did,
plus what an offline harness must say on top: oracle label, every error with its reason, tests
that need the internet, instances run on another Python than their spec asks."""
from __future__ import annotations

import json
from pathlib import Path

from agent.swebench.dataset import KEY_PATCH, Predictions, file_digest

HARNESS = "patchwright offline harness (Debian venv images built from the swebench 4.1.0 specs)"


def outcome_path(log_root: Path, model: str, instance_id: str) -> Path:
    return log_root / model.replace("/", "__") / instance_id / "outcome.json"


def build_report(log_root: Path, selected: list[str], dataset_ids: set[str], preds: Predictions,
                 oracle: str | None, run_id: str, predictions: Path | None = None,
                 dataset: Path | None = None) -> dict:
    """`predictions` and `dataset` are the files graded: recorded so `swebench compare` can find the
    report of a predictions file and refuse to pair runs graded against different datasets."""
    completed, resolved, unresolved, errors, empty = set(), set(), set(), {}, set()
    needs_internet, python_mismatch, timings, notes, missing_env = {}, {}, {}, {}, {}
    chosen = set(selected)
    in_scope = [i for i in preds.by_id if i in chosen]
    for iid in in_scope:
        pred = preds.by_id[iid]
        if pred.get(KEY_PATCH) in ("", None) and oracle != "empty":
            empty.add(iid)
            continue
        path = outcome_path(log_root, pred["model_name_or_path"], iid)
        if not path.is_file():
            errors[iid] = "not evaluated (the run stopped before this instance)"
            continue
        out = json.loads(path.read_text())
        timings[iid] = out.get("timings", {})
        if out.get("python", {}).get("spec") and out["python"]["spec"] != out["python"]["used"]:
            python_mismatch[iid] = out["python"]
        if out.get("env_missing"):
            missing_env[iid] = out["env_missing"]
        if out.get("notes"):
            notes[iid] = out["notes"]
        if out["status"] == "error":
            errors[iid] = out["reason"]
            if out.get("needs_internet"):  # an environment that cannot be built offline
                needs_internet[iid] = out["needs_internet"]
            continue
        completed.add(iid)
        (resolved if out["status"] == "resolved" else unresolved).add(iid)
        if out.get("needs_internet"):
            needs_internet[iid] = out["needs_internet"]
    for problem in preds.problems:
        iid = problem.get("instance_id")
        if iid and iid not in preds.by_id and iid in chosen:
            errors[iid] = f"malformed prediction (line {problem['line']}): {problem['reason']}"
    unknown = {i: "unknown instance id: not in the dataset" for i in preds.by_id if i not in dataset_ids}
    submitted_ids = sorted(set(preds.by_id) | {p["instance_id"] for p in preds.problems if p.get("instance_id")})
    offline = [i for i in in_scope if i not in needs_internet and i not in empty]
    report = {
        "total_instances": len(selected),
        "submitted_instances": len(submitted_ids),
        "completed_instances": len(completed),
        "resolved_instances": len(resolved),
        "unresolved_instances": len(unresolved),
        "empty_patch_instances": len(empty),
        "error_instances": len(errors) + len(unknown),
        "completed_ids": sorted(completed),
        "incomplete_ids": sorted(set(selected) - set(submitted_ids)),
        "empty_patch_ids": sorted(empty),
        "submitted_ids": submitted_ids,
        "resolved_ids": sorted(resolved),
        "unresolved_ids": sorted(unresolved),
        "error_ids": sorted(set(errors) | set(unknown)),
        "schema_version": 2,
        # Not in the official schema:
        "run_id": run_id,
        "harness": HARNESS,
        "oracle": oracle,
        "model_name_or_path": sorted({p["model_name_or_path"] for p in preds.by_id.values()}),
        "errors": {**errors, **unknown},
        "malformed_predictions": preds.problems,
        "needs_internet": needs_internet,
        "offline": {"instances": len(offline), "resolved": len(resolved & set(offline)),
                    "resolved_rate": round(len(resolved & set(offline)) / len(offline), 4) if offline else None},
        "python_mismatch": python_mismatch,
        "env_missing_packages": missing_env,
        "notes": notes,
        "timings": timings,
        "predictions": str(Path(predictions).resolve()) if predictions else None,
        "dataset": {"path": str(Path(dataset).resolve()), "sha256": file_digest(dataset)} if dataset else None,
    }
    return report


def summary_lines(report: dict) -> list[str]:
    label = f" (oracle-{report['oracle']}, not a model)" if report.get("oracle") else ""
    off = report["offline"]
    lines = [f"run {report['run_id']}{label}: {report['resolved_instances']} resolved, "
             f"{report['unresolved_instances']} unresolved, {report['error_instances']} errors, "
             f"{report['empty_patch_instances']} empty patches, of {report['total_instances']} instances",
             f"offline-gradable: {off['resolved']}/{off['instances']} resolved"
             + (f" ({off['resolved_rate']:.1%})" if off["resolved_rate"] is not None else "")]
    for iid, tests in report["needs_internet"].items():
        lines.append(f"  needs the internet: {iid}: {', '.join(tests[:4])}{' ...' if len(tests) > 4 else ''}")
    for iid, reason in report["errors"].items():
        lines.append(f"  error: {iid}: {reason[:300]}")
    for problem in report["malformed_predictions"]:
        lines.append(f"  malformed prediction line {problem['line']}: {problem['reason']}")
    return lines
