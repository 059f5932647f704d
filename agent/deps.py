"""What the nodes need from outside the state: backends chosen from config, the run directory,
the trajectory. Built by the entry points, the only place where concrete backends are chosen."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.config import Settings
from agent.trajectory import Trajectory
from tools.issues import cut_text, text_of

# An issue may take a quarter of what the window leaves after the reply, and never more than this:
# beyond it an issue is logs or pasted files, and the code to change matters more.
ISSUE_SHARE, MAX_ISSUE_TOKENS = 4, 12_000


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
            sandbox=sandbox if sandbox is not None else settings.sandbox.build(run_id=run_dir.name),
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

    def issue_text(self, issue: dict) -> str:
        """The issue as every prompt shows it: title and body, cut in the middle to the issue's
        share of the context window, so a huge issue cannot crowd out the code or the reply."""
        text = text_of(issue)
        room = self.model.context_window() - getattr(self.settings.model, "max_tokens", 1024)
        tokens = max(min(room // ISSUE_SHARE, MAX_ISSUE_TOKENS), 64)
        limit = tokens * 4  # more than count_tokens lets through; shrink until it fits
        cut = cut_text(text, limit)
        while self.count_tokens(cut) > tokens and limit > 0:
            limit = limit * 9 // 10
            cut = cut_text(text, limit)
        return cut

    @staticmethod
    def count_tokens(text: str) -> int:
        # Code tokenises at roughly 3 characters a token; erring high keeps prompts inside the window.
        return len(text) // 3 + 1
