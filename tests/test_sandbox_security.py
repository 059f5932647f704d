"""Attacks on the sandbox through the real Docker code path: setup code reaching the host, huge
files read back into the host process, containers left behind by a killed process."""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from docker.errors import NotFound
from sandbox_support import PROBE, Listener, docker_sandbox, host_addresses, probe_targets

from sandbox import egress, layers, owner, reap_orphans
from sandbox.docker import DockerSandbox, DockerSandboxConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sandbox() -> DockerSandbox:
    sb = docker_sandbox(run_id="test-security-" + uuid.uuid4().hex[:8])
    sb.ensure_base_image()
    return sb


def _layer(sb: DockerSandbox, script: str, files: dict[str, bytes] | None = None, timeout: float = 300):
    tag = f"patchwright-test-security:{uuid.uuid4().hex[:12]}"
    try:
        return layers.build_layer(sb, sb.config.base_image, tag, script, timeout=timeout, files=files)
    finally:
        layers.remove_image(sb, tag)


# -- A: setup reaches the package index and nothing on the host ------------------------------

@pytest.mark.docker
def test_setup_reaches_no_host_service(sandbox: DockerSandbox):
    listener = Listener()
    try:
        addresses = host_addresses(sandbox.client)
        targets = probe_targets(addresses, listener.port)
        # The probe can see a reachable service: run on the host, it reaches the listener.
        host = subprocess.run([sys.executable, "-c", PROBE, targets, str(listener.port)],
                              capture_output=True, text=True, timeout=120, env={"PATH": os.environ["PATH"]}, check=False)
        assert f"REACHED 127.0.0.1 {listener.port}" in host.stdout, host.stdout + host.stderr
        seen_from_host = len(listener.peers)
        assert seen_from_host >= 1

        script = f"/usr/bin/python3 /patchwright/probe.py {shlex.quote(targets)} {listener.port}"
        layer = _layer(sandbox, script, files={"/patchwright/probe.py": PROBE.encode()})
        assert layer.ok, layer.log
        for address in addresses:
            assert f"BLOCKED {address} {listener.port}" in layer.log, layer.log
        assert "BLOCKED 169.254.169.254 80" in layer.log
        assert "REACHED" not in layer.log
        assert len(listener.peers) == seen_from_host  # nothing from the container arrived
        # Through the egress proxy: every CONNECT aimed at the host or off the allowlist is refused.
        assert "PROXY-URL http://127.0.0.1:" in layer.log
        proxied = [line for line in layer.log.splitlines() if line.startswith("PROXY ")]
        assert len(proxied) == 6 and all(line.endswith("403 Forbidden") for line in proxied), proxied
    finally:
        listener.close()


@pytest.mark.docker
def test_setup_installs_from_the_index(sandbox: DockerSandbox):
    layer = _layer(sandbox, "set -e\npython3 -m venv /venv\n/venv/bin/python -m pip install -q six\n"
                            "/venv/bin/python -c 'import six; print(\"six\", six.__version__)'\n")
    assert layer.ok, layer.log
    assert "six 1." in layer.log


@pytest.mark.docker
def test_setup_without_egress_hosts_is_offline(sandbox: DockerSandbox):
    offline = DockerSandbox(sandbox.config.model_copy(update={"egress_hosts": []}), run_id=sandbox.run_id)
    layer = _layer(offline, 'echo "proxy=${HTTPS_PROXY:-none}"\npython3 -m venv /venv\n'
                            "/venv/bin/python -m pip install --timeout 5 --retries 0 six\n")
    assert not layer.ok and layer.status not in (0, None)
    assert "proxy=none" in layer.log


@pytest.mark.docker
def test_setup_is_memory_limited(sandbox: DockerSandbox):
    small = DockerSandbox(sandbox.config.model_copy(update={"setup_mem_limit": "64m"}), run_id=sandbox.run_id)
    layer = _layer(small, "python3 -c 'x = bytearray(500 * 1024 * 1024); print(len(x))'\n")
    assert not layer.ok and "setup ran out of memory (64m)" in layer.log


def test_egress_refuses_what_is_not_the_index():
    with egress.lease(["pypi.org", "localhost"], ["172.17.0.0/16"]) as proxy:
        def connect(target: str) -> bytes:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(proxy.socket_path))
                s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
                return s.recv(4096)

        assert b"403" in connect("localhost:443").split(b"\r\n")[0]  # allowlisted name, loopback address
        assert b"resolves to 127.0.0.1" in connect("localhost:443")
        assert b"only CONNECT to port 443" in connect("pypi.org:22")
        assert b"not in the allowlist" in connect("example.com:443")
        assert b"not in the allowlist" in connect("127.0.0.1:443")
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(proxy.socket_path))
            s.sendall(b"GET http://pypi.org/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n")
            assert b"403" in s.recv(4096)
        path = proxy.dir
    assert not path.exists()  # stopped with its last user


def test_forbidden_addresses():
    docker_nets = [egress.ipaddress.ip_network("172.17.0.0/16")]
    for ip in ("127.0.0.1", "127.5.5.5", "::1", "::ffff:127.0.0.1", "169.254.169.254", "fd00:ec2::254",
               "0.0.0.0", "0.1.2.3", "224.0.0.251", "fe80::1", "172.17.0.1"):
        assert egress.forbidden(ip, docker_nets), ip
    for ip in ("203.0.113.80", "151.101.0.223", "10.1.2.3", "2a04:4e42::223"):
        assert not egress.forbidden(ip, docker_nets), ip  # 203.0.113.80 is the index's proxy here


