"""What the model is asked, for every node that asks it: the issue as prompts show it, each stage's
messages (localize picks, patch, edit and test feedback) and the tokens left for code. Nodes build
no messages and render no templates themselves, so a prompt changes in one place."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.edit_format import EditFormat, resolve_edit_format
from prompts import render
from tools.issue_sources import cut_text, text_of

if TYPE_CHECKING:
    from agent.deps import Deps

# An issue may take a quarter of what the window leaves after the reply, and never more than this:
# beyond it an issue is logs or pasted files, and the code to change matters more.
ISSUE_SHARE, MAX_ISSUE_TOKENS = 4, 12_000
# The patch prompt's own words and the chat template's tokens per message, on top of the counted parts.
UNCOUNTED_TOKENS = 300
PLACEHOLDER_PATH = "src/module.py"  # the example path when the ranking found no file
PLACEHOLDER_FUNCTION = "function_name"  # the example function when the ranking found none in that file
# The templates that teach each edit format are the base names plus this (patch_function.j2...).
_FORMAT_SUFFIX = {"search_replace": "", "whole_function": "_function"}
# The reproduction test and its failing output in the patch prompt: at most this, or an eighth of
# what the window leaves, whichever is less; kept out of the code budget whenever a run reproduces.
MAX_REPRODUCTION_TOKENS = 800
# What sampled patch candidates are shown (run.samples > 1), as Agentless varies its samples' context:
# "ranked" is code_shown as localize rendered it, best file first; "reversed" the same file
# sections last to first. The same code in the same budget, so no variant can overflow the window,
# yet the model reads it in another order and weighs other files first.
CODE_VARIANTS = ("ranked", "reversed")
_SECTION = re.compile(r"^(?=## )", re.MULTILINE)  # tools/localize/render.py starts each file with "## path"


def reply_tokens(deps: Deps) -> int:
    """Tokens kept free for the model's reply."""
    return getattr(deps.settings.model, "max_tokens", 1024)


