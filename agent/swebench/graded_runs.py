"""The graded runs `swebench compare` reads: a run's predictions, summary.json and eval report, found
from a run id under OUT or from a folder, and the refusals (no such run, not graded yet, graded
against another dataset) as CompareError, each naming the run and what to do."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from agent.swebench.dataset import KEY_MODEL, DatasetError, file_digest, load_predictions

# Ours and the official format first; preds.json is mini-swe-agent's (a dict iid -> prediction).
PREDICTION_FILES = ("predictions.jsonl", "preds.json")


class CompareError(DatasetError):
    """Runs that cannot be compared as given; the message names the run and what to do about it."""


@dataclass
class GradedRun:
    label: str                       # the run id, or the folder's name
    run_dir: Path | None             # None for a run that is only an eval report (e.g. `swebench eval --gold`)
    report: dict                     # the eval report (official make_run_report schema, maybe with our fields)
    predictions: dict[str, dict]     # instance id -> prediction; empty without a predictions file
    summary: dict | None             # summary.json of `swebench run` or the peer runner, if there is one
    dataset_path: str | None = None
    dataset_sha256: str | None = None

    @property
    def models(self) -> list[str]:
        names = {p[KEY_MODEL] for p in self.predictions.values()} or set(self.report.get("model_name_or_path") or [])
        return sorted(names)

    @property
    def oracle(self) -> str | None:
        """"oracle-gold" or "oracle-empty" when the run grades the dataset's own patches or none, not a model."""
        if self.report.get("oracle"):
            return f"oracle-{self.report['oracle']}"
        return next((m for m in self.models if m.startswith("oracle-")), None)

    @cached_property
    def graded_ids(self) -> set[str]:
        """The instances the run was graded on: every id the report puts in one of its lists."""
        r = self.report
        return set().union(*(r.get(k) or [] for k in ("completed_ids", "empty_patch_ids", "error_ids", "incomplete_ids")))

    def instance(self, iid: str) -> dict:
        return ((self.summary or {}).get("instances") or {}).get(iid) or {}

    def trajectory(self, iid: str) -> Path | None:
        """summary.json's "trajectory" (relative to the run folder, or absolute), else runs/IID/trajectory.jsonl."""
        if self.run_dir is None:
            return None
        recorded = self.instance(iid).get("trajectory")
        for path in ([self.run_dir / recorded] if recorded else []) + [self.run_dir / "runs" / iid / "trajectory.jsonl"]:
            if path.is_file():  # an absolute `recorded` replaces run_dir in the join
                return path
        return None


def load_run(arg: str, out: Path) -> GradedRun:
    """RUN_ID under OUT (OUT/RUN_ID/ and OUT/logs/run_evaluation/RUN_ID/report.json), else a folder
    holding predictions and report.json, else a predictions file of any name (official format, or
    mini-swe-agent's preds.json) with its eval report beside it (report.json, or the one official
    report there) or recorded as its grader by our eval."""
    log_root = out / "logs" / "run_evaluation"
    folder = Path(arg).expanduser()
    is_id = Path(arg).name == arg and arg not in (".", "..") and not folder.is_file()  # a path is never an id
    if is_id and (_predictions_in(out / arg) or (log_root / arg / "report.json").is_file()):
        label, run_dir, report_path = arg, out / arg, log_root / arg / "report.json"
        predictions_path = _predictions_in(run_dir)
    elif folder.is_dir() and (_predictions_in(folder) or (folder / "report.json").is_file()):
        label, run_dir, report_path = folder.resolve().name, folder, folder / "report.json"
        predictions_path = _predictions_in(run_dir)
    elif folder.is_file():
        predictions_path, run_dir = folder, folder.parent
        label = folder.stem if folder.stem not in ("predictions", "preds", "all_preds") else run_dir.resolve().name
        report_path = _report_beside(folder)
    else:
        raise CompareError(f"run {arg!r} not found: looked for {out / arg}/predictions.jsonl (or preds.json), "
                           f"{log_root / arg}/report.json, a folder {folder} holding predictions or report.json, "
                           "and a predictions file of that name")
    summary = _json(run_dir / "summary.json") if (run_dir / "summary.json").is_file() else None
    dataset_path = ((summary or {}).get("options") or {}).get("dataset")
    if not report_path.is_file() and predictions_path:
        report_path = _report_of(predictions_path, log_root) or report_path
    if not report_path.is_file():
        raise CompareError(f"run {label!r} has predictions ({predictions_path}) but no eval report; grade it with:\n"
                           f"  patchwright swebench eval --dataset {dataset_path or 'DATASET.jsonl'} "
                           f"--predictions {predictions_path} --run-id {label} --out {out}")
    predictions = load_predictions(predictions_path).by_id if predictions_path else {}
    run = GradedRun(label, run_dir if run_dir.is_dir() else None, _json(report_path), predictions, summary)
    graded = run.report.get("dataset") or {}
    if graded.get("sha256"):
        run.dataset_path, run.dataset_sha256 = graded.get("path"), graded["sha256"]
    elif dataset_path:  # an official report has no digest: hash the file the run was made from, if it is here
        run.dataset_path = dataset_path
        run.dataset_sha256 = file_digest(Path(dataset_path)) if Path(dataset_path).is_file() else None
    return run


def check_datasets(runs: list[GradedRun]) -> None:
    """Pairs are only meaningful on one dataset: refuse two runs whose known digests differ."""
    known = [r for r in runs if r.dataset_sha256]
    for other in known[1:]:
        first = known[0]
        if other.dataset_sha256 != first.dataset_sha256:
            raise CompareError(f"runs {first.label!r} and {other.label!r} were graded against different datasets: "
                               f"{first.dataset_path} (sha256 {first.dataset_sha256[:12]}) and {other.dataset_path} "
                               f"(sha256 {other.dataset_sha256[:12]}); compare runs of one dataset")


def unique_labels(runs: list[GradedRun]) -> None:
    """Two folders of one name (a/run, b/run) get #2, #3 so tables and anchors tell them apart."""
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.label] = seen.get(run.label, 0) + 1
        if seen[run.label] > 1:
            run.label = f"{run.label}#{seen[run.label]}"


def _predictions_in(folder: Path) -> Path | None:
    return next((folder / name for name in PREDICTION_FILES if (folder / name).is_file()), None)


def _report_beside(predictions: Path) -> Path:
    """report.json in the predictions file's folder, else the one official eval report there (the
    harness names it MODEL.RUN_ID.json); report.json, missing, when there is none or several."""
    folder = predictions.parent
    if (folder / "report.json").is_file():
        return folder / "report.json"
    found = []
    for path in sorted(folder.glob("*.json")):
        if path == predictions:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and "resolved_ids" in data and "completed_ids" in data:
            found.append(path)
    return found[0] if len(found) == 1 else folder / "report.json"


def _report_of(predictions: Path, log_root: Path) -> Path | None:
    """The newest eval report under another run id whose "predictions" field is this file."""
    target = predictions.resolve()
    reports = sorted(log_root.glob("*/report.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in reports:
        try:
            graded = json.loads(path.read_text(encoding="utf-8")).get("predictions")
        except (OSError, json.JSONDecodeError, AttributeError):
            continue
        if graded and Path(graded).resolve() == target:
            return path
    return None


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CompareError(f"cannot read {path}: {e}") from e
    if not isinstance(data, dict):
        raise CompareError(f"{path} is not a JSON object")
    return data
