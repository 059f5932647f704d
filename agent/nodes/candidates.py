"""The patch candidates of one attempt (run.samples), shared by patch and verify: which are asked
for at which temperature with which code variant, how candidates making the same change become
one candidate with votes, and what of each is recorded (trajectory "candidate" events, report).

A candidate is a dict: index (1 is the first, greedy one), temperature (None: the model's own, the
single candidate of run.samples = 1), variant (agent.prompting.CODE_VARIANTS), diff ("" when its
edits never applied), problem (why not), turns, diff_lines, votes (candidates whose diffs normalise
to the same change; tools/edits/normalize.py), same_as (the index of the first of them, None for
that one); verify adds the test results (agent/nodes/selection.py).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from agent.deps import Deps
from tools.edits.normalize import changed_lines, normalize_diff


@dataclass(frozen=True)
class Slot:
    """One candidate to ask for."""

    index: int
    temperature: float | None  # None: the model config's temperature (run.samples = 1 asks as before)
    variant: str


def plan(samples: int, temperature: float, variants: list[str]) -> list[Slot]:
    """The first candidate greedy on the ranked code; the others sampled, alternating variants."""
    if samples <= 1:
        return [Slot(1, None, variants[0])]
    return [Slot(1, 0.0, variants[0])] + [Slot(i, temperature, variants[(i - 2) % len(variants)])
                                          for i in range(2, samples + 1)]


def batches(slots: list[Slot]) -> list[list[Slot]]:
    """Slots sharing a prompt and temperature, in the order of their first: each is one request for
    n samples (vLLM generates them together; agent/models/openai_compat.py asks again for the rest
    from a server that ignores n)."""
    groups: dict[tuple, list[Slot]] = {}
    for slot in slots:
        groups.setdefault((slot.temperature, slot.variant), []).append(slot)
    return list(groups.values())


def made(slot: Slot, *, diff: str, problem: str, turns: int) -> dict:
    return {"index": slot.index, "temperature": slot.temperature, "variant": slot.variant, "diff": diff,
            "problem": problem, "turns": turns, "diff_lines": changed_lines(diff) if diff else 0,
            "votes": 0, "same_as": None}


def single(diff: str) -> dict:
    """The one candidate of an attempt patched before issue 14 (a checkpoint that holds its diff only)."""
    return {**made(Slot(1, None, "ranked"), diff=diff, problem="", turns=1), "votes": 1}


def with_votes(candidates: list[dict]) -> list[dict]:
    """The candidates with votes and same_as set: the same normalised change is tested once, as
    its first candidate, and counts once per candidate that made it."""
    keys = {c["index"]: normalize_diff(c["diff"]) for c in candidates if c["diff"]}
    votes = Counter(keys.values())
    first: dict[str, int] = {}
    out = []
    for c in candidates:
        if c["index"] not in keys:
            out.append({**c, "votes": 0, "same_as": None})
            continue
        key = keys[c["index"]]
        lead = first.setdefault(key, c["index"])
        out.append({**c, "votes": votes[key], "same_as": None if lead == c["index"] else lead})
    return out


def public(candidate: dict) -> dict:
    """What the report and the trajectory show of a candidate: all but the diff text."""
    return {k: v for k, v in candidate.items() if k != "diff"}


def record(deps: Deps, node: str, attempt: int, candidates: list[dict]) -> None:
    """One "candidate" event per candidate, once its outcome is known."""
    for c in candidates:
        deps.trajectory.add("candidate", node=node, attempt=attempt, **public(c))


def retry_temperature(settings, own: float | None = None) -> float:
    """What an edit retry or a reproduction retry asks at: run.sample_temperature at least, since
    greedy decoding handed its refused answer back with the feedback tends to give it again word for
    word (3 of the 5 edit retries of the embedded model on the CPU panel did: a full prompt's time
    for nothing). `own` is the candidate's temperature (None: the model config's)."""
    if own is None:
        own = getattr(settings.model, "temperature", 0.0) or 0.0
    return max(own, settings.run.sample_temperature)
