"""What the model is asked, for every node that asks it: the issue as prompts show it, each stage's
messages (localize picks, patch, edit and test feedback) and the tokens left for code. Nodes build
no messages and render no templates themselves, so a prompt changes in one place."""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Callable

from agent.edit_format import EditFormat, resolve_edit_format
from prompts import render
from tools.issue_sources import cut_text, text_of

if TYPE_CHECKING:
    from agent.deps import Deps
    from agent.models.base import Reply

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
# Agent mode's opening messages take at most 1/AGENT_OPENING_SHARE of what the window leaves after
# the reply, so the turns keep the rest; the repository map at most MAX_MAP_TOKENS of the opening.
AGENT_OPENING_SHARE, MAX_MAP_TOKENS = 2, 1024


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
                   edit_format: EditFormat = "search_replace", line_numbers: bool = True) -> list[dict]:
    """The patch attempt's conversation: system, worked example, then the issue and the code, the
    reproduction test with its failing output when there is one (reproduction_shown), and the
    previous attempt's diff and its test output when it failed the tests; all of it teaching
    `edit_format` (agent.edit_format.resolve_edit_format)."""
    user = render(f"patch{_FORMAT_SUFFIX[edit_format]}.j2", issue_text=issue_text, code_shown=code_shown,
                  reproduction=reproduction or {}, previous_patch=previous_diff, test_feedback=test_feedback,
                  example_path=_example_path(locations), example_target=_example_target(locations))
    return [*_worked_example(edit_format, line_numbers), {"role": "user", "content": user}]


def feedback_on_edits(reply: str, problem: str, *, edit_format: EditFormat = "search_replace") -> list[dict]:
    """The turns that hand edits that did not apply back to the model, within one attempt."""
    feedback = render(f"edit_feedback{_FORMAT_SUFFIX[edit_format]}.j2", feedback=problem)
    return [{"role": "assistant", "content": reply}, {"role": "user", "content": feedback}]


def reply_cut(deps: Deps, what: str) -> str:
    """What the model is told when its reply stopped at max_tokens (what: the edit format, or
    "test"), ahead of what went wrong with the cut reply: the cut is why, and a shorter reply the fix."""
    return render("reply_cut.j2", max_tokens=reply_tokens(deps), what=what).strip()


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


def feedback_on_tests(*, timed_out: bool, oom_killed: bool, timeout: float, regressions: list[str], new: list[str],
                      already: list[str], output: str) -> str:
    """What the next patch prompt says about the failed test run (kept in the state until then): the
    failing tests that passed before the patch, those that did not run before it, and those that
    failed on the base commit too (named up to a few, then counted)."""
    return render("test_feedback.j2", timed_out=timed_out, oom_killed=oom_killed, timeout=timeout,
                  regressions=regressions, new=new, already=already, output=output)


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


