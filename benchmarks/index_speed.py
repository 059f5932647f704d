"""Index speed: a cold index of a million lines of Python, and re-indexing 100 commits away.

    python benchmarks/index_speed.py                      # /work/.mirror: sympy + astropy
    python benchmarks/index_speed.py --repos DIR --distance 100

Cold: the newest commits of sympy and astropy are exported (`git archive`) side by side into one
directory, over a million lines of Python, and indexed from the working tree with no cache.
Re-index: sympy's newest commit is indexed into a fresh blob cache, then the commit `--distance`
first-parent commits earlier is indexed, read straight from git; the changed files' own parse time
is measured separately so the fixed overhead is visible. Times are wall seconds and CPU seconds of
this process plus its git children; the index is single-threaded, so CPU time is one core's time
even when other jobs share the machine.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.git import resolve_source  # noqa: E402
from tools.index import build_index  # noqa: E402
from tools.index.languages import language_for, load  # noqa: E402
from tools.index.parse import extract  # noqa: E402
from tools.index.sources import commit_entries, read_blobs  # noqa: E402


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):
    w, c = time.perf_counter(), _cpu()
    out = fn()
    return out, time.perf_counter() - w, _cpu() - c


def cold(repos: Path, names: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="pw-1m-") as tmp:
        for name in names:
            src = resolve_source(name, repos)
            dest = Path(tmp) / name.split("/")[1]
            dest.mkdir()
            archive = subprocess.run(["git", "-C", src, "archive", "HEAD"], capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        index, wall, cpu = timed(lambda: build_index(Path(tmp), cache=None))
        st = index.stats
        py_lines = sum(index.read(f).count("\n") for f in index.files() if f.endswith(".py"))
        print(f"cold index of {' + '.join(names)} (HEAD): {st['files_indexed']} files, {py_lines:,} lines "
              f"of Python, {st['symbols']:,} symbols, {st['references']:,} references")
        print(f"  wall {wall:.2f} s, CPU {cpu:.2f} s, {py_lines / cpu / 1e3:.0f}k lines per CPU second "
              f"-> {1e6 / (py_lines / cpu):.2f} CPU s per million lines")
        # The floor: tree-sitter's own parse of the same bytes, with no query and no Python work.
        parser = load(language_for("x.py"))[0]
        datas = [(Path(tmp) / f).read_bytes() for f in index.files() if f.endswith(".py")]
        _, _, parse_cpu = timed(lambda: [parser.parse(d) for d in datas])
        print(f"  of which tree-sitter parsing alone {parse_cpu:.2f} CPU s")
        _, wall2, _ = timed(lambda: build_index(Path(tmp), cache=None, workers=2))
        print(f"  with --workers 2: wall {wall2:.2f} s")


def reindex(repos: Path, name: str, distance: int) -> None:
    src = Path(resolve_source(name, repos))
    head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    old = subprocess.run(["git", "-C", str(src), "rev-parse", f"HEAD~{distance}"], capture_output=True,
                         text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="pw-reindex-") as tmp:
        cache = Path(tmp) / "cache.sqlite"
        first, wall0, cpu0 = timed(lambda: build_index(src, commit=head, cache=cache))
        again, wall1, cpu1 = timed(lambda: build_index(src, commit=old, cache=cache))
    # The changed files' parse time alone: what any index must spend on new content.
    before = {e.path: e.sha for e in commit_entries(src, head)}
    changed = [e for e in commit_entries(src, old) if language_for(e.path) and before.get(e.path) != e.sha]
    datas = read_blobs(src, [e.sha for e in changed])
    _, _, parse_cpu = timed(lambda: [extract(language_for(e.path), d) for e, d in zip(changed, datas) if d])
    print(f"re-index {name} {distance} commits back ({old[:10]} after {head[:10]}): "
          f"{again.stats['parsed']} files parsed, {again.stats['cached']} from the cache")
    print(f"  first index wall {wall0:.2f} s CPU {cpu0:.2f} s; re-index wall {wall1:.2f} s CPU {cpu1:.2f} s, "
          f"of which the changed files' parsing {parse_cpu:.2f} s -> overhead {cpu1 - parse_cpu:.2f} CPU s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repos", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--cold", nargs="+", default=["sympy/sympy", "astropy/astropy"])
    ap.add_argument("--repo", default="sympy/sympy", help="repository for the re-index measurement")
    ap.add_argument("--distance", type=int, default=100)
    args = ap.parse_args()
    cold(args.repos, args.cold)
    reindex(args.repos, args.repo, args.distance)


if __name__ == "__main__":
    main()
