"""Write the run's deliverables: patch.diff, the report and the test evidence."""
from __future__ import annotations

import json

from agent.deps import Deps
from agent.nodes.selection import best_attempt
from agent.nodes.verify import RESULTS
from agent.report import write_report


def deliver(state: dict, deps: Deps) -> dict:
    status = state.get("exit_status")
    final = "fixed" if status == "fixed" else "unfixed"
    state, earlier = _best_of_attempts(state) if final == "unfixed" else (state, "")
    patch = _delivered_patch(state, deps)
    if patch:
        (deps.run_dir / "patch.diff").write_text(patch, encoding="utf-8")
    if state.get("evidence"):
        evidence = {"tests_before": state.get("tests_before"), "tests_after": state.get("tests_after"), **state["evidence"]}
        (deps.run_dir / "evidence.json").write_text(json.dumps(evidence, indent=2), encoding="utf-8")
    reason = state.get("reason", "")
    if final == "unfixed":
        stopped = deps.over_budget()  # the budget, not run.max_attempts, ended it: say so
        reason = f"gave up after {state.get('attempt', 0)} attempt(s){'; ' + stopped if stopped else ''}; last: {reason}"
        reason += earlier
    done = {**state, "exit_status": final, "reason": reason, "diff": patch}  # the report shows what is delivered
    write_report(deps.run_dir, done, deps.trajectory, spend=deps.spend())
    # The delivered attempt's diff and results stay in the state (the checkpoint and what callers read).
    return {"exit_status": final, "reason": reason, **{k: state[k] for k in ("diff", *RESULTS) if k in state}}


def _best_of_attempts(state: dict) -> tuple[dict, str]:
    """The state with the best attempt's patch and test results when an earlier attempt beats the
    last one (selection.best_attempt), and a note saying so; else the state as it is."""
    attempts = state.get("attempts") or []
    best = best_attempt(attempts)
    if not best or not best.get("results") or best is attempts[-1]:  # the reducer keeps attempts in order
        return state, ""
    last = attempts[-1]
    if not last.get("diff"):
        why = "its edits never applied"
    elif last.get("outcome") not in ("tests_passed", "tests_failed"):
        why = "it was not tested"
    else:
        why = (f"{len(last.get('regressions') or [])} regression(s) and {len(last.get('failing') or [])} failing "
               f"test(s), against {len(best.get('regressions') or [])} and {len(best.get('failing') or [])}")
    return ({**state, **best["results"], "diff": best["diff"]},
            f"; delivered attempt {best['attempt']}'s patch, the best tested (the last attempt's was not: {why})")


def _delivered_patch(state: dict, deps: Deps) -> str:
    """The attempt's diff, plus the diff adding the reproduction test when run.reproduction_in_pr and
    the test passes with this patch (a test still failing would only break the pull request's CI)."""
    patch = state.get("diff", "")
    repro = state.get("reproduction") or {}
    passed = (state.get("evidence") or {}).get("reproduction_after") == "passed"
    if patch and passed and repro.get("diff") and deps.settings.run.reproduction_in_pr:
        return patch + ("" if patch.endswith("\n") else "\n") + repro["diff"]
    return patch
