"""What the nodes need from outside the state: backends chosen from config, the run directory,
the trajectory. Built by the entry points, the only place where concrete backends are chosen."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from agent.config import Settings
from agent.models.base import Model, Reply
from agent.trajectory import Trajectory
from sandbox.base import Sandbox

if TYPE_CHECKING:
    from tools.agent_tools.base import ToolBox
    from tools.index import RepoIndex


@dataclass
class Deps:
    settings: Settings
    run_dir: Path
    model: Model
    sandbox: Sandbox
    trajectory: Trajectory
    # Repository indexes built in this process, by workspace path: read through index_for.
    indexes: dict[str, RepoIndex] = field(default_factory=dict)
    # Agent mode's tool boxes: make_toolbox(state, deps) opens one on the working copy as it is on
    # disk (None: agent/agent_mode/toolbox.py's); tests pass a fake. Open ones are kept in toolboxes.
    toolbox_factory: Callable[[dict, "Deps"], ToolBox] | None = None
    toolboxes: dict[tuple, ToolBox] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, run_dir: Path, *, model=None, sandbox=None, toolbox_factory=None) -> "Deps":
        return cls(
            settings=settings,
            run_dir=run_dir,
            model=model if model is not None else settings.model.build(),
            sandbox=sandbox if sandbox is not None else settings.sandbox.build(run_id=run_dir.name),
            trajectory=Trajectory.of_run(run_dir),
            toolbox_factory=toolbox_factory,
        )

    def index_for(self, workspace: str) -> RepoIndex:
        """The repository index, built once per process (a resumed run rebuilds it; it is cheap)."""
        if workspace not in self.indexes:
            from tools.index import build_index

            self.indexes[workspace] = build_index(Path(workspace))
        return self.indexes[workspace]

    def ask(self, node: str, messages: list[dict], **options) -> Reply:
        """One model call, recorded in the trajectory (request, reply, tokens) before returning.
        Every model call goes through here, so the trajectory's usage is the run's usage.
        ``options`` go to Model.complete (n, temperature, tools, tool_choice)."""
        reply = self.model.complete(messages, **options)
        extra = {k: options[k] for k in ("n", "temperature") if options.get(k) is not None}
        if len(reply.choices) > 1:
            extra["choices"] = reply.choices
        if any(reply.cut):
            extra["cut"] = reply.cut  # stopped at max_tokens: the reply ends mid-answer
        if reply.tool_calls:
            extra["tool_calls"] = [vars(c) for c in reply.tool_calls]
        self.trajectory.add(
            "model", node=node, request=messages, reply=reply.content, model=reply.model,
            prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens, seconds=reply.seconds,
            **extra,
        )
        return reply

    def over_budget(self, after: str = "") -> str:
        """Why the run must stop asking (run.budget_seconds or run.budget_tokens spent), or "" while
        it may go on. `after` says how far it got ("after 2 of 4 candidates"), for the reason."""
        run, when = self.settings.run, f" {after}" if after else ""
        if run.budget_seconds is not None:
            spent = self.trajectory.elapsed()
            if spent >= run.budget_seconds:
                return f"time budget reached{when}: {spent:.0f} s of run.budget_seconds = {run.budget_seconds:g}"
        if run.budget_tokens is not None:
            tokens = self.trajectory.tokens()
            if tokens >= run.budget_tokens:
                return f"token budget reached{when}: {tokens} tokens of run.budget_tokens = {run.budget_tokens}"
        return ""

    def spend(self) -> dict:
        """What the run has spent so far (Trajectory.spend) next to its budgets (None: no limit)."""
        run = self.settings.run
        return {**self.trajectory.spend(), "budget_tokens": run.budget_tokens, "budget_seconds": run.budget_seconds}

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes for the model: its server's tokenizer where it has one, else the
        estimate of tools.tokens, which errs high so prompts stay inside the window."""
        return self.model.count_tokens(text)

