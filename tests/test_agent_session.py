"""Agent mode's container (sandbox/session.py) through the real tool box (agent/agent_mode/toolbox.py)
on the demo repository and the sandbox's offline base image: what the model's commands can reach,
and how the container's changes and the host working copy's stay the same."""
from __future__ import annotations

import shlex
import time
import uuid
from pathlib import Path

import pytest
from docker.errors import NotFound
from sandbox_support import PROBE, Listener, docker_sandbox, host_addresses, probe_targets

from agent.agent_mode.toolbox import make_toolbox
from agent.config import RunConfig, Settings
from agent.deps import Deps
from sandbox import owner
from sandbox.docker import DockerSandbox
from tools.git import init_repo_from_dir

pytestmark = [pytest.mark.docker]

DEMO = Path(__file__).resolve().parents[1] / "agent" / "demo" / "sample_repo"
# The base image has python3 but no pytest: this command plays the test suite.
CHECK_CLAMP = "python3 -c 'import textkit.numbers as n; assert n.clamp(5, 0, 3) == 3, n.clamp(5, 0, 3)'"
SECRET = "pw-test-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def sandbox() -> DockerSandbox:
    sb = docker_sandbox(run_id="test-agent-session-" + uuid.uuid4().hex[:8])
    sb.ensure_base_image()
    return sb


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "work" / "textkit"
    init_repo_from_dir(DEMO, root)
    return root


def _box(sandbox: DockerSandbox, root: Path, tmp_path: Path, state: dict | None = None, **run):
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    settings = Settings(home=tmp_path / "home", run=RunConfig(test_command=CHECK_CLAMP, **run))
    deps = Deps.create(settings, run_dir, model=object(), sandbox=sandbox)
    return make_toolbox({"workspace_dir": str(root), "env_image": sandbox.config.base_image, **(state or {})}, deps)


def _bash(box, command: str) -> str:
    observation = box.call("bash", {"command": command})
    assert observation.ok, observation.text
    return observation.text


