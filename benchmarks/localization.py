"""Localization accuracy on SWE-bench instances, without a model, with plain BM25 side by side.

    python benchmarks/localization.py                       # ../shared/swebench/verified.jsonl, /work/.mirror
    python benchmarks/localization.py --repo psf/requests --limit 5 --out /tmp/loc.jsonl
    python benchmarks/localization.py --signals             # also each signal alone
    python benchmarks/localization.py --model http://127.0.0.1:8000/v1 --limit 5   # + the model stage

Each instance's base commit is read straight from its bare mirror (no checkout). Only the
problem statement is input; the gold patch is read only to score: gold files are the non-test
files it edits, gold functions the functions and methods whose lines it changes (a nested function
counts as its enclosing one). A hit at k means every gold location is in the top k. Instances are
split in two halves by a hash of their id: weights were chosen on "dev" and are checked on "test".
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.git import resolve_source  # noqa: E402
from tools.index import build_index  # noqa: E402
from tools.localize import localize  # noqa: E402
from tools.localize.corpus import unit_symbols  # noqa: E402
from tools.index.graph import file_graph  # noqa: E402
from tools.localize.embed import embed, enabled as embed_enabled  # noqa: E402
from tools.localize.fuse import (FILE_WEIGHTS, corpus_for, fuse, gather, minority_files,  # noqa: E402
                                 named_files)
from tools.localize.signals import SEEDED, SIGNALS  # noqa: E402
from tools.localize.roles import is_test_path  # noqa: E402
from tools.tokens import estimate_tokens  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FILE_KS, FUNC_KS = (1, 5, 10), (5, 10)
KEEP = 300  # per-signal scores kept in --out for tuning
ALL_SIGNALS = list(SIGNALS) + list(SEEDED)
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


def split_of(instance_id: str) -> str:
    return "dev" if int(hashlib.sha1(instance_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def gold_files(patch: str) -> list[str]:
    files = re.findall(r"^diff --git a/(\S+) b/", patch, re.M)
    return [f for f in dict.fromkeys(files) if not is_test_path(f)]


def gold_functions(patch: str, index) -> set[tuple[str, str]]:
    """(path, qualname) of the outermost function or method around each changed line of the base."""
    out: set[tuple[str, str]] = set()
    for section in re.split(r"^diff --git ", patch, flags=re.M)[1:]:
        path = section.split(" b/", 1)[0].removeprefix("a/")
        if is_test_path(path) or path not in set(index.files()):
            continue
        units = [u for u in unit_symbols(index.symbols_in(path)) if u.kind in ("function", "method")]
        base = index.read(path).split("\n")
        old = 0
        for line in section.split("\n"):
            m = _HUNK.match(line)
            if m:
                old = int(m.group(1))
                continue
            if not old or line.startswith(("---", "+++")):
                continue
            if line.startswith("-"):
                out.update((path, u.qualname) for u in units if u.start_line <= old <= u.end_line)
                old += 1
            elif line.startswith("+"):
                after, indent = old - 1, len(line[1:]) - len(line[1:].lstrip())
                for u in units:
                    inside = u.start_line <= after < u.end_line
                    if after == u.end_line and line[1:].strip():  # appended to the body's end
                        def_line = base[u.start_line - 1] if u.start_line <= len(base) else ""
                        inside = indent > len(def_line) - len(def_line.lstrip())
                    if inside:
                        out.add((path, u.qualname))
            elif line.startswith(" "):
                old += 1
    return out


def ranked_functions(loc_symbols) -> list[tuple[str, str]]:
    return list(dict.fromkeys((s.path, s.qualname) for s, _ in loc_symbols if s.kind in ("function", "method")))


_PLAIN = re.compile(r"(?u)\b\w\w+\b")
_PLAIN_DOCS: dict[tuple, Counter] = {}


def _plain_tokens(text: str) -> list[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return [t for t in _PLAIN.findall(text.lower()) if t not in STOPWORDS_EN]


def bm25_rank(index, query: str, k1: float = 1.5, b: float = 0.75) -> list[str]:
    """The reference baseline: plain BM25 over non-test .py files (path + text), with bm25s's
    defaults (its tokenizer and English stopwords, Lucene idf, k1 1.5, b 0.75). Term counts are
    cached per blob so the 203 instances do not re-tokenize whole repositories."""
    files = [f for f in index.files() if f.endswith(".py") and not is_test_path(f)]
    docs = []
    for f in files:
        key = (f, index.blob_key(f))
        if key not in _PLAIN_DOCS:
            if len(_PLAIN_DOCS) > 20_000:
                _PLAIN_DOCS.clear()
            _PLAIN_DOCS[key] = Counter(_plain_tokens(f + "\n" + index.read(f)))
        docs.append(_PLAIN_DOCS[key])
    lens = [sum(d.values()) for d in docs]
    avg = sum(lens) / max(len(lens), 1)
    scores = [0.0] * len(files)
    for term in _plain_tokens(query):  # repeated query words count again, as in bm25s
        df = sum(1 for d in docs if term in d)
        if not df:
            continue
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            tf = d.get(term)
            if tf:
                scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lens[i] / avg))
    order = sorted(range(len(files)), key=lambda i: -scores[i])
    return [files[i] for i in order[:max(FILE_KS)] if scores[i] > 0]


def hit(ranked: list, gold, k: int) -> bool:
    return bool(gold) and set(gold) <= set(ranked[:k])


def model_columns(index, row: dict, ask, budget: int) -> dict:
    """The optional model stage (agent.model_localize.refine) on top of the same ranking."""
    from agent.model_localize import CANDIDATES, refine

    t = time.perf_counter()
    # Budgeted with the estimate, not the server's tokenizer: runs stay comparable across servers.
    wide = localize(index, row["problem_statement"], top_files=CANDIDATES, top_symbols=60)
    loc, picks = refine(index, row["problem_statement"], wide, ask, top_files=max(FILE_KS), top_symbols=60,
                        budget=budget, count_tokens=estimate_tokens)
    return {"model_files": [f for f, _ in loc.files], "model_functions": ranked_functions(loc.symbols),
            "model_picks": picks, "model_seconds": round(time.perf_counter() - t, 1)}


def run_instance(row: dict, repos: Path, cache, signals_alone: bool, ask=None, budget: int = 3000) -> dict:
    source = resolve_source(row["repo"], repos)
    t0 = time.perf_counter()
    index = build_index(Path(source), commit=row["base_commit"], cache=cache)
    t1 = time.perf_counter()
    corpus_for(index), file_graph(index)  # per-index term statistics and reference graph
    tp = time.perf_counter()
    look, found = gather(index, row["problem_statement"], names=[n for n in ALL_SIGNALS if n != "embed"])
    t2 = time.perf_counter()
    if embed_enabled():  # timed apart: the first commit of a repository embeds every file
        found["embed"] = embed(look)
    te = time.perf_counter()
    loc = fuse(look, found, top_files=max(FILE_KS), top_symbols=60)
    out = {
        "instance_id": row["instance_id"], "repo": row["repo"], "split": split_of(row["instance_id"]),
        "gold_files": gold_files(row["patch"]),
        "gold_functions": sorted(gold_functions(row["patch"], index)),
        "files": [f for f, _ in loc.files], "functions": ranked_functions(loc.symbols),
        "index_seconds": round(t1 - t0, 3), "prepare_seconds": round(tp - t1, 3),
        "localize_seconds": round(t2 - tp, 3), "embed_seconds": round(te - t2, 3),
        "bm25_files": bm25_rank(index, row["problem_statement"]),
    }
    if "embed" in found:  # the same run without the optional embedding signal
        core = fuse(look, {k: v for k, v in found.items() if k != "embed"}, top_files=max(FILE_KS), top_symbols=60)
        out["core_files"], out["core_functions"] = [f for f, _ in core.files], ranked_functions(core.symbols)
    only_bm25 = fuse(look, {"bm25": found["bm25"]}, top_files=max(FILE_KS), top_symbols=60)
    out["bm25_functions"] = ranked_functions(only_bm25.symbols)
    if signals_alone:
        out["alone"] = {name: [f for f, _ in fuse(look, {name: ev}, top_files=max(FILE_KS)).files]
                        for name, ev in found.items()}
    # Each signal's strongest scores, so weights can be tuned without re-running the signals.
    unit = lambda k: (lambda s: [s.path, s.qualname, s.kind])(look.corpus.docs[k[0]].units[k[1]])  # noqa: E731
    out["evidence"] = {
        name: {"files": dict(sorted(ev.files.items(), key=lambda t: -t[1])[:KEEP]),
               "units": [unit(k) + [v] for k, v in sorted(ev.units.items(), key=lambda t: -t[1])[:KEEP]]}
        for name, ev in found.items()}
    if ask is not None:
        out.update(model_columns(index, row, ask, budget))
    out["named"] = sorted(named_files(found))
    out["minority"] = sorted(minority_files(look, found))
    return out


def pct(xs: list[bool]) -> str:
    return f"{100 * sum(xs) / len(xs):5.1f}" if xs else "    -"


def table(results: list[dict], files: str = "files", functions: str = "functions") -> list[str]:
    """Ours (`files`/`functions` keys) beside plain BM25 files and our symbol-level BM25 functions."""
    head = (f"{'group':<22}{'n':>4} | {'file@1':>6}{'@5':>6}{'@10':>6} | {'bm25@1':>6}{'@5':>6}{'@10':>6}"
            f" | {'nfn':>4}{'fn@5':>6}{'@10':>6} | {'bm25fn@5':>8}{'@10':>6}")
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        groups["overall"].append(r)
        groups[f"split {r['split']}"].append(r)
        groups[r["repo"]].append(r)
    lines = [head, "-" * len(head)]
    for name in ["overall", "split dev", "split test"] + sorted(g for g in groups if "/" in g):
        rs = groups.get(name, [])
        if not rs:
            continue
        fn = [r for r in rs if r["gold_functions"]]
        gf = lambda r: [tuple(x) for x in r["gold_functions"]]  # noqa: E731
        cells = [pct([hit(r[files], r["gold_files"], k) for r in rs]) for k in FILE_KS]
        base = [pct([hit(r["bm25_files"], r["gold_files"], k) for r in rs]) for k in FILE_KS]
        fns = [pct([hit([tuple(x) for x in r[functions]], gf(r), k) for r in fn]) for k in FUNC_KS]
        bfn = [pct([hit([tuple(x) for x in r["bm25_functions"]], gf(r), k) for r in fn]) for k in FUNC_KS]
        lines.append(f"{name:<22}{len(rs):>4} | {cells[0]:>6}{cells[1]:>6}{cells[2]:>6} | "
                     f"{base[0]:>6}{base[1]:>6}{base[2]:>6} | {len(fn):>4}{fns[0]:>6}{fns[1]:>6} | "
                     f"{bfn[0]:>8}{bfn[1]:>6}")
    return lines


def report(results: list[dict]) -> str:
    embedded = bool(results) and all("core_files" in r for r in results)
    lines = [("with the embedding signal:" if embedded else "no model, no embeddings:")] + table(results)
    if embedded:
        lines += ["", "same run without embeddings (no model, no torch):"]
        lines += table(results, "core_files", "core_functions")
    med = {k: statistics.median(r[f"{k}_seconds"] for r in results)
           for k in ("index", "prepare", "localize", "embed")}
    lines.append(f"median seconds per instance: index {med['index']:.2f} (blob cache shared across "
                 f"commits), prepare {med['prepare']:.2f} (term statistics and graph, per index), "
                 f"localize {med['localize']:.2f} (max {max(r['localize_seconds'] for r in results):.2f})"
                 + (f", embed {med['embed']:.2f}" if embedded else ""))
    if results and all("model_files" in r for r in results):
        lines += ["", "with the model stage (the model picks files, then functions; merged with the above):"]
        lines += table(results, "model_files", "model_functions")
        lines.append(f"median model-stage seconds per instance: "
                     f"{statistics.median(r['model_seconds'] for r in results):.1f}")
    if results and "alone" in results[0]:
        lines.append("each signal alone (file Acc@1/5/10, share of instances where it finds anything):")
        for name in results[0]["alone"]:
            accs = [pct([hit(r["alone"][name], r["gold_files"], k) for r in results]) for k in FILE_KS]
            cover = pct([bool(r["alone"][name]) for r in results])
            lines.append(f"  {name:<12}{accs[0]:>6}{accs[1]:>6}{accs[2]:>6}   finds anything: {cover}%")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "swebench" / "verified.jsonl")
    ap.add_argument("--repos", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--repo", action="append", help="only these repositories (owner/name)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many instances per repository")
    ap.add_argument("--cache", default="/tmp/patchwright-bench-index.sqlite", help="blob cache ('' = none)")
    ap.add_argument("--out", type=Path, help="write per-instance results (JSON lines) here")
    ap.add_argument("--signals", action="store_true", help="also score each signal alone")
    ap.add_argument("--embed", action="store_true",
                    help="add the optional embedding signal (needs the [embed] extra; also reports without it)")
    ap.add_argument("--model", metavar="BASE_URL", help="OpenAI-compatible endpoint for the optional model stage")
    ap.add_argument("--model-budget", type=int, default=3000, help="tokens of outline shown to the model")
    args = ap.parse_args()
    ask = None
    if args.model:
        from agent.models import OpenAIModelConfig

        model = OpenAIModelConfig(base_url=args.model, max_tokens=200, timeout=900).build()
        ask = lambda messages: model.complete(messages).content  # noqa: E731

    if args.embed:
        os.environ["PATCHWRIGHT_EMBED"] = "1"
        if args.cache:  # file vectors live beside the parse cache, keyed by blob SHA too
            os.environ.setdefault("PATCHWRIGHT_EMBED_CACHE", args.cache)
    rows = [json.loads(line) for line in args.dataset.read_text().splitlines() if line.strip()]
    reachable = []
    for row in rows:
        try:
            resolve_source(row["repo"], args.repos)
        except Exception:
            continue
        if not args.repo or row["repo"] in args.repo:
            reachable.append(row)
    reachable.sort(key=lambda r: (r["repo"], r["created_at"]))  # neighbours share most blobs
    if args.limit:
        per: dict[str, int] = defaultdict(int)
        reachable = [r for r in reachable if (per.__setitem__(r["repo"], per[r["repo"]] + 1)
                                              or per[r["repo"]] <= args.limit)]
    print(f"{len(reachable)} instances from {len({r['repo'] for r in reachable})} repositories; "
          f"weights {FILE_WEIGHTS}", file=sys.stderr)
    results = []
    sink = args.out.open("w") if args.out else None
    # The per-blob caches hold millions of small objects: collect between instances, untimed,
    # instead of letting full collections land inside one instance's timing.
    gc.disable()
    for n, row in enumerate(reachable, 1):
        gc.collect()
        r = run_instance(row, args.repos, args.cache or None, args.signals, ask, args.model_budget)
        results.append(r)
        if sink:
            sink.write(json.dumps(r) + "\n")
            sink.flush()
        ok = "hit" if hit(r["files"], r["gold_files"], 5) else "miss"
        print(f"[{n}/{len(reachable)}] {r['instance_id']}: file@5 {ok}, index {r['index_seconds']:.2f}s, "
              f"prepare {r['prepare_seconds']:.2f}s, localize {r['localize_seconds']:.2f}s",
              file=sys.stderr, flush=True)
    print(report(results))


if __name__ == "__main__":
    main()
