"""Cost of the offline SWE-bench harness: environment image build per (repository, version), cold
and cached, and per-instance time (instance setup, test run) with the gold patch.

    python benchmarks/swebench_harness.py --fixture
        # a fixture repository made here (no mirrors needed): cold, cached and eval times
    python benchmarks/swebench_harness.py --dataset verified.jsonl --repos /work/.mirror \\
        -i psf__requests-5414 -i pytest-dev__pytest-7432 [--cold]
        # real instances; --cold deletes their environment images first (others rebuild them later)
    python benchmarks/swebench_harness.py --from-report OUT/logs/run_evaluation/RUN/report.json
        # the timings a finished `swebench eval` recorded, summarised per (repository, version)
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from agent.swebench import envspec  # noqa: E402
from agent.swebench.dataset import load_dataset, load_specs, test_directives, test_patch_files  # noqa: E402
from agent.swebench.harness import Harness  # noqa: E402
from sandbox import layers  # noqa: E402


def measure(dataset: Path, repos: Path, ids: list[str], specs_file: Path | None, cold: bool, out: Path) -> dict:
    rows = load_dataset(dataset)
    specs = load_specs(specs_file)
    h = Harness(specs, repos, out, cpus=1.0, keep_instance_images=False)
    envs, per_instance = {}, {}
    for iid in ids:
        row = rows[iid]
        key = f"{row['repo']} {row['version']}"
        if key not in envs:
            first = h.env_image(row)
            if cold and first.cached:
                layers.remove_image(h.sb, first.tag)
                first = h.env_image(row)
            t = time.monotonic()
            again = h.env_image(row)
            envs[key] = {"cold_s": first.seconds if not first.cached else None,
                         "cached_s": round(time.monotonic() - t, 3), "python": f"{again.python_spec}->{again.python_used}"}
        env = h.env_image(row)
        t = time.monotonic()
        image, _, _ = h.instance_image(row, env)
        setup = time.monotonic() - t
        spec = specs.spec(row["repo"], row["version"])
        result = h.run_eval(row, image, row["patch"], envspec.eval_script(row, spec, test_directives(row), test_patch_files(row)))
        h.drop_instance_image(image)
        per_instance[iid] = {"instance_setup_s": round(setup, 1), "eval_s": round(result.duration, 1),
                             "exit": result.exit_code}
    return {"environments": envs, "instances": per_instance}


def from_report(path: Path, dataset: Path | None) -> dict:
    report = json.loads(path.read_text())
    versions = {}
    if dataset:
        versions = {i: f"{r['repo']} {r['version']}" for i, r in load_dataset(dataset).items()}
    envs: dict = defaultdict(lambda: {"cold_s": [], "instances": 0, "setup_s": [], "eval_s": []})
    for iid, t in report["timings"].items():
        e = envs[versions.get(iid, iid.rsplit("-", 1)[0])]
        e["instances"] += 1
        if t.get("env_build_s"):
            e["cold_s"].append(t["env_build_s"])
        for k, name in (("instance_setup_s", "setup_s"), ("eval_s", "eval_s")):
            if t.get(k) is not None:
                e[name].append(t[k])
    med = lambda xs: round(statistics.median(xs), 1) if xs else None  # noqa: E731
    return {k: {"instances": v["instances"], "env_cold_s": max(v["cold_s"], default=None),
                "setup_median_s": med(v["setup_s"]), "eval_median_s": med(v["eval_s"]),
                "eval_max_s": max(v["eval_s"], default=None)} for k, v in sorted(envs.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixture", action="store_true")
    ap.add_argument("--dataset", type=Path)
    ap.add_argument("--repos", type=Path)
    ap.add_argument("--specs", type=Path)
    ap.add_argument("-i", "--instance", action="append", default=[])
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--from-report", type=Path)
    args = ap.parse_args()
    if args.from_report:
        print(json.dumps(from_report(args.from_report, args.dataset), indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.fixture:
            from swebench_support import make_fixture

            fx = make_fixture(Path(tmp) / "fx", ["local__calc-1", "local__calc-2"])
            result = measure(fx["dataset"], fx["repos"], ["local__calc-1", "local__calc-2"], fx["specs"], True, Path(tmp))
        else:
            result = measure(args.dataset, args.repos, args.instance, args.specs, args.cold, Path(tmp))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
