"""patchwright and mini-swe-agent with the same model, on the same instances, side by side:

    python benchmarks/peers.py                          # the CPU panel, 600 s per instance for each
    python benchmarks/peers.py --limit 600 --instances psf__requests-2317

One model server (the embedded model through `patchwright model serve`'s default engine) serves
both. Per instance, patchwright's pipeline runs first (`swebench run`, [run] budget_seconds = the
limit, the CPU settings of the README's panel: one attempt, one edit retry), then mini-swe-agent
(`swebench peer mini-swe-agent`, agent.wall_time_limit_seconds = the same limit). Both are then
graded by our harness (`swebench eval`) and set side by side (`swebench compare`, terminal table
and the HTML report in OUT/compare/). Resumable: run it again and it continues with the instances
not done; a limit is never shortened to fit a session. Results are kept in the checkout as well
(benchmarks/ledger/TAG/, see benchmarks/ledger.py: predictions, summaries, grades), so a measurement
continues on a new machine: commit the ledger after a session, and next time run the same command
from a worktree at the commit the ledger names (`git worktree add DIR COMMIT`, then
`python DIR/benchmarks/peers.py --ledger $PWD/benchmarks/ledger/panel`). Nothing else may run on
the machine: with 2 cores, a second CPU-heavy job slows the model tenfold. Run it from a checkout pinned to one commit
(`git worktree add`), so that a measurement spread over sessions measures one version of ours.

The panel: the SWE-bench Verified instances of psf/requests, pallets/flask, mwaskom/seaborn and
pytest-dev/pytest (30; 26 gradable offline).
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.config import load_settings  # noqa: E402
from agent.models import serve  # noqa: E402
from agent.models.profiles import DEFAULT_PROFILE  # noqa: E402
from benchmarks import ledger as ledger_  # noqa: E402
from benchmarks.panel import DATASET, MIRRORS, panel  # noqa: E402

FIGURES = Path(__file__).parent / "out" / "peers.json"
RUN = {"max_attempts": 1, "max_edit_retries": 1}  # the README panel's CPU settings



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=DATASET)
    ap.add_argument("--repos", type=Path, default=MIRRORS)
    ap.add_argument("--out", type=Path, default=Path("~/.patchwright/swebench").expanduser())
    ap.add_argument("--limit", type=float, default=600.0, help="wall seconds per instance, for each scaffold")
    ap.add_argument("--instances", nargs="*", help="default: the panel")
    ap.add_argument("--tag", default="panel", help="run ids: TAG-patchwright and TAG-mini-swe-agent")
    ap.add_argument("--base-url", help="an already running server (default: start the embedded model)")
    ap.add_argument("--ledger", type=Path, help="where results are kept in a checkout (default: benchmarks/ledger/TAG)")
    ap.add_argument("--stop-after", type=float, help="start no instance after this many seconds; then grade")
    ap.add_argument("--allow-other-commit", action="store_true", help="continue a ledger from another commit")
    args = ap.parse_args()
    args.ledger = args.ledger or ROOT / "benchmarks" / "ledger" / args.tag
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per tokenize request otherwise

    ids = args.instances or panel(args.dataset)
    ours, peer = f"{args.tag}-patchwright", f"{args.tag}-mini-swe-agent"
    ledger_.pin(args.ledger, ROOT, {"limit_seconds": args.limit, "run": RUN}, args.allow_other_commit)
    base_files = ledger_.mirror_files(args.dataset, args.repos)
    for run_id in (ours, peer):
        held = ledger_.restore(args.ledger, args.out, run_id, base_files)
        ledger_.restore_grades(args.ledger, args.out, run_id)
        print(f"{run_id}: {held} instance(s) from the ledger {args.ledger}", flush=True)
    proc = None
    if args.base_url:
        base_url = args.base_url
    else:
        log = args.out / f"{args.tag}-server.log"
        args.out.mkdir(parents=True, exist_ok=True)
        proc, base_url = serve.start_background(DEFAULT_PROFILE, port=0, log_file=log)
        serve.wait_ready(base_url, timeout=1800, proc=proc)
    try:
        settings = _settings(base_url, args.limit)
        started = time.monotonic()
        for n, iid in enumerate(ids, 1):
            if args.stop_after and time.monotonic() - started > args.stop_after:
                print(f"--stop-after {args.stop_after:.0f} s: the rest next session", flush=True)
                break
            print(f"[{n}/{len(ids)}] {iid}", flush=True)
            _ours(settings, args, ours, iid)
            _peer(settings, args, peer, iid)
            for run_id in (ours, peer):
                ledger_.save(args.ledger, args.out, run_id, base_files)
        print(f"both scaffolds: {time.monotonic() - started:.0f} s this session", flush=True)
    finally:
        if proc is not None:
            serve.stop(proc, timeout=60)
    # Graded and compared: the instances both scaffolds have finished. An instance not run yet is
    # neither an empty patch nor an error, and a partial run must not count it as one.
    done = ledger_.finished(args.out, ids, ours, peer)
    print(f"graded: {len(done)} of {len(ids)} instance(s), done by both scaffolds", flush=True)
    if not done:
        return 0
    for run_id in (ours, peer):  # grading needs no model: the server is down by now
        _cli("swebench", "eval", "--dataset", str(args.dataset), "--repos", str(args.repos), "--out", str(args.out),
             "--predictions", str(args.out / run_id / "predictions.jsonl"), "--run-id", run_id, *_ids(done))
        ledger_.save_grades(args.ledger, args.out, run_id)
    _cli("swebench", "compare", ours, peer, "--out", str(args.out))
    _figures(args, ids, done, ours, peer)
    return 0


def _settings(base_url: str, limit: float):
    settings = load_settings(None)
    return settings.model_copy(update={
        "model": settings.model.model_copy(update={"base_url": base_url}),
        # The README panel's CPU settings, plus the per-instance limit both scaffolds get.
        "run": settings.run.model_copy(update={**RUN, "budget_seconds": limit}),
    })


def _ours(settings, args, run_id: str, iid: str) -> None:
    from agent.swebench.run import RunOptions, run_instances

    opts = RunOptions(dataset=args.dataset, repos=args.repos, run_id=run_id, out_dir=args.out, instances=[iid])
    summary = run_instances(settings, opts)
    for info in summary.instances.values():
        print(f"  patchwright: {info['status']} in {info.get('seconds', 0):.0f} s, patch {info.get('patch_chars', 0)} chars",
              flush=True)


def _peer(settings, args, run_id: str, iid: str) -> None:
    from agent.peers.mini_swe_agent import PeerOptions, run_peer

    opts = PeerOptions(dataset=args.dataset, run_id=run_id, out_dir=args.out, repos=args.repos, instances=[iid],
                       time_limit=args.limit)
    summary = run_peer(settings, opts)
    info = summary["instances"].get(iid)
    if info:
        print(f"  mini-swe-agent: {info['status']} in {info['seconds']:.0f} s, {info['steps']} steps, "
              f"{info['format_errors']} format errors, patch {info['patch_chars']} chars", flush=True)


def _ids(ids: list[str]) -> list[str]:
    return [x for i in ids for x in ("--instances", i)]


def _cli(*args: str) -> None:
    print("$ patchwright " + " ".join(args[:3]) + " ...", flush=True)
    subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT, check=False)


def _figures(args, ids: list[str], done: list[str], ours: str, peer: str) -> None:
    commit = ledger_.commit_of(ROOT)
    figures = {"instances": len(ids), "graded": len(done), "limit_seconds": args.limit, "commit": commit, "runs": {}}
    for run_id in (ours, peer):
        report = args.out / "logs" / "run_evaluation" / run_id / "report.json"
        summary = args.out / run_id / "summary.json"
        if report.is_file() and summary.is_file():
            r, s = json.loads(report.read_text()), json.loads(summary.read_text())
            infos = [s["instances"][i] for i in done if i in s["instances"]]
            figures["runs"][run_id] = {
                "resolved": r["resolved_instances"], "offline": r.get("offline"), "done": len(infos),
                "empty_patches": r["empty_patch_instances"], "errors": r["error_instances"],
                "seconds": round(sum(i.get("seconds", 0) for i in infos), 1),
                "prompt_tokens": sum(i.get("usage", {}).get("prompt_tokens", 0) for i in infos),
                "completion_tokens": sum(i.get("usage", {}).get("completion_tokens", 0) for i in infos)}
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    sys.exit(main())