def agent_messages(deps: Deps, issue_text: str, code_shown: str, locations: dict | None, *, specs: list[dict],
                   text_actions: bool, repo_map: Callable[[int], str], reproduction: dict | None = None,
                   previous_diff: str = "", test_feedback: str = "",
                   code_within: Callable[[int], str] | None = None) -> list[dict]:
    """Agent mode's opening: the system message (the rules; in text mode the tools and how to write
    an action) and the warm start: the issue, the reproduction, our ranking and its code, the
    repository map (`repo_map(tokens)`) and the previous attempt, within the opening's share of the
    window. The code is `code_shown` when it fits, else `code_within(tokens)` (the localization
    rendered again for that room), else code_shown's sections that fit."""
    system = render("agent_system.j2", tools=_tool_docs(specs), text_actions=text_actions,
                    example=_example_action(specs, locations))

    def opening(code: str, tree: str) -> str:
        return render("agent_task.j2", issue_text=issue_text, reproduction=reproduction or {},
                      ranked=_ranked(deps, locations), code_shown=code, repo_map=tree,
                      previous_patch=previous_diff, test_feedback=test_feedback)

    room = (deps.model.context_window() - reply_tokens(deps)) // AGENT_OPENING_SHARE
    tools = 0 if text_actions else deps.count_tokens(json.dumps(specs))  # the server puts them in the prompt
    left = room - tools - deps.count_tokens(system + opening("", ""))
    tree = repo_map(min(MAX_MAP_TOKENS, left // 4)) if left > 0 else ""
    code_room = left - deps.count_tokens(tree)
    if deps.count_tokens(code_shown) <= code_room or code_within is None:
        code = _cut_sections(deps, code_shown, code_room)
    else:
        code = code_within(code_room) or _cut_sections(deps, code_shown, code_room)
    return [{"role": "system", "content": system}, {"role": "user", "content": opening(code, tree)}]


def agent_reply(reply: Reply, *, native: bool) -> dict:
    """The model's reply as the conversation keeps it: its text, and with native calls its tool
    calls in the format the OpenAI API wants them back (text mode answers none, so keeps none)."""
    if not (native and reply.tool_calls):
        return {"role": "assistant", "content": reply.content}
    return {"role": "assistant", "content": reply.content or None,
            "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                           for c in reply.tool_calls]}


def agent_observation(action: dict, output: str, *, text_actions: bool) -> list[dict]:
    """A tool's output: the tool message answering a native call, else a user message."""
    if action["id"]:
        return [{"role": "tool", "tool_call_id": action["id"], "content": output if output.strip() else "(no output)"}]
    return [{"role": "user", "content": render("agent_observation.j2", name=action["name"], output=output,
                                               text_actions=text_actions)}]


def agent_nudge(kind: str, step: int = 0) -> str:
    """What the loop adds to a tool's answer: "empty_submit" (a first submit with no change, refused)
    or "repeated" (a failing call that failed the same way at `step`)."""
    return render("agent_nudge.j2", kind=kind, step=step).strip()


def agent_format_feedback(problem: str, *, call_ids: list[str], tools: list[str], text_actions: bool) -> list[dict]:
    """What a malformed reply gets back: a tool message per call it made (the API wants each one
    answered), else a user message."""
    feedback = render("agent_format_feedback.j2", problem=problem, tools=tools, text_actions=text_actions)
    if call_ids:
        return [{"role": "tool", "tool_call_id": i, "content": feedback} for i in call_ids]
    return [{"role": "user", "content": feedback}]


def agent_elided(what: str, step: int, chars: int) -> str:
    """What stands in for an old tool output ("output") or reply ("reply") when the window is full."""
    return f"[{what} of step {step} elided: {chars} characters]"


def _tool_docs(specs: list[dict]) -> list[dict]:
    """Each tool with its arguments, for the text-mode system message."""
    docs = []
    for spec in specs:
        schema = spec.get("parameters") or {}
        required = set(schema.get("required") or [])
        docs.append({"name": spec["name"], "description": spec["description"], "arguments": [
            {"name": name, "type": prop.get("type", "any"), "required": name in required,
             "description": prop.get("description", "")} for name, prop in (schema.get("properties") or {}).items()]})
    return docs


def _example_action(specs: list[dict], locations: dict | None) -> str:
    """A real call for the text-mode example: the first tool taking a path, on the best-ranked file."""
    spec = next((s for s in specs if "path" in ((s.get("parameters") or {}).get("properties") or {})), None)
    if spec is None:
        return json.dumps({"name": specs[0]["name"] if specs else "submit", "arguments": {}})
    return json.dumps({"name": spec["name"], "arguments": {"path": _example_path(locations)}})


def _ranked(deps: Deps, locations: dict | None) -> list[str]:
    """Localization's ranking as lines: the functions, then the files (run.top_symbols, run.top_files)."""
    run = deps.settings.run
    symbols = [f"{path}::{qualname} (lines {start}-{end})"
               for path, qualname, start, end, *_ in ((locations or {}).get("symbols") or [])[:run.top_symbols]]
    return symbols + [path for path, *_ in ((locations or {}).get("files") or [])[:run.top_files]]


def _cut_sections(deps: Deps, code: str, tokens: int) -> str:
    """`code` (file sections, best first) in `tokens`: the sections that fit whole, else the best one cut."""
    if tokens <= 0 or not code:
        return ""
    if deps.count_tokens(code) <= tokens:
        return code
    head, *sections = _SECTION.split(code)
    kept = head
    for section in sections:
        if deps.count_tokens(kept + section) > tokens:
            break
        kept += section
    if kept != head or not sections:
        return kept
    limit = tokens * 4  # more than count_tokens lets through; shrink until it fits
    while limit > 200 and deps.count_tokens(head + cut_text(sections[0], limit)) > tokens:
        limit = limit * 9 // 10
    return head + cut_text(sections[0], limit) if limit > 200 else ""


def _available(deps: Deps, issue_text: str) -> int:
    """Tokens of the window the patch prompt's parts beyond the fixed ones may take."""
    example = _worked_example(resolve_edit_format(deps.settings), deps.settings.run.line_numbers)
    fixed = deps.count_tokens("".join(m["content"] for m in example) + issue_text) + UNCOUNTED_TOKENS
    return deps.model.context_window() - reply_tokens(deps) - fixed


def _reproduction_room(deps: Deps, available: int) -> int:
    """Tokens kept for the reproduction in the patch prompt: none when the run writes none."""
    return min(MAX_REPRODUCTION_TOKENS, max(available // 8, 0)) if deps.settings.reproduce_enabled() else 0


def _worked_example(edit_format: EditFormat = "search_replace", line_numbers: bool = True) -> list[dict]:
    # A worked example as a prior turn teaches the format far better than a description, most of
    # all to small models (they otherwise copy placeholder paths from the instructions). Its code
    # listing looks like the real one (run.line_numbers), so the example teaches what to copy.
    suffix = _FORMAT_SUFFIX[edit_format]
    return [
        {"role": "system", "content": render(f"system{suffix}.j2", line_numbers=line_numbers)},
        {"role": "user", "content": render(f"example_user{suffix}.j2", line_numbers=line_numbers)},
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
