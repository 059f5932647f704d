"""One SWE-bench instance through mini-swe-agent, run by the peer venv's python (never imported by
patchwright: it imports minisweagent, which only that venv has).

It calls mini-swe-agent's own batch step, `minisweagent.run.benchmarks.swebench.process_instance`,
exactly as `mini-extra swebench` does per instance: its config files merged with the overrides the
host wrote (endpoint, image, limits), its agent, its DockerEnvironment, its preds.json and
trajectory. Usage: python -I mini_worker.py JOB.json
"""
import json
import sys
from pathlib import Path

from minisweagent.config import get_config_from_spec
from minisweagent.run.benchmarks.swebench import process_instance
from minisweagent.run.benchmarks.utils.batch_progress import RunBatchProgressManager
from minisweagent.utils.serialize import recursive_merge


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    config = recursive_merge(*[get_config_from_spec(spec) for spec in job["config_specs"]])
    output = Path(job["output_dir"])
    output.mkdir(parents=True, exist_ok=True)
    progress = RunBatchProgressManager(1, output / "exit_statuses.yaml")
    process_instance(job["instance"], output, config, progress)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
