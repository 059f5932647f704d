"""Diffs compared by the change they make, not how git printed it: two patch candidates that differ
only in whitespace, blob hashes or hunk line numbers make the same change (and count as one vote).

`normalize_diff` keeps, per file, its paths and each block of removed and added lines with the
whitespace in every line collapsed and blank lines dropped; lines a block removes and adds again
unchanged (a re-indented or trailing-space-only line next to the real change) become context; the
one context line before a block stays as its anchor, so the same edit in two places stays two edits.
"""
from __future__ import annotations

# Lines that say nothing about the change: git's own header, blob hashes, the missing-newline note.
_DROPPED = ("diff --git ", "index ", "\\ No newline at end of file")


def normalize_diff(diff: str) -> str:
    """The change `diff` makes, as text equal for diffs making the same change."""
    out: list[str] = []
    for header, hunks in _files(diff):
        blocks = [line for hunk in hunks for line in _blocks(hunk)]
        kept_header = [h for h in header if not h.startswith(_DROPPED)]
        # A file whose only change was whitespace adds nothing; one created, deleted or re-moded does.
        if blocks or any(not h.startswith(("--- ", "+++ ")) for h in kept_header):
            out += kept_header + blocks
    return "\n".join(out)


def changed_lines(diff: str) -> int:
    """Lines the diff removes or adds (inside hunks: file headers do not count)."""
    return sum(1 for _, hunks in _files(diff) for hunk in hunks for line in hunk if line[:1] in ("+", "-"))


def _files(diff: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each file's header lines and hunks (the lines after each `@@` line, its line numbers dropped)."""
    files: list[tuple[list[str], list[list[str]]]] = []
    for line in diff.splitlines():
        if line.startswith("diff --git ") or not files:
            files.append(([], []))
        header, hunks = files[-1]
        if line.startswith("@@"):
            hunks.append([])
        elif hunks and line[:1] in (" ", "+", "-", ""):
            hunks[-1].append(line)
        elif not line.startswith("\\"):
            header.append(line)
    return files


def _blocks(hunk: list[str]) -> list[str]:
    """The hunk's real changes: each as its anchor (`@ ` + the context line before it) then its lines."""
    out: list[str] = []
    anchor, removed, added = "", [], []

    def flush() -> None:
        nonlocal anchor, removed, added
        # Lines removed and added again unchanged at either end of the block are context.
        while removed and added and removed[0] == added[0]:
            anchor = removed.pop(0)
            added.pop(0)
        while removed and added and removed[-1] == added[-1]:
            removed.pop()
            added.pop()
        if removed or added:
            out.extend([f"@ {anchor}", *(f"-{r}" for r in removed), *(f"+{a}" for a in added)])
            anchor = added[-1] if added else anchor
        removed, added = [], []

    for line in hunk:
        text = " ".join(line[1:].split())
        if line[:1] in ("+", "-"):
            if text:
                (added if line[0] == "+" else removed).append(text)
            continue
        flush()
        if text:
            anchor = text
    flush()
    return out
