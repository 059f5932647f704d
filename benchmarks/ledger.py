"""A measurement's results kept in the repository, so that one spread over sessions survives a new
machine: the run directory (~/.patchwright/swebench) does not, the checkout does.

LEDGER/meta.json names the commit being measured; LEDGER/RUN_ID/ holds the run's
predictions.jsonl (each patch as its skeleton, benchmarks/skeleton.py: the model's lines whole, the
repository's cut to a marker and put back from the mirror at the base commit on restore),
summary.json, per instance its report.json without the parts that quote the repository (agent
observations, the "did you mean" lines of a failed edit), so that figures read later need no
trajectory, and the harness's grade (outcome.json and the official report.json), so that a graded
instance is not graded again. Before a session the ledger is merged into the run directory
(instances in predictions.jsonl are skipped, as on any resume); after each instance the run
directory is copied back. Trajectories and test logs stay in the run directory: they quote the
benchmark repositories' code, which is not ours to commit.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from agent.swebench.dataset import KEY_PATCH, load_predictions
from benchmarks import skeleton

# instance id -> (path -> that file's text at the instance's base commit): what rebuilds a skeleton
BaseFiles = Callable[[str], Callable[[str], str]]

KEEP = ("status", "reason", "attempts", "tests", "reproduction", "candidates", "chosen", "usage", "spend",
        "node_seconds", "files_changed")


def commit_of(root: Path) -> str:
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def pin(ledger: Path, root: Path, settings: dict, allow_other_commit: bool = False) -> dict:
    """Record (first session) or check (later ones) the commit and settings measured."""
    ledger.mkdir(parents=True, exist_ok=True)
    path, commit = ledger / "meta.json", commit_of(root)
    meta = json.loads(path.read_text()) if path.is_file() else {"commit": commit, "settings": settings}
    check_commit(f"ledger {ledger}", meta["commit"], commit, allow_other_commit)
    if meta["settings"] != settings:
        raise SystemExit(f"ledger {ledger} was measured with {meta['settings']}, not {settings}")
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def check_commit(what: str, recorded: str | None, commit: str, allow_other_commit: bool) -> None:
    if recorded != commit and not allow_other_commit:
        raise SystemExit(f"{what} measures commit {recorded}, this checkout is {commit}: run it from "
                         f"`git worktree add DIR {recorded}`, or pass --allow-other-commit")


def restore(ledger: Path, out: Path, run_id: str, base_files: BaseFiles | None = None) -> int:
    """Merge the ledger's results for RUN_ID into OUT/RUN_ID; returns how many instances it holds.
    `base_files` rebuilds the patches the run directory lacks (see `mirror_files`)."""
    src, dst = ledger / run_id, out / run_id
    if not (src / "predictions.jsonl").is_file():
        return 0
    dst.mkdir(parents=True, exist_ok=True)
    have = _predictions(dst / "predictions.jsonl")
    kept = _ledger_lines(src / "predictions.jsonl")
    theirs = {iid: _rebuilt(p, base_files) for iid, p in kept.items() if iid not in have}
    merged = {**theirs, **have}
    (dst / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in merged.values()))
    if (src / "summary.json").is_file():
        summary = json.loads((src / "summary.json").read_text())
        if (dst / "summary.json").is_file():
            summary["instances"].update(json.loads((dst / "summary.json").read_text())["instances"])
        (dst / "summary.json").write_text(json.dumps(summary, indent=2))
    return len(merged)


def save(ledger: Path, out: Path, run_id: str, base_files: BaseFiles | None = None) -> None:
    """Keep OUT/RUN_ID's results in the ledger: patches as skeletons (with `base_files`, their hunk
    headers' function text cut as well), reports trimmed to KEEP."""
    src, dst = out / run_id, ledger / run_id
    dst.mkdir(parents=True, exist_ok=True)
    if (src / "summary.json").is_file():
        shutil.copyfile(src / "summary.json", dst / "summary.json")
    if (src / "predictions.jsonl").is_file():
        lines = [_skeleton_of(p, base_files) for p in _predictions(src / "predictions.jsonl").values()]
        (dst / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in lines))
    summary = json.loads((src / "summary.json").read_text()) if (src / "summary.json").is_file() else {"instances": {}}
    for iid, info in summary["instances"].items():
        report = Path(info.get("run_dir", "")) / "report.json"
        if report.is_file():
            (dst / "reports").mkdir(exist_ok=True)
            (dst / "reports" / f"{iid}.json").write_text(json.dumps(trim(json.loads(report.read_text())), indent=2))


