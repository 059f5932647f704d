"""Container plumbing that DockerSandbox and layers share: creation with owner labels, bounded
read-back, and the one setup path that installs dependencies.

Setup is the only phase that fetches anything, and runs code the bot did not write (`pip install -e .`
runs setup.py). So it gets no network interface at all; the egress proxy (egress.py), reached over a
bind-mounted socket, opens port 443 of the package index and nothing else. It is limited in memory,
processes and time like a test run.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import LogConfig, Mount

from . import egress, images, readback
from .base import ExecResult, SandboxError

if TYPE_CHECKING:  # the config lives with DockerSandbox, which imports this module
    from .docker import DockerSandboxConfig

CA_TARGET = "/etc/ssl/certs/host-ca.crt"
SCRIPT = "/patchwright/step.sh"
RELAY_SOURCE = Path(__file__).with_name("egress_relay.py")
RELAY_TARGET = "/patchwright-egress/relay.py"
SOCKET_DIR = "/patchwright-egress/socket"
RELAY_PORT = 3128
PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "PIP_PROXY")
# Bounded log so a runaway test cannot fill the daemon's disk.
LOG_CONFIG = LogConfig(type="json-file", config={"max-size": "50m"})


@dataclass
class Layer:
    image: str
    ok: bool
    log: str
    seconds: float
    cached: bool = False
    status: int | None = None  # exit status of the setup script; None when timed out
    timed_out: bool = False
    truncated: list[str] = field(default_factory=list)


def create(client, image: str, command: list[str], labels: dict[str, str], **kwargs):
    try:
        return client.containers.create(image, command=command, labels=labels, log_config=LOG_CONFIG, **kwargs)
    except ImageNotFound as exc:
        raise SandboxError(f"image {image} not found: run prepare() first") from exc
    except APIError as exc:
        raise SandboxError(f"cannot create a container from {image}: {exc}") from exc


def kill(container) -> None:
    try:
        container.kill()
    except APIError:
        pass  # it exited on its own between the timeout and the kill


def remove(container) -> None:
    try:
        container.remove(force=True)
    except APIError:
        pass


def put(container, trees: list[tuple[Path, str]], files: dict[str, bytes]) -> list[list[str]]:
    """Copy directory trees and files in; return each tree's file list."""
    listings = []
    for src, arcname in trees:
        tar, names = images.repo_tar(Path(src), arcname)
        with tar:
            container.put_archive("/", tar)
        listings.append(names)
    for name, data in files.items():
        container.put_archive("/", images.tar_single_file(name.lstrip("/"), data))
    return listings


def execute(container, cfg: DockerSandboxConfig, timeout: float,
            read_files: tuple[str, ...] = ()) -> tuple[ExecResult, dict[str, str | None]]:
    """Start a created container, kill it after `timeout`, and read back its log and `read_files`
    (None where absent) within the configured caps."""
    started = time.monotonic()
    container.start()
    try:
        status, timed_out = container.wait(timeout=timeout)["StatusCode"], False
    except requests.RequestException:
        kill(container)
        status, timed_out = None, True
    duration = time.monotonic() - started
    container.reload()
    oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
    output, cut = readback.read_logs(container, cfg.max_output_bytes)
    truncated = [cut] if cut else []
    extra: dict[str, str | None] = {}
    for path in read_files:
        try:
            extra[path], cut = readback.read_file(container, path, cfg.max_file_bytes)
        except NotFound:
            extra[path], cut = None, None
        if cut:
            truncated.append(cut)
    return ExecResult(status, output, timed_out, oom, duration, truncated=truncated), extra


def docker_subnets(client) -> list[str]:
    """Every Docker network's subnet: the egress proxy refuses them as destinations."""
    subnets = []
    for network in client.networks.list():
        for conf in (network.attrs.get("IPAM") or {}).get("Config") or []:
            if conf.get("Subnet"):
                subnets.append(conf["Subnet"])
    return subnets


def build_layer(client, cfg: DockerSandboxConfig, labels: dict[str, str], base: str, tag: str, script: str, *,
                timeout: float, trees: list[tuple[Path, str]] = (), files: dict[str, bytes] | None = None,
                workdir: str = "/", env_path: str = images.VENV_PATH,
                manifest: str | None = None) -> Layer:
    """Run `script` (bash) in a setup container from `base`; commit it as `tag` if it exits 0.
    `manifest`: where to write the first tree's file list. The log comes back either way."""
    mounts, prelude = [], []
    if Path(cfg.ca_bundle).is_file():
        mounts.append(Mount(CA_TARGET, cfg.ca_bundle, type="bind", read_only=True))
        # Exported by the script, not set on the container, so commit() bakes in no path to a
        # file that later containers do not have. The proxy variables likewise.
        prelude += [f"export {v}={CA_TARGET}" for v in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")]
    environment = {"PATH": env_path, "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive",
                   "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    started = time.monotonic()
    try:
        proxy_lease = egress.lease(cfg.egress_hosts, docker_subnets(client)) if cfg.egress_hosts else nullcontext()
    except (APIError, requests.RequestException) as exc:
        raise SandboxError(f"docker failed while listing its networks: {exc}") from exc
    with proxy_lease as proxy:
        if proxy is not None:
            mounts += [Mount(RELAY_TARGET, str(RELAY_SOURCE), type="bind", read_only=True),
                       Mount(SOCKET_DIR, str(proxy.dir), type="bind", read_only=True)]
            url = f"http://127.0.0.1:{RELAY_PORT}"
            relay = f"/usr/bin/python3 {RELAY_TARGET} {SOCKET_DIR}/{proxy.socket_path.name} {RELAY_PORT}"
            prelude += [relay + " || { echo 'patchwright: the egress relay did not start' >&2; exit 125; }",
                        *(f"export {v}={url}" for v in PROXY_VARS), "export NO_PROXY= no_proxy="]
        container = create(client, base, ["bash", SCRIPT], labels, network_mode="none", mounts=mounts,
                           environment=environment, mem_limit=cfg.setup_mem_limit,
                           memswap_limit=cfg.setup_mem_limit, nano_cpus=int(cfg.setup_cpus * 1e9),
                           pids_limit=cfg.pids_limit, security_opt=["no-new-privileges"])
        try:
            listings = put(container, list(trees), {**(files or {}), SCRIPT: "\n".join([*prelude, script]).encode()})
            if manifest is not None and listings:
                put(container, [], {manifest: "".join(f + "\n" for f in listings[0]).encode()})
            result, _ = execute(container, cfg, timeout)
            log = result.output
            if result.timed_out:
                log += f"\n>>>>> patchwright: setup timed out after {timeout:g}s\n"
            if result.oom_killed:
                log += f"\n>>>>> patchwright: setup ran out of memory ({cfg.setup_mem_limit})\n"
            ok = result.exit_code == 0
            if ok:
                repository, _, version = tag.rpartition(":")
                container.commit(repository=repository, tag=version, changes=[
                    f"ENV PATH={env_path}", "ENV LANG=C.UTF-8", f"WORKDIR {workdir}", 'CMD ["/bin/sh"]'])
            return Layer(tag, ok, log, time.monotonic() - started, status=result.exit_code,
                         timed_out=result.timed_out, truncated=result.truncated)
        except (APIError, requests.RequestException) as exc:
            raise SandboxError(f"docker failed while building {tag}: {exc}") from exc
        finally:
            remove(container)

