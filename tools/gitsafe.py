"""Host git, with the repository's power to configure it taken away.

A working copy is untrusted: its files are whatever the repository and the model's edits put
there, and git reads configuration that starts programs (core.fsmonitor, core.hooksPath, filter
and diff drivers, core.sshCommand, include.path, ...). Every host git call goes through `run`:

- a minimal environment built from nothing: no token, key or bot setting of this process reaches
  git or anything git starts, only what the call names (a scratch index, an identity, the one
  push token variable the credential helper reads);
- the system and global configuration ignored (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null);
- the keys that start programs or open transports pinned on the command line, which outranks
  every configuration file;
- in a working copy the bot made and sealed (`seal`), `.git/config` is checked against the
  digest taken when the bot wrote it, before each call; a change stops the run (SecurityError).

GitPython is not used for this: its command wrapper always starts from a copy of os.environ and
can add variables but not remove them.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from tools.errors import SecurityError, ToolError

# Pinned for every call; `-c` outranks .git/config, so a repository cannot turn these back on.
PINNED = {
    "core.fsmonitor": "false",
    "core.hooksPath": "/dev/null",
    "core.sshCommand": "ssh",
    "core.askPass": "",
    "core.pager": "cat",
    "core.editor": "false",
    "diff.external": "",
    "credential.helper": "",  # clears inherited helpers; push.py adds its own after this
    "submodule.recurse": "false",
    "fetch.recurseSubmodules": "false",
    "protocol.allow": "never",
    "protocol.file.allow": "always",
    "protocol.http.allow": "always",
    "protocol.https.allow": "always",
    "protocol.ssh.allow": "always",
}
PINNED_ARGS = [arg for key, value in PINNED.items() for arg in ("-c", f"{key}={value}")]
# Only network calls (mirror, fetch from a remote, push) see these: ssh needs its agent and keys.
_NETWORK_VARS = ("HOME", "SSH_AUTH_SOCK", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                 "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO")
_SEAL_SUFFIX = ".gitconfig.sha256"
_home: str | None = None


def environment(extra: dict | None = None, *, network: bool = False) -> dict:
    """The whole environment of a git child process."""
    global _home
    if _home is None:
        _home = tempfile.mkdtemp(prefix="pw-git-home-")  # empty: no ~/.gitconfig, no credentials
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": _home, "LC_ALL": "C.UTF-8",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ATTR_NOSYSTEM": "1",
           "GIT_TERMINAL_PROMPT": "0"}
    if network:
        env.update({k: os.environ[k] for k in _NETWORK_VARS if k in os.environ})
    env.update(extra or {})
    return env


def command(repo: Path | None, args: list[str]) -> list[str]:
    """The argv for `git ARGS` in `repo` (None: no repository, e.g. clone), hardened."""
    if repo is not None:
        check_sealed(Path(repo))
        return ["git", *PINNED_ARGS, "-C", str(repo), *args]
    return ["git", *PINNED_ARGS, *args]


def run(repo: Path | None, args: list[str], *, env: dict | None = None, stdin: bytes | str | None = None,
        text: bool = False, network: bool = False, timeout: float = 600,
        error: type[ToolError] = ToolError, check: bool = True) -> subprocess.CompletedProcess:
    """Run git; a non-zero exit raises `error` with git's own message (unless check=False)."""
    text = text or isinstance(stdin, str)
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    try:
        proc = subprocess.run(command(repo, args), capture_output=True, text=text, timeout=timeout,
                              env=environment(env, network=network), **feed)
    except (OSError, subprocess.SubprocessError) as exc:
        raise error(f"git {args[0]} failed: {exc}") from exc
    if check and proc.returncode != 0:
        err, out = proc.stderr, proc.stdout
        if not text:
            err, out = err.decode("utf-8", "replace"), out.decode("utf-8", "replace")
        raise error(f"git {args[0]} failed: {(err.strip() or out.strip())[-2000:]}")
    return proc


def output(repo: Path | None, args: list[str], **kwargs) -> str:
    """git's standard output as text, stripped."""
    return run(repo, args, text=True, **kwargs).stdout.strip()


def _seal_path(root: Path) -> Path:
    # Beside the working copy, not in it: no edit (all stay inside the copy) can rewrite the seal.
    root = Path(root).resolve()
    return root.parent / f".{root.name}{_SEAL_SUFFIX}"


def _config_digest(root: Path) -> str:
    dotgit = Path(root) / ".git"
    if dotgit.is_symlink() or not dotgit.is_dir():
        raise SecurityError(f"security: {dotgit} is no longer the directory patchwright made; the run is stopped")
    try:
        data = (dotgit / "config").read_bytes()
    except OSError as exc:
        raise SecurityError(f"security: cannot read {dotgit / 'config'} ({exc}); the run is stopped") from exc
    return hashlib.sha256(data).hexdigest()


def seal(root: Path) -> None:
    """Record `root/.git/config` as the bot wrote it; later calls refuse to run if it changed."""
    _seal_path(root).write_text(_config_digest(root) + "\n", encoding="utf-8")


def unseal(root: Path) -> None:
    """Forget the seal of a working copy that is about to be made again."""
    _seal_path(root).unlink(missing_ok=True)


def check_sealed(root: Path) -> None:
    seal_file = _seal_path(root)
    if not seal_file.is_file():
        return  # not a working copy the bot made (a mirror, a user's own clone): pins still apply
    if _config_digest(root) != seal_file.read_text(encoding="utf-8").strip():
        raise SecurityError(
            f"security: {Path(root) / '.git' / 'config'} changed since patchwright wrote it (something in "
            "the repository or an edit tried to configure git to run a program); the run is stopped")
