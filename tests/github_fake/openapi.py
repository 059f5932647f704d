"""Check requests against GitHub's published REST description (npm @octokit/openapi).

The fake server answers like GitHub, but the requests the bot sends are judged by GitHub's own
contract: the operation must exist, query parameters must be declared and well-typed, and the
JSON body must satisfy the operation's request schema. Undeclared body fields are reported too:
GitHub would silently ignore them, which hides a bug (a misspelt `draft` makes a ready PR).
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

_MAX_REF_DEPTH = 40  # GitHub's schemas nest deeply but not infinitely; cycles stop here


class OpenAPI:
    def __init__(self, doc: dict):
        self.doc = doc
        routes = []
        for template, item in doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    routes.append((template.count("{"), method.upper(), re.compile(pattern), template, op))
        # Literal segments win over parameters (/issues/comments/{id} before /issues/{number}/...).
        self._routes = sorted(routes, key=lambda r: r[0])

    @classmethod
    @functools.lru_cache(maxsize=4)
    def load(cls, path: Path) -> "OpenAPI":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def operation(self, method: str, path: str) -> tuple[str, dict] | None:
        for _, m, pattern, template, op in self._routes:
            if m == method and pattern.match(path):
                return template, op
        return None

    def check(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> list[str]:
        """Every way the request departs from the description; empty when it conforms."""
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path}: no such operation in GitHub's REST description"]
        template, op = found
        where = f"{method} {template}"
        problems = self._check_query(where, op, query)
        schema = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
        if not body:
            if (op.get("requestBody") or {}).get("required"):
                problems.append(f"{where}: the request body is required")
            return problems
        if schema is None:
            return problems + [f"{where}: takes no request body"]
        try:
            data = json.loads(body)
        except ValueError as e:
            return problems + [f"{where}: body is not JSON: {e}"]
        return problems + self.check_value(where + " body", self.resolve(schema), data)

    def check_value(self, where: str, schema: dict, value) -> list[str]:
        from openapi_schema_validator import OAS30WriteValidator

        problems = [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                    for e in OAS30WriteValidator(schema).iter_errors(value)]
        declared = schema.get("properties")
        if isinstance(value, dict) and declared is not None and "additionalProperties" not in schema:
            problems += [f"{where}: undeclared field '{k}'" for k in value if k not in declared]
        return problems

    def _check_query(self, where: str, op: dict, query: dict[str, list[str]]) -> list[str]:
        params = {p["name"]: p for p in map(self.resolve, op.get("parameters", [])) if p.get("in") == "query"}
        problems = [f"{where}: query parameter '{name}' is required" for name, p in params.items()
                    if p.get("required") and name not in query]
        for name, values in query.items():
            if name not in params:
                problems.append(f"{where}: undeclared query parameter '{name}'")
                continue
            schema = params[name].get("schema", {})
            for raw in values:
                problems += self.check_value(f"{where} ?{name}", schema, _coerce(raw, schema.get("type")))
        return problems

    def resolve(self, node, depth: int = 0):
        """`node` with every local $ref replaced by its target (so a plain validator can use it)."""
        if depth > _MAX_REF_DEPTH:
            return {}
        if isinstance(node, dict):
            if "$ref" in node:
                target = self.doc
                for part in node["$ref"].lstrip("#/").split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
                return self.resolve(target, depth + 1)
            return {k: self.resolve(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, depth + 1) for v in node]
        return node


def _coerce(raw: str, kind: str | None):
    """Query strings arrive as text; give the validator the type the description asks for."""
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw
