"""Signals from what the program printed: stack frames and error messages found in the code."""
from __future__ import annotations

import math
import re

from tools.localize.lookups import Lookups, Scores
from tools.localize.text import tokenize

FRAME_DECAY = 0.8   # each frame further out from the innermost one counts this much less


def trace(look: Lookups) -> Scores:
    """Stack frames: the innermost frame inside the repository is the likeliest bug site."""
    ev = Scores()
    inside = [(fr, hits) for fr in sorted(look.facts.frames, key=lambda fr: fr.depth)
              if (hits := look.match_path(fr.path))]
    for depth, (fr, hits) in enumerate(inside):
        w = FRAME_DECAY ** depth
        func = fr.func.rsplit(".", 1)[-1] if fr.func else None
        for f in hits:
            ev.file(f, w)
            fi = look.corpus.pos[f]
            key = look.unit_at(f, fr.line) if fr.line else None
            if func and (key is None or look.unit(key).name != func):
                # The code moved since the trace was printed: trust the function's name.
                named = [ui for ui, s in enumerate(look.corpus.docs[fi].units) if s.name == func]
                key = (fi, named[0]) if named else key
            if key:
                ev.unit(key, w)
            if fr.line:
                ev.lines.append((f, fr.line, w))
    return ev


def messages(look: Lookups) -> Scores:
    """Error messages and quoted strings from the issue found verbatim in the code."""
    ev = Scores()
    for msg in look.facts.messages:
        for frag in _fragments(msg):
            words = set(tokenize(frag))
            if not words:
                continue
            cands = [i for i, d in enumerate(look.corpus.docs) if all(t in d.file_tf for t in words)]
            hits = []
            for i in cands:
                text = look.index.read(look.files[i])
                at = text.find(frag)
                if at >= 0:
                    hits.append((i, text.count("\n", 0, at) + 1))
            if not hits or len(hits) > 8:
                continue  # a phrase every module prints says nothing about this bug
            w = min(1.0, len(frag) / 40) / math.sqrt(len(hits))
            for i, line in hits:
                ev.file(look.files[i], w)
                key = look.unit_at(look.files[i], line)
                if key:
                    ev.unit(key, w)
                ev.lines.append((look.files[i], line, w))
    return ev


def _fragments(msg: str) -> list[str]:
    """The literal parts of a formatted message: values the program filled in are cut out."""
    parts = re.split(r"'[^']*'|\"[^\"]*\"|`[^`]*`|<[^>]*>|\b\d[\d.e+-]*\b|\{[^}]*\}|\([^)]*\)|%\w", msg)
    out = [p.strip(" :,.;-") for p in parts]
    return sorted({p for p in out if len(p) >= 12 and " " in p}, key=len, reverse=True)[:4]
