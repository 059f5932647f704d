"""Settings of patchwright compared side by side on the same instances, one model server, one run:

    python benchmarks/arms.py --arm sr1:samples=1 --arm sr4:samples=4 --arm fn1:edit_format=whole_function
    python benchmarks/arms.py --tag repro --arm base: --arm repro:reproduce=true --instances psf__requests-2317
    python benchmarks/arms.py --engine vllm --tag agent --arm pipeline:solve=pipeline --arm agent:solve=agent

--engine vllm serves the embedded model with vLLM's CPU build (`patchwright model install vllm`):
prompts about 6x faster than llama.cpp, samples=4 in one pass (n), and native tool calls (hermes).
A ledger is one engine's: the engine is pinned with the commit and the arms.

Each arm is NAME:KEY=VALUE,... over [run] (RunConfig fields; values parsed as JSON where they
parse, else strings), on top of the README panel's CPU settings (one attempt, one edit retry) and 600 s per instance
(run.budget_seconds, as benchmarks/peers.py gives each scaffold).
Per instance every arm runs in turn (`swebench run`, run id TAG-NAME), so an interrupted
measurement has all arms on the same instances; then each arm is graded by our harness
(`swebench eval`) and all are set side by side (`swebench compare`, first arm against each other,
HTML in OUT/compare/), with any run kept in another ledger (--compare-with LEDGER/RUN_ID: a
peer's, an earlier arm's at the commit its ledger names). Printed and kept in benchmarks/out/arms-TAG.json per arm: resolved, the
median and total seconds per instance, tokens, and the applicable-edit rate (attempts whose edits
applied, per edit format) read from each run's report.json. Resumable; nothing else may run on
the machine. Results are kept in the checkout too (benchmarks/ledger/TAG/, see benchmarks/ledger.py),
so that a measurement spread over sessions continues on a new machine: commit the ledger, and run
the same command from a worktree at the commit the ledger names, with --ledger pointing at it.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.config import load_settings  # noqa: E402
from agent.models import serve  # noqa: E402
from benchmarks import ledger as ledger_  # noqa: E402
from benchmarks.panel import DATASET, MIRRORS, engine, panel, server_args, start_server  # noqa: E402

# The README panel's CPU settings, and the per-instance limit of benchmarks/peers.py, so that every
# arm has the time mini-swe-agent had there (a side-by-side report can hold both).
BASE_RUN = {"max_attempts": 1, "max_edit_retries": 1, "budget_seconds": 600.0}



def parse_arm(text: str) -> tuple[str, dict]:
    name, _, spec = text.partition(":")
    overrides = {}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        try:
            overrides[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key.strip()] = value.strip()
    return name, overrides


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arm", action="append", required=True, help="NAME:KEY=VALUE,... over [run]")
    ap.add_argument("--dataset", type=Path, default=DATASET)
    ap.add_argument("--repos", type=Path, default=MIRRORS)
    ap.add_argument("--out", type=Path, default=Path("~/.patchwright/swebench").expanduser())
    ap.add_argument("--instances", nargs="*", help="default: the panel")
    ap.add_argument("--tag", default="arms")
    server_args(ap)
    ap.add_argument("--config", type=Path, help="patchwright config (its [model] profile, [sandbox], [run] base)")
    ap.add_argument("--ledger", type=Path, help="where results are kept in a checkout (default: benchmarks/ledger/TAG)")
    ap.add_argument("--stop-after", type=float, help="start no instance after this many seconds; then grade")
    ap.add_argument("--allow-other-commit", action="store_true", help="continue a ledger from another commit")
    ap.add_argument("--compare-with", action="append", default=[], type=Path, metavar="LEDGER/RUN_ID",
                    help="a run kept in another ledger (a peer, an earlier arm), restored and set beside the arms")
    args = ap.parse_args()
    args.ledger = args.ledger or ROOT / "benchmarks" / "ledger" / args.tag
    logging.getLogger("httpx").setLevel(logging.WARNING)

    arms = [parse_arm(a) for a in args.arm]
    ids = args.instances or panel(args.dataset)
    settings = load_settings(args.config)
    for _, overrides in arms:  # a typo in a key fails here, before any model call
        settings.run.model_validate({**settings.run.model_dump(), **BASE_RUN, **overrides})
    run_ids = [f"{args.tag}-{name}" for name, _ in arms]
    ledger_.pin(args.ledger, ROOT, {"base_run": BASE_RUN, "arms": dict(arms), "engine": engine(args)},
                args.allow_other_commit)
    base_files = ledger_.mirror_files(args.dataset, args.repos)
    for run_id in run_ids:
        held = ledger_.restore(args.ledger, args.out, run_id, base_files)
        ledger_.restore_grades(args.ledger, args.out, run_id)
        print(f"{run_id}: {held} instance(s) from the ledger {args.ledger}", flush=True)
    for kept in args.compare_with:  # read, never run: its own ledger names the commit it measured
        ledger_.restore(kept.parent, args.out, kept.name, base_files)
        ledger_.restore_grades(kept.parent, args.out, kept.name)
    proc, base_url = start_server(args, args.out / f"{args.tag}-server.log")
    model = settings.model.model_copy(update={"base_url": base_url})
    started = time.monotonic()
    try:
        for n, iid in enumerate(ids, 1):
            if args.stop_after and time.monotonic() - started > args.stop_after:
                print(f"--stop-after {args.stop_after:.0f} s: the rest next session", flush=True)
                break
            print(f"[{n}/{len(ids)}] {iid}", flush=True)
            for name, overrides in arms:
                run = settings.run.model_validate({**settings.run.model_dump(), **BASE_RUN, **overrides})
                _run(settings.model_copy(update={"model": model, "run": run}), args, f"{args.tag}-{name}", iid, name)
                ledger_.save(args.ledger, args.out, f"{args.tag}-{name}", base_files)
    finally:
        if proc is not None:
            serve.stop(proc, timeout=60)
    done = ledger_.finished(args.out, ids, *run_ids)  # graded and compared: what every arm has finished
    print(f"graded: {len(done)} of {len(ids)} instance(s), done by every arm", flush=True)
    if not done:
        return 0
    # A kept run is graded on the same instances (its grades restored: nothing is graded twice), so
    # that its figures count what the arms' count; its own ledger is left as it is.
    for run_id in [*run_ids, *[kept.name for kept in args.compare_with]]:
        _cli("swebench", "eval", "--dataset", str(args.dataset), "--repos", str(args.repos), "--out", str(args.out),
             "--predictions", str(args.out / run_id / "predictions.jsonl"), "--run-id", run_id,
             *[x for i in done for x in ("--instances", i)])
        if run_id in run_ids:
            ledger_.save_grades(args.ledger, args.out, run_id)
    _cli("swebench", "compare", *run_ids, *[kept.name for kept in args.compare_with], "--out", str(args.out))
    figures = {run_id: _figures(args.out, args.ledger, run_id) for run_id in run_ids}
    figures |= {kept.name: _figures(args.out, kept.parent, kept.name) for kept in args.compare_with}
    path = Path(__file__).parent / "out" / f"arms-{args.tag}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"arms": dict(arms), "base_run": BASE_RUN, "engine": engine(args), "figures": figures},
                               indent=2))
    print(json.dumps(figures, indent=2))
    return 0


def _run(settings, args, run_id: str, iid: str, name: str) -> None:
    from agent.swebench.run import RunOptions, run_instances

    opts = RunOptions(dataset=args.dataset, repos=args.repos, run_id=run_id, out_dir=args.out, instances=[iid])
    for info in run_instances(settings, opts).instances.values():
        print(f"  {name}: {info['status']} in {info.get('seconds', 0):.0f} s, patch {info.get('patch_chars', 0)} chars",
              flush=True)


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT, check=False)


def _figures(out: Path, ledger: Path, run_id: str) -> dict:
    summary_path, report_path = out / run_id / "summary.json", out / "logs" / "run_evaluation" / run_id / "report.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {"instances": {}}
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    seconds = [i["seconds"] for i in summary["instances"].values() if "seconds" in i]
    applied: dict[str, list[int]] = {}
    for iid, info in summary["instances"].items():
        run_report = ledger_.report(ledger, run_id, iid)  # kept there for every instance run so far
        if run_report is None:
            continue
        for attempt in run_report.get("attempts") or []:
            # An agent's attempt has no edit format: its edits are tool calls, "applicable" its diff.
            fmt = "agent" if attempt.get("solve") == "agent" else attempt.get("edit_format", "search_replace")
            ok = applied.setdefault(fmt, [0, 0])
            ok[0] += attempt.get("outcome") != "patch_failed"
            ok[1] += 1
    return {"resolved": report.get("resolved_instances"), "offline": report.get("offline"),
            "instances": len(seconds), "median_seconds": statistics.median(seconds) if seconds else None,
            "total_seconds": round(sum(seconds), 1),
            "tokens": sum(i.get("usage", {}).get("prompt_tokens", 0) + i.get("usage", {}).get("completion_tokens", 0)
                          for i in summary["instances"].values()),
            "applicable_edits": {fmt: f"{a}/{n}" for fmt, (a, n) in applied.items()}}


if __name__ == "__main__":
    sys.exit(main())
