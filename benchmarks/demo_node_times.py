"""Per-node wall time of the demo run.

    python benchmarks/demo_node_times.py            # the real embedded CPU model (llama.cpp), Docker tests
    python benchmarks/demo_node_times.py --scripted # a recorded model answer replayed over HTTP: the scaffold's own cost
    python benchmarks/demo_node_times.py --runs 3   # several runs; prints each and the median

Reads the times from each run's trajectory (the same numbers the report shows).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.config import Settings  # noqa: E402
from agent.demo_run import run_demo  # noqa: E402
from agent.models import OpenAIModelConfig, ScriptedServer  # noqa: E402
from agent.models.serve import free_port  # noqa: E402
from agent.report import node_seconds  # noqa: E402
from agent.trajectory import Trajectory  # noqa: E402

RECORDED = Path(__file__).with_name("demo_reply.txt")
NODES = ["ingest", "workspace", "index", "localize", "reproduce", "patch", "verify", "deliver"]


def one_run(home: Path, scripted: bool) -> tuple[dict, str]:
    if scripted:
        with ScriptedServer([RECORDED.read_text()]) as server:
            settings = Settings(home=home, model=OpenAIModelConfig(base_url=server.base_url))
            result = run_demo(settings, serve_model=False)
    else:
        settings = Settings(home=home, model=OpenAIModelConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", timeout=900))
        result = run_demo(settings, serve_model=True)
    return node_seconds(Trajectory(result.run_dir / "trajectory.jsonl")), result.state["exit_status"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scripted", action="store_true", help="replay a recorded answer instead of the real model")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            times, status = one_run(Path(home), args.scripted)
        rows.append(times)
        print(f"run {i + 1}: {status}; " + ", ".join(f"{n} {times.get(n, 0):.2f}s" for n in NODES), flush=True)
    print(f"\n{'node':<10} {'median s':>9}   ({'scripted model' if args.scripted else 'embedded CPU model'}, {args.runs} run(s))")
    for node in NODES:
        print(f"{node:<10} {statistics.median(r.get(node, 0.0) for r in rows):>9.2f}")
    print(f"{'total':<10} {statistics.median(sum(r.values()) for r in rows):>9.2f}")


if __name__ == "__main__":
    main()
