"""The search tools: text in the working copy's files (`git grep`, hardened like all host git), and
the tree-sitter index's definitions and references (tools/index). The index is passed in: the
caller keeps it fresh after edits."""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from tools import gitsafe
from tools.agent_tools.base import Observation, ToolSpec
from tools.agent_tools.output import clip
from tools.edits.paths import refused_path
from tools.errors import ToolError

MAX_MATCHES = 100
MAX_CHARS = 8000
MAX_SYMBOLS = 30
GREP_TIMEOUT = 60  # s; git grep's own regex engine has no catastrophic backtracking, but a huge repo is slow
MATCH_WIDTH = 300
NEAR_MATCHES = 20  # lines offered when an exact search found nothing
# path NUL line NUL text per match, binary files left out, untracked (new) files searched too
_GREP = ["-c", "core.quotepath=off", "grep", "-n", "-z", "-I", "--untracked", "--no-color"]

SEARCH = ToolSpec(
    name="search",
    description=("Search the text of the repository's files for a string (exact and case-sensitive), or for a "
                 "regular expression when regex is true (extended syntax, as grep -E). Answers path:line: text "
                 "for each matching line."),
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "the text to find (one line)"},
            "path": {"type": "string",
                     "description": 'only search here: a file, a folder or a glob such as "src/**/*.py"'},
            "regex": {"type": "boolean", "description": "read pattern as a regular expression (default false)"},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
)

DEFINITION = ToolSpec(
    name="definition",
    description=("Find where a function, class or method is defined: its file, its lines and its qualified name. "
                 'name is a plain name ("parse") or a qualified one ("Parser.parse").'),
    parameters={"type": "object",
                "properties": {"name": {"type": "string", "description": 'e.g. "clamp" or "Parser.parse"'}},
                "required": ["name"], "additionalProperties": False},
)

REFERENCES = ToolSpec(
    name="references",
    description="Find the lines that call, use or import a function, class or method, as path:line: text.",
    parameters={"type": "object",
                "properties": {"name": {"type": "string", "description": 'e.g. "clamp" or "Parser.parse"'}},
                "required": ["name"], "additionalProperties": False},
)


