"""`swebench eval --official`: hand the predictions to the official harness unchanged.

It pulls its images from Docker Hub (namespace "swebench") and builds environments from conda and
GitHub. It writes logs/ and its report into the current directory, so it runs inside OUT/official/.
It records a failed image pull per instance and returns normally; when no instance completed we
say why in one line and exit 4 (sandbox failure), instead of a report of errors."""
from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

PULL_ERROR = re.compile(r"Error occurred while pulling image[^\n]*|registry-1\.docker\.io[^\n]*")


def run_official(dataset: Path, predictions: Path | None, oracle: str | None, instances: list[str] | None,
                 run_id: str, workers: int, timeout: float, out_dir: Path, console) -> int:
    if oracle == "empty":
        console.print("[red]error:[/] the official harness has no empty oracle (it skips empty patches)")
        return 2
    try:
        from swebench.harness.run_evaluation import main
    except ImportError as e:
        console.print(f"[red]error:[/] swebench is not installed ({e}): pip install 'patchwright[swebench]'")
        return 2
    work = (out_dir / "official").resolve()
    work.mkdir(parents=True, exist_ok=True)
    preds = "gold" if oracle == "gold" else str(Path(predictions).resolve())
    with contextlib.chdir(work):
        try:
            report_file = main(dataset_name=str(Path(dataset).resolve()), split="test", instance_ids=instances or [],
                               predictions_path=preds, max_workers=workers, force_rebuild=False, cache_level="env",
                               clean=False, open_file_limit=4096, run_id=run_id, timeout=int(timeout),
                               namespace="swebench", rewrite_reports=False, modal=False, report_dir=str(work))
        except Exception as e:  # noqa: BLE001 - the external harness's failure is reported, not re-raised
            console.print(f"[red]error:[/] the official harness failed: {type(e).__name__}: {str(e)[:400]}")
            return 4
    report = json.loads((work / report_file).read_text()) if report_file and (work / report_file).is_file() else {}
    if report.get("error_instances") and not report.get("completed_instances"):
        logs = sorted((work / "logs" / "run_evaluation" / run_id).glob("*/*/run_instance.log"))
        why = next((m.group(0) for log in logs for m in [PULL_ERROR.search(log.read_text(errors="replace"))] if m), None)
        console.print("[red]error:[/] the official harness completed no instance"
                      + (f": {why[:300]}" if why else f"; see {work / 'logs'}"))
        console.print("It needs Docker Hub (prebuilt swebench/sweb.eval.* images); without it, drop --official "
                      "to use the offline harness.")
        return 4
    console.print(f"official report: {work / report_file}" if report_file else "official harness finished")
    return 0


__all__ = ["run_official"]
