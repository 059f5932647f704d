"""Image layers and one-shot script containers on top of the Docker sandbox.

`DockerSandbox.prepare` detects one install for one working copy. Harnesses with their own
install recipes (SWE-bench: an environment per repository version, then the repository at a
commit) build images step by step instead: each step is a script run in a container from the
previous image, with network for installs, committed as the next image. Tests then run in a
container on an internal network, which drops packets instead of refusing them, so code that
expects a network timeout still sees one while nothing leaves the machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import requests
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import Mount

from . import images
from .base import ExecResult, SandboxError
from .docker import CA_TARGET, DockerSandbox

SCRIPT = "/patchwright/step.sh"
OFFLINE_NETWORK = "patchwright-offline"


@dataclass
class Layer:
    image: str
    ok: bool
    log: str
    seconds: float
    cached: bool = False


def image_exists(sb: DockerSandbox, tag: str) -> bool:
    try:
        sb.client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def remove_image(sb: DockerSandbox, tag: str) -> None:
    try:
        sb.client.images.remove(tag, force=True)
    except (ImageNotFound, APIError):
        pass  # already gone, or still used by a container another worker runs


def ensure_network(sb: DockerSandbox, name: str = OFFLINE_NETWORK) -> str:
    """An internal bridge network: containers on it reach each other and nothing else."""
    with images.file_lock("network-" + name):
        if not sb.client.networks.list(names=[name]):
            sb.client.networks.create(name, driver="bridge", internal=True,
                                      labels={"patchwright.sandbox": "1"})
    return name


def _put(container, trees: list[tuple[Path, str]], files: dict[str, bytes]) -> None:
    for src, arcname in trees:
        tar, _ = images.repo_tar(Path(src), arcname)
        with tar:
            container.put_archive("/", tar)
    for name, data in files.items():
        container.put_archive("/", images.tar_single_file(name.lstrip("/"), data))


def _wait(sb: DockerSandbox, container, timeout: float) -> tuple[int | None, bool]:
    try:
        return container.wait(timeout=timeout)["StatusCode"], False
    except requests.RequestException:
        sb._kill(container)
        return None, True


def build_layer(sb: DockerSandbox, base: str, tag: str, script: str, *, timeout: float,
                trees: list[tuple[Path, str]] = (), files: dict[str, bytes] | None = None,
                workdir: str = "/", env_path: str = images.VENV_PATH) -> Layer:
    """Run `script` (bash, host network, host CA bundle) in a container from `base`; commit it as
    `tag` if it exits 0. The log comes back either way, for the caller to keep."""
    cfg = sb.config
    mounts = []
    prelude = ""
    if Path(cfg.ca_bundle).is_file():
        mounts.append(Mount(CA_TARGET, cfg.ca_bundle, type="bind", read_only=True))
        # Exported by the script, not set on the container, so commit() bakes in no path to a
        # file that later containers do not have.
        prelude = "".join(f"export {v}={CA_TARGET}\n" for v in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"))
    environment = {"PATH": env_path, "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive",
                   "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    started = time.monotonic()
    container = _create(sb, base, network_mode="host", mounts=mounts, environment=environment)
    try:
        _put(container, list(trees), {**(files or {}), SCRIPT: (prelude + script).encode()})
        container.start()
        status, timed_out = _wait(sb, container, timeout)
        log = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        if timed_out:
            log += f"\n>>>>> patchwright: setup timed out after {timeout:g}s\n"
        ok = status == 0
        if ok:
            repository, _, version = tag.rpartition(":")
            container.commit(repository=repository, tag=version, changes=[
                f"ENV PATH={env_path}", "ENV LANG=C.UTF-8", f"WORKDIR {workdir}", 'CMD ["/bin/sh"]'])
        return Layer(tag, ok, log, time.monotonic() - started)
    except (APIError, requests.RequestException) as exc:
        raise SandboxError(f"docker failed while building {tag}: {exc}") from exc
    finally:
        sb._remove(container)


def run_script(sb: DockerSandbox, image: str, script: str, *, timeout: float,
               trees: list[tuple[Path, str]] = (), files: dict[str, bytes] | None = None,
               network: str | None = None, mem_limit: str | None = None, cpus: float | None = None,
               environment: dict | None = None, read_files: tuple[str, ...] = ()) -> tuple[ExecResult, dict]:
    """Run `script` offline in a throw-away container from `image`; also return `read_files`
    read back from the container after it stopped (None where absent)."""
    cfg = sb.config
    mem = mem_limit or cfg.mem_limit
    net = {"network": network} if network else {"network_disabled": True}
    container = _create(sb, image, mem_limit=mem, memswap_limit=mem, nano_cpus=int((cpus or cfg.cpus) * 1e9),
                        pids_limit=cfg.pids_limit, environment={"LANG": "C.UTF-8", "HOME": "/root", "TZ": "Etc/UTC",
                                                                **(environment or {})},
                        security_opt=["no-new-privileges"], **net)
    try:
        _put(container, list(trees), {**(files or {}), SCRIPT: script.encode()})
        started = time.monotonic()
        container.start()
        status, timed_out = _wait(sb, container, timeout)
        duration = time.monotonic() - started
        container.reload()
        oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
        output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        extra = {path: _read(sb, container, path) for path in read_files}
        return ExecResult(status, output, timed_out, oom, duration), extra
    except (APIError, requests.RequestException) as exc:
        raise SandboxError(f"docker failed while running in {image}: {exc}") from exc
    finally:
        sb._remove(container)


def _read(sb: DockerSandbox, container, path: str) -> str | None:
    try:
        return sb._read_file(container, path)
    except (NotFound, APIError):
        return None


def _create(sb: DockerSandbox, image: str, **kwargs):
    # The script goes in as a file: test patches inlined in it exceed the kernel's 128 KB limit on
    # one command-line argument.
    from docker.types import LogConfig

    try:
        return sb.client.containers.create(
            image, command=["bash", SCRIPT], labels={"patchwright.sandbox": "1"},
            log_config=LogConfig(type="json-file", config={"max-size": "50m"}), **kwargs)
    except ImageNotFound as exc:
        raise SandboxError(f"image {image} not found") from exc
    except APIError as exc:
        raise SandboxError(f"cannot create a container from {image}: {exc}") from exc
