"""Docker implementation of the sandbox.

Setup (dependency install) is the only phase that reaches anything outside, and only the package
index through an allowlist proxy (containers.build_layer); tests run offline, memory/CPU/pid limited,
with an explicit environment so that no host secret (GitHub token, model keys) can leak into code
the bot did not write.
"""

from __future__ import annotations

import logging
import os
import shlex
import uuid
from pathlib import Path
from typing import Literal

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound
from pydantic import BaseModel, ConfigDict

from . import containers, images, owner
from .base import ExecResult, SandboxError
from .containers import CA_TARGET  # noqa: F401  (re-exported for callers that used it here)

log = logging.getLogger("patchwright.sandbox")

# Manifest of the files copied in at setup time; `run` deletes those the
# working copy no longer has, but keeps untracked build products (in-place
# compiled extensions, egg-info) that a wholesale wipe of /repo would lose.
MANIFEST = ".patchwright/files"
LOG_TAIL_LINES = 40
BASE_ENV = {"PATH": images.VENV_PATH, "LANG": "C.UTF-8", "HOME": "/root"}


class DockerSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    type: Literal["docker"] = "docker"
    """Selects this sandbox implementation."""
    base_image: str = "patchwright-base:bookworm"
    """Local image every environment starts from; built with debootstrap if absent."""
    suite: str = "bookworm"
    """Debian suite for the base image (bookworm: Python 3.11, bullseye: 3.9)."""
    extra_packages: list[str] = []
    """Debian packages added to the base image (e.g. build-essential, patch for SWE-bench environments)."""
    debian_mirror: str | None = None
    """Debian mirror URL for debootstrap; None uses debootstrap's default mirror."""
    mem_limit: str = "2g"
    """Memory limit of a test run, swap included, so exceeding it OOM-kills."""
    cpus: float = 1.0
    """CPUs available to a test run."""
    pids_limit: int = 512
    """Maximum number of processes in a test run (fork-bomb guard)."""
    test_timeout: float = 600
    """Default seconds before a test run is killed."""
    setup_timeout: float = 1800
    """Seconds allowed to build a repository's environment."""
    setup_mem_limit: str = "4g"
    """Memory limit of a setup (install) container, swap included; larger than a test run's for compilers."""
    setup_cpus: float = 2.0
    """CPUs available to a setup container."""
    egress_hosts: list[str] = ["pypi.org", "files.pythonhosted.org"]
    """Hosts setup may reach, on port 443 only, through the egress proxy (add a private index here); empty: setup is offline."""
    ca_bundle: str = "/etc/ssl/certs/ca-certificates.crt"
    """Host CA bundle mounted read-only during setup so pip trusts the host's TLS-intercepting proxy, if any."""
    max_output_bytes: int = 32_000_000
    """Bytes of a container's log read back (the last ones); the cut is named in ExecResult.truncated."""
    max_file_bytes: int = 20_000_000
    """Bytes of a file read back from a container (junit.xml; the first ones); the cut is named in ExecResult.truncated."""

    def build(self, run_id: str | None = None) -> DockerSandbox:
        return DockerSandbox(self, run_id=run_id)


_reaped = False


def _reap_once(client) -> None:
    """The first Docker connection of a process removes containers that a killed earlier process
    (SIGKILL, OOM, reboot) left behind, so a worker or CLI that starts cleans up after the dead."""
    global _reaped
    if _reaped:
        return
    _reaped = True
    from .reaper import reap_orphans

    try:
        gone = reap_orphans(client)
    except (APIError, requests.RequestException) as exc:
        log.warning("could not look for orphaned sandbox containers: %s", exc)
        return
    if gone:
        log.info("removed %d sandbox container(s) left by processes that died", len(gone))


def _daemon_address() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def docker_available() -> bool:
    try:
        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (DockerException, requests.RequestException, OSError):
        return False


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