def search(root: Path, pattern: str, path: str | None = None, regex: bool = False, *,
           max_matches: int = MAX_MATCHES, max_chars: int = MAX_CHARS) -> Observation:
    if not pattern or "\n" in pattern or "\0" in pattern:
        return Observation("the pattern must be one non-empty line of text", ok=False)
    where = ["--"]
    if path:
        if refusal := refused_path(path):
            return Observation(refusal, ok=False)
        where.append(":(glob)" + path.replace("\\", "/").strip("/"))  # a glob, also matching a folder's files
    args = [*_GREP, "-E" if regex else "-F", "-e", pattern, *where]
    try:
        proc = gitsafe.run(Path(root), args, timeout=GREP_TIMEOUT, check=False)
    except ToolError:
        return Observation(f"the search took over {GREP_TIMEOUT} s; narrow it with a longer pattern or a path",
                           ok=False)
    if proc.returncode == 1:
        scope = f" in {path}" if path else ""
        missed = (f"no match for {pattern!r}{scope} (the search is case-sensitive{'' if regex else ' and exact'})")
        near = "" if regex else _lines_with_words(root, pattern, where)
        return Observation(f"{missed}; {near}" if near else f"{missed}; try a shorter or different pattern", ok=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return Observation(f"the search failed: {err[-1] if err else 'git grep exited ' + str(proc.returncode)}",
                           ok=False)
    return _matches(proc.stdout, max_matches, max_chars)


def _lines_with_words(root: Path, pattern: str, where: list[str]) -> str:
    """For an exact pattern that matched nothing: the lines holding each of its words (of 3 or more
    characters), "lexer=python3" finding `"lexer": "python3",`; "" with fewer than two words or none found."""
    words = list(dict.fromkeys(re.findall(r"\w{3,}", pattern)))[:6]
    if len(words) < 2:
        return ""
    terms = [x for i, w in enumerate(words) for x in ((["--and"] if i else []) + ["-e", w])]
    args = [*_GREP, "-F", *terms, *where]
    try:
        proc = gitsafe.run(Path(root), args, timeout=GREP_TIMEOUT, check=False)
    except ToolError:
        return ""
    if proc.returncode != 0:
        return ""
    found = _matches(proc.stdout, NEAR_MATCHES, MAX_CHARS // 4).text
    return f"lines holding all of its words ({', '.join(words)}):\n{found}"


def _matches(raw: bytes, max_matches: int, max_chars: int) -> Observation:
    found = []
    for record in raw.decode("utf-8", "replace").split("\n"):
        parts = record.split("\0", 2)  # path NUL line NUL text
        if len(parts) == 3:
            found.append(f"{parts[0]}:{parts[1]}: {clip(parts[2].rstrip(), MATCH_WIDTH)}")
    files = len({m.split(":", 1)[0] for m in found})
    out, used = [], 0
    for line in found[:max_matches]:
        if used + len(line) > max_chars and out:
            break
        out.append(line)
        used += len(line) + 1
    head = f"{len(found)} matching lines in {files} files"
    if len(out) < len(found):
        return Observation("\n".join([head + f" (showing the first {len(out)})", *out,
                                      f"[cut: {len(found) - len(out)} more matches not shown; "
                                      "use a longer pattern or a path to narrow the search]"]), truncated=True)
    return Observation("\n".join([head, *out]))


def definition(index, name: str, *, max_results: int = MAX_SYMBOLS) -> Observation:
    name = (name or "").strip()
    if not name or any(c.isspace() for c in name):
        return Observation('give one name, e.g. "clamp" or "Parser.parse"', ok=False)
    symbols = index.symbols()
    hits = [s for s in symbols if s.qualname == name or s.name == name or s.qualname.endswith("." + name)]
    if not hits and "." in name:  # module.function: the last part, in a file whose path has the rest
        last, rest = name.rsplit(".", 1)[1], name.rsplit(".", 1)[0].replace(".", "/")
        hits = [s for s in symbols if s.name == last and rest in s.path]
    if not hits:
        near = difflib.get_close_matches(name, sorted({s.qualname for s in symbols} | {s.name for s in symbols}),
                                         n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else "; search finds text that is not a definition"
        return Observation(f"no definition of {name} in the repository's index{hint}", ok=False)
    hits.sort(key=lambda s: (s.path, s.start_line))
    out = [f"{len(hits)} definition{'s' if len(hits) > 1 else ''} of {name}:"]
    for s in hits[:max_results]:
        head = s.signature.split("\n", 1)[0].strip() if s.signature else s.name
        out.append(f"{s.path}:{s.start_line}-{s.end_line}: {s.kind} {s.qualname}: {clip(head, MATCH_WIDTH)}")
    if len(hits) > max_results:
        out.append(f"[cut: {len(hits) - max_results} more not shown; give a qualified name (Class.method)]")
    return Observation("\n".join(out), truncated=len(hits) > max_results)


def references(index, name: str, *, max_results: int = MAX_MATCHES, max_chars: int = MAX_CHARS) -> Observation:
    name = (name or "").strip()
    if not name or any(c.isspace() for c in name):
        return Observation('give one name, e.g. "clamp" or "Parser.parse"', ok=False)
    if not hasattr(index, "references"):
        return Observation("this repository index does not record references; use search", ok=False)
    short = name.rsplit(".", 1)[-1]
    places: dict[tuple[str, int], str] = {}
    for path in index.files():
        for ref, line in index.references(path):
            if ref == short:
                places.setdefault((path, line), "uses")
        for module, imported, line in index.imports(path):
            if imported == short or module in (name, short) or module.endswith("." + name):
                places[(path, line)] = "imports"
    if not places:
        return Observation(f"nothing in the repository's index calls, uses or imports {name}; "
                           "search finds other mentions (strings, attributes)", ok=False)
    texts: dict[str, list[str]] = {}
    found = []
    for path, line in sorted(places):
        lines = texts.setdefault(path, index.read(path).split("\n"))
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        found.append(f"{path}:{line}: {clip(text, MATCH_WIDTH)}")
    # Calls are matched by the last part of the name: another class's method of the same name counts too.
    note = f" (any {short}: calls are matched by name)" if "." in name else ""
    shown = found[:max_results]
    while len("\n".join(shown)) > max_chars and len(shown) > 1:
        shown.pop()
    out = [f"{len(found)} places use or import {name}{note}:", *shown]
    if len(shown) < len(found):
        out.append(f"[cut: {len(found) - len(shown)} more not shown]")
    return Observation("\n".join(out), truncated=len(shown) < len(found))
