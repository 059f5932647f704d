"""Both serving engines on this machine, side by side, with the embedded model:

    python benchmarks/serving.py                      # llama.cpp then vLLM; figures in benchmarks/out/serving.json
    python benchmarks/serving.py --engines vllm --redo

Per engine (one server at a time, nothing else running): cold start (process start to the first
/v1/models answer), prompt tokens/s (a fresh ~1,500-token prompt, one token out), generated
tokens/s (200 tokens out, prefill time taken off), time to first token when the same long prompt
comes again (prefix cache), wall time of n=1 and n=4 samples (64 tokens each; a server that ignores
n gets sequential requests, as the client does), peak memory of the server's process group, and the
demo issue's wall time through it (Docker). Each engine's figures are kept as they are measured, so
an interrupted run continues with the next engine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.models import OpenAIModelConfig, serve  # noqa: E402
from agent.models.profiles import DEFAULT_PROFILE  # noqa: E402

OUT = Path(__file__).parent / "out" / "serving.json"
CODE = Path(__file__).resolve().parents[1] / "agent" / "runner.py"


def _group_rss(pgid: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


class PeakMemory(threading.Thread):
    def __init__(self, pgid: int):
        super().__init__(daemon=True)
        self.pgid, self.peak, self.stopped = pgid, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            self.peak = max(self.peak, _group_rss(self.pgid))


def _long_prompt(nonce: str) -> list[dict]:
    # A fresh nonce first defeats the prefix cache; the code makes the prompt about 1,500 tokens.
    code = CODE.read_text()[:5200]
    return [{"role": "user", "content": f"[{nonce}] Summarise what this module does in one line.\n\n{code}"}]


def measure(engine: str, demo: bool) -> dict:
    log = OUT.parent / f"serving-{engine}.log"
    started = time.monotonic()
    proc, base_url = serve.start_background(DEFAULT_PROFILE, port=0, backend=engine, log_file=log)
    memory = PeakMemory(proc.pid)
    memory.start()
    try:
        serve.wait_ready(base_url, timeout=1800, proc=proc)
        figures = {"engine": engine, "cold_start_s": round(time.monotonic() - started, 1)}
        model = OpenAIModelConfig(base_url=base_url, timeout=1800, max_retries=0, max_tokens=1).build()
        model.complete([{"role": "user", "content": "warm up"}])

        prompt = _long_prompt(uuid.uuid4().hex)
        first = model.complete(prompt)
        figures["prompt_tokens"] = first.prompt_tokens
        figures["prompt_tokens_per_s"] = round(first.prompt_tokens / first.seconds, 1)
        again = model.complete(prompt)
        figures["first_token_repeated_prefix_s"] = round(again.seconds, 2)

        writer = OpenAIModelConfig(base_url=base_url, timeout=1800, max_retries=0, max_tokens=200).build()
        ask = [{"role": "user", "content": "Count from 1 to 300, one number per line, nothing else."}]
        out = writer.complete(ask)
        prefill = out.prompt_tokens / figures["prompt_tokens_per_s"]
        figures["generated_tokens"] = out.completion_tokens
        figures["generated_tokens_per_s"] = round(out.completion_tokens / max(out.seconds - prefill, 1e-6), 2)

        sampler = OpenAIModelConfig(base_url=base_url, timeout=1800, max_retries=0, max_tokens=64).build()
        story = [{"role": "user", "content": "Write a Python function that reverses a string, with a docstring."}]
        for n in (1, 4):
            reply = sampler.complete(story, n=n, temperature=0.8)
            figures[f"n{n}_wall_s"] = round(reply.seconds, 1)
            figures[f"n{n}_choices"] = len(reply.choices)
        if demo:
            figures["demo_s"], figures["demo_status"] = _demo(base_url)
        figures["peak_memory_gb"] = round(memory.peak / 1e9, 2)
        return figures
    finally:
        memory.stopped.set()
        serve.stop(proc, timeout=60)


def _demo(base_url: str) -> tuple[float, str]:
    import tempfile

    from agent.config import RunConfig, Settings
    from agent.demo_run import run_demo

    with tempfile.TemporaryDirectory(prefix="pw-serving-demo-") as home:
        settings = Settings(home=Path(home), model=OpenAIModelConfig(base_url=base_url, timeout=1800, max_retries=0),
                            run=RunConfig())
        started = time.monotonic()
        result = run_demo(settings, serve_model=False)
        status = json.loads((result.run_dir / "report.json").read_text())["status"]
        return round(time.monotonic() - started, 1), status


def table(results: dict) -> str:
    rows = [("cold start (s)", "cold_start_s"), ("prompt tokens/s", "prompt_tokens_per_s"),
            ("generated tokens/s", "generated_tokens_per_s"),
            ("first token, repeated prefix (s)", "first_token_repeated_prefix_s"),
            ("n=1 wall (s)", "n1_wall_s"), ("n=4 wall (s)", "n4_wall_s"), ("peak memory (GB)", "peak_memory_gb"),
            ("demo wall (s)", "demo_s"), ("demo status", "demo_status")]
    engines = list(results)
    lines = ["| | " + " | ".join(engines) + " |", "|---|" + "---|" * len(engines)]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(str(results[e].get(key, "-")) for e in engines) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="llama.cpp,vllm")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo (it needs Docker)")
    parser.add_argument("--redo", action="store_true", help="measure again engines already measured")
    args = parser.parse_args()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for engine in args.engines.split(","):
        if engine in results and not args.redo:
            print(f"{engine}: measured before (--redo to measure again)", file=sys.stderr)
            continue
        print(f"{engine}: measuring", file=sys.stderr, flush=True)
        results[engine] = measure(engine, demo=not args.no_demo)
        OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(table({e: results[e] for e in args.engines.split(",") if e in results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
