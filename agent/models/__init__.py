"""Model backends for patchwright.

>>> from agent.models import ModelConfig, OpenAIModelConfig
>>> model = OpenAIModelConfig(base_url="http://127.0.0.1:8000/v1").build()
>>> reply = model.complete([{"role": "user", "content": "hi"}])   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field, TypeAdapter

from agent.models.base import Model, ModelError, Reply, estimate_prompt_tokens, estimate_tokens
from agent.models.openai_compat import OpenAICompatModel, OpenAIModelConfig
from agent.models.profiles import DEFAULT_PROFILE, PROFILES, Profile, UnknownProfileError, get_profile
from agent.models.scripted import ScriptedModel, ScriptedModelConfig
from agent.models.scripted_server import ScriptedServer

ModelConfig = Annotated[Union[OpenAIModelConfig, ScriptedModelConfig], Field(discriminator="type")]
"""Either backend's configuration, chosen by its ``type`` field ("openai" or "scripted")."""

_model_config_adapter: TypeAdapter = TypeAdapter(ModelConfig)


def parse_model_config(data: dict) -> OpenAIModelConfig | ScriptedModelConfig:
    """Validate a plain dict (e.g. from TOML) into the right config class."""
    return _model_config_adapter.validate_python(data)


__all__ = [
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
    "parse_model_config",
]
