"""Graph signals: what lies near the code the issue points at.

Files: personalised PageRank over the import/reference graph, restarting at the files other
signals found. Units: the functions a pointed-at unit calls, and those that call it, since a bug
reported at an API often lives one call away.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from tools.index.graph import pagerank
from tools.localize.lookups import Lookups, Scores

PPR_RESTART = 0.5      # 1 - alpha: stay close to the seeds
PPR_BACKWARD = 0.5     # also walk from a definition to its users
CALLEE, CALLER = 0.6, 0.4
MAX_DEFINERS = 8       # a name defined in more places than this links nothing in particular


def graph(look: Lookups, seeds: dict[str, float]) -> Scores:
    """Personalised PageRank from the seed files; the seeds themselves score nothing here."""
    if not seeds or look.adj.shape[0] == 0:
        return Scores()
    pos = {f: i for i, f in enumerate(look.graph_files)}
    personal = np.zeros(len(look.graph_files))
    for f, w in seeds.items():
        if f in pos:
            personal[pos[f]] = w
    if personal.sum() <= 0:
        return Scores()
    pr = pagerank(look.adj, personal, alpha=1 - PPR_RESTART, undirected=PPR_BACKWARD)
    pr = np.where(personal > 0, 0.0, pr)
    top = pr.max() if len(pr) else 0.0
    if top <= 0:
        return Scores()
    return Scores({look.graph_files[i]: float(pr[i] / top) for i in np.flatnonzero(pr > top * 1e-3)})


def calls(look: Lookups, seeds: dict[tuple[int, int], float]) -> Scores:
    """Units one call away from the seed units, weighted by the seed's score."""
    corpus = look.corpus
    if not hasattr(corpus, "callers"):  # name -> units whose body calls it; once per corpus
        callers = defaultdict(list)
        for fi, doc in enumerate(corpus.docs):
            for ui, names in enumerate(doc.unit_refs):
                for name in names:
                    callers[name].append((fi, ui))
        corpus.callers = dict(callers)
    ev = Scores()
    for key, s in sorted(seeds.items(), key=lambda t: -t[1])[:20]:
        unit = look.unit(key)
        for name in corpus.docs[key[0]].unit_refs[key[1]]:
            targets = look.by_name.get(name, ())
            if 0 < len(targets) <= MAX_DEFINERS:
                for t in targets:
                    if t != key:
                        ev.unit(t, s * CALLEE / math.sqrt(len(targets)))
        users = corpus.callers.get(unit.name, ())
        if 0 < len(users) <= 3 * MAX_DEFINERS:
            for t in users:
                if t != key:
                    ev.unit(t, s * CALLER / math.sqrt(len(users)))
    for (fi, _), v in ev.units.items():
        ev.file(look.files[fi], v)
    return ev
