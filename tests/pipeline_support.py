"""Shared pieces for the fix-pipeline tests: settings for a temporary home, and scripted replies
for the bundled demo repository (real model-format answers, replayed over HTTP)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from agent.config import RunConfig, Settings
from agent.models import OpenAIModelConfig

ROOT = Path(__file__).resolve().parents[1]

FIX_REPLY = """The upper bound is never used: the inner min() takes `low` where it needs `high`.

textkit/numbers.py
<<<<<<< SEARCH
    return max(low, min(value, low))
=======
    return max(low, min(value, high))
>>>>>>> REPLACE
"""

# Applies cleanly but does not fix the bug: values above the range still come back as `low`.
WRONG_REPLY = """textkit/numbers.py
<<<<<<< SEARCH
    return max(low, min(value, low))
=======
    return min(value, max(low, value))
>>>>>>> REPLACE
"""

# Spacing differs from the real line, so the SEARCH text matches nothing.
NO_MATCH_REPLY = """textkit/numbers.py
<<<<<<< SEARCH
    return max(low,min(value,low))
=======
    return max(low, min(value, high))
>>>>>>> REPLACE
"""


def make_settings(home: Path, base_url: str, **run) -> Settings:
    model = OpenAIModelConfig(base_url=base_url, max_retries=0, timeout=5.0)
    return Settings(home=home, model=model, run=RunConfig(**run))


def cli_env(home: Path, base_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHWRIGHT_")}
    env.update(PATCHWRIGHT_HOME=str(home), PATCHWRIGHT_MODEL__BASE_URL=base_url,
               PATCHWRIGHT_MODEL__MAX_RETRIES="0", PATCHWRIGHT_MODEL__TIMEOUT="3")
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent.cli", *args]
