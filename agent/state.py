"""The typed run state. Each node reads the fields before it and writes its own."""
from __future__ import annotations

from typing import Literal, TypedDict

ExitStatus = Literal[
    "running",       # a stage finished normally; go on
    "patch_failed",  # the model gave no applicable edit this attempt
    "tests_failed",  # the patch applied but the tests do not pass
    "fixed",         # the tests pass with the patch
    "unfixed",       # attempts exhausted
]


class Usage(TypedDict):
    calls: int
    prompt_tokens: int
    completion_tokens: int


class RunState(TypedDict, total=False):
    run_id: str
    issue: dict                 # tools.issues.Issue as a dict: the only issue text nodes see
    workspace_dir: str          # working copy path
    base_commit: str
    index_stats: dict
    locations: dict             # {"files": [[path, score]], "symbols": [[path, qualname, start, end, score]]}
    context: str                # the code shown to the model, within the prompt budget
    context_budget: int
    model_picks: dict           # optional second stage: {"files": [...], "symbols": [[path, qualname]]}
    attempt: int                # patch attempts started so far
    diff: str                   # the current attempt's unified diff
    attempts: list[dict]        # every attempt: diff, outcome, failing tests
    test_feedback: str          # failing test output for the next attempt
    env_image: str
    tests_before: dict          # test id -> status, on the base commit
    tests_after: dict           # test id -> status, with the patch
    test_exit_code: int | None
    evidence: dict              # tools.testlogs.Evidence as a dict
    usage: Usage
    exit_status: ExitStatus
    reason: str                 # one line on why the run ended as it did