class DockerSandbox:
    def __init__(self, config: DockerSandboxConfig | None = None, *, run_id: str | None = None) -> None:
        self.config = config or DockerSandboxConfig()
        # Labels every container, so reap_orphans can tell whose it is once its owner is gone.
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._docker: docker.DockerClient | None = None

    @property
    def labels(self) -> dict[str, str]:
        return owner.labels(self.run_id)

    @property
    def client(self) -> docker.DockerClient:
        # Connect lazily: constructing the sandbox must not need a daemon.
        if self._docker is None:
            try:
                client = docker.from_env(timeout=300)
                client.ping()
            except (DockerException, requests.RequestException, OSError) as exc:
                raise SandboxError(
                    f"Docker daemon not reachable at {_daemon_address()}: start dockerd "
                    f"(e.g. `setsid dockerd >/tmp/dockerd.log 2>&1 &`) [{exc}]"
                ) from exc
            self._docker = client
            _reap_once(client)
        return self._docker

    def ensure_base_image(self) -> str:
        """Return the base image id, building it first if needed."""
        tag = self.config.base_image
        with images.file_lock("base-" + tag):
            try:
                return self.client.images.get(tag).id
            except ImageNotFound:
                pass
            images.build_base_image(self.client, tag, self.config.suite, self.config.debian_mirror,
                                    extra_packages=self.config.extra_packages)
            try:
                return self.client.images.get(tag).id
            except ImageNotFound as exc:
                raise SandboxError(f"docker import did not produce the base image {tag}") from exc

    def prepare(self, repo_dir: Path, install: list[str]) -> str:
        repo_dir = Path(repo_dir)
        key = images.env_cache_key(self.ensure_base_image(), install, repo_dir)
        image = f"{images.ENV_REPOSITORY}:{images.env_tag(repo_dir, key)}"
        with images.file_lock("env-" + key):
            if self._image_exists(image):
                return image
            self._build_env(repo_dir, install, image)
        return image

    def _image_exists(self, name: str) -> bool:
        try:
            self.client.images.get(name)
            return True
        except ImageNotFound:
            return False

    def _build_env(self, repo_dir: Path, install: list[str], image: str) -> None:
        cfg = self.config
        script = ["set -e"]
        steps = [
            "python3 -m venv /venv",
            "/venv/bin/python -m pip install -q -U pip setuptools wheel",
            *install,
        ]
        for step in steps:
            # Each step in a subshell run from /repo: a `cd` in one install
            # command must not move the next one.
            script += [f"echo {shlex.quote('+ ' + step)}", f"(cd /repo && {step})"]
        layer = containers.build_layer(
            self.client, cfg, self.labels, cfg.base_image, image, "\n".join(script),
            timeout=cfg.setup_timeout, trees=[(repo_dir, "repo")], workdir="/repo", manifest=MANIFEST,
        )
        if not layer.ok:
            why = (
                f"timed out after {cfg.setup_timeout:g}s" if layer.timed_out
                else f"an install command failed (exit {layer.status})"
            )
            raise SandboxError(
                f"the environment for repository {repo_dir.name} did not build: {why}; "
                f"install commands: {install!r}\n--- last {LOG_TAIL_LINES} lines of the log ---\n"
                + _tail(layer.log)
            )

    def run(
        self,
        env: str,
        repo_dir: Path,
        command: str,
        *,
        timeout: float | None = None,
        junit_path: str | None = "/tmp/junit.xml",
    ) -> ExecResult:
        cfg = self.config
        timeout = cfg.test_timeout if timeout is None else timeout
        prelude = [
            f"if [ -f /{MANIFEST} ]; then while IFS= read -r f; do",
            '  [ -e "/src/$f" ] || [ -L "/src/$f" ] || rm -rf "/repo/$f"',
            f"done < /{MANIFEST}; fi",
            "cp -a /src/. /repo/ || { echo 'patchwright: cannot copy the working copy' >&2; exit 125; }",
            "cd /repo || exit 125",
        ]
        if junit_path:
            prelude.append(f"rm -f {shlex.quote(junit_path)}")
        container = self._create(
            env,
            "\n".join(prelude) + "\n" + command,
            network_disabled=True,
            mem_limit=cfg.mem_limit,
            memswap_limit=cfg.mem_limit,
            nano_cpus=int(cfg.cpus * 1e9),
            pids_limit=cfg.pids_limit,
            environment=dict(BASE_ENV),
            security_opt=["no-new-privileges"],
        )
        try:
            containers.put(container, [(Path(repo_dir), "src")], {})
            read = (junit_path,) if junit_path else ()
            result, files = containers.execute(container, cfg, timeout, read)
            result.junit_xml = files.get(junit_path) if junit_path else None
            return result
        except (APIError, requests.RequestException) as exc:
            raise SandboxError(f"docker failed while running in {env}: {exc}") from exc
        finally:
            containers.remove(container)

    def _create(self, image: str, script: str, **kwargs):
        return containers.create(self.client, image, ["sh", "-c", script], self.labels, **kwargs)