def issue_text(deps: Deps, issue: dict) -> str:
    """The issue as every prompt shows it: title and body, cut in the middle to the issue's
    share of the context window, so a huge issue cannot crowd out the code or the reply."""
    text = text_of(issue)
    room = deps.model.context_window() - reply_tokens(deps)
    tokens = max(min(room // ISSUE_SHARE, MAX_ISSUE_TOKENS), 64)
    limit = tokens * 4  # more than count_tokens lets through; shrink until it fits
    cut = cut_text(text, limit)
    while deps.count_tokens(cut) > tokens and limit > 0:
        limit = limit * 9 // 10
        cut = cut_text(text, limit)
    return cut


def code_budget(deps: Deps, issue_text: str) -> int:
    """Tokens left for code in the patch prompt: the window less the reply, the fixed prompt parts
    (system, worked example, issue), room for test feedback and, when the run writes one, for the
    reproduction test. The localize stage's prompts are smaller than the patch prompt, so they fit
    in the same budget."""
    available = _available(deps, issue_text)
    # Retries add the previous diff and the test output; keep room for them, but never most of a small window.
    feedback = min(deps.settings.run.feedback_chars // 3 + 1500, available // 3)
    return max(int((available - feedback - _reproduction_room(deps, available)) * 0.9), 0)


def reproduction_shown(deps: Deps, issue_text: str, reproduction: dict | None) -> dict:
    """The reproduce node's test as the patch prompt shows it ({path, code, output}, cut to the room
    code_budget kept for it), or {} when the issue was not reproduced."""
    if not reproduction or reproduction.get("status") != "reproduced":
        return {}
    room = _reproduction_room(deps, _available(deps, issue_text))
    code, output = reproduction.get("code", ""), reproduction.get("output", "")
    limit = room * 4  # more than count_tokens lets through; shrink until it fits
    while limit > 200:
        shown_code = cut_text(code, limit // 2)
        shown = {"path": reproduction.get("path", ""), "code": shown_code,
                 "output": cut_text(output, limit - len(shown_code))}
        if deps.count_tokens(shown["code"] + shown["output"]) <= room:
            return shown
        limit = limit * 9 // 10
    return {}


def code_variants(code_shown: str) -> dict[str, str]:
    """The code each of CODE_VARIANTS shows, leaving out a variant that shows what "ranked" does
    (code of a single file): its samples then share the ranked prompt, and one request."""
    head, *sections = _SECTION.split(code_shown)
    variants = {"ranked": code_shown, "reversed": head + "".join(reversed(sections))}
    return {name: text for name, text in variants.items() if name == "ranked" or text != code_shown}


def patch_messages(issue_text: str, code_shown: str, locations: dict | None, *,
                   previous_diff: str = "", test_feedback: str = "", reproduction: dict | None = None,
                   edit_format: EditFormat = "search_replace") -> list[dict]:
    """The patch attempt's conversation: system, worked example, then the issue and the code, the
    reproduction test with its failing output when there is one (reproduction_shown), and the
    previous attempt's diff and its test output when it failed the tests; all of it teaching
    `edit_format` (agent.edit_format.resolve_edit_format)."""
    user = render(f"patch{_FORMAT_SUFFIX[edit_format]}.j2", issue_text=issue_text, code_shown=code_shown,
                  reproduction=reproduction or {}, previous_patch=previous_diff, test_feedback=test_feedback,
                  example_path=_example_path(locations), example_target=_example_target(locations))
    return [*_worked_example(edit_format), {"role": "user", "content": user}]


def feedback_on_edits(reply: str, problem: str, *, edit_format: EditFormat = "search_replace") -> list[dict]:
    """The turns that hand edits that did not apply back to the model, within one attempt."""
    feedback = render(f"edit_feedback{_FORMAT_SUFFIX[edit_format]}.j2", feedback=problem)
    return [{"role": "assistant", "content": reply}, {"role": "user", "content": feedback}]


def fit_to_window(deps: Deps, messages: list[dict], fixed: int) -> list[dict]:
    """The conversation cut to the window: the first `fixed` messages (the budgeted prompt) as
    they are, the turns after them (a reply and its feedback) cut in the middle, longest first,
    until everything with the reply's room fits. An edit retry carries the whole failed reply
    back; without this, a long reply to a full prompt overflows the window and the server
    refuses the request."""
    room = deps.model.context_window() - reply_tokens(deps) - UNCOUNTED_TOKENS
    fitted = [dict(m) for m in messages]

    def total() -> int:
        return sum(deps.count_tokens(m.get("content") or "") for m in fitted)

    while total() > room:
        longest = max(fitted[fixed:], key=lambda m: len(m.get("content") or ""), default=None)
        if longest is None or len(longest["content"]) < 400:
            break  # nothing left worth cutting: the budgeted prompt alone is what it is
        longest["content"] = cut_text(longest["content"], len(longest["content"]) * 2 // 3)
    return fitted


def feedback_on_tests(*, timed_out: bool, oom_killed: bool, timeout: float, failing: list[str], output: str) -> str:
    """What the next patch prompt says about the failed test run (kept in the state until then)."""
    return render("test_feedback.j2", timed_out=timed_out, oom_killed=oom_killed, timeout=timeout,
                  failing=failing, output=output)


def reproduce_messages(issue_text: str, code_shown: str, tests: list[str], example_test: str,
                       new_path: str) -> list[dict]:
    """The reproduce node's question: one new test file that fails on the unfixed code, placed and
    written like the repository's `tests` (the nearest first; `example_test` is the start of it)."""
    return [{"role": "user", "content": render("reproduce.j2", issue_text=issue_text, code_shown=code_shown,
                                               tests=tests, example_test=example_test, new_path=new_path)}]


def feedback_on_reproduction(reply: str, *, kind: str, reason: str, path: str = "", output: str = "") -> list[dict]:
    """The turns that hand a test that did not reproduce the issue back to the model: `kind` is
    "refused" (the reply could not be used) or a tools.reproduction verdict kind."""
    feedback = render("reproduce_feedback.j2", kind=kind, reason=reason, path=path, output=output)
    return [{"role": "assistant", "content": reply}, {"role": "user", "content": feedback}]


def pick_files_messages(issue_text: str, listing: str, limit: int) -> list[dict]:
    """Model localization, first question: which candidate files to edit."""
    return [{"role": "user", "content": render("localize_files.j2", issue_text=issue_text, listing=listing, limit=limit)}]


def pick_symbols_messages(issue_text: str, outline: str, limit: int, example: str) -> list[dict]:
    """Model localization, second question: which units of the picked files' outline to edit."""
    return [{"role": "user", "content": render("localize_symbols.j2", issue_text=issue_text, skeleton=outline,
                                               limit=limit, example=example)}]


def _available(deps: Deps, issue_text: str) -> int:
    """Tokens of the window the patch prompt's parts beyond the fixed ones may take."""
    example = _worked_example(resolve_edit_format(deps.settings))
    fixed = deps.count_tokens("".join(m["content"] for m in example) + issue_text) + UNCOUNTED_TOKENS
    return deps.model.context_window() - reply_tokens(deps) - fixed


def _reproduction_room(deps: Deps, available: int) -> int:
    """Tokens kept for the reproduction in the patch prompt: none when the run writes none."""
    return min(MAX_REPRODUCTION_TOKENS, max(available // 8, 0)) if deps.settings.reproduce_enabled() else 0


def _worked_example(edit_format: EditFormat = "search_replace") -> list[dict]:
    # A worked example as a prior turn teaches the format far better than a description, most of
    # all to small models (they otherwise copy placeholder paths from the instructions).
    suffix = _FORMAT_SUFFIX[edit_format]
    return [
        {"role": "system", "content": render(f"system{suffix}.j2")},
        {"role": "user", "content": render(f"example_user{suffix}.j2")},
        {"role": "assistant", "content": render(f"example_assistant{suffix}.j2")},
    ]


def _example_path(locations: dict | None) -> str:
    """The best-ranked real file, so the instructions' example path is one the model may edit."""
    files = (locations or {}).get("files") or []
    return files[0][0] if files else PLACEHOLDER_PATH


def _example_target(locations: dict | None) -> str:
    """`path::qualname` of the best-ranked function in the example file, for FUNCTION headers."""
    path = _example_path(locations)
    ranked = [qual for where, qual, *_ in (locations or {}).get("symbols") or [] if where == path]
    return f"{path}::{ranked[0] if ranked else PLACEHOLDER_FUNCTION}"
