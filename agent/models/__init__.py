"""Model backends for patchwright.

>>> from agent.models import ModelConfig, OpenAIModelConfig
>>> model = OpenAIModelConfig(base_url="http://127.0.0.1:8000/v1").build()
>>> reply = model.complete([{"role": "user", "content": "hi"}])   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Discriminator, Tag

from agent.models.base import CheckReport, Model, ModelError, Reply, estimate_prompt_tokens, estimate_tokens
from agent.models.openai_compat import OpenAICompatModel, OpenAIModelConfig
from agent.models.profiles import DEFAULT_PROFILE, PROFILES, Profile, UnknownProfileError, get_profile
from agent.models.scripted import ScriptedModel, ScriptedModelConfig
from agent.models.scripted_server import ScriptedServer


def _model_type(value) -> str:
    # A partial [model] table (or PATCHWRIGHT_MODEL__BASE_URL alone) means the default backend.
    return value.get("type", "openai") if isinstance(value, dict) else getattr(value, "type", "openai")


ModelConfig = Annotated[
    Union[Annotated[OpenAIModelConfig, Tag("openai")], Annotated[ScriptedModelConfig, Tag("scripted")]],
    Discriminator(_model_type),
]
"""Either backend's configuration, chosen by its ``type`` field ("openai", the default, or "scripted")."""

__all__ = [
    "CheckReport",
    "DEFAULT_PROFILE",
    "Model",
    "ModelConfig",
    "ModelError",
    "OpenAICompatModel",
    "OpenAIModelConfig",
    "PROFILES",
    "Profile",
    "Reply",
    "ScriptedModel",
    "ScriptedModelConfig",
    "ScriptedServer",
    "UnknownProfileError",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "get_profile",
]
