"""How to install a Python repository for its tests, when the config does not say."""
from __future__ import annotations

from pathlib import Path


def detect_install(repo: Path) -> list[str]:
    """pip commands for the repository's own packaging and requirement files, plus pytest."""
    pip = "python -m pip install -q"
    commands: list[str] = []
    for name in ("requirements.txt", "requirements-dev.txt", "requirements_dev.txt", "test-requirements.txt", "requirements-test.txt"):
        if (repo / name).is_file():
            commands.append(f"{pip} -r {name}")
    if (repo / "pyproject.toml").is_file() or (repo / "setup.py").is_file():
        commands.append(f"{pip} -e .")
    commands.append(f"{pip} pytest")
    return commands
