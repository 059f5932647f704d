"""DockerSandbox against a real daemon (no mocks): build, cache, isolation, limits."""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path

import pytest

from agent.exits import ExitStatus, classify
from sandbox import SandboxError
from sandbox.base import Sandbox
from sandbox.docker import DockerSandbox, DockerSandboxConfig
from sandbox.images import env_cache_key
from tools.testlogs import parse_junit, parse_pytest_output

from sandbox_support import docker_sandbox

INSTALL = ["python -m pip install -q -e . pytest"]
PYTEST = "python -m pytest -rA -p no:cacheprovider --junitxml=/tmp/junit.xml"


@pytest.fixture(scope="module")
def sandbox() -> DockerSandbox:
    return docker_sandbox()


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory) -> Path:
    return _write(
        tmp_path_factory.mktemp("tiny") / "tiny-repo",
        {
            "pyproject.toml": """
                [build-system]
                requires = ["setuptools>=61"]
                build-backend = "setuptools.build_meta"

                [project]
                name = "tinypkg"
                version = "0.1.0"
            """,
            "tinypkg.py": "def add(a, b):\n    return a - b  # the bug\n",
            "tests/test_tiny.py": """
                import tinypkg

                def test_add():
                    assert tinypkg.add(2, 2) == 4

                def test_zero():
                    assert tinypkg.add(0, 0) == 0
            """,
            "tests/test_net.py": """
                import socket

                def test_connect():
                    socket.create_connection(("1.1.1.1", 80), timeout=5).close()

                def test_resolve():
                    socket.getaddrinfo("example.com", 80)
            """,
            "tests/test_gone.py": "def test_gone():\n    pass\n",
        },
    )


@pytest.fixture(scope="module")
def env(sandbox: DockerSandbox, tiny_repo: Path) -> str:
    return sandbox.prepare(tiny_repo, INSTALL)


def test_config_shape():
    cfg = DockerSandboxConfig()
    assert cfg.type == "docker" and cfg.base_image == "patchwright-base:bookworm"
    assert all(f.description for f in DockerSandboxConfig.model_fields.values())
    with pytest.raises(ValueError):
        DockerSandboxConfig(unknown=1)
    assert isinstance(cfg.build(), Sandbox)


def test_unreachable_daemon_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(SandboxError, match="Docker daemon not reachable at .*start dockerd") as err:
        DockerSandbox().prepare(tmp_path, [])
    assert classify(err.value).status == ExitStatus.SANDBOX  # the CLI's exit 4


@pytest.mark.docker
def test_prepare_is_cached(sandbox: DockerSandbox, tiny_repo: Path, env: str):
    assert env.startswith("patchwright-env:tiny-repo-")
    started = time.monotonic()
    assert sandbox.prepare(tiny_repo, INSTALL) == env
    assert time.monotonic() - started < 5


def test_cache_key_tracks_install_and_dependency_files(tmp_path: Path):
    repo = _write(tmp_path / "r", {"setup.py": "x = 1\n", "requirements/dev.txt": "a\n", "mod.py": ""})
    key = env_cache_key("sha256:base", INSTALL, repo)
    (repo / "mod.py").write_text("changed = True\n")  # source edits keep the env
    assert env_cache_key("sha256:base", INSTALL, repo) == key
    assert env_cache_key("sha256:other", INSTALL, repo) != key
    assert env_cache_key("sha256:base", INSTALL + ["true"], repo) != key
    (repo / "requirements" / "dev.txt").write_text("b\n")
    assert env_cache_key("sha256:base", INSTALL, repo) != key


@pytest.mark.docker
def test_run_reports_per_test_results(sandbox: DockerSandbox, tiny_repo: Path, env: str):
    result = sandbox.run(env, tiny_repo, PYTEST + " tests/test_tiny.py tests/test_gone.py")
    assert result.exit_code == 1 and not result.timed_out and not result.oom_killed
    expected = {
        "tests/test_tiny.py::test_add": "failed",
        "tests/test_tiny.py::test_zero": "passed",
        "tests/test_gone.py::test_gone": "passed",
    }
    assert result.junit_xml and parse_junit(result.junit_xml) == expected
    assert parse_pytest_output(result.output) == expected
    assert result.duration > 0


