"""Helpers for the sandbox security tests: a host listener to attack, the host's addresses, and a
probe that reports which of them a piece of code can reach."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading

import pytest

from sandbox.docker import DockerSandbox, DockerSandboxConfig, docker_available


def docker_sandbox(run_id: str | None = None) -> DockerSandbox:
    """A Docker sandbox for a test module; skipped without a daemon, but failed in CI."""
    if not docker_available():
        message = "Docker daemon not reachable: start dockerd (setsid dockerd >/tmp/dockerd.log 2>&1 &)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must not go green by skipping the sandbox
        pytest.skip(message)
    return DockerSandboxConfig().build(run_id=run_id)

# Run by the container's python3: prints REACHED/BLOCKED per address, and the egress proxy's
# answer to CONNECTs aimed at the host. Exits 0 either way, so the layer's log is the verdict.
PROBE = r'''
import json, os, socket, sys
targets, port = json.loads(sys.argv[1]), int(sys.argv[2])
for host, p in targets:
    try:
        socket.create_connection((host, p), 3).close()
        print("REACHED", host, p)
    except OSError as exc:
        print("BLOCKED", host, p, type(exc).__name__)
proxy = os.environ.get("HTTPS_PROXY", "")
print("PROXY-URL", proxy or "none")
if proxy:
    addr = proxy.rsplit("/", 1)[-1].rsplit(":", 1)
    for target in ["127.0.0.1:%d" % port, "localhost:%d" % port, "localhost:443", "169.254.169.254:80",
                   "169.254.169.254:443", "example.com:443"]:
        s = socket.create_connection((addr[0], int(addr[1])), 5)
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
        print("PROXY", target, s.recv(200).split(b"\r\n")[0].decode())
        s.close()
'''


class Listener:
    """A TCP server on all of the host's addresses that counts who connects."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.peers: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return  # closed
            self.peers.append(peer[0])
            conn.close()

    def close(self) -> None:
        self.sock.close()


def host_addresses(client) -> list[str]:
    """Loopback, every IPv4 address of the host's interfaces, and each Docker network's gateway."""
    found = {"127.0.0.1"}
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=False).stdout
        found.update(line.split()[3].split("/")[0] for line in out.splitlines() if len(line.split()) > 3)
    except OSError:
        pass  # no iproute2: the Docker gateways below still cover the bridges
    for network in client.networks.list():
        for conf in (network.attrs.get("IPAM") or {}).get("Config") or []:
            if conf.get("Gateway"):
                found.add(conf["Gateway"])
    return sorted(found)


def probe_targets(addresses: list[str], port: int) -> str:
    return json.dumps([[a, port] for a in addresses] + [["169.254.169.254", 80]])
