"""Aider-style SEARCH/REPLACE blocks: apply them to files (blocks.py parses them).

Models copy code imperfectly, so a block that does not match exactly is retried ignoring
per-line leading/trailing whitespace; when that fails too the model gets the closest real lines
back so its next attempt can copy them. Last, SEARCH is taken as text inside lines (part of a line,
as str_replace tools read it) when that text is in the file exactly once. A block whose REPLACE
equals its SEARCH changes nothing and is passed over, so it cannot fail the edits beside it.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from tools.edits.blocks import NUMBERED, EditBlock, split_lines
from tools.edits.paths import file_not_found, refused_path, safe_target


@dataclass
class BlockFailure:
    block: EditBlock
    reason: str
    closest: str


@dataclass
class ApplyResult:
    applied: list[EditBlock]
    failures: list[BlockFailure]


def apply_blocks(root: Path, blocks: list[EditBlock]) -> ApplyResult:
    root = Path(root).resolve()
    result = ApplyResult(applied=[], failures=[])
    for block in blocks:
        if block.search == block.replace and block.search.strip():
            # A block that rewrites lines as they are changes nothing wherever it matches (small
            # models add such blocks beside the real edit): it must not fail the reply for a file or
            # a match it got wrong. A reply of nothing else still gets "changed nothing" back.
            result.applied.append(block)
            continue
        reason, closest = _apply_one(root, block)
        if reason is None:
            result.applied.append(block)
        else:
            result.failures.append(BlockFailure(block=block, reason=reason, closest=closest))
    return result


def _apply_one(root: Path, block: EditBlock) -> tuple[str | None, str]:
    if refusal := refused_path(block.path):
        return refusal, ""
    target = safe_target(root, block.path.replace("\\", "/"))
    if not target.exists():
        if block.search.strip():
            return file_not_found(root, block.path), ""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.replace, encoding="utf-8")
        except OSError as exc:
            return f"cannot create {block.path}: {exc}", ""
        return None, ""
    try:
        raw = target.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot edit {block.path}: {exc}", ""
    crlf = "\r\n" in raw
    content = raw.replace("\r\n", "\n")
    search, replace = block.search.replace("\r\n", "\n"), block.replace.replace("\r\n", "\n")
    if not search.strip():
        new = content + ("" if not content or content.endswith("\n") else "\n") + replace
    else:
        new, reason = replace_text(content, search, replace)
        if new is None and NUMBERED.search(search):
            # Small models copy the line numbers our code listings carry; those are ours, not the file's.
            new, _ = replace_text(content, NUMBERED.sub("", search), NUMBERED.sub("", replace))
        if new is None:
            closest = closest_lines(content, search)
            if replace.strip() and replace.strip("\n") in content:
                reason += " (note: the REPLACE text is already in the file; this edit may already be applied)"
            return f"{reason} in {block.path}", closest
    target.write_bytes((new.replace("\n", "\r\n") if crlf else new).encode("utf-8"))
    return None, ""


def replace_text(content: str, search: str, replace: str) -> tuple[str | None, str]:
    """`content` with SEARCH's one place replaced, or None and why: the exact lines, else the lines
    with other indentation (REPLACE re-indented to the file's), else text within a line."""
    lines = split_lines(content)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"  # compare whole lines even when the file lacks a final newline
    want = _as_lines(search)
    rep = _as_lines(replace)
    exact = [i for i in range(len(lines) - len(want) + 1) if lines[i:i + len(want)] == want]
    if len(exact) == 1:
        return _splice(content, lines, exact[0], len(want), rep), ""
    if len(exact) > 1:
        return None, _ambiguous(exact)
    # Leading/trailing blank lines in SEARCH are a common copying slip; don't let them block a match.
    while want and not want[0].strip():
        want.pop(0)
    while want and not want[-1].strip():
        want.pop()
    key = [w.strip() for w in want]
    loose = [i for i in range(len(lines) - len(want) + 1)
             if [ln.strip() for ln in lines[i:i + len(want)]] == key]
    if len(loose) > 1:
        return None, _ambiguous(loose)
    if not loose:
        return _within_lines(content, search, replace)
    i = loose[0]
    return _splice(content, lines, i, len(want), _reindent(rep, want, lines[i:i + len(want)])), ""


def _within_lines(content: str, search: str, replace: str) -> tuple[str | None, str]:
    """SEARCH as text rather than whole lines, as a str_replace tool (and agent mode's edit) reads
    it: small models copy part of a line (`headers['Cookie']`). Only text found exactly once is
    replaced, and only by what REPLACE says, so the lines around it stay as the file has them."""
    core, new = search.strip(), replace.strip()
    found = content.count(core) if core else 0
    if found == 1:
        return content.replace(core, new, 1), ""
    if found > 1:
        starts, at = [], content.find(core)
        while at != -1:
            starts.append(content.count("\n", 0, at))
            at = content.find(core, at + 1)
        return None, _ambiguous(starts)
    return None, "SEARCH block does not match"


def _ambiguous(starts: list[int]) -> str:
    where = ", ".join(str(i + 1) for i in starts[:5])
    return f"SEARCH block matches {len(starts)} places (lines {where}); add surrounding lines so it is unique"


def _as_lines(text: str) -> list[str]:
    return [ln if ln.endswith("\n") else ln + "\n" for ln in split_lines(text)]


def _splice(content: str, lines: list[str], i: int, n: int, rep: list[str]) -> str:
    out = "".join(lines[:i] + rep + lines[i + n:])
    # `lines` got a final newline added for matching; don't leave it behind in the file.
    return out[:-1] if content and not content.endswith("\n") and out.endswith("\n") else out




def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _reindent(rep: list[str], want: list[str], real: list[str]) -> list[str]:
    """Give REPLACE the file's indentation: a line that repeats a SEARCH line takes the real line's
    indentation; a new line keeps its offset from the nearest repeated line above it (or from the
    first SEARCH line). A block shifted as a whole is shifted back; a block whose lines were
    mis-indented one by one (copied from a numbered listing) is mended line by line."""
    first = next((k for k, w in enumerate(want) if w.strip()), None)
    if first is None:
        return rep
    real_of = {}
    for w, r in zip(want, real):
        if w.strip():
            real_of.setdefault((w.strip(), _indent(w)), _indent(r))
    anchor_wrote, anchor_have = _indent(want[first]), _indent(real[first])
    out = []
    for ln in rep:
        if not ln.strip():
            out.append(ln)
            continue
        wrote = _indent(ln)
        if (ln.strip(), wrote) in real_of:  # the same line at the same place as in SEARCH
            anchor_wrote, anchor_have = wrote, real_of[(ln.strip(), wrote)]
            out.append(anchor_have + ln.lstrip(" \t"))
        else:
            out.append(_shift(ln, anchor_wrote, anchor_have))
    return out


def _shift(line: str, wrote: str, have: str) -> str:
    """Move `line` by the difference between where the model put its anchor and where it really is."""
    if have.startswith(wrote):
        return have[len(wrote):] + line
    if wrote.startswith(have):
        cut = wrote[len(have):]
        return line[len(cut):] if line.startswith(cut) else line.lstrip(" \t")
    return have + line[len(wrote):] if line.startswith(wrote) else line


def closest_lines(content: str, search: str, context: int = 2) -> str:
    """The window of real lines most like SEARCH, numbered, like aider's "did you mean". A SEARCH
    of one line is often a fragment of a longer line (`lexer=python3` for `"lexer": "python3",`);
    there the line holding most of it in runs of 3 or more characters wins, the whole-line ratio
    breaking ties, since by ratio alone a short line unlike it scores higher."""
    lines = [ln.rstrip("\n") for ln in split_lines(content)]
    want = [w.rstrip("\n") for w in split_lines(search)]
    if not lines or not want:
        return ""
    size = min(len(want), len(lines))
    target = "\n".join(w.strip() for w in want)
    best, best_i = (-1.0, -1.0), 0
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    fragment = len(want) == 1 and len(target) > 0
    for i in range(len(lines) - size + 1):
        matcher.set_seq1("\n".join(ln.strip() for ln in lines[i:i + size]))
        if fragment:
            held = sum(b.size for b in matcher.get_matching_blocks() if b.size >= 3) / len(target)
            if held < best[0] or held == best[0] and matcher.quick_ratio() <= best[1]:
                continue
            score = (held, matcher.ratio())
        else:
            if matcher.real_quick_ratio() <= best[1] or matcher.quick_ratio() <= best[1]:
                continue
            score = (0.0, matcher.ratio())
        if score > best:
            best, best_i = score, i
    lo, hi = max(0, best_i - context), min(len(lines), best_i + size + context)
    return "\n".join(f"{n + 1:>5} | {lines[n]}" for n in range(lo, hi))


def feedback(failures: list[BlockFailure], applied: int | None = None) -> str:
    # `applied` is only for callers that keep successful blocks; one that resets the worktree on
    # any failure must not tell the model its other blocks stuck.
    if not failures:
        return ""
    n = len(failures)
    out = [f"# {n} SEARCH/REPLACE block{'s' if n > 1 else ''} failed to apply!\n"]
    for k, f in enumerate(failures, 1):
        b = f.block
        out.append(f"## Block {k}: {f.reason}\n")
        out.append(f"{b.path}\n<<<<<<< SEARCH\n{_nl(b.search)}=======\n{_nl(b.replace)}>>>>>>> REPLACE\n")
        if f.closest:
            out.append(f"Did you mean to match some of these actual lines from {b.path}? "
                       "(the numbers and '|' are not part of the file)\n")
            out.append(f"```\n{f.closest}\n```\n")
    out.append("The SEARCH section must match exactly an existing block of lines in the file, "
               "including all whitespace, comments, indentation and docstrings. "
               "Reply with corrected SEARCH/REPLACE blocks.")
    if applied:
        out[-1] += (f" The other {applied} block{'s' if applied > 1 else ''} applied "
                    "successfully; do not resend them.")
    return "\n".join(out)


def _nl(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
