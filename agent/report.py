"""The run report, as JSON for programs and Markdown for people. Written at the end of every run,
and when a run stops on an error, so there is always something to open. The Markdown shows the
issue's, the tests' and the model's text inert (tools.forge.markdown): it is read rendered."""
from __future__ import annotations

import json
from pathlib import Path

from agent.agent_mode import record as agent_record
from agent.trajectory import Trajectory
from tools.edits.diff import files_changed
from tools.forge.markdown import code, fence, text


def write_report(run_dir: Path, state: dict, trajectory: Trajectory, error: str | None = None,
                 spend: dict | None = None) -> dict:
    """`spend`: Deps.spend(), the run's spend next to its budgets; without it, the trajectory's alone."""
    issue = state.get("issue") or {}
    evidence = state.get("evidence") or {}
    selection = state.get("selection") or {}
    report = {
        "run_id": state.get("run_id") or run_dir.name,
        "status": "error" if error else state.get("exit_status", "unknown"),
        "reason": error or state.get("reason", ""),
        "issue": {k: issue.get(k) for k in ("id", "title", "source", "repo")},
        "base_commit": state.get("base_commit"),
        "attempts": [{k: v for k, v in a.items() if k not in ("diff", "results")} for a in state.get("attempts", [])],
        "patch_file": "patch.diff" if (run_dir / "patch.diff").exists() else None,
        "files_changed": files_changed(state.get("diff", "")),
        "tests": {
            "fail_to_pass": evidence.get("fail_to_pass", []),
            "pass_to_fail": evidence.get("pass_to_fail", []),
            "still_failing": evidence.get("still_failing", []),
            "exit_code_after": state.get("test_exit_code"),
            # What the sandbox cut when reading test output back (capped, so a huge file cannot
            # fill the host's memory): the evidence above comes from the part that was read.
            "output_cut": [note for e in trajectory.events("tests") for note in e.get("truncated", [])],
        },
        "reproduction": _reproduction(state),
        # The delivered attempt's patch candidates (run.samples) with their test results, and which was chosen.
        "candidates": [{k: v for k, v in c.items() if k != "diff"} for c in state.get("candidates", [])],
        "chosen": {"index": selection["chosen"], "why": selection["why"]} if "chosen" in selection else None,
        # Agent mode (run.solve = "agent"): the last attempt's steps and how the loop ended; None otherwise.
        "agent": agent_record.summary(state),
        "localization": (state.get("locations") or {}).get("files", [])[:10],
        "usage": trajectory.usage(),
        "spend": spend or trajectory.spend(),
        "node_seconds": node_seconds(trajectory),
    }
    (run_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (run_dir / "report.md").write_text(_markdown(report, state.get("diff", "")), encoding="utf-8")
    return report


def node_seconds(trajectory: Trajectory) -> dict[str, float]:
    totals: dict[str, float] = {}
    for event in trajectory.events("node"):
        totals[event["node"]] = round(totals.get(event["node"], 0.0) + event["seconds"], 3)
    return totals


def _reproduction(state: dict) -> dict | None:
    """The reproduce node's outcome and, when it reproduced, how its test did with the fix; None
    when the run wrote no reproduction (run.reproduce off)."""
    repro = state.get("reproduction")
    if not repro:
        return None
    reproduced = repro["status"] == "reproduced"
    return {"status": repro["status"], "path": repro.get("path"), "reason": repro.get("reason", ""),
            "turns": repro.get("turns", 0), "output": repro.get("output", "") if reproduced else "",
            # "passed" | "failed" with the last patch; None: no patch was tested with it
            "after_fix": (state.get("evidence") or {}).get("reproduction_after") if reproduced else None,
            "in_patch": reproduced and repro.get("path") in files_changed(state.get("diff", ""))}


def _markdown(r: dict, diff: str) -> str:
    issue = r["issue"]
    lines = [f"# patchwright run {r['run_id']}", "", f"**Status:** {r['status']}: {text(r['reason'])}", "",
             f"**Issue:** {text(issue.get('title') or issue.get('id') or '')} ({text(str(issue.get('source')))})",
             f"**Base commit:** {code(str(r['base_commit']))}", ""]
    t = r["tests"]
    lines += ["## Test evidence", ""]
    lines += [f"- fails before, passes after: {code(x)}" for x in t["fail_to_pass"]] or ["- no test went from failing to passing"]
    lines += [f"- passed before, fails after: {code(x)}" for x in t["pass_to_fail"]]
    lines += [f"- still failing: {code(x)}" for x in t["still_failing"]]
    lines += [f"- output cut: {text(x)}" for x in t.get("output_cut", [])]
    lines += reproduction_markdown(r["reproduction"])
    lines += ["", "## Attempts", ""] + [f"- {a['attempt']}: {a['outcome']}" for a in r["attempts"]]
    lines += candidates_markdown(r["candidates"], r["chosen"])
    lines += agent_record.markdown(r["agent"])
    u = r["usage"]
    lines += ["", "## Usage", "", f"{u['calls']} model calls, {u['prompt_tokens']} prompt + {u['completion_tokens']} completion tokens",
              "", spend_line(r["spend"]), ""]
    lines += ["## Time per node (s)", ""] + [f"- {k}: {v}" for k, v in r["node_seconds"].items()]
    if diff:
        lines += ["", "## Patch", "", fence(diff, "diff")]  # a fence no line of the diff can close
    return "\n".join(lines) + "\n"


def candidates_markdown(candidates: list[dict], chosen: dict | None) -> list[str]:
    """A table of the last attempt's candidates, when there were several (run.samples > 1)."""
    if len(candidates) < 2:
        return []
    lines = ["", "## Candidates (last attempt)", "",
             "| # | temperature | code | changed lines | votes | tests | regressions | reproduction |",
             "|---|---|---|---|---|---|---|---|"]
    for c in candidates:
        if c["problem"]:
            tests = "edits did not apply"
        elif c.get("same_as"):
            tests = f"same change as #{c['same_as']}"
        elif "tests_passed" in c:
            tests = "pass" if c["tests_passed"] else f"{len(c['failing'])} failing (exit {c['test_exit_code']})"
        else:
            tests = "not tested"
        temperature = "model's" if c["temperature"] is None else f"{c['temperature']:g}"
        mark = " (chosen)" if c.get("chosen") else ""
        lines.append(f"| {c['index']}{mark} | {temperature} | {c['variant']} | {c['diff_lines']} | {c['votes']} | "
                     f"{tests} | {len(c.get('regressions') or [])} | {c.get('reproduction') or '-'} |")
    if chosen:
        lines += ["", f"Chosen: #{chosen['index']}, {text(chosen['why'])}."]
    return lines


def spend_line(spend: dict) -> str:
    def of(limit, unit: str) -> str:
        return f" of {limit:g} {unit}" if limit is not None else f" {unit}"

    return (f"Spent {spend['tokens']}{of(spend.get('budget_tokens'), 'tokens')} and {spend['seconds']:g}"
            f"{of(spend.get('budget_seconds'), 's')}.")


def reproduction_markdown(repro: dict | None) -> list[str]:
    if repro is None:
        return []
    lines = ["", "## Reproduction", ""]
    if repro["status"] != "reproduced":
        return lines + [f"- not reproduced ({repro['turns']} turn(s)): {text(repro['reason'])}"]
    after = {"passed": "passes", "failed": "still fails"}.get(repro["after_fix"], "not run with a patch")
    lines += [f"- reproduced by {code(str(repro['path']))} ({repro['turns']} turn(s)): {text(repro['reason'])}",
              f"- with the fix: {after}" + ("; the test is part of the patch" if repro["in_patch"] else "")]
    if repro["output"]:
        lines += ["", "Output on the base commit:", "", fence(repro["output"])]
    return lines
