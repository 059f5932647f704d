"""The edit tools: replace one unique string in a file (`edit`), add lines after a line (`insert`),
write a new file (`create`). A slip (string not found or found twice, a bad line, a file that is
there already, a change that would leave a file that parsed unparseable, as SWE-agent's linting edit
refuses it) comes back as feedback the model can act on, and nothing is written; each success
shows the changed lines.
`extra["files_changed"]` names the file really written (a symlink inside the repository followed),
so the caller can copy it where the commands run."""
from __future__ import annotations

from pathlib import Path

from tools.agent_tools.base import Observation, ToolSpec
from tools.agent_tools.output import numbered
from tools.agent_tools.paths import is_binary, locate, relative
from tools.edits.blocks import NUMBERED, split_lines
from tools.edits.paths import file_not_found
from tools.edits.search_replace import closest_lines, replace_text
from tools.edits.syntax import edit_breaks

CONTEXT = 2        # unchanged lines shown around a change
MAX_SHOWN = 40     # changed lines shown in a confirmation

_PATH = {"type": "string", "description": 'the file, relative to the repository root, e.g. "src/app/models.py"'}

EDIT = ToolSpec(
    name="edit",
    description=("Replace text in a file: `old` must be copied exactly from the file (whole lines are safest, "
                 "without the line numbers view shows) and must appear only once; include more surrounding "
                 "lines if it appears several times. `new` replaces it."),
    parameters={"type": "object",
                "properties": {"path": _PATH,
                               "old": {"type": "string", "description": "the exact text to replace"},
                               "new": {"type": "string", "description": "the text to put in its place"}},
                "required": ["path", "old", "new"], "additionalProperties": False},
)

INSERT = ToolSpec(
    name="insert",
    description="Insert lines into a file after line number `line` (0 inserts at the top).",
    parameters={"type": "object",
                "properties": {"path": _PATH,
                               "line": {"type": "integer", "minimum": 0,
                                        "description": "the new text goes after this line; 0: before the first"},
                               "text": {"type": "string", "description": "the lines to insert"}},
                "required": ["path", "line", "text"], "additionalProperties": False},
)

CREATE = ToolSpec(
    name="create",
    description="Create a new file with the given text. It must not exist yet: change existing files with edit.",
    parameters={"type": "object",
                "properties": {"path": _PATH, "text": {"type": "string", "description": "the whole file"}},
                "required": ["path", "text"], "additionalProperties": False},
)


def edit(root: Path, path: str, old: str, new: str) -> Observation:
    loaded = _load(root, path)
    if isinstance(loaded, Observation):
        return loaded
    target, content, crlf = loaded
    old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
    if not old:
        return Observation("old is empty: copy the text to replace from the file (use insert to add lines)", ok=False)
    if old == new:
        return Observation("old and new are the same: nothing would change", ok=False)
    rel = relative(root, target)
    if content.count(old) == 0 and NUMBERED.search(old):
        # Small models copy view's line numbers; those are ours, not the file's.
        old, new = NUMBERED.sub("", old), NUMBERED.sub("", new)
    count = content.count(old)
    if count == 0:
        return _loosely(target, crlf, rel, content, old, new)
    if count > 1:
        lines, at = [], content.find(old)
        while at != -1:
            line = str(content.count("\n", 0, at) + 1)
            lines += [] if line in lines else [line]
            at = content.find(old, at + len(old))
        where = ", ".join(lines[:10]) + (", ..." if len(lines) > 10 else "")
        return Observation(f"old appears {count} times in {rel} (starting on lines {where}); include more "
                           "surrounding lines in old so that it appears exactly once", ok=False)
    at = content.index(old)
    updated = content[:at] + new + content[at + len(old):]
    first = content.count("\n", 0, at) + 1
    if refused := _unparseable(rel, content, updated):
        return refused
    _write(target, updated, crlf)
    return _done(f"edited {rel}", rel, updated, first, first + max(len(split_lines(new)), 1) - 1)


def _loosely(target: Path, crlf: bool, rel: str, content: str, old: str, new: str) -> Observation:
    """`old` not in the file as written: matched as SEARCH/REPLACE blocks are, its lines with other
    indentation (new re-indented to the file's) or its text within a line, when that finds one place.
    Small models drop or change the indentation of the lines they copy (seen on pytest-5809)."""
    updated, why = replace_text(content, old, new)
    if updated is None:
        if why.startswith("SEARCH block matches"):  # found more than once that way
            return Observation(f"{why.replace('SEARCH block', 'old, read with other indentation,')} ({rel})", ok=False)
        return _not_found(rel, content, old, new)
    if refused := _unparseable(rel, content, updated):
        return refused
    _write(target, updated, crlf)
    before, after = split_lines(content), split_lines(updated)
    first = next((k for k, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after))) + 1
    tail = next((k for k, (a, b) in enumerate(zip(reversed(before), reversed(after))) if a != b), 0)
    return _done(f"edited {rel} (old matched the file's lines with other indentation or within a line)",
                 rel, updated, first, max(first, len(after) - tail))


