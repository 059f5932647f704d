"""Word-level signals: BM25 over file and unit documents, and rare identifiers written as code."""
from __future__ import annotations

import math
import re
from collections import Counter

from tools.localize.lookups import Lookups, Scores
from tools.localize.corpus import pairs
from tools.localize.text import terms, tokenize

TITLE_WEIGHT = 2.0   # the title is the issue's own summary: its words count again
CODE_WEIGHT = 1.0    # extra query weight of an identifier the issue writes as code
_FRAME_LINE = re.compile(r'File "([^"]+)", line \d+, in ([\w<>.]+)')


def bm25(look: Lookups) -> Scores:
    # Frames contribute their file and function names only: the rest of a frame is boilerplate.
    text = _FRAME_LINE.sub(lambda m: f" {m.group(1).rsplit('/', 1)[-1]} {m.group(2)} ", look.facts.text)
    counts = Counter(tokenize(text))
    # A word pasted fifty times in a log is not fifty times the evidence: damp repeats.
    query = Counter({t: 1 + math.log(n) for t, n in counts.items()})
    for t in tokenize(look.facts.title):
        query[t] += TITLE_WEIGHT - 1
    for name, w in look.facts.names.items():  # identifiers written as code are deliberate
        for t in terms(name)[:1]:
            query[t] += CODE_WEIGHT * w
    fs, us = look.corpus.bm25(query)
    top_f, top_u = max(fs.values(), default=0.0), max(us.values(), default=0.0)
    return Scores({f: v / top_f for f, v in fs.items()}, {k: v / top_u for k, v in us.items()})


def identifiers(look: Lookups) -> Scores:
    """Identifiers the issue writes as code (`keep_attrs`, `ignore-paths`), wherever the code uses
    them: definitions, attributes, option names, strings. Rarer names weigh more."""
    wanted: dict[str, float] = {}
    for name, w in look.facts.names.items():
        ts = terms(name)
        if ts and len(ts) > 1:  # compound names only: single words are BM25's business
            wanted[ts[0]] = max(wanted.get(ts[0], 0.0), w)
    for c in look.facts.compounds:
        wanted[c.replace("-", "_")] = max(wanted.get(c.replace("-", "_"), 0.0), 0.8)
    docs, n = look.corpus.docs, len(look.corpus.docs)
    fscore: dict[str, float] = {}
    uscore: dict[tuple[int, int], float] = {}
    for term, w in wanted.items():
        hits = [i for i, d in enumerate(docs) if term in d.file_tf]
        if not hits or len(hits) > max(3, n // 10):
            continue  # absent, or so common it names nothing in particular
        idf = math.log(1 + n / len(hits))
        for i in hits:
            fscore[look.files[i]] = fscore.get(look.files[i], 0.0) + w * idf
            for u, _ in pairs(docs[i].post.get(term, ())):
                uscore[(i, u)] = uscore.get((i, u), 0.0) + w * idf
    top_f, top_u = max(fscore.values(), default=0.0), max(uscore.values(), default=0.0)
    return Scores({f: v / top_f for f, v in fscore.items()}, {k: v / top_u for k, v in uscore.items()})
