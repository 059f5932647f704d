"""Markdown for text we did not write (the model's prose, issue titles, test ids, error messages)
before it goes into a pull request, a comment or a report: it must read as the words it is, never
become an image, raw HTML, a link, a table, a heading, a mention or an issue reference.

`text` keeps the writer's single-line code spans (inert by themselves) and makes everything else
literal; `code` and `fence` wrap any text in a span or block it cannot close from inside.
"""
from __future__ import annotations

import re

# A code span: a run of backticks closed by a run of the same length, on one line (across lines a
# blank line or a block marker would end it earlier than this regex thinks, leaving text unescaped).
_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
# What GitHub turns into a link by itself; shown as code instead, whatever the host: even a
# github.com issue URL after "fixes" would close that issue when the pull request is merged.
_URL = re.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>`]+")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Inline markup that is more than emphasis: links and images ([ ]), tables (|), math ($),
# escapes (\) and stray backticks, which would open a code span we did not check.
_INLINE = re.compile(r"[\\`\[\]|$]")
_BLOCK = re.compile(r"(?m)^([ \t]*)([#=+\-*~])")  # headings, lists, rules, setext underlines, ~~~ fences


def text(s: str) -> str:
    """Untrusted text as inert Markdown, line breaks kept."""
    out, at = [], 0
    for span in _SPAN.finditer(s):
        out += [_plain(s[at:span.start()]), span.group(0)]
        at = span.end()
    out.append(_plain(s[at:]))
    return "".join(out)


def _plain(s: str) -> str:
    out, at = [], 0
    for url in _URL.finditer(s):
        link = url.group(0).rstrip(".,:;!?'\")]*_~")  # trailing punctuation ends the sentence, not the URL
        out += [_escape(s[at:url.start()]), code(link)]
        at = url.start() + len(link)
    out.append(_escape(s[at:]))
    return "".join(out)


def _escape(s: str) -> str:
    s = re.sub(r"[&<>]", lambda m: _HTML[m.group(0)], s)
    s = _INLINE.sub(lambda m: "\\" + m.group(0), s)
    s = _BLOCK.sub(lambda m: m.group(1) + "\\" + m.group(2), s)
    # A zero-width space after @ and before an issue number: nobody is pinged, no issue is
    # referenced (or closed, after "fixes"), and no e-mail address becomes a link.
    s = re.sub(r"(@(?=\w)|#(?=\d))", "\\1\u200b", s)
    return re.sub(r"\bGH-(?=\d)", "GH-\u200b", s)


def inline(s: str) -> str:
    """Untrusted text on one line (a status comment's reason)."""
    return text(" ".join(s.split()))


def code(s: str, *, table: bool = False) -> str:
    """`s` as one inline code span, whatever backticks it holds; `table=True` for a table cell,
    where GitHub splits cells on | even inside code."""
    s = " ".join(s.splitlines())
    if not s:
        return ""
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s[0] in "` " or s[-1] in "` " else ""  # CommonMark strips one space each side
    if table:
        s = s.replace("|", "\\|")
    return f"{ticks}{pad}{s}{pad}{ticks}"


def fence(s: str, info: str = "") -> str:
    """`s` as a fenced code block whose fence is longer than any backtick run inside it, so no
    line of `s` can close it early."""
    ticks = "`" * max(3, max((len(r) for r in re.findall(r"`+", s)), default=0) + 1)
    body = s.rstrip("\n")
    return f"{ticks}{info}\n{body}\n{ticks}"


def quote(s: str) -> str:
    """Already-neutral Markdown as a block quote, every line marked so none escapes it."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in s.splitlines())