def test_the_container_has_no_network_no_host_files_and_no_secrets(sandbox, workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHWRIGHT_APP__PRIVATE_KEY", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    listener = Listener()
    box = _box(sandbox, workspace, tmp_path)
    try:
        targets = probe_targets(host_addresses(sandbox.client), listener.port)
        probe = _bash(box, f"python3 - {shlex.quote(targets)} {listener.port} <<'EOF'\n{PROBE}\nEOF")
        assert "BLOCKED 169.254.169.254 80" in probe and "BLOCKED 127.0.0.1" in probe
        assert "REACHED" not in probe and listener.peers == []
        outside = _bash(box, "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), 3)\"")
        assert "OSError" in outside or "unreachable" in outside

        for host_path in ("/root/.cache/patchwright", str(workspace), str(tmp_path)):
            assert "ABSENT" in _bash(box, f"test -e {shlex.quote(host_path)} && echo PRESENT || echo ABSENT"), host_path
        assert str(tmp_path) not in _bash(box, "cat /proc/mounts")

        env = _bash(box, "env; tr '\\0' '\\n' < /proc/1/environ")
        assert SECRET not in env and "PATCHWRIGHT_" not in env and "GITHUB_TOKEN" not in env

        container = box.session.container
        container.reload()
        host, labels = container.attrs["HostConfig"], container.labels
        assert host["NetworkMode"] == "none" and container.attrs["Mounts"] == []
        assert host["Memory"] > 0 and host["PidsLimit"] == sandbox.config.pids_limit and host["NanoCpus"] > 0
        assert "no-new-privileges" in host["SecurityOpt"]
        assert labels[owner.RUN] == sandbox.run_id and labels[owner.PID]  # the reaper can tell whose it is
    finally:
        box.close()
        listener.close()
    with pytest.raises(NotFound):
        sandbox.client.containers.get(container.id)


def test_a_destructive_command_harms_only_the_container(sandbox, workspace, tmp_path):
    beside = tmp_path / "work" / "beside.txt"
    beside.write_text("a host file next to the working copy\n")
    box = _box(sandbox, workspace, tmp_path)
    try:
        # Deleting the repository's files is a change the model made: it comes back as a diff ...
        said = _bash(box, "rm -rf /repo/* ~ /tmp/*; ls -A")
        assert "files changed by this command" in said and "textkit/numbers.py" in said
        assert "deleted file mode" in box.diff() and not (workspace / "textkit" / "numbers.py").exists()
        assert (workspace / ".git").is_dir() and beside.read_text().startswith("a host file")
        # ... and can be undone like any other.
        _bash(box, "git checkout -- .")
        assert box.diff() == "" and (workspace / "textkit" / "numbers.py").is_file()

        # Wrecking the container: the host working copy stays as it was, the container is started again.
        box.call("edit", {"path": "README.md", "old": "# textkit", "new": "# textkit (edited)"})
        before = box.diff()
        wrecked = box.call("bash", {"command": "rm -rf --no-preserve-root / 2>/dev/null; echo done"}).text
        assert "started again" in wrecked
        assert box.diff() == before and beside.read_text().startswith("a host file")
        assert "# textkit (edited)" in _bash(box, "cat README.md")  # the new container holds the host's files
    finally:
        box.close()


def test_bash_output_is_capped_and_a_long_command_is_killed(sandbox, workspace, tmp_path):
    box = _box(sandbox, workspace, tmp_path, agent_output_chars=1000, agent_command_timeout=3)
    try:
        long = box.call("bash", {"command": "seq 1 100000"})
        assert long.truncated and len(long.text) < 1400
        assert long.text.splitlines()[1:3] == ["1", "2"] and long.text.rstrip().endswith("100000")
        assert "bytes of output cut here" in long.text
        started = time.monotonic()
        slow = box.call("bash", {"command": "sleep 60 & sleep 60"})
        assert "timed out after 3 s" in slow.text and time.monotonic() - started < 20
        assert slow.extra["timed_out"] and _bash(box, "echo still here").endswith("still here")
    finally:
        box.close()


def test_bash_edits_reach_the_host_and_edit_tools_reach_the_container(sandbox, workspace, tmp_path):
    box = _box(sandbox, workspace, tmp_path)
    try:
        said = _bash(box, "sed -i 's/min(value, low)/min(value, high)/' textkit/numbers.py && echo x > notes.txt")
        assert "textkit/numbers.py" in said and "notes.txt" in said
        diff = box.diff()
        assert "+    return max(low, min(value, high))" in diff and "+++ b/notes.txt" in diff
        assert "min(value, high)" in (workspace / "textkit" / "numbers.py").read_text()

        assert box.call("edit", {"path": "textkit/words.py", "old": "return len(text.split())",
                                 "new": "return len(text.split())  # edited on the host"}).ok
        assert "# edited on the host" in _bash(box, "cat textkit/words.py")
        created = box.call("create", {"path": "textkit/extra.py", "text": "EXTRA = 1\n"})
        assert created.ok and "EXTRA = 1" in _bash(box, "cat textkit/extra.py")
        assert box.diff().count("diff --git") == 4  # nothing lost or doubled going back and forth

        # A symlink made in the container is refused: the host stays as it was, the container too.
        before = box.diff()
        linked = _bash(box, "ln -s /etc/passwd textkit/passwd && echo made")
        assert "cannot be kept" in linked and "symbolic link" in linked
        assert box.diff() == before and not (workspace / "textkit" / "passwd").is_symlink()
        assert "ABSENT" in _bash(box, "test -L textkit/passwd && echo PRESENT || echo ABSENT")
    finally:
        box.close()


def test_run_tests_runs_in_the_container_with_the_reproduction(sandbox, workspace, tmp_path):
    repro = {"status": "reproduced", "path": "tests/test_repro_clamp.py",
             "code": "from textkit.numbers import clamp\n"
                     "assert clamp(5, 0, 3) == 3, 'still broken'\nprint('repro ok')\n"}
    box = _box(sandbox, workspace, tmp_path, {"reproduction": repro}, reproduce_command="PYTHONPATH=. python3 {test}")
    try:
        failing = box.call("run_tests", {})
        assert "python3 tests/test_repro_clamp.py" in failing.text and "still broken" in failing.text
        assert failing.extra["exit_code"] == 1
        box.call("edit", {"path": "textkit/numbers.py", "old": "min(value, low)", "new": "min(value, high)"})
        passing = box.call("run_tests", {})
        assert passing.extra["exit_code"] == 0 and "repro ok" in passing.text
        suite = box.call("run_tests", {"tests": ["tests/test_numbers.py"]})
        assert CHECK_CLAMP in suite.text and suite.extra["exit_code"] == 0
        # The reproduction test was there for the runs only: not on the host, not in the diff.
        assert not (workspace / repro["path"]).exists() and "test_repro_clamp" not in box.diff()
        assert "ABSENT" in _bash(box, f"test -e {repro['path']} && echo PRESENT || echo ABSENT")
    finally:
        box.close()
