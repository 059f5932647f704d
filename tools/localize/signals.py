"""The retrieval signals by name. Each reads the issue facts and the repository and scores files
and units in [0, 1]; each can be run and measured alone (benchmarks/localization.py --signals).
Fusion is in tools/localize/fuse.py."""
from __future__ import annotations

from tools.localize.lookups import Lookups, Scores
from tools.localize.embed import embed
from tools.localize.lexical import bm25, identifiers
from tools.localize.mentions import exceptions, imports, mentions, paths, tests
from tools.localize.proximity import calls, graph
from tools.localize.traces import messages, trace

# Signals that need only the issue and the index; `graph` and `calls` start from their results.
SIGNALS = {"bm25": bm25, "identifiers": identifiers, "mentions": mentions, "paths": paths,
           "trace": trace, "messages": messages, "imports": imports, "exceptions": exceptions,
           "tests": tests, "embed": embed}  # embed: empty unless PATCHWRIGHT_EMBED=1
SEEDED = ("graph", "calls")

__all__ = ["Lookups", "Scores", "SEEDED", "SIGNALS", "calls", "graph"]
