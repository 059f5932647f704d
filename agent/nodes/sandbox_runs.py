"""What the nodes that run tests (reproduce, verify) share: the environment, reading a run's
results, and recording each run in tests/PHASE.log and the trajectory."""
from __future__ import annotations

from pathlib import Path

from agent.deps import Deps
from tools.testenv import detect_install
from tools.testlogs import parse_junit, parse_pytest_output


def environment(state: dict, deps: Deps, root: Path) -> str:
    """The environment image: the one in the state, else prepared now (the caller stores it, so
    a run prepares once)."""
    cfg = deps.settings.run
    return state.get("env_image") or deps.sandbox.prepare(root, cfg.install or detect_install(root))


def results(result) -> dict:
    """Test id -> status, from the run's JUnit XML when it wrote any, else from its -rA output."""
    if result.junit_xml:
        parsed = parse_junit(result.junit_xml)
        if parsed:
            return parsed
    return parse_pytest_output(result.output)


def record(deps: Deps, node: str, phase: str, result, tests: dict) -> None:
    log_dir = deps.run_dir / "tests"
    log_dir.mkdir(exist_ok=True)
    (log_dir / f"{phase}.log").write_text(result.output, encoding="utf-8")
    deps.trajectory.add("tests", node=node, phase=phase, exit_code=result.exit_code, timed_out=result.timed_out,
                        oom_killed=result.oom_killed, seconds=round(result.duration, 3), results=tests,
                        truncated=[f"{phase}: {note}" for note in result.truncated])
