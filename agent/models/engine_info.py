"""What serves an OpenAI-compatible endpoint, as far as the server says: for ``patchwright model check``.

* engine and version: vLLM answers ``GET /version``; llama-cpp-python's server lists models
  ``owned_by: "me"`` and has ``/extras/tokenize``; anything else is "unknown".
* prefix caching (vLLM): the ``vllm:cache_config_info`` gauge on ``GET /metrics`` carries it.
* tool calling: a one-token request with a tool and ``tool_choice: "auto"``. vLLM refuses it with
  HTTP 400 unless started with --enable-auto-tool-choice and a parser. No route names the parser,
  so it comes from the launch record patchwright writes when it starts a server
  (agent/models/server_process.py), when this endpoint is one of those.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from agent.models.vllm_engine import engines_dir

_PREFIX = re.compile(r'^vllm:cache_config_info\{[^}]*enable_prefix_caching="(\w+)"', re.MULTILINE)
_PROBE_TOOL = {"type": "function", "function": {"name": "ping", "description": "Answer the check.",
                                                 "parameters": {"type": "object", "properties": {}}}}


def launch_records_dir() -> Path:
    """Beside the engines: which servers run on this machine is the machine's, not a config's."""
    return engines_dir() / "servers"


def write_launch_record(port: int, record: dict) -> Path:
    folder = launch_records_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{port}.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def launch_record(base_url: str) -> dict | None:
    """The record of the live server patchwright started on this local port, if any."""
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1", "0.0.0.0") or not parts.port:
        return None
    try:
        record = json.loads((launch_records_dir() / f"{parts.port}.json").read_text())
        os.kill(int(record["pid"]), 0)  # a record of a server that has gone says nothing
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record


def flag_value(argv: list[str], flag: str) -> str | None:
    return next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag), None)


def probe(root: str, http, served: list[dict], model: str, base_url: str) -> dict:
    """Engine facts for the check report; each is None where the server does not say."""
    info: dict = {"engine": "unknown", "engine_version": None, "prefix_caching": None,
                  "tool_calling": None, "tool_call_parser": None}
    version = _get_json(http, root + "/version")
    if isinstance(version, dict) and version.get("version"):
        info.update(engine="vllm", engine_version=str(version["version"]))
        metrics = _get_text(http, root + "/metrics")
        found = _PREFIX.search(metrics or "")
        if found:
            info["prefix_caching"] = found.group(1).lower() == "true"
    elif any(e.get("owned_by") == "me" for e in served):
        info["engine"] = "llama.cpp (llama-cpp-python)"
    info["tool_calling"] = _tools_accepted(http, base_url, model) if info["engine"] == "vllm" else None
    record = launch_record(base_url)
    if record:
        argv = record.get("argv") or []
        info["tool_call_parser"] = flag_value(argv, "--tool-call-parser")
        info["launched_by"] = f"patchwright (pid {record.get('pid')}, {record.get('backend')})"
    return info


def _tools_accepted(http, base_url: str, model: str) -> bool | None:
    try:
        response = http.post(base_url.rstrip("/") + "/chat/completions", json={
            "model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ok"}],
            "tools": [_PROBE_TOOL], "tool_choice": "auto"})
    except Exception:  # noqa: BLE001 - a check reports, it does not fail
        return None
    if response.status_code == 200:
        return True
    return False if response.status_code == 400 and "tool" in response.text.lower() else None


def _get_json(http, url: str):
    try:
        response = http.get(url)
        return response.json() if response.status_code == 200 else None
    except Exception:  # noqa: BLE001
        return None


def _get_text(http, url: str) -> str | None:
    try:
        response = http.get(url)
        return response.text if response.status_code == 200 else None
    except Exception:  # noqa: BLE001
        return None
