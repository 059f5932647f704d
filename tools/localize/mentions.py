"""Signals from what the issue names: symbols, dotted paths, imports, files, tests, exceptions."""
from __future__ import annotations

import math
import re

from tools.localize.lookups import Lookups, Scores
from tools.localize.issue import custom_exceptions
from tools.localize.roles import role, sources_for_test

TEST_ID = re.compile(r"([\w./-]+\.py)::(\w+)")
PROSE_CLASS = 0.4   # "a Blueprint is given an empty name": a capitalised word naming a class


def mentions(look: Lookups) -> Scores:
    """Identifiers the issue writes as code, class names in prose, and dotted names that resolve."""
    ev = Scores()
    for name, w in look.facts.names.items():
        hits = look.by_name.get(name, ())
        weight = w / math.sqrt(len(hits)) if hits else 0.0  # a name defined everywhere says little
        for key in hits:
            ev.unit(key, weight)
            ev.file(look.files[key[0]], weight)
    for word in look.facts.words:
        for name in (word, word[:-1]) if word.endswith("s") else (word,):  # "Blueprints"
            hits = [k for k in look.by_name.get(name, ()) if look.unit(k).kind == "class"]
            for key in hits:
                ev.unit(key, PROSE_CLASS / math.sqrt(len(hits)))
                ev.file(look.files[key[0]], PROSE_CLASS / math.sqrt(len(hits)))
    modules_only = []
    for dotted in map(look.expand, look.facts.dotted):
        parts = dotted.split(".")
        for k in range(len(parts) - 1):  # "pkg.mod.Parser.parse" names the symbol "Parser.parse"
            hits = look.by_qual.get(".".join(parts[k:]), ())
            for key in hits:
                ev.unit(key, 1.0 / math.sqrt(len(hits)))
                ev.file(look.files[key[0]], 1.0 / math.sqrt(len(hits)))
        path, rest = look.mods.resolve(dotted)
        if path is None or (not rest and len(parts) < 2):
            continue
        if not rest:
            modules_only.append(path)
        for target, key in look.defines(path, rest):
            ev.file(target, 1.0)
            if key:
                ev.unit(key, 1.0)
    # A list of extensions in a config names many modules; each then says less.
    spread = math.sqrt(len(set(modules_only)) or 1)
    for path in modules_only:
        ev.file(path, (0.3 if path.endswith("__init__.py") else 0.8) / spread)
    return ev


def imports(look: Lookups) -> Scores:
    """`from pkg.mod import name` in the issue's code: the module, and where `name` is defined."""
    ev = Scores()
    for module, name in look.facts.imports:
        path, rest = look.mods.resolve(look.expand(module))
        if path is None:
            continue
        parts = rest + ([name] if name and name != "*" else [])
        if not parts:
            ev.file(path, 0.3 if path.endswith("__init__.py") else 0.7)
            continue
        for target, key in look.defines(path, parts):
            ev.file(target, 1.0)
            if key:
                ev.unit(key, 1.0)
    return ev


def paths(look: Lookups) -> Scores:
    """File paths written in the issue, with their line when one is given (`x.py:12`, `#L12`)."""
    ev = Scores()
    for mention, line in look.facts.paths:
        for f in look.match_path(mention):
            ev.file(f, 1.0)
            key = look.unit_at(f, line) if line else None
            if key:
                ev.unit(key, 1.0)
                ev.lines.append((f, line, 1.0))
    for mention, _ in TEST_ID.findall(look.facts.text):
        for f in look.match_path(mention):
            ev.file(f, 1.0)
    return ev


def tests(look: Lookups) -> Scores:
    """Test files the issue names point at the source files they exercise."""
    ev = Scores()
    named = {f for m, _ in look.facts.paths for f in look.match_path(m)}
    named |= {f for fr in look.facts.frames for f in look.match_path(fr.path)}
    named |= {f for m, _ in TEST_ID.findall(look.facts.text) for f in look.match_path(m)}
    for t in (f for f in named if role(f) == "test"):
        for rank, src in enumerate(sources_for_test(t, look.files)[:3]):
            ev.file(src, 1.0 * 0.7 ** rank)
        for module, name, _ in look.index.imports(t):
            for target in look.mods.resolve_import(t, module, name):
                if role(target) != "test":
                    ev.file(target, 0.5)
    return ev


def exceptions(look: Lookups) -> Scores:
    """Project-specific exception types the issue shows: where they are defined and raised."""
    ev = Scores()
    for exc in custom_exceptions(look.facts):
        raisers = [i for i, d in enumerate(look.corpus.docs) if exc.lower() in d.file_tf]
        if not raisers or len(raisers) > 30:
            continue
        for i in raisers:
            ev.file(look.files[i], 1.0 / math.sqrt(len(raisers)))
    return ev
