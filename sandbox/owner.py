"""Which process owns a container: labels set at creation, and whether that process still lives.

A pid alone would mislead: pids are reused, so the process's start time (/proc/<pid>/stat field 22,
clock ticks since boot) and the host's boot id go with it. So does the pid namespace: a worker in a
container talking to the host's daemon sees other pids than a reaper on the host, and neither can
judge the other's containers.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

SANDBOX = "patchwright.sandbox"
RUN = "patchwright.run"
PID = "patchwright.pid"
START = "patchwright.pid-start"
BOOT = "patchwright.boot-id"
PID_NS = "patchwright.pid-ns"


class Owner(Enum):
    ALIVE = "alive"
    DEAD = "dead"
    UNKNOWN = "unknown"  # no owner labels (made before they existed) or another pid namespace


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    # Field 2, the command name, may hold spaces and parentheses: count from the last ")".
    return text.rpartition(")")[2].split()


def start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat; None for no such process or a zombie (dead, not yet waited for)."""
    fields = _stat(pid)
    if not fields or len(fields) < 20 or fields[0] == "Z":
        return None
    return fields[19]


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def labels(run_id: str) -> dict[str, str]:
    """Labels for a container created now by this process for run `run_id`."""
    pid = os.getpid()  # read at each creation: a forked worker owns what it creates
    return {SANDBOX: "1", RUN: run_id, PID: str(pid), START: start_time(pid) or "",
            BOOT: boot_id(), PID_NS: pid_namespace()}


def owner_state(container_labels: dict[str, str]) -> Owner:
    pid, start, boot = (container_labels.get(k, "") for k in (PID, START, BOOT))
    if not (pid.isdigit() and start and boot):
        return Owner.UNKNOWN
    if boot != boot_id():  # the host rebooted since: no process of that boot is left
        return Owner.DEAD
    if container_labels.get(PID_NS, "") != pid_namespace():
        return Owner.UNKNOWN
    return Owner.ALIVE if start_time(int(pid)) == start else Owner.DEAD
