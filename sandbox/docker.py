"""Docker implementation of the sandbox.

Setup (dependency install) is the only phase with network access; tests run
offline, memory/CPU/pid limited, with an explicit environment so that no host
secret (GitHub token, model keys) can leak into code the bot did not write.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Literal

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import LogConfig, Mount
from pydantic import BaseModel, ConfigDict

from . import images
from .base import ExecResult, SandboxError

CA_TARGET = "/etc/ssl/certs/host-ca.crt"
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
    ca_bundle: str = "/etc/ssl/certs/ca-certificates.crt"
    """Host CA bundle mounted read-only during setup so pip trusts the host's proxy."""

    def build(self) -> "DockerSandbox":
        return DockerSandbox(self)


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
    def __init__(self, config: DockerSandboxConfig | None = None) -> None:
        self.config = config or DockerSandboxConfig()
        self._docker: docker.DockerClient | None = None

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
        mounts, script = [], ["set -e"]
        if Path(cfg.ca_bundle).is_file():
            mounts.append(Mount(CA_TARGET, cfg.ca_bundle, type="bind", read_only=True))
            # Exported by the script rather than set on the container, so that
            # commit() does not bake a path to a missing file into the image.
            for var in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
                script.append(f"export {var}={CA_TARGET}")
        steps = [
            "python3 -m venv /venv",
            "/venv/bin/python -m pip install -q -U pip setuptools wheel",
            *install,
        ]
        for step in steps:
            # Each step in a subshell run from /repo: a `cd` in one install
            # command must not move the next one.
            script += [f"echo {shlex.quote('+ ' + step)}", f"(cd /repo && {step})"]
        container = self._create(
            cfg.base_image,
            "\n".join(script),
            network_mode="host",
            mounts=mounts,
            environment={**BASE_ENV, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"},
        )
        try:
            repo_tar, files = images.repo_tar(repo_dir, "repo")
            with repo_tar:
                container.put_archive("/", repo_tar)
            manifest = "".join(f + "\n" for f in files).encode()
            container.put_archive("/", images.tar_single_file(MANIFEST, manifest))
            container.start()
            try:
                status = container.wait(timeout=cfg.setup_timeout)["StatusCode"]
            except requests.RequestException:
                self._kill(container)
                status = None
            if status != 0:
                log = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
                why = (
                    f"timed out after {cfg.setup_timeout:g}s" if status is None
                    else f"an install command failed (exit {status})"
                )
                raise SandboxError(
                    f"the environment for repository {repo_dir.name} did not build: {why}; "
                    f"install commands: {install!r}\n--- last {LOG_TAIL_LINES} lines of the log ---\n"
                    + _tail(log)
                )
            repository, _, tag = image.rpartition(":")
            container.commit(
                repository=repository,
                tag=tag,
                changes=[
                    f"ENV PATH={images.VENV_PATH}",
                    "ENV LANG=C.UTF-8",
                    "WORKDIR /repo",
                    'CMD ["/bin/sh"]',
                ],
            )
        except (APIError, requests.RequestException) as exc:
            raise SandboxError(f"docker failed while building {image}: {exc}") from exc
        finally:
            self._remove(container)

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
            src_tar, _ = images.repo_tar(Path(repo_dir), "src")
            with src_tar:
                container.put_archive("/", src_tar)
            started = time.monotonic()
            container.start()
            timed_out = False
            try:
                exit_code = container.wait(timeout=timeout)["StatusCode"]
            except requests.RequestException:
                self._kill(container)
                exit_code, timed_out = None, True
            duration = time.monotonic() - started
            container.reload()
            oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
            output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
            junit = self._read_file(container, junit_path) if junit_path else None
            return ExecResult(exit_code, output, timed_out, oom, duration, junit)
        except (APIError, requests.RequestException) as exc:
            raise SandboxError(f"docker failed while running in {env}: {exc}") from exc
        finally:
            self._remove(container)

    def _create(self, image: str, script: str, **kwargs):
        try:
            return self.client.containers.create(
                image,
                command=["sh", "-c", script],
                # Lets an operator find containers leaked by a killed process.
                labels={"patchwright.sandbox": "1"},
                # Bounded log so a runaway test cannot fill the daemon's disk.
                log_config=LogConfig(type="json-file", config={"max-size": "50m"}),
                **kwargs,
            )
        except ImageNotFound as exc:
            raise SandboxError(f"image {image} not found: run prepare() first") from exc
        except APIError as exc:
            raise SandboxError(f"cannot create a container from {image}: {exc}") from exc

    @staticmethod
    def _kill(container) -> None:
        try:
            container.kill()
        except APIError:
            pass  # it exited on its own between the timeout and the kill

    @staticmethod
    def _read_file(container, path: str) -> str | None:
        try:
            stream, _ = container.get_archive(path)
        except NotFound:
            return None
        return images.read_single_file(stream)

    @staticmethod
    def _remove(container) -> None:
        try:
            container.remove(force=True)
        except APIError:
            pass
