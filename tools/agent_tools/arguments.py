"""A call's arguments checked against its ToolSpec's schema (the small part of JSON schema the
specs use: object, required, string, integer, boolean, array of strings). Small models send "12"
for 12 and "true" for true: those are read as meant; anything else is named back to the model."""
from __future__ import annotations

from tools.agent_tools.base import ToolSpec


def checked(spec: ToolSpec, arguments: object) -> tuple[dict, str]:
    """(the arguments, "") or ({}, what is wrong with them, in words the model can act on)."""
    if not isinstance(arguments, dict):
        return {}, f"{spec.name} takes an object of named arguments, not {type(arguments).__name__}"
    props = spec.parameters.get("properties", {})
    unknown = sorted(set(arguments) - set(props))
    if unknown:
        known = ", ".join(props) or "none"
        return {}, f"{spec.name} has no argument {', '.join(unknown)} (its arguments: {known})"
    missing = [k for k in spec.parameters.get("required", []) if arguments.get(k) is None]
    if missing:
        return {}, f"{spec.name} needs {', '.join(missing)}"
    out = {}
    for key, value in arguments.items():
        if value is None:
            continue  # an optional argument sent as null: not given
        value, problem = _typed(props[key], value)
        if problem:
            return {}, f"{spec.name}: {key} must be {problem}"
        out[key] = value
    return out, ""


def _typed(schema: dict, value: object) -> tuple[object, str]:
    kind = schema.get("type")
    if kind == "string":
        return (value, "") if isinstance(value, str) else (None, "a string")
    if kind == "integer":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            return None, "a whole number"
        low = schema.get("minimum")
        return (value, "") if low is None or value >= low else (None, f"at least {low}")
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        return (value, "") if isinstance(value, bool) else (None, "true or false")
    if kind == "array":
        if isinstance(value, str):
            value = [value]  # one test id sent bare
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value, ""
        return None, "a list of strings"
    return value, ""
