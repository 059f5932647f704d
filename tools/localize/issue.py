"""Read an issue the way a maintainer would: what code does it name, run, and see fail?

Everything here is plain text analysis of the issue alone; the repository is consulted later.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tools.localize.text import IDENT, STOP

_EXT = r"(?:py|pyi|pyx|js|jsx|mjs|cjs|ts|tsx|go|java|rs|c|h|cc|cpp|rb|cfg|toml|ini|txt|rst|md)"
_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:, in ([\w<>.]+))?')
# pytest's short tracebacks ("src/pkg/mod.py:12: in func"), and path:line in other languages' traces
_COLON_FRAME = re.compile(r"(?<![\w/.])((?:[\w.-]+/)*[\w.-]+\." + _EXT + r"):(\d+)(?::\d+)?(?:[:,]? in ([\w<>.]+))?")
_JAVA_FRAME = re.compile(r"at ([\w$.]+)\.([\w$<>]+)\(([\w$]+\.java):(\d+)\)")
_PATH = re.compile(r"(?<![\w])((?:[\w.-]+/)*[\w-][\w.-]*\." + _EXT + r")\b(?:#L(\d+)|:(\d+))?")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")
_FENCED = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.S)
_BACKTICK = re.compile(r"`([^`\n]+)`")
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")
_FROM_IMPORT = re.compile(r"^\s*(?:>>>\s*|\.\.\.\s*)?from\s+([\w.]+)\s+import\s+(\([\w\s,*]+|[\w \t,*]+)", re.M)
_IMPORT = re.compile(r"^\s*(?:>>>\s*)?import\s+([\w.]+(?:\s*,\s*[\w.]+)*)", re.M)
_EXC_LINE = re.compile(r"^[\sE>]*((?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception|Warning|Exit|Failure|Interrupt)))"
                       r"(?::\s*(.+))?$", re.M)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
# Template sections that describe the reporter's machine, not the code: version lists
# (`xr.show_versions()`, `pip list`) would otherwise point at print_versions.py and setup files.
_HEADING = re.compile(r"^(?:#{1,6}\s+(.+?)\s*#*|\*\*([^*\n]+)\*\*:?)\s*$", re.M)
_ENVIRONMENT = re.compile(r"^(?:environment|environment info|system details|versions?|os|os / environment|"
                          r"python version|\w+ version|extra tools|additional dependencies|screenshots|"
                          r"output of .*(?:versions?|pip list|freeze).*|mvce confirmation|installed versions)$",
                          re.I)
_URL = re.compile(r"\bhttps?://(?!\S*/blob/)\S+")  # permalinks into the repository are kept
_ALIAS = re.compile(r"^\s*(?:>>>\s*)?(?:from\s+([\w.]+)\s+)?import\s+([\w.]+)\s+as\s+(\w+)", re.M)
_COMPOUND = re.compile(r"(?<![\w-])[a-z][a-z0-9]+(?:-[a-z][a-z0-9]+)+(?![\w-])")
_EXC_NAME = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Warning))\b")
_QUOTED = re.compile(r"(?<![A-Za-z])\"([^\"\n]{12,200})\"|(?<![A-Za-z])'([^'\n]{12,200})'")
_GENERIC = {"__init__", "main", "run", "get", "set", "test", "setup", "__call__", "call", "name",
            "print", "len", "str", "int", "list", "dict", "type", "object", "range", "self",
            "isinstance", "assert", "append", "format", "copy", "items", "keys", "values"}
_BUILTIN_EXC = {"Exception", "ValueError", "TypeError", "KeyError", "IndexError", "AttributeError",
                "RuntimeError", "AssertionError", "NotImplementedError", "ImportError", "OSError",
                "ZeroDivisionError", "RecursionError", "StopIteration", "UserWarning",
                "DeprecationWarning", "FutureWarning", "RuntimeWarning", "SyntaxError", "NameError",
                "ModuleNotFoundError", "FileNotFoundError", "UnicodeDecodeError", "OverflowError"}


@dataclass
class Frame:
    path: str
    line: int | None
    func: str | None
    depth: int          # 0 = innermost (last printed) frame


@dataclass
class IssueFacts:
    text: str
    title: str
    frames: list[Frame] = field(default_factory=list)
    paths: list[tuple[str, int | None]] = field(default_factory=list)
    names: Counter = field(default_factory=Counter)     # identifier -> how strongly it is named
    dotted: list[str] = field(default_factory=list)     # a.b.C mentions, modules or attributes
    imports: list[tuple[str, str]] = field(default_factory=list)  # (module, name or "")
    messages: list[str] = field(default_factory=list)   # error text and quoted strings to find in code
    exceptions: list[str] = field(default_factory=list)
    code: str = ""                                        # fenced and inline code joined
    aliases: dict = field(default_factory=dict)           # `import xarray as xr`: xr -> xarray
    words: Counter = field(default_factory=Counter)       # Capitalised prose words: class names?
    compounds: list[str] = field(default_factory=list)    # hyphenated names: `ignore-paths`


def parse_issue(text: str) -> IssueFacts:
    # Template comments (`<!-- Please check ... -->`) and links are boilerplate shared by every issue.
    text = strip_environment(_URL.sub(" ", _HTML_COMMENT.sub(" ", text)))
    title = text.strip().split("\n", 1)[0]
    facts = IssueFacts(text=text, title=title)
    fenced = _FENCED.findall(text)
    inline = _BACKTICK.findall(_FENCED.sub(" ", text))
    facts.code = "\n".join(fenced + inline)
    _frames(text, facts)
    # Paths inside frames were weighed by depth above; URLs point elsewhere (permalinks below).
    rest = _JAVA_FRAME.sub(" ", _COLON_FRAME.sub(" ", _PY_FRAME.sub(" ", text)))
    for m in _PATH.finditer(re.sub(r"\w+://\S+", " ", rest)):
        line = m.group(2) or m.group(3)
        facts.paths.append((m.group(1), int(line) if line else None))
    for m in re.finditer(r"/blob/[0-9a-f]{7,40}/(\S+?\.\w+)(?:#L(\d+))?\b", text):  # permalinks
        facts.paths.append((m.group(1), int(m.group(2)) if m.group(2) else None))
    for module, names in _FROM_IMPORT.findall(text):
        words = re.split(r"[\s,()]+", names)
        for i, name in enumerate(words):
            if name and name != "as" and (i == 0 or words[i - 1] != "as"):
                facts.imports.append((module, name))
    for group in _IMPORT.findall(text):
        facts.imports.extend((m.strip(), "") for m in group.split(","))
    for m in _ALIAS.finditer(text):
        full = f"{m.group(1)}.{m.group(2)}" if m.group(1) else m.group(2)
        facts.aliases[m.group(3)] = full
    prose = _FENCED.sub(" ", text)
    for w in re.findall(r"(?<![\w.])([A-Z][a-z]+(?:[A-Z][a-z]+)*)\b", prose):
        facts.words[w] += 1
    facts.compounds = list(dict.fromkeys(_COMPOUND.findall(text)))
    facts.dotted = list(dict.fromkeys(_DOTTED.findall(text)))
    _names(text, title, fenced, inline, facts)
    _messages(text, facts)
    return facts


def strip_environment(text: str) -> str:
    """Drop template sections about the reporter's setup, up to the next heading."""
    fences = [m.span() for m in _FENCED.finditer(text)]
    heads = [m for m in _HEADING.finditer(text) if not any(a <= m.start() < b for a, b in fences)]
    if not heads:
        return text
    out, pos = [], 0
    for i, m in enumerate(heads):
        name = (m.group(1) or m.group(2) or "").strip().rstrip(":").strip("`*_ ")
        if _ENVIRONMENT.match(name):
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            out.append(text[pos:m.start()])
            pos = end
    out.append(text[pos:])
    return "".join(out)


