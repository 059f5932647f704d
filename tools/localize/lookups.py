"""What every signal shares: the shape of its scores (`Scores`), and `Lookups`, the index, its corpus
and the issue's facts with the lookups over them that the signals of one localization share."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tools.index.graph import file_graph
from tools.localize.corpus import Corpus
from tools.localize.issue import IssueFacts


@dataclass
class Scores:
    files: dict = field(default_factory=dict)   # path -> score in [0, 1]
    units: dict = field(default_factory=dict)   # (file position, unit position) -> score
    lines: list = field(default_factory=list)   # (path, line, score): where to open a window

    def file(self, path: str, score: float) -> None:
        if score > self.files.get(path, 0.0):
            self.files[path] = score

    def unit(self, key: tuple[int, int], score: float) -> None:
        if score > self.units.get(key, 0.0):
            self.units[key] = score


class Lookups:
    """The index, its corpus and lookups shared by the signals of one localization."""

    def __init__(self, index, corpus: Corpus, facts: IssueFacts):
        self.index, self.corpus, self.facts = index, corpus, facts
        self.files = corpus.files
        self.graph_files, self.adj, self.mods = file_graph(index)
        if not hasattr(corpus, "by_name"):  # built once per corpus, reused across issues
            by_name, by_qual = defaultdict(list), defaultdict(list)
            for fi, doc in enumerate(corpus.docs):
                for ui, s in enumerate(doc.units):
                    by_name[s.name].append((fi, ui))
                    by_qual[s.qualname].append((fi, ui))
            corpus.by_name, corpus.by_qual = dict(by_name), dict(by_qual)
        self.by_name, self.by_qual = corpus.by_name, corpus.by_qual
        self.aliases = self._aliases()

    def unit_at(self, path: str, line: int) -> tuple[int, int] | None:
        fi = self.corpus.pos.get(path)
        if fi is None:
            return None
        owner = self.corpus.docs[fi].line_owner
        return (fi, owner[line - 1]) if 0 < line <= len(owner) and owner[line - 1] >= 0 else None

    def unit(self, key: tuple[int, int]):
        return self.corpus.docs[key[0]].units[key[1]]

    def match_path(self, mention: str) -> list[str]:
        """Files sharing the longest trailing run of path components with `mention` (at most 3).

        A mention with directories must match at least two components: `/home/me/test_x.py`
        is the reporter's script, not the repository's `tests/test_x.py`.
        """
        want = [p for p in mention.replace("\\", "/").split("/") if p not in ("", ".", "~")]
        best, hits = 0, []
        for f in self.files:
            have = f.split("/")
            n = 0
            while n < min(len(want), len(have)) and want[-1 - n] == have[-1 - n]:
                n += 1
            if n and n > best:
                best, hits = n, [f]
            elif n and n == best:
                hits.append(f)
        if best < min(2, len(want)):
            return []
        return hits if len(hits) <= 3 else []  # "__init__.py" alone pins down nothing

    def expand(self, dotted: str) -> str:
        """`xr.where` -> `xarray.where` when the issue imports xarray as xr (or the alias is evident)."""
        head, _, rest = dotted.partition(".")
        full = self.aliases.get(head)
        return f"{full}.{rest}" if full and rest else (full or dotted)

    def _aliases(self) -> dict[str, str]:
        out: dict[str, str] = {}
        tops = {m for m in self.mods.modules if "." not in m}
        for alias in {d.split(".", 1)[0] for d in self.facts.dotted} - tops:
            # `xr` for xarray, `sns` for seaborn: a short alias spelled from its package's letters
            cands = [t for t in tops if 2 <= len(alias) <= 4 and alias[0] == t[0] and _subseq(alias, t)]
            if len(cands) == 1:
                out[alias] = cands[0]
        out.update(self.facts.aliases)
        return out

    def defines(self, path: str, parts: list[str], depth: int = 0) -> list[tuple[str, tuple | None]]:
        """Where `path`'s attribute a.b.c really lives, following re-exports (`from .x import a`)."""
        fi = self.corpus.pos.get(path)
        if fi is None or not parts:
            return []
        qual = ".".join(parts)
        local = [(path, (fi, ui)) for ui, s in enumerate(self.corpus.docs[fi].units) if s.qualname == qual]
        if not local and len(parts) > 1:  # `Class.attribute`: the class, at least
            local = [(path, (fi, ui)) for ui, s in enumerate(self.corpus.docs[fi].units)
                     if s.qualname == parts[0]]
        if local or depth >= 3:
            return local
        sub = self.mods.modules.get(self.mods.module_of.get(path, "") + "." + parts[0])
        if sub:
            return self.defines(sub, parts[1:], depth + 1) if parts[1:] else [(sub, None)]
        out = []
        for module, name, _ in self.index.imports(path):
            if name == parts[0] or name == "*":
                for target in self.mods.resolve_import(path, module, name if name != "*" else ""):
                    if target != path:
                        out.extend(self.defines(target, parts, depth + 1))
        return out


def _subseq(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)
