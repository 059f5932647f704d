"""Backlog triage benchmark.

1. Duplicate detection on tests/fixtures/triage_backlog.json: precision and recall of the pairs
   shown at several TF-IDF cosine thresholds (the configured one marked).
2. Triage of N generated issues (default 500) on the local GitHub: a dry run and two --apply runs
   (the second must write nothing), each with wall time and GitHub API calls, against the REST
   budget of 5000 requests an hour. The model is a ScriptedServer answering one label per issue.

    python benchmarks/triage.py [--issues 500]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # test machinery, imported as pytest does

from agent.config import TriageConfig
from agent.models import ScriptedServer
from agent.triage import run_triage
from tools.triage.similarity import similar_pairs
from triage_support import backlog, seeded_github, triage_settings, writes

RATE_LIMIT = 5000


def duplicate_quality() -> None:
    data = backlog()
    truth = {tuple(sorted((i["number"], i["duplicate_of"]))) for i in data["issues"] if i["duplicate_of"]}
    configured = TriageConfig().duplicate_threshold
    print(f"duplicate detection on {len(data['issues'])} fixture issues, {len(truth)} true pairs")
    for threshold in sorted({0.2, 0.3, configured, 0.5, 0.6}):
        found = {tuple(sorted(p[:2])) for p in similar_pairs(data["issues"], threshold)}
        hit = len(found & truth)
        precision = hit / len(found) if found else 1.0
        print(f"  threshold {threshold:.2f}{' (configured)' if threshold == configured else '':13} "
              f"precision {precision:.2f}  recall {hit / len(truth):.2f}  pairs shown {len(found)}")


def generated(n: int, seed: int = 7) -> list[dict]:
    """n open issues varied from the fixture's (words shuffled in, numbers and names changed)."""
    rng = random.Random(seed)
    base = [i for i in backlog()["issues"]]
    words = ["cache", "parser", "encoder", "schema", "locale", "plugin", "buffer", "stream", "retry", "index", "session", "cursor"]
    out = []
    for k in range(1, n + 1):
        src = rng.choice(base)
        extra = " ".join(rng.sample(words, 3))
        out.append({"number": k, "title": f"{src['title']} ({rng.choice(words)} {k})",
                    "body": f"{src['body']}\n\nContext: {extra}, seen in version 0.{rng.randint(1, 9)}.{k % 10}.",
                    "state": "open" if k % 10 else "closed", "expected_label": src["expected_label"] or "bug"})
    return out


def run(settings, repo, fake, **kw):
    before, t0 = len(fake.requests), time.perf_counter()
    result = run_triage(settings, repo, **kw)
    calls = fake.requests[before:]
    return result, time.perf_counter() - t0, len(calls), sum(c["method"] in ("POST", "PATCH", "PUT", "DELETE") for c in calls)


def scale(n: int) -> None:
    issues = generated(n)
    open_count = sum(i["state"] == "open" for i in issues)
    repo = "bench/backlog"
    with tempfile.TemporaryDirectory() as tmp, seeded_github(Path(tmp), issues, repo, check_openapi=False) as (fake, token):
        print(f"\ntriage of {n} generated issues ({open_count} open) on the local GitHub")
        for mode, apply in (("dry run", False), ("--apply", True), ("--apply again", True)):
            with ScriptedServer(["bug"] * open_count).start() as model:
                settings = triage_settings(Path(tmp) / "home", fake, token, model.base_url, top_k=5)
                result, wall, calls, wrote = run(settings, repo, fake, apply=apply)
            print(f"  {mode:14} wall {wall:6.1f}s  API calls {calls:5d} (writes {wrote:4d}, "
                  f"{100 * calls / RATE_LIMIT:.0f}% of the hourly REST budget)  duplicate pairs {len(result.pairs)}  "
                  f"enqueued {len(result.queued)}")
        print(f"  total requests served: {len(fake.requests)}; writes over all runs: {len(writes(fake))}")
        print("  (local server, no pacing; against GitHub PyGithub paces 0.25 s per call and 1 s per write)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=500)
    args = parser.parse_args()
    duplicate_quality()
    scale(args.issues)
