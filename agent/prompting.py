"""What the model is asked, for every node that asks it: the issue as prompts show it, each stage's
messages (localize picks, patch, edit and test feedback) and the tokens left for code. Nodes build
no messages and render no templates themselves, so a prompt changes in one place."""
from __future__ import annotations

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
    (system, worked example, issue) and room for test feedback. The localize stage's prompts are
    smaller than the patch prompt, so they fit in the same budget."""
    window = deps.model.context_window()
    example = _worked_example(resolve_edit_format(deps.settings))
    fixed = deps.count_tokens("".join(m["content"] for m in example) + issue_text) + UNCOUNTED_TOKENS
    available = window - reply_tokens(deps) - fixed
    # Retries add the previous diff and the test output; keep room for them, but never most of a small window.
    feedback = min(deps.settings.run.feedback_chars // 3 + 1500, available // 3)
    return max(int((available - feedback) * 0.9), 0)


def patch_messages(issue_text: str, code_shown: str, locations: dict | None, *,
                   previous_diff: str = "", test_feedback: str = "",
                   edit_format: EditFormat = "search_replace") -> list[dict]:
    """The patch attempt's conversation: system, worked example, then the issue and the code, with
    the previous attempt's diff and its test output when it failed the tests; all of it teaching
    `edit_format` (agent.edit_format.resolve_edit_format)."""
    user = render(f"patch{_FORMAT_SUFFIX[edit_format]}.j2", issue_text=issue_text, code_shown=code_shown,
                  previous_patch=previous_diff, test_feedback=test_feedback,
                  example_path=_example_path(locations), example_target=_example_target(locations))
    return [*_worked_example(edit_format), {"role": "user", "content": user}]


def feedback_on_edits(reply: str, problem: str, *, edit_format: EditFormat = "search_replace") -> list[dict]:
    """The turns that hand edits that did not apply back to the model, within one attempt."""
    feedback = render(f"edit_feedback{_FORMAT_SUFFIX[edit_format]}.j2", feedback=problem)
    return [{"role": "assistant", "content": reply}, {"role": "user", "content": feedback}]


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