# -- B: what is read back from a container is capped ------------------------------------------

MEASURE = r'''
import json, resource, sys
from pathlib import Path
from sandbox.docker import DockerSandboxConfig
sb = DockerSandboxConfig(mem_limit="1g").build(run_id=sys.argv[3])
repo, image = Path(sys.argv[1]), sys.argv[2]
sb.run(image, repo, "echo '<testsuite/>' > /tmp/junit.xml")  # warm up: imports, connections
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = sb.run(image, repo, "head -c 400000000 /dev/zero | tr '\\0' 'a' > /tmp/junit.xml; echo wrote")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_kb": after - before, "truncated": result.truncated, "exit": result.exit_code,
                  "junit_len": len(result.junit_xml or ""), "output": result.output}))
'''


@pytest.mark.docker
def test_huge_junit_file_is_cut_not_read_whole(sandbox: DockerSandbox, tmp_path: Path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "README").write_text("x\n")
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(tmp_path / "repo"), sandbox.config.base_image,
                           sandbox.run_id], capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got["exit"] == 0 and "wrote" in got["output"]
    limit = DockerSandboxConfig().max_file_bytes
    assert got["junit_len"] == limit
    assert got["truncated"] == [f"/tmp/junit.xml: 400000000 bytes, read the first {limit}"]
    assert got["grew_kb"] < 50 * 1024, got["grew_kb"]


@pytest.mark.docker
def test_huge_output_keeps_the_tail(sandbox: DockerSandbox, tmp_path: Path):
    small = DockerSandbox(sandbox.config.model_copy(update={"max_output_bytes": 1_000_000}), run_id=sandbox.run_id)
    result = small.run(sandbox.config.base_image, tmp_path,
                       "head -c 5000000 /dev/zero | tr '\\0' 'b'; echo; echo the-end", junit_path=None)
    assert result.exit_code == 0
    assert len(result.output) == 1_000_000 and result.output.endswith("the-end\n")
    assert result.truncated == ["output: 5000009 bytes, kept the last 1000000"]
    assert small.run(sandbox.config.base_image, tmp_path, "echo small", junit_path=None).truncated == []


# -- C: no leaked containers -----------------------------------------------------------------

CHILD = r'''
import sys
from pathlib import Path
from sandbox.docker import DockerSandbox
DockerSandbox(run_id=sys.argv[1]).run(sys.argv[2], Path(sys.argv[3]), "sleep 300", timeout=600, junit_path=None)
'''


def _of_run(client, run_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"{owner.RUN}={run_id}"})


@pytest.mark.docker
def test_reaper_removes_containers_of_a_killed_process_only(sandbox: DockerSandbox, tmp_path: Path):
    client, image = sandbox.client, sandbox.config.base_image
    dead_run = "test-reap-dead-" + uuid.uuid4().hex[:8]
    child = subprocess.Popen([sys.executable, "-c", CHILD, dead_run, image, str(tmp_path)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    made = []
    try:
        deadline = time.monotonic() + 120
        while not [c for c in _of_run(client, dead_run) if c.status == "running"]:
            assert child.poll() is None and time.monotonic() < deadline, "the child's container never ran"
            time.sleep(0.5)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        assert _of_run(client, dead_run), "the killed child's container should be left behind"

        live = DockerSandbox(sandbox.config, run_id="test-reap-live-" + uuid.uuid4().hex[:8])
        made.append(live._create(image, "sleep 300"))  # owned by this (live) test process
        reused = {**live.labels, owner.RUN: live.run_id + "-reused", owner.START: "1"}  # pid reused since
        rebooted = {**live.labels, owner.RUN: live.run_id + "-rebooted", owner.BOOT: "another-boot"}
        unlabelled = {owner.SANDBOX: "1", owner.RUN: live.run_id + "-old"}  # made before owner labels
        for labels in (reused, rebooted, unlabelled):
            made.append(client.containers.create(image, command=["sleep", "300"], labels=labels))

        removed = reap_orphans(sandbox)
        assert _of_run(client, dead_run) == []
        assert _of_run(client, live.run_id) != []
        assert _of_run(client, live.run_id + "-old") != []
        assert _of_run(client, live.run_id + "-reused") == [] and _of_run(client, live.run_id + "-rebooted") == []
        assert {made[1].id, made[2].id} <= set(removed)
        assert made[0].id not in removed and made[3].id not in removed
    finally:
        if child.poll() is None:
            child.kill()
        for container in made + _of_run(client, dead_run):
            with contextlib.suppress(NotFound):  # removed by the reaper already
                container.remove(force=True)


def test_owner_of_a_dead_or_zombie_process_is_dead():
    child = subprocess.Popen(["sleep", "60"])
    labels = {owner.PID: str(child.pid), owner.START: owner.start_time(child.pid) or "",
              owner.BOOT: owner.boot_id(), owner.PID_NS: owner.pid_namespace()}
    assert owner.owner_state(labels) is owner.Owner.ALIVE
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while owner.start_time(child.pid) is not None:  # a zombie until waited for: already dead
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert owner.owner_state(labels) is owner.Owner.DEAD
    child.wait()
    assert owner.owner_state(labels) is owner.Owner.DEAD
    assert owner.owner_state({**labels, owner.PID_NS: "pid:[1]"}) is owner.Owner.UNKNOWN