@pytest.mark.docker
def test_run_sees_the_patched_working_copy(sandbox: DockerSandbox, tmp_path: Path, tiny_repo: Path, env: str):
    # A copy of the repo, patched after prepare(): fixed module, deleted test.
    patched = tmp_path / "tiny-repo"
    shutil.copytree(tiny_repo, patched)
    (patched / "tinypkg.py").write_text("def add(a, b):\n    return a + b\n")
    (patched / "tests" / "test_gone.py").unlink()
    result = sandbox.run(env, patched, PYTEST + " tests")
    results = parse_junit(result.junit_xml or "")
    assert results["tests/test_tiny.py::test_add"] == "passed"
    assert not any(k.startswith("tests/test_gone.py") for k in results)
    # Untracked build products of setup (here the egg-info) survive the swap.
    listing = sandbox.run(env, patched, "ls; ls tests", junit_path=None).output
    assert "tinypkg.egg-info" in listing and "test_gone.py" not in listing


@pytest.mark.docker
def test_no_network_inside_run(sandbox: DockerSandbox, tiny_repo: Path, env: str):
    result = sandbox.run(env, tiny_repo, PYTEST + " tests/test_net.py", timeout=60)
    assert parse_junit(result.junit_xml or "") == {
        "tests/test_net.py::test_connect": "failed",
        "tests/test_net.py::test_resolve": "failed",
    }


@pytest.mark.docker
def test_host_environment_does_not_leak(sandbox, tiny_repo, env, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "secret-x")
    result = sandbox.run(env, tiny_repo, "env", junit_path=None)
    assert result.exit_code == 0 and "PATH=/venv/bin:" in result.output
    assert "secret-x" not in result.output and "GITHUB_TOKEN" not in result.output
    assert result.junit_xml is None


@pytest.mark.docker
def test_memory_limit_oom_kills(tiny_repo: Path, env: str):
    small = DockerSandboxConfig(mem_limit="64m").build()
    result = small.run(env, tiny_repo, "python -c 'x = bytearray(500 * 1024 * 1024); print(len(x))'")
    assert result.oom_killed is True
    assert result.exit_code != 0


@pytest.mark.docker
def test_timeout_kills(sandbox: DockerSandbox, tiny_repo: Path, env: str):
    started = time.monotonic()
    result = sandbox.run(env, tiny_repo, "echo started; sleep 30", timeout=2)
    assert result.timed_out is True and result.exit_code is None
    assert time.monotonic() - started < 20
    assert "started" in result.output


@pytest.mark.docker
def test_failing_install_is_a_clear_error(sandbox: DockerSandbox, tmp_path: Path):
    repo = _write(tmp_path / "broken-repo", {"setup.py": "raise SystemExit('no way')\n"})
    install = ["echo installing-step-marker", "python -m pip install --no-index -q no-such-dist"]
    with pytest.raises(SandboxError) as err:
        sandbox.prepare(repo, install)
    message = str(err.value)
    assert "broken-repo did not build" in message
    assert "installing-step-marker" in message and "no-such-dist" in message


@pytest.mark.docker
def test_missing_debootstrap_is_a_clear_error(sandbox, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no debootstrap on PATH
    cfg = DockerSandboxConfig(base_image="patchwright-base:test-never-built")
    with pytest.raises(SandboxError, match=r"debootstrap is not installed.*apt-get install -y debootstrap"):
        cfg.build().prepare(tmp_path, [])


@pytest.mark.docker
def test_failing_debootstrap_is_a_clear_error(sandbox):
    cfg = DockerSandboxConfig(base_image="patchwright-base:test-bad-suite", suite="no-such-suite")
    with pytest.raises(SandboxError, match=r"debootstrap failed .*no-such-suite"):
        cfg.build().ensure_base_image()
