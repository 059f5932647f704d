"""The `patchwright` command. Typed errors are reported here, once, and exit by agent.exits."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from agent.cli_common import ConfigOpt, console, guarded
from agent.config import load_settings
from agent.exits import ExitStatus
from agent.swebench.cli import swebench_app  # light module; heavy imports happen per command

app = typer.Typer(help="patchwright: fix GitHub issues with a locally served code model.", no_args_is_help=True)
model_app = typer.Typer(help="Serve and check the model endpoint.", no_args_is_help=True)
app.add_typer(model_app, name="model")
github_app = typer.Typer(help="The GitHub App: webhook server and web page of runs.", no_args_is_help=True)
app.add_typer(github_app, name="app")
app.add_typer(swebench_app, name="swebench")


@app.command()
@guarded
def fix(
    issue: str = typer.Argument(..., help="Issue: FILE.md, FILE.json, a GitHub issue URL, or swebench:INSTANCE_ID."),
    repo: Optional[str] = typer.Option(None, help="Repository path or clone URL (overrides the issue's)."),
    commit: Optional[str] = typer.Option(None, help="Base commit (default: the issue's, else HEAD)."),
    dataset: Optional[Path] = typer.Option(None, help="SWE-bench JSONL file for swebench: ids."),
    repos: Optional[Path] = typer.Option(None, help="Folder of bare git mirrors (owner+name, owner__name or name)."),
    run_id: Optional[str] = typer.Option(None, help="Run id (default: time + issue)."),
    config: Optional[Path] = ConfigOpt,
):
    """Fix one issue: localize, patch, test in Docker, and write patch.diff plus a report."""
    from agent.request import RunRequest
    from agent.runner import start_run
    from tools.issue_sources import load_issue

    settings = load_settings(config)
    github = settings.github.client() if issue.startswith("http") else None
    loaded = load_issue(issue, dataset=dataset, github=github)  # bad input fails here, before a run exists
    request = RunRequest(issue=loaded, issue_ref=issue, repo=repo, commit=commit,
                         repos_dir=str(repos) if repos else None)
    _finish(start_run(settings, request, run_id=run_id, on_update=_progress()))


@app.command()
@guarded
def resume(run_id: str = typer.Argument(..., help="The id of a stopped run."), config: Optional[Path] = ConfigOpt):
    """Continue a stopped or killed run from its last completed node."""
    from agent.runner import resume_run

    _finish(resume_run(load_settings(config), run_id, on_update=_progress()))


@app.command()
@guarded
def demo(
    config: Optional[Path] = ConfigOpt,
    serve_model: bool = typer.Option(True, help="Start the embedded CPU model if the endpoint does not answer."),
):
    """Fix the bundled sample repository's issue end to end with the configured model, in Docker."""
    from agent.demo_run import run_demo

    result = run_demo(load_settings(config), serve_model=serve_model, on_update=_progress())
    diff = (result.run_dir / "patch.diff")
    if diff.exists():
        console.print(diff.read_text())
    _finish(result)


@model_app.command("check")
@guarded
def model_check(config: Optional[Path] = ConfigOpt):
    """Say whether the endpoint answers, what serves it (engine, version, tool calling, prefix caching), which
    model and context window."""
    settings = load_settings(config)
    info = settings.model.build().check()
    typer.echo(json.dumps(info, indent=2, default=str))  # stdout: the report is the command's output
    if not info.get("reachable", False):
        raise typer.Exit(ExitStatus.MODEL_ENDPOINT)


