"""The typed run state. Each node reads the fields before it and writes its own; `attempts`
alone is added to by two nodes (patch records an attempt, verify its outcome), through a reducer.
`diff`, `candidates` and `selection` are written by patch, then replaced by verify (the chosen one)."""
from __future__ import annotations

from typing import Annotated, Literal, TypedDict

ExitStatus = Literal[
    "running",       # a stage finished normally; go on
    "patch_failed",  # the model gave no applicable edit this attempt
    "tests_failed",  # the patch applied but the tests do not pass
    "fixed",         # the tests pass with the patch
    "unfixed",       # attempts exhausted
]


def record_attempts(recorded: list[dict], update: list[dict]) -> list[dict]:
    """The reducer of `attempts`: an update naming an attempt already recorded (by its number)
    merges into that record, as verify adds the outcome to patch's; any other is appended."""
    merged = [dict(a) for a in recorded]
    for new in update:
        same = next((a for a in merged if a["attempt"] == new["attempt"]), None)
        if same is None:
            merged.append(dict(new))
        else:
            same.update(new)
    return merged


class RunState(TypedDict, total=False):
    run_id: str
    issue: dict                 # tools.issue_sources.Issue as a dict: the only issue text nodes see
    workspace_dir: str          # working copy path
    base_commit: str
    index_stats: dict
    locations: dict             # {"files": [[path, score]], "symbols": [[path, qualname, start, end, score]]}
    code_shown: str             # the code the patch prompt shows, within code_budget
    code_budget: int            # tokens the patch prompt leaves for code (agent.prompting.code_budget)
    model_picks: dict           # optional second stage: {"files": [...], "symbols": [[path, qualname]]}
    # The reproduce node's test, kept here, not in the working copy: {"status": "reproduced" |
    # "not_reproduced", "path", "code", "diff" (adds the file; when reproduced), "output" (capped), "turns", "reason"}
    reproduction: dict
    attempt: int                # patch attempts started so far
    diff: str                   # the current attempt's unified diff (after verify: its chosen candidate's)
    # The current attempt's patch candidates (run.samples; agent/nodes/candidates.py says what each
    # holds): patch writes them, verify adds each one's test results and which was chosen.
    candidates: list[dict]
    selection: dict             # {"stopped": why generation stopped early (a budget), "chosen": index, "why"}
    attempts: Annotated[list[dict], record_attempts]  # every attempt: number, diff, outcome, failing tests
    test_feedback: str          # failing test output for the next attempt
    env_image: str
    tests_before: dict          # test id -> status, on the base commit
    tests_after: dict           # test id -> status, with the patch
    test_exit_code: int | None
    evidence: dict              # tools.testlogs.Evidence as a dict
    exit_status: ExitStatus
    reason: str                 # one line on why the run ended as it did
    # Agent mode's last attempt (agent/agent_mode/record.py): {"attempt", "tool_calls": "native" | "text"
    # (decided once per run), "runs": [{"index", "temperature", "steps", "ended"}]}
    agent: dict
    # Only in checkpoints written before issue 11 (declared so resuming them keeps it): code_shown's old name.
    context: str