def save_grades(ledger: Path, out: Path, run_id: str) -> None:
    """The harness's per-instance grades: LOG_ROOT/MODEL/IID/{outcome,report}.json."""
    root = out / "logs" / "run_evaluation" / run_id
    for outcome in root.glob("*/*/outcome.json"):
        if json.loads(outcome.read_text()).get("status") == "error":
            continue  # graded again next time
        dst = ledger / run_id / "grades" / outcome.parent.relative_to(root)
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("outcome.json", "report.json"):
            if (outcome.parent / name).is_file():
                shutil.copyfile(outcome.parent / name, dst / name)


def restore_grades(ledger: Path, out: Path, run_id: str) -> None:
    src, root = ledger / run_id / "grades", out / "logs" / "run_evaluation" / run_id
    for outcome in src.glob("*/*/outcome.json"):
        dst = root / outcome.parent.relative_to(src)
        if (dst / "outcome.json").is_file():
            continue
        dst.mkdir(parents=True, exist_ok=True)
        for f in outcome.parent.iterdir():
            shutil.copyfile(f, dst / f.name)


def finished(out: Path, ids: list[str], *run_ids: str) -> list[str]:
    """The instances, in the order of ids, that every run's summary.json records as finished: what a
    partial measurement grades and compares (an instance not run yet is neither empty nor an error)."""
    done = []
    for run_id in run_ids:
        path = out / run_id / "summary.json"
        done.append(set(json.loads(path.read_text())["instances"]) if path.is_file() else set())
    return [i for i in ids if all(i in d for d in done)]


def report(ledger: Path, run_id: str, iid: str) -> dict | None:
    path = ledger / run_id / "reports" / f"{iid}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def trim(report: dict) -> dict:
    kept = {k: report.get(k) for k in KEEP}
    for key in ("attempts", "candidates"):  # a failed edit's problem quotes the file's lines
        kept[key] = [{k: v for k, v in a.items() if k != "problem"} | ({"problem": True} if a.get("problem") else {})
                     for a in kept[key] or []]
    agent = report.get("agent")
    if agent:  # how the loop ended and how many steps, not what the tools printed
        kept["agent"] = {k: v for k, v in agent.items() if k not in ("steps", "runs")} | {
            "steps": len(agent.get("steps", [])),
            "runs": [{"index": r.get("index"), "ended": r.get("ended"), "steps": len(r.get("steps", []))}
                     for r in agent.get("runs", [])]}
    return kept


def mirror_files(dataset: Path, repos: Path) -> BaseFiles:
    """Files at each instance's base commit, read from the bare mirrors under `repos`."""
    from agent.swebench.checkout import gitdir
    from agent.swebench.dataset import load_dataset
    from tools import gitsafe
    from tools.git import resolve_source

    rows = load_dataset(dataset)

    def of(iid: str) -> Callable[[str], str]:
        row = rows[iid]
        git = str(gitdir(Path(resolve_source(row["repo"], repos))))

        def read(path: str) -> str:  # bytes, not text mode: a CRLF file keeps its \r
            shown = gitsafe.run(None, ["--git-dir", git, "show", f"{row['base_commit']}:{path}"]).stdout
            return shown.decode("utf-8", "replace")
        return read
    return of


def _skeleton_of(prediction: dict, base_files: BaseFiles | None) -> dict:
    patch = prediction.get(KEY_PATCH) or ""
    old_file = base_files(prediction["instance_id"]) if base_files and patch else None
    cut = skeleton.strip(patch, old_file)
    if cut == patch:
        return prediction  # empty, or quoting no line of the repository (only added files)
    rest = {k: v for k, v in prediction.items() if k != KEY_PATCH}
    return {**rest, "patch_skeleton": cut, "patch_sha256": skeleton.digest(patch)}


def _rebuilt(line: dict, base_files: BaseFiles | None) -> dict:
    if "patch_skeleton" not in line:
        return line  # an empty patch, or a ledger from before skeletons
    iid = line["instance_id"]
    if base_files is None:
        raise SystemExit(f"the ledger keeps {iid}'s patch as a skeleton: restoring it needs the dataset and mirrors")
    patch = skeleton.rebuild(line["patch_skeleton"], base_files(iid))
    if skeleton.digest(patch) != line["patch_sha256"]:
        raise SystemExit(f"{iid}: its patch rebuilt from the mirror differs from the one measured (sha256)")
    rest = {k: v for k, v in line.items() if k not in ("patch_skeleton", "patch_sha256")}
    return {**rest, KEY_PATCH: patch}


def _ledger_lines(path: Path) -> dict[str, dict]:
    lines = [json.loads(raw) for raw in path.read_text().splitlines() if raw.strip()]
    return {line["instance_id"]: line for line in lines}


def _predictions(path: Path) -> dict[str, dict]:
    return load_predictions(path).by_id if path.is_file() else {}  # a line cut by a kill: it runs again
