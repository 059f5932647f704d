"""Image layers and one-shot script containers on top of the Docker sandbox.

`DockerSandbox.prepare` detects one install for one working copy. Harnesses with their own
install recipes (SWE-bench: an environment per repository version, then the repository at a
commit) build images step by step instead: each step is a script run in a setup container from
the previous image (containers.build_layer: the package index only, through the egress proxy),
committed as the next image. Tests then run in a container on an internal network, which drops
packets instead of refusing them, so code that expects a network timeout still sees one while
nothing leaves the machine.
"""

from __future__ import annotations

from pathlib import Path

import requests
from docker.errors import APIError, ImageNotFound

from . import containers, images
from .base import ExecResult, SandboxError
from .containers import SCRIPT, Layer  # Layer: part of this module's API
from .docker import DockerSandbox

OFFLINE_NETWORK = "patchwright-offline"


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


def build_layer(sb: DockerSandbox, base: str, tag: str, script: str, *, timeout: float,
                trees: list[tuple[Path, str]] = (), files: dict[str, bytes] | None = None,
                workdir: str = "/", env_path: str = images.VENV_PATH) -> Layer:
    """Run `script` (bash) in a setup container from `base`; commit it as `tag` if it exits 0.
    The log comes back either way, for the caller to keep."""
    return containers.build_layer(sb.client, sb.config, sb.labels, base, tag, script, timeout=timeout,
                                  trees=list(trees), files=files, workdir=workdir, env_path=env_path)


def run_script(sb: DockerSandbox, image: str, script: str, *, timeout: float,
               trees: list[tuple[Path, str]] = (), files: dict[str, bytes] | None = None,
               network: str | None = None, mem_limit: str | None = None, cpus: float | None = None,
               environment: dict | None = None, read_files: tuple[str, ...] = ()) -> tuple[ExecResult, dict]:
    """Run `script` offline in a throw-away container from `image`; also return `read_files`
    read back from the container after it stopped (None where absent)."""
    cfg = sb.config
    mem = mem_limit or cfg.mem_limit
    net = {"network": network} if network else {"network_disabled": True}
    # The script goes in as a file: test patches inlined in it exceed the kernel's 128 KB limit on
    # one command-line argument.
    container = containers.create(
        sb.client, image, ["bash", SCRIPT], sb.labels, mem_limit=mem, memswap_limit=mem,
        nano_cpus=int((cpus or cfg.cpus) * 1e9), pids_limit=cfg.pids_limit,
        environment={"LANG": "C.UTF-8", "HOME": "/root", "TZ": "Etc/UTC", **(environment or {})},
        security_opt=["no-new-privileges"], **net)
    try:
        containers.put(container, list(trees), {**(files or {}), SCRIPT: script.encode()})
        return containers.execute(container, cfg, timeout, tuple(read_files))
    except (APIError, requests.RequestException) as exc:
        raise SandboxError(f"docker failed while running in {image}: {exc}") from exc
    finally:
        containers.remove(container)
