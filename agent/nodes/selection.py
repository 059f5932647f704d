"""Which of an attempt's tested candidates becomes its patch, chosen by execution as Agentless and
R2E-Gym do, never by what the model says: by tier (below), then by votes (how many candidates made
the same normalised change), then by the smaller diff (changed lines), then the earlier candidate
(the greedy one first). verify sets each tested candidate's results: tests_passed (the test command
exited 0 in time), regressions (tests that passed on the base commit and fail or error with it),
reproduction ("passed" | "failed" | None without a reproduction) and tier.
"""
from __future__ import annotations

# What a candidate of each tier did, as "the only candidate ..." ends; tier 0 without a reproduction
# has its own words, and tier 3 has none: when it is chosen, every candidate is in it.
_DID = {0: "whose reproduction test and test command pass, with no regression",
        1: "whose reproduction test passes with no regression (the test command still fails)",
        2: "with no regression"}
_DID_NO_REPRODUCTION = "whose test command passes with no regression"


def tier(candidate: dict, reproduced: bool) -> int:
    """0: the test command passes with no regression, and so does the reproduction test when the
    issue was reproduced; 1: no regression and the reproduction test passes, though the command
    fails (on a failure the base commit has too); 2: no regression; 3: the rest."""
    clean = not candidate["regressions"]
    reproduction_ok = not reproduced or candidate["reproduction"] == "passed"
    if clean and candidate["tests_passed"] and reproduction_ok:
        return 0
    if clean and reproduced and reproduction_ok:
        return 1
    return 2 if clean else 3


def choose(candidates: list[dict], reproduced: bool) -> tuple[int, str]:
    """The chosen candidate's index and one sentence on why (for the reason and the report)."""
    tested = [c for c in candidates if c.get("tier") is not None and c.get("same_as") is None]
    best = min(tested, key=lambda c: (c["tier"], -c["votes"], c["diff_lines"], c["index"]))
    return best["index"], _why(best, tested, len(candidates), reproduced)


def _why(best: dict, tested: list[dict], total: int, reproduced: bool) -> str:
    if len(tested) == 1:
        if total == 1:
            return "the only candidate"
        if best["votes"] == total:
            return f"all {total} candidates made this same change"
        return f"the only change whose edits applied ({best['votes']} of {total} candidates made it)"
    peers = [c for c in tested if c["tier"] == best["tier"]]
    if best["tier"] == 3:
        lead = "every distinct candidate breaks a test that passed before"
    else:
        did = _DID_NO_REPRODUCTION if best["tier"] == 0 and not reproduced else _DID[best["tier"]]
        if len(peers) == 1:
            return f"the only candidate {did}"
        lead = f"{len(peers)} distinct candidates {did}"
    if all(best["votes"] > c["votes"] for c in peers if c is not best):
        return f"{lead}; this one has the most votes ({best['votes']} of {total})"
    tied = [c for c in peers if c["votes"] == best["votes"]]
    if all(best["diff_lines"] < c["diff_lines"] for c in tied if c is not best):
        return f"{lead}, tied on votes; this one is the smallest diff ({best['diff_lines']} changed lines)"
    return f"{lead}, tied on votes and size; this one came first"


def best_attempt(attempts: list[dict]) -> dict | None:
    """The attempt whose patch a run delivers when none passed, so a later, worse attempt (or one
    whose edits never applied) does not replace a better earlier one: among the tested attempts,
    the best tier (verify records the chosen candidate's), then the fewest regressions, then the
    fewest failing tests, then the later attempt (it saw the earlier one's test output). Without a
    tested attempt: the last one that made a diff. None when no attempt did. A record from before
    tiers were kept counts as tier 0 when it passed and 3 otherwise."""
    tested = [(n, a) for n, a in enumerate(attempts)
              if a.get("diff") and a.get("outcome") in ("tests_passed", "tests_failed")]
    if tested:
        return min(tested, key=lambda na: (na[1].get("tier", 0 if na[1]["outcome"] == "tests_passed" else 3),
                                           len(na[1].get("regressions") or []), len(na[1].get("failing") or []),
                                           -na[0]))[1]
    made = [a for a in attempts if a.get("diff")]
    return made[-1] if made else None
