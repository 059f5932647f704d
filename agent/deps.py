"""What the nodes need from outside the state: backends chosen from config, the run directory,
the trajectory. Built by the entry points, the only place where concrete backends are chosen."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.config import Settings
from agent.trajectory import Trajectory


@dataclass
class Deps:
    settings: Settings
    run_dir: Path
    model: object           # agent.models.Model
    sandbox: object         # sandbox.base.Sandbox
    trajectory: Trajectory
    _index_cache: dict = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, run_dir: Path, *, model=None, sandbox=None) -> "Deps":
        return cls(
            settings=settings,
            run_dir=run_dir,
            model=model if model is not None else settings.model.build(),
            sandbox=sandbox if sandbox is not None else settings.sandbox.build(),
            trajectory=Trajectory(run_dir / "trajectory.jsonl"),
        )

    def index_for(self, workspace: str):
        """The repository index, built once per process (a resumed run rebuilds it; it is cheap)."""
        if workspace not in self._index_cache:
            from tools.index import build_index

            self._index_cache[workspace] = build_index(Path(workspace))
        return self._index_cache[workspace]

    def ask(self, node: str, messages: list[dict]):
        """One model call, recorded in the trajectory (request, reply, tokens) before returning."""
        reply = self.model.complete(messages)
        self.trajectory.add(
            "model", node=node, request=messages, reply=reply.content, model=reply.model,
            prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens, seconds=reply.seconds,
        )
        return reply

    def count_tokens(self, text: str) -> int:
        # Code tokenises at roughly 3 characters a token; erring high keeps prompts inside the window.
        return len(text) // 3 + 1
