"""The contract between agent mode's loop and its tools: what a tool is (a name, a description and
a JSON-schema of its arguments, as the OpenAI `tools` API takes them), what a call gives back, and
the tool box the loop calls. The loop knows nothing else about tools."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments object

    def openai(self) -> dict:
        """The spec as an entry of the OpenAI `tools` list."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


@dataclass
class Observation:
    """What the model sees after a call. `ok` False: the call was refused or failed in a way the
    model can fix (unknown tool, bad arguments, string not found); the text says how."""
    text: str
    ok: bool = True
    truncated: bool = False   # the text was cut to the cap, and says so
    submitted: bool = False   # the submit tool: the loop ends
    extra: dict = field(default_factory=dict)  # for the trajectory: exit code, seconds, files changed


class ToolBox(Protocol):
    def specs(self) -> list[ToolSpec]:
        """Every tool the model may call, submit included."""
        ...

    def call(self, name: str, arguments: dict) -> Observation:
        """Run one call. Never raises for the model's mistakes: those come back as ok=False."""
        ...

    def diff(self) -> str:
        """The working copy's unified diff so far (the candidate if the loop ends now)."""
        ...

    def close(self) -> None:
        ...