def insert(root: Path, path: str, line: int, text: str) -> Observation:
    loaded = _load(root, path)
    if isinstance(loaded, Observation):
        return loaded
    target, content, crlf = loaded
    text = text.replace("\r\n", "\n")
    if not text:
        return Observation("text is empty: nothing to insert", ok=False)
    lines = split_lines(content)
    if not 0 <= line <= len(lines):
        return Observation(f"line must be between 0 and {len(lines)} (the file has {len(lines)} lines)", ok=False)
    if line == len(lines) and lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    added = split_lines(text if text.endswith("\n") else text + "\n")
    updated = "".join(lines[:line] + added + lines[line:])
    rel = relative(root, target)
    if refused := _unparseable(rel, content, updated):
        return refused
    _write(target, updated, crlf)
    return _done(f"inserted {len(added)} line{'s' if len(added) > 1 else ''} into {rel} after line {line}",
                 rel, updated, line + 1, line + len(added))


def create(root: Path, path: str, text: str) -> Observation:
    target, refusal = locate(root, path)
    if target is None:
        return Observation(refusal, ok=False)
    rel = relative(root, target)
    if path.replace("\\", "/").endswith("/"):
        return Observation("the path names a folder: give the file's name", ok=False)
    if target.exists() or target.is_symlink():
        kind = "a folder" if target.is_dir() else "a file"
        return Observation(f"{rel} exists already ({kind}); change a file with edit or insert", ok=False)
    if refused := _unparseable(rel, None, text):
        return refused
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        return Observation(f"cannot create {rel}: {exc.strerror or exc}", ok=False)
    n = len(split_lines(text))
    return _done(f"created {rel} ({n} line{'' if n == 1 else 's'})", rel, text, 1, n)


def _unparseable(rel: str, before: str | None, after: str) -> Observation | None:
    broken = edit_breaks(rel, before, after)
    if broken is None:
        return None
    return Observation(f"not changed: this would leave {rel} unparseable, at {broken}\n"
                       "Check the indentation and the brackets, and make the change in one call "
                       "so that the file parses after it.", ok=False)


def _load(root: Path, path: str) -> tuple[Path, str, bool] | Observation:
    target, refusal = locate(root, path)
    if target is None:
        return Observation(refusal, ok=False)
    if target.is_dir():
        return Observation(f"{relative(root, target)} is a folder; edit changes files", ok=False)
    if not target.is_file():
        return Observation(file_not_found(Path(root).resolve(), path) + "; create makes a new file", ok=False)
    try:
        data = target.read_bytes()
    except OSError as exc:
        return Observation(f"cannot read {relative(root, target)}: {exc.strerror or exc}", ok=False)
    if is_binary(data):
        return Observation(f"{relative(root, target)} is a binary file; the edit tools change text files", ok=False)
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError:
        return Observation(f"{relative(root, target)} is not UTF-8 text; change it with bash instead", ok=False)
    return target, raw.replace("\r\n", "\n"), "\r\n" in raw


def _write(target: Path, content: str, crlf: bool) -> None:
    target.write_bytes((content.replace("\n", "\r\n") if crlf else content).encode("utf-8"))


def _not_found(rel: str, content: str, old: str, new: str) -> Observation:
    text = f"old was not found in {rel}"
    if len(new.strip()) >= 12 and new.strip("\n") in content:  # a short `new` is in most files anyway
        text += " (note: new is already in the file; this change may be made already)"
    closest = closest_lines(content, old)
    if closest:
        text += (f". Did you mean these lines of {rel}? (the numbers and ' | ' are not part of the file)\n"
                 f"{closest}\nCopy old exactly from the file, whitespace included.")
    return Observation(text, ok=False)


def _done(what: str, rel: str, content: str, first: int, last: int) -> Observation:
    """The confirmation: what changed, and the changed lines with a little context."""
    lines = split_lines(content)
    last = max(first, min(last, len(lines)))
    lo, hi = max(1, first - CONTEXT), min(len(lines), last + CONTEXT)
    shown = numbered(lines[lo - 1:min(hi, lo - 1 + MAX_SHOWN)], lo)
    if hi - lo + 1 > MAX_SHOWN:
        shown.append(f"[... lines {lo + MAX_SHOWN}-{hi} not shown; view them with view]")
    return Observation("\n".join([f"{what}:", *shown]), extra={"files_changed": [rel]})
