"""Secrets out of the initial environment of every patchwright process.

/proc/PID/environ shows the environment a process was started with for as long as it lives;
deleting a variable from os.environ does not change it, and anything running as the same user
can read it. So the command-line entry point (`agent.cli.main`) moves secrets out before doing
anything else: if one is set, it writes them to a pipe and re-executes the same command without
them; the new process (same pid) reads the pipe into memory and closes it. Settings read the
handed secrets as if they were environment variables, and no child process (git, docker, a
model server) inherits one, because none is in os.environ.
"""
from __future__ import annotations

import json
import os
import re
import sys

HANDOFF_VAR = "PW_SECRETS_FD"
_SECRET = re.compile(r"^(?:PATCHWRIGHT_\w*(?:TOKEN|SECRET|PRIVATE_KEY|API_KEY|PASSWORD)|GITHUB_TOKEN|OPENAI_API_KEY)$")
_handed: dict[str, str] = {}


def secret_names(environ=os.environ) -> list[str]:
    return sorted(name for name in environ if _SECRET.match(name))


def reexec_without_secrets(argv: list[str] | None = None) -> None:
    """Replace this process with the same command minus its secret variables (returns only when
    there are none). The secrets travel through an inherited pipe, never through argv or environ."""
    names = secret_names()
    if not names:
        return
    payload = json.dumps({n: os.environ[n] for n in names}).encode()
    if len(payload) > 60_000:  # the pipe must take it all before exec, with nobody reading yet
        raise SystemExit("patchwright: secret environment variables too large to hand over (over 60 KB)")
    read_end, write_end = os.pipe()
    os.write(write_end, payload)
    os.close(write_end)
    os.set_inheritable(read_end, True)
    env = {k: v for k, v in os.environ.items() if k not in names}
    env[HANDOFF_VAR] = str(read_end)
    args = argv if argv is not None else sys.argv[1:]
    os.execve(sys.executable, [sys.executable, "-m", "agent.cli", *args], env)


def take_handed() -> None:
    """In the re-executed process: read the secrets from the pipe into memory."""
    fd = os.environ.pop(HANDOFF_VAR, None)
    if fd is None:
        return
    with os.fdopen(int(fd), "rb") as pipe:
        _handed.update(json.loads(pipe.read() or b"{}"))


def get(name: str) -> str | None:
    """A secret by its environment variable name, from the environment or the hand-over."""
    return os.environ.get(name) or _handed.get(name)


def handed_settings(prefix: str = "PATCHWRIGHT_", delimiter: str = "__") -> dict:
    """The handed PATCHWRIGHT_* secrets as nested settings ({"app": {"private_key": ...}})."""
    nested: dict = {}
    for name, value in _handed.items():
        if not name.startswith(prefix):
            continue
        *tables, field = name[len(prefix):].lower().split(delimiter)
        node = nested
        for table in tables:
            node = node.setdefault(table, {})
        node[field] = value
    return nested