@model_app.command("serve")
@guarded
def model_serve(
    profile: Optional[str] = typer.Option(None, help="Model profile (default: the configured one)."),
    host: str = "127.0.0.1",
    port: int = 8000,
    backend: str = typer.Option("auto", help="auto (vLLM on a GPU, else the measured CPU default), vllm or llama.cpp."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the command (after checking vLLM flags) and exit."),
    config: Optional[Path] = ConfigOpt,
):
    """Serve the profile's model with vLLM or llama.cpp; on a CPU the embedded model."""
    from agent.models.profiles import DEFAULT_PROFILE
    from agent.models.serve import serve

    settings = load_settings(config)
    # The scripted backend has no profile: serve the default one.
    code = serve(profile or getattr(settings.model, "profile", DEFAULT_PROFILE), host, port, settings.models_dir,
                 backend=backend, dry_run=dry_run)
    raise typer.Exit(code)


@model_app.command("install")
@guarded
def model_install(
    engine: str = typer.Argument(..., help="vllm: the CPU build in its own venv, and the embedded model converted for it."),
    config: Optional[Path] = ConfigOpt,
):
    """Install a serving engine this machine lacks (llama.cpp comes with scripts/setup.sh)."""
    from agent.models.hf_weights import ensure_embedded_hf
    from agent.models.vllm_engine import install_cpu_engine

    if engine != "vllm":
        raise typer.BadParameter(f"unknown engine {engine!r}: only 'vllm' is installed this way")
    settings = load_settings(config)
    python = install_cpu_engine(log=console.print)
    folder = ensure_embedded_hf(settings.models_dir, log=console.print)
    console.print(f"vLLM for CPU: {python}\nembedded model for vLLM: {folder}")


@model_app.command("plan")
@guarded
def model_plan(
    profile: str = typer.Option(..., help="Model profile to plan for."),
    gpus: Optional[str] = typer.Option(None, help='GPUs as COUNTxNAME-MEMORYGB, e.g. "1xH100-80GB" or "2xL40S-48GB".'),
    detect: bool = typer.Option(False, "--detect", help="Read the GPUs from nvidia-smi instead of --gpus."),
    max_model_len: Optional[int] = typer.Option(None, help="Context to serve; refused if it does not fit (default: what fits)."),
    gpu_memory_utilization: float = typer.Option(0.90, help="Share of each GPU vLLM may take."),
):
    """Work out weight format, tensor parallelism and --max-model-len for a profile, and print the vLLM command."""
    import shlex

    from agent.models.planner import PlanError, detect_gpus, parse_gpus, plan
    from agent.models.profiles import get_profile

    if (gpus is None) != detect:
        raise PlanError('give the GPUs either with --gpus, e.g. "1xH100-80GB", or with --detect (one of the two)')
    chosen = plan(get_profile(profile), detect_gpus() if detect else parse_gpus(gpus),
                  max_model_len=max_model_len, gpu_memory_utilization=gpu_memory_utilization)
    typer.echo("\n".join([*chosen.explain(), "", shlex.join(chosen.command())]))


@app.command("config")
@guarded
def config_cmd(config: Optional[Path] = ConfigOpt):
    """Print every setting with its value (defaults, file and environment applied) and what it does."""
    from agent.config import describe

    typer.echo("\n".join(describe(load_settings(config))))


@app.command("index")
@guarded
def index_cmd(
    path: Path = typer.Argument(Path("."), help="Repository to index (a bare mirror is fine with --commit)."),
    commit: Optional[str] = typer.Option(None, "--commit", help="Index this commit, read from git without checking out."),
    workers: int = typer.Option(1, "--workers", help="Processes parsing files the cache does not hold yet."),
):
    """Index a repository (parses are cached by blob SHA) and print statistics."""
    from tools.index import build_index

    idx = build_index(path, commit=_commit_sha(path, commit), workers=max(1, workers))
    typer.echo(json.dumps(idx.stats, indent=2, default=str))  # stdout: it is the command's output


@app.command("map")
@guarded
def map_cmd(
    path: Path = typer.Argument(Path("."), help="Repository to map."),
    tokens: int = typer.Option(1024, "--tokens", help="Token budget of the map."),
    commit: Optional[str] = typer.Option(None, "--commit", help="Map this commit, read from git without checking out."),
):
    """Print a ranked repository map (PageRank over the reference graph) within N tokens."""
    from tools.index import build_index
    from tools.index.repomap import repo_map

    idx = build_index(path, commit=_commit_sha(path, commit))
    typer.echo(repo_map(idx, tokens), nl=False)


def _commit_sha(path: Path, commit: Optional[str]) -> Optional[str]:
    if commit is None:
        return None
    from tools.git import resolve_commit

    return resolve_commit(path, commit)  # a clear error (exit 2) for an unknown commit


@github_app.command("serve")
@guarded
def app_serve(
    host: Optional[str] = typer.Option(None, help="Listen address (default: app.host)."),
    port: Optional[int] = typer.Option(None, help="Listen port (default: app.port)."),
    config: Optional[Path] = ConfigOpt,
):
    """Serve the App's webhook (POST /webhook) and the web page of runs (/)."""
    from agent.app.server import serve

    serve(load_settings(config), host=host, port=port)


@app.command()
@guarded
def worker(config: Optional[Path] = ConfigOpt):
    """Run the App's queued jobs; a job whose worker died is picked up again and resumed."""
    from agent.app.worker import run_worker

    run_worker(load_settings(config))


@app.command()
@guarded
def triage(
    repo: str = typer.Argument(..., help="OWNER/REPO whose open issues to triage."),
    apply: bool = typer.Option(False, "--apply", help="Write labels and triage comments and enqueue the best issues (default: dry run)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Triage at most N open issues (newest first)."),
    config: Optional[Path] = ConfigOpt,
):
    """Label, deduplicate and rank open issues by fixability; a ranked table and a Markdown report."""
    from agent.triage import run_triage
    from tools.triage.report import table

    result = run_triage(load_settings(config), repo, apply=apply, limit=limit)
    Console(soft_wrap=False, width=200).print(table(result))
    if result.model_note:
        console.print(f"[yellow]model part skipped:[/] {result.model_note}; ranking uses evidence only")
    console.print(f"{len(result.pairs)} likely duplicate pair(s); report: {result.report_path}")
    if apply:
        console.print(f"{result.writes} write call(s); {result.queue_note}")
    else:
        console.print("dry run: nothing written (use --apply)")


def _progress():
    from agent.progress import NodeProgress

    return NodeProgress(console)


def _finish(result) -> None:
    report = json.loads((result.run_dir / "report.json").read_text()) if (result.run_dir / "report.json").exists() else {}
    colour = "green" if result.fixed else "yellow"
    console.print(f"[bold {colour}]{report.get('status', result.state.get('exit_status'))}[/]: {report.get('reason', '')}")
    for test in report.get("tests", {}).get("fail_to_pass", []):
        console.print(f"  failed before, passes after: {test}")
    console.print(f"run {result.run_id}: {result.run_dir}")
    raise typer.Exit(result.exit_code)


def main() -> None:
    """The `patchwright` command: secrets leave the initial environment first (agent.secrets)."""
    from agent import secrets

    secrets.take_handed()
    secrets.reexec_without_secrets()
    app()


if __name__ == "__main__":
    main()
