"""What a person sees while a run goes: one line per finished node, with its time and gist."""
from __future__ import annotations

import time

from rich.console import Console


class NodeProgress:
    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.last = time.perf_counter()

    def __call__(self, node: str, values: dict) -> None:
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        self.console.print(f"[green]✓[/] {node:<10} {seconds:6.1f}s  {self._gist(node, values)}")

    @staticmethod
    def _gist(node: str, v: dict) -> str:
        if node == "ingest" and "issue" in v:
            return (v["issue"].get("title") or v["issue"]["id"])[:70]
        if node == "workspace":
            return f"{v.get('base_commit', '')[:12]} in {v.get('workspace_dir')}"
        if node == "index":
            s = v.get("index_stats", {})
            return f"{s.get('files_indexed', '?')} files, {s.get('symbols', '?')} symbols"
        if node == "localize":
            files = [f for f, _ in v.get("locations", {}).get("files", [])[:3]]
            return f"top files: {', '.join(files)}; budget {v.get('code_budget')} tokens"
        if node == "reproduce":
            r = v.get("reproduction")
            return f"{r['status']}: {r['path'] if r['status'] == 'reproduced' else r['reason']}"[:110] if r else "off"
        if node in ("patch", "verify", "deliver"):
            return f"{v.get('exit_status', '')}: {v.get('reason', '')}"[:110]
        return ""
