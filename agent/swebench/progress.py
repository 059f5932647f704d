"""One progress bar for many instances: done/total, outcome counts, elapsed time and ETA."""
from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class InstanceProgress:
    def __init__(self, total: int, label: str, console: Console | None = None):
        self.counts: Counter = Counter()
        self.console = console or Console(stderr=True)
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=self.console, transient=False)
        self.task = self.progress.add_task(label, total=total, counts="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def set_total(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def __call__(self, instance_id: str, outcome: dict) -> None:
        status = outcome.get("status", "?")
        self.counts[status] += 1
        text = "  ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        self.progress.update(self.task, advance=1, counts=text)
        reason = outcome.get("reason", "")
        self.progress.console.print(f"{instance_id}: {status}" + (f" ({reason[:160]})" if reason and status != "resolved" else ""))
