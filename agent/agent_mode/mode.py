"""The two choices agent mode makes once: whether the patch step is the pipeline or the agent loop
(run.solve), and how the agent's model calls tools (run.tool_calls)."""
from __future__ import annotations

from typing import Literal

from agent.config import Settings
from agent.models.base import Model
from agent.models.profiles import get_profile

Solve = Literal["pipeline", "agent"]
ToolCalls = Literal["native", "text"]


def resolve_solve(settings: Settings) -> Solve:
    """run.solve, or for "auto" the model profile's. A backend without a profile (the scripted
    model's config) gets the pipeline, as it did before agent mode."""
    if settings.run.solve != "auto":
        return settings.run.solve
    profile = getattr(settings.model, "profile", None)
    return get_profile(profile).solve if profile else "pipeline"


def resolve_tool_calls(settings: Settings, model: Model) -> ToolCalls:
    """run.tool_calls, or for "auto" native when the model check says the server parses tool calls
    (agent.models.engine_info), else text. The caller keeps the answer for the run: the check costs
    a request, and a conversation must keep the format it started in."""
    if settings.run.tool_calls != "auto":
        return settings.run.tool_calls
    return "native" if model.check().get("tool_calling") else "text"


def tool_choice(settings: Settings) -> str:
    """The tool_choice native calls are sent with: the model profile's ("auto" without one)."""
    profile = getattr(settings.model, "profile", None)
    return get_profile(profile).tool_choice if profile else "auto"