def _frames(text: str, facts: IssueFacts) -> None:
    found: list[tuple[int, str, int, str | None]] = []  # (offset, path, line, func)
    for m in _PY_FRAME.finditer(text):
        found.append((m.start(), m.group(1), int(m.group(2)), m.group(3)))
    for m in _COLON_FRAME.finditer(text):
        found.append((m.start(), m.group(1), int(m.group(2)), m.group(3)))
    for m in _JAVA_FRAME.finditer(text):
        pkg = m.group(1).rsplit(".", 1)[0].replace(".", "/")
        found.append((m.start(), f"{pkg}/{m.group(3)}", int(m.group(4)), m.group(2)))
    found.sort()
    n = len(found)
    facts.frames = [Frame(p.replace("\\", "/"), line, func if func != "<module>" else None, n - 1 - i)
                    for i, (_, p, line, func) in enumerate(found)]


def _names(text: str, title: str, fenced: list[str], inline: list[str], facts: IssueFacts) -> None:
    """Identifiers written as code, weighted by how deliberate the mention looks."""
    weights = facts.names

    def add(names, w):
        for n in names:
            if len(n) >= 3 and n not in _GENERIC and n.lower() not in STOP:
                weights[n] = max(weights[n], w)

    add((n for c in inline for n in IDENT.findall(c)), 1.0)
    add(_CALL.findall(title), 1.0)
    add((n for n in IDENT.findall(title) if _codeish(n)), 1.0)
    prose = _FENCED.sub(" ", text)
    add((n for n in IDENT.findall(prose) if _codeish(n)), 0.7)
    add(_CALL.findall(prose), 0.7)
    for block in fenced:
        add(_CALL.findall(block), 0.6)
        add((n for n in IDENT.findall(block) if _codeish(n)), 0.5)
    for f in facts.frames:
        if f.func:
            add([f.func.rsplit(".", 1)[-1]], 0.8)
    for module, name in facts.imports:
        add([name] if name and name != "*" else [], 0.9)


def _codeish(word: str) -> bool:
    inner = word.strip("_")
    return "_" in inner or bool(re.search(r"[a-z][A-Z]", word)) or word.startswith("__")


def _messages(text: str, facts: IssueFacts) -> None:
    msgs: list[str] = []
    for m in _EXC_LINE.finditer(text):
        facts.exceptions.append(m.group(2))
        if m.group(3):
            msgs.append(m.group(3).strip())
    facts.exceptions.extend(_EXC_NAME.findall(text))
    facts.exceptions = [e for e in dict.fromkeys(facts.exceptions)]
    for m in _QUOTED.finditer(text):
        quoted = (m.group(1) or m.group(2)).strip()
        if " " in quoted:
            msgs.append(quoted)
    for line in text.splitlines():  # warnings and log lines printed by the program
        s = line.strip()
        if re.match(r"^(WARNING|ERROR|CRITICAL|Warning|Error|error|warning)\b[:\s]", s):
            msgs.append(re.sub(r"^\w+[:\s]+", "", s))
    facts.messages = [m for m in dict.fromkeys(msgs) if len(m) >= 8]


def custom_exceptions(facts: IssueFacts) -> list[str]:
    return [e for e in facts.exceptions if e not in _BUILTIN_EXC]
