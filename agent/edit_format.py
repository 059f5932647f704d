"""Which edit format the model is asked for: the one owner of that choice, read by the patch node
(which parser and applier) and by prompting (which instructions, worked example and feedback)."""
from __future__ import annotations

from typing import Literal

from agent.config import Settings
from agent.models.profiles import get_profile

EditFormat = Literal["search_replace", "whole_function"]


def resolve_edit_format(settings: Settings) -> EditFormat:
    """run.edit_format, or for "auto" the model profile's. A backend without a profile (the
    scripted model's config) gets SEARCH/REPLACE, the format every profile has had so far."""
    chosen = settings.run.edit_format
    if chosen != "auto":
        return chosen
    profile = getattr(settings.model, "profile", None)
    return get_profile(profile).edit_format if profile else "search_replace"
