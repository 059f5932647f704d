"""The trajectory is the run's one record of model calls and usage: a run killed mid-write and
resumed still reports every whole call it made."""
from agent.trajectory import Trajectory


def test_torn_line_from_a_kill_is_skipped_and_the_resumed_run_starts_a_new_line(tmp_path):
    t = Trajectory.of_run(tmp_path)
    t.add("model", node="patch", prompt_tokens=100, completion_tokens=10, seconds=2.5)
    with t.path.open("a", encoding="utf-8") as f:
        f.write('{"type": "model", "node": "patch", "prompt_tok')  # SIGKILL here
    t.add("model", node="patch", prompt_tokens=50, completion_tokens=5, seconds=1.25)  # the resumed run
    t.add("node", node="patch", seconds=1.0)

    assert t.usage() == {"calls": 2, "prompt_tokens": 150, "completion_tokens": 15, "model_seconds": 3.75}
    assert [e["type"] for e in t.events()] == ["model", "model", "node"]
    assert t.path.read_text(encoding="utf-8").count("\n") == 4  # the fragment kept on a line of its own


def test_no_trajectory_means_no_usage(tmp_path):
    assert Trajectory.of_run(tmp_path / "never-ran").usage() == {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                                                   "model_seconds": 0.0}
