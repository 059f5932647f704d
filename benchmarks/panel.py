"""The fixed CPU panel every resolve figure is measured on: the SWE-bench Verified instances of
psf/requests, pallets/flask, mwaskom/seaborn and pytest-dev/pytest (30; 26 gradable offline)."""
from __future__ import annotations

import json
from pathlib import Path

PANEL_REPOS = ("psf/requests", "pallets/flask", "mwaskom/seaborn", "pytest-dev/pytest")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "swebench"  # beside the checkout
DATASET = SHARED / "verified.jsonl"
MIRRORS = Path("/work/.mirror")  # bare mirrors brought by the library's fetch


def panel(dataset: Path = DATASET) -> list[str]:
    rows = [json.loads(line) for line in dataset.read_text().splitlines() if line.strip()]
    return sorted(r["instance_id"] for r in rows if r["repo"] in PANEL_REPOS)
