"""A peer's own venv: its pinned package, installed apart from patchwright's environment, because a
peer's dependencies (mini-swe-agent brings litellm, datasets and openai 3) would replace ours.

The pin has one owner, the `peers` extra in pyproject.toml; it is read back from patchwright's
installed metadata, so `pip install -e .` is what makes a new pin take effect."""
from __future__ import annotations

import json
import subprocess
import venv
from importlib import metadata
from pathlib import Path

from agent.errors import PatchwrightError
from agent.models.vllm_engine import engines_dir

MARKER = ".installed.json"


class PeerError(PatchwrightError):
    """A peer cannot be installed or run; the message says which and why."""


def requirement(package: str) -> str:
    """The pinned requirement of `package` in patchwright's `peers` extra, e.g. mini-swe-agent==2.4.6."""
    for req in metadata.requires("patchwright") or []:
        spec, _, marker = req.partition(";")
        if "peers" in marker and spec.strip().split("==")[0].strip().lower() == package:
            return spec.strip()
    raise PeerError(f"{package} is not pinned in patchwright's `peers` extra; reinstall patchwright (pip install -e .)")


def version(package: str) -> str:
    return requirement(package).split("==", 1)[1]


def peer_venv(package: str, root: Path | None = None) -> Path:
    return (root or engines_dir()) / f"{package}-{version(package)}"


def peer_python(package: str, root: Path | None = None) -> Path:
    """The venv's python, or a PeerError saying how to install it."""
    target = peer_venv(package, root)
    if not installed(package, root):
        raise PeerError(f"{requirement(package)} is not installed in {target}: run `patchwright swebench peer-install "
                        f"{package}` (scripts/setup.sh does)")
    return target / "bin" / "python"


def installed(package: str, root: Path | None = None) -> bool:
    try:
        marker = json.loads((peer_venv(package, root) / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("requirement") == requirement(package)


def install(package: str, root: Path | None = None, *, log=print) -> Path:
    """Create the peer's venv with its pinned package (idempotent); return its python."""
    target, pin = peer_venv(package, root), requirement(package)
    if installed(package, root):
        return target / "bin" / "python"
    log(f"installing {pin} into {target}")
    venv.EnvBuilder(with_pip=True, clear=target.exists()).create(target)
    python = str(target / "bin" / "python")
    done = subprocess.run([python, "-m", "pip", "install", "--quiet", pin], capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise PeerError(f"pip install {pin} into {target} failed: {done.stderr.strip()[-1500:]}")
    (target / MARKER).write_text(json.dumps({"requirement": pin}, indent=2))
    return target / "bin" / "python"
