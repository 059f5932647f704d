"""The fixed CPU panel every resolve figure is measured on: the SWE-bench Verified instances of
psf/requests, pallets/flask, mwaskom/seaborn and pytest-dev/pytest (30; 26 gradable offline)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

PANEL_REPOS = ("psf/requests", "pallets/flask", "mwaskom/seaborn", "pytest-dev/pytest")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "swebench"  # beside the checkout
DATASET = SHARED / "verified.jsonl"
MIRRORS = Path("/work/.mirror")  # bare mirrors brought by the library's fetch


def panel(dataset: Path = DATASET) -> list[str]:
    rows = [json.loads(line) for line in dataset.read_text().splitlines() if line.strip()]
    return sorted(r["instance_id"] for r in rows if r["repo"] in PANEL_REPOS)


ENGINES = ("llama.cpp", "vllm")


def server_args(ap: argparse.ArgumentParser) -> None:
    """--base-url and --engine: the one model server a benchmark uses."""
    ap.add_argument("--base-url", help="an already running server (default: start the embedded model, --engine)")
    ap.add_argument("--engine", choices=ENGINES, default="llama.cpp",
                    help="what serves the embedded model: llama.cpp (the CPU default) or vllm (its CPU build, "
                         "`patchwright model install vllm`: prompts about 6x faster, n samples in one pass, "
                         "native tool calls; decoding about 2x slower)")


def engine(args: argparse.Namespace) -> str:
    """What served the model, for a ledger's or figures file's record (a measurement is one engine's)."""
    return "external (--base-url)" if args.base_url else args.engine


def start_server(args: argparse.Namespace, log_file: Path):
    """(the server process or None, its base URL): args.base_url as given, else the embedded model
    started with args.engine and waited for (a cold vLLM start compiles for a minute or two)."""
    if args.base_url:
        return None, args.base_url
    from agent.models import serve
    from agent.models.profiles import DEFAULT_PROFILE

    log_file.parent.mkdir(parents=True, exist_ok=True)
    proc, base_url = serve.start_background(DEFAULT_PROFILE, port=0, log_file=log_file, backend=args.engine)
    serve.wait_ready(base_url, timeout=1800, proc=proc)
    return proc, base_url
