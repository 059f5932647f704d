"""What every `patchwright` command shares: the console, the --config option, and `guarded`, which
reports a typed error once and exits by agent.exits. Its own module so that agent.cli and
agent.swebench.cli both import it and neither imports the other."""
from __future__ import annotations

import functools

import typer
from rich.console import Console

from agent.errors import RunError
from agent.exits import classify

console = Console(stderr=True, soft_wrap=True)
ConfigOpt = typer.Option(None, "--config", "-c", help="TOML config file (default: $PATCHWRIGHT_CONFIG or ./patchwright.toml).")


def guarded(fn):
    """Turn typed errors into one clear line and their exit status; nothing else is swallowed."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as e:
            row = classify(e)
            if row is None:
                raise
            console.print(f"[bold red]error:[/] {e}")
            if isinstance(e, RunError) and row.resumable:
                console.print(f"run {e.run_id} is kept; continue it with: patchwright resume {e.run_id}")
            raise typer.Exit(int(row.status))
    return run
