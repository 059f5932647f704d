"""What the issue's status comment says, and how a run's node updates become its stages:
queued, localizing, patching, testing, then done or failed with a short reason. The detail can
carry text from the model, the repository's tests or an error message: it is shown inert."""
from __future__ import annotations

from typing import Callable

from tools.forge import markdown

STAGES = {
    "queued": "⏳ queued",
    "localizing": "🔎 localizing the code to change",
    "reproducing": "🧫 writing a test that reproduces the issue",
    "patching": "🛠️ patching",
    "testing": "🧪 testing",
    "done": "✅ done",
    "failed": "❌ failed",
}


def status_text(stage: str, detail: str = "", *, run_url: str = "", pr_url: str = "") -> str:
    line = f"**patchwright**: {STAGES[stage]}" + (f": {markdown.inline(detail)}" if detail else "")
    links = [f"[pull request]({pr_url})" if pr_url else "", f"[run details]({run_url})" if run_url else ""]
    links = [link for link in links if link]
    return line + ("\n\n" + " · ".join(links) if links else "")


def refusal_text(sender: str, command: str, label: str) -> str:
    return (f"@{sender} patchwright runs only for people with write access to this repository, so this request "
            f"was not started. A maintainer can add the `{label}` label or comment `{command}`.")


class StageTracker:
    """The runner's on_update callback: turns each finished node into the stage the run is now in."""

    def __init__(self, show: Callable[[str, str], None], max_attempts: int, reproduce: bool = False):
        self.show, self.max_attempts, self.attempt, self.reproduce = show, max_attempts, 0, reproduce

    def __call__(self, node: str, values: dict) -> None:
        status = values.get("exit_status")
        if node in ("ingest", "workspace", "index"):
            self.show("localizing", "")
        elif node == "localize" and self.reproduce:
            self.show("reproducing", "")
        elif node == "localize" or (node == "reproduce" and values.get("reproduction")):
            found = (values.get("reproduction") or {}).get("status")
            said = {"reproduced": " (a new test reproduces the issue)", "not_reproduced": " (not reproduced)"}
            self.show("patching", f"attempt 1 of {self.max_attempts}{said.get(found, '')}")
        elif node == "patch":
            self.attempt = values.get("attempt", self.attempt)
            if status == "running":
                self.show("testing", f"attempt {self.attempt} of {self.max_attempts}")
            elif self.attempt < self.max_attempts:
                self.show("patching", f"attempt {self.attempt + 1} of {self.max_attempts} (the last edit did not apply)")
        elif node == "verify":
            if status == "tests_failed" and self.attempt < self.max_attempts:
                self.show("patching", f"attempt {self.attempt + 1} of {self.max_attempts} (tests failed)")
            elif status == "fixed":
                self.show("testing", "the tests pass; opening the pull request")
