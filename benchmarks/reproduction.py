"""How often the model's reproduction test is a real one, on SWE-bench instances:

    python benchmarks/reproduction.py                      # the CPU panel with the embedded model
    python benchmarks/reproduction.py --instances psf__requests-2317 --base-url http://127.0.0.1:8000/v1
    python benchmarks/reproduction.py --engine vllm     # vLLM's CPU build serves it (faster prompts)

Per instance, the fix graph's own nodes up to `reproduce` (ingest, workspace, index, localize,
reproduce; the model writes a test, run.reproduce_retries turns) in the instance's SWE-bench image.
Then, as an ORACLE measurement of the test (labelled so in every output; it uses the dataset's gold
patch, which a run never sees): the same test with the gold patch applied. Figures:

- fails on the base: the last test written fails on the base commit (reproduced, or failed with an
  exception the issue does not name), out of the instances;
- reproduced: the classifier's verdict (an assertion or the issue's exception, not a broken test);
- oracle: reproduced on the base and passes with the gold patch.

Resumable: benchmarks/out/reproduction.json keeps each instance as it finishes, with the commit
measured; commit it after a session and continue from a worktree at that commit
(`python DIR/benchmarks/reproduction.py --figures $PWD/benchmarks/out/reproduction.json`). One model
server, nothing else on the machine (2 cores).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.config import load_settings  # noqa: E402
from agent.models import serve  # noqa: E402
from benchmarks.ledger import check_commit, commit_of  # noqa: E402
from benchmarks.panel import DATASET, MIRRORS, engine, panel, server_args, start_server  # noqa: E402

FIGURES = Path(__file__).parent / "out" / "reproduction.json"



def one(settings, dataset: Path, repos: Path, out: Path, row: dict, harness) -> dict:
    """The nodes up to reproduce, then the oracle run of its test with the gold patch."""
    from agent.deps import Deps
    from agent.nodes import index, ingest, localize, reproduce, workspace
    from agent.request import RunRequest, save_issue
    from agent.swebench.verify_env import SpecSandbox, public_row
    from tools.edits.diff import apply_diff, reset_worktree
    from tools.issue_sources import load_swebench_instance, text_of
    from tools.reproduction import ReproductionTest, classify, command_for, write_test
    from tools.reproduction.verdict import OTHER_FAILURE, PASSES, REPRODUCED

    iid = row["instance_id"]
    issue = load_swebench_instance(dataset, iid)
    sandbox = SpecSandbox(harness, public_row(row), issue.body, timeout=settings.sandbox.test_timeout)
    run = settings.run.model_copy(update={"reproduce": True, "reproduce_command": sandbox.reproduce_command()})
    settings = settings.model_copy(update={"home": out, "run": run})
    run_dir = settings.runs_dir / iid
    run_dir.mkdir(parents=True, exist_ok=True)
    request = RunRequest(issue=issue.model_dump(), issue_ref=f"swebench:{iid}", repos_dir=str(repos))
    save_issue(run_dir, request.issue)
    deps = Deps.create(settings, run_dir, sandbox=sandbox)
    state: dict = {"run_id": iid, "request": request.stored()}
    started = time.monotonic()
    try:
        for node in (ingest.ingest, workspace.workspace, index.index, localize.localize, reproduce.reproduce):
            state.update(node(state, deps))
        found = state.get("reproduction") or {}
        # The last test's verdict on the base: "reproduced" and "other failure" both fail there.
        result = {"status": found.get("status"), "kind": found.get("kind"), "turns": found.get("turns"),
                  "reason": found.get("reason", "")[:300], "path": found.get("path"),
                  "fails_on_base": found.get("kind") in (REPRODUCED, OTHER_FAILURE), "oracle_passes_with_gold": None}
        if found.get("status") == "reproduced":
            root = Path(state["workspace_dir"])
            try:
                apply_diff(root, row["patch"])  # ORACLE: the gold patch, never shown to a run
                write_test(root, ReproductionTest(found["path"], found["code"]))
                gold = sandbox.run(state["env_image"], root, command_for(settings.run.reproduce_command, found["path"]))
            finally:
                reset_worktree(root)
            verdict = classify(found["path"], text_of(state["issue"]), exit_code=gold.exit_code, output=gold.output,
                               junit_xml=gold.junit_xml, timed_out=gold.timed_out)
            result["oracle_passes_with_gold"] = verdict.kind == PASSES
    except Exception as e:  # noqa: BLE001 - one instance never ends the measurement
        result = {"status": "error", "reason": f"{type(e).__name__}: {e}"[:500]}
    finally:
        sandbox.close()
    result["seconds"] = round(time.monotonic() - started, 1)
    result["usage"] = deps.trajectory.usage()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=DATASET)
    ap.add_argument("--repos", type=Path, default=MIRRORS)
    ap.add_argument("--out", type=Path, default=Path("~/.patchwright/benchmarks/reproduction").expanduser())
    ap.add_argument("--instances", nargs="*", help="default: the panel")
    server_args(ap)
    ap.add_argument("--figures", type=Path, default=FIGURES, help="the resumable results file")
    ap.add_argument("--stop-after", type=float, help="start no instance after this many seconds")
    ap.add_argument("--allow-other-commit", action="store_true", help="continue results from another commit")
    args = ap.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    commit = commit_of(ROOT)

    from agent.swebench.dataset import load_dataset, load_specs
    from agent.swebench.harness import Harness

    rows = load_dataset(args.dataset)
    ids = args.instances or panel(args.dataset)
    kept = json.loads(args.figures.read_text()) if args.figures.is_file() else {"commit": commit, "instances": {}}
    check_commit(str(args.figures), kept.get("commit"), commit, args.allow_other_commit)
    kept.setdefault("engine", engine(args))  # files from before --engine were all llama.cpp's
    if kept["instances"] and kept["engine"] != engine(args):
        raise SystemExit(f"{args.figures} was measured with the model served by {kept['engine']}, not {engine(args)}")
    done = kept["instances"]
    todo = [i for i in ids if i not in done or done[i].get("status") == "error"]
    proc, base_url = start_server(args, args.out / "server.log") if todo else (None, args.base_url)
    try:
        settings = load_settings(None)
        if base_url:
            settings = settings.model_copy(update={"model": settings.model.model_copy(update={"base_url": base_url})})
        harness = Harness(load_specs(None), args.repos, args.out, sandbox=settings.sandbox)
        started = time.monotonic()
        for n, iid in enumerate(todo, 1):
            if args.stop_after and time.monotonic() - started > args.stop_after:
                print(f"--stop-after {args.stop_after:.0f} s: the rest next session", flush=True)
                break
            print(f"[{n}/{len(todo)}] {iid}", flush=True)
            done[iid] = one(settings, args.dataset, args.repos, args.out, rows[iid], harness)
            print(f"  {json.dumps(done[iid])}", flush=True)
            _write(args.figures, kept["commit"], kept["engine"], done)
    finally:
        if proc is not None:
            serve.stop(proc, timeout=60)
    _write(args.figures, kept["commit"], kept["engine"], done)
    return 0


def _write(path: Path, commit: str, served_by: str, done: dict) -> None:
    graded = [r for r in done.values() if r.get("status") != "error"]
    reproduced = [r for r in graded if r["status"] == "reproduced"]
    figures = {
        "instances": len(done), "errors": len(done) - len(graded),
        "fails_on_base": sum(1 for r in graded if r.get("fails_on_base")),
        "reproduced": len(reproduced),
        "oracle_gold_patch": {"label": "ORACLE: reproduced on the base and passes with the dataset's gold patch",
                              "passes_with_gold": sum(1 for r in reproduced if r.get("oracle_passes_with_gold"))},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"commit": commit, "engine": served_by, "figures": figures, "instances": done}, indent=2))
    print(json.dumps(figures, indent=2), flush=True)


if __name__ == "__main__":
    sys.exit(main())
