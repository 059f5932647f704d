"""`patchwright swebench run|eval`: thin over agent.swebench.run and agent.swebench.eval."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import List, Optional

import typer

from agent.cli_common import ConfigOpt, console, guarded

swebench_app = typer.Typer(help="SWE-bench: run the fix graph on instances, grade predictions offline.",
                           no_args_is_help=True)

DatasetOpt = typer.Option(..., "--dataset", help="SWE-bench JSONL file (e.g. SWE-bench Verified).")
ReposOpt = typer.Option(None, "--repos", help="Folder of bare git mirrors (owner+name, owner__name or name).")
InstancesOpt = typer.Option(None, "--instances", "-i", help="Instance ids (repeat, or separate by commas/spaces).")
FilterOpt = typer.Option(None, "--filter", help="Regular expression the instance ids must match.")
RunIdOpt = typer.Option(None, "--run-id", help="Run id (default: time-based).")
OutOpt = typer.Option(None, "--out", help="Output root (default: HOME/swebench, HOME from the config).")
SpecsOpt = typer.Option(None, "--specs", help="JSON specs laid over swebench's (same shape as specs.json).")


def _ids(values: Optional[List[str]], extra: Optional[List[str]] = None) -> list[str] | None:
    ids = [i for v in (values or []) + (extra or []) for i in re.split(r"[,\s]+", v) if i]
    return ids or None


def _out(out: Optional[Path], config: Optional[Path]) -> Path:
    if out:
        return out.expanduser()
    from agent.config import load_settings

    return load_settings(config).home_dir / "swebench"


@swebench_app.command("eval")
@guarded
def eval_cmd(
    dataset: Path = DatasetOpt,
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="predictions.jsonl (official format)."),
    gold: bool = typer.Option(False, "--gold", help="Oracle: grade the dataset's own patches (labelled oracle-gold)."),
    empty: bool = typer.Option(False, "--empty", help="Oracle: grade the unpatched repository (labelled oracle-empty)."),
    repos: Optional[Path] = ReposOpt,
    run_id: Optional[str] = RunIdOpt,
    instances: Optional[List[str]] = InstancesOpt,
    filter: Optional[str] = FilterOpt,
    workers: int = typer.Option(1, "--workers", help="Instances evaluated at once."),
    timeout: float = typer.Option(1800, "--timeout", help="Seconds for one instance's test run."),
    specs_file: Optional[Path] = SpecsOpt,
    out: Optional[Path] = OutOpt,
    redo: bool = typer.Option(False, "--redo", help="Grade again instances already graded in this run."),
    keep_images: bool = typer.Option(False, "--keep-instance-images", help="Keep per-instance images for later runs."),
    mem: str = typer.Option("4g", "--mem", help="Memory limit of a test container."),
    cpus: float = typer.Option(2.0, "--cpus", help="CPUs of a test container."),
    official: bool = typer.Option(False, "--official", help="Hand over to swebench.harness.run_evaluation (needs Docker Hub)."),
    config: Optional[Path] = ConfigOpt,
    ids: Optional[List[str]] = typer.Argument(None, help="More instance ids."),
):
    """Grade predictions in offline containers, as the official harness grades; write report.json."""
    from agent.swebench.dataset import DatasetError, load_specs

    instances = _ids(instances, ids)  # --instances and the trailing ids, each split at commas/spaces
    oracle = "gold" if gold else "empty" if empty else None
    if sum([gold, empty, predictions is not None]) != 1:
        raise DatasetError("give exactly one of --predictions FILE, --gold, --empty")
    run_id = run_id or time.strftime("eval-%Y%m%d-%H%M%S")
    out_dir = _out(out, config)
    if official:
        from agent.swebench.official import run_official

        raise typer.Exit(run_official(dataset=dataset, predictions=predictions, oracle=oracle, instances=instances,
                                      run_id=run_id, workers=workers, timeout=timeout, out_dir=out_dir, console=console))
    from agent.config import load_settings
    from agent.swebench.eval import EvalOptions, evaluate
    from agent.swebench.harness import Harness
    from agent.swebench.progress import InstanceProgress
    from agent.swebench.report import summary_lines

    specs = load_specs(specs_file)
    settings = load_settings(config)
    harness = Harness(specs, repos, out_dir, sandbox=settings.sandbox, timeout=timeout, mem_limit=mem, cpus=cpus,
                      keep_instance_images=keep_images)
    opts = EvalOptions(dataset=dataset, run_id=run_id, out_dir=out_dir, predictions=predictions, oracle=oracle,
                       instances=instances, filter=filter, workers=workers, timeout=timeout, redo=redo)
    with InstanceProgress(0, f"eval {run_id}" + (f" (oracle-{oracle})" if oracle else ""), console) as bar:
        report = evaluate(opts, harness, specs, on_done=bar, on_plan=bar.set_total)
    for line in summary_lines(report):
        console.print(line)
    console.print(f"report: {out_dir / 'logs' / 'run_evaluation' / run_id / 'report.json'}")


@swebench_app.command("compare")
@guarded
def compare_cmd(
    runs: List[str] = typer.Argument(..., metavar="RUN", help="Two or more graded runs: RUN_ID under --out, a "
                                     "folder holding predictions.jsonl (or preds.json) and report.json, or a "
                                     "predictions file of any name with its eval report beside it."),
    out: Optional[Path] = OutOpt,
    html: Optional[Path] = typer.Option(None, "--html", help="HTML report (default: OUT/compare/RUN1__vs__RUN2.html)."),
    charts: Optional[Path] = typer.Option(None, "--charts", help="Also write each chart as a standalone SVG file "
                                          "into this folder (chart-resolved.svg, ...), e.g. for a README."),
    config: Optional[Path] = ConfigOpt,
):
    """Compare graded runs: resolved, tokens, time and cost per run, paired differences with the exact
    McNemar test, and a self-contained HTML report with charts and every instance's diff."""
    from agent.config import load_settings
    from agent.swebench.compare import compare, print_comparison
    from agent.swebench.compare_html import default_html_path, write_html
    from agent.swebench.graded_runs import CompareError, check_datasets, load_run, unique_labels

    if len(runs) < 2:
        raise CompareError(f"compare needs two or more runs, got {len(runs)}: {' '.join(runs)}")
    out_dir = _out(out, config)
    graded = [load_run(arg, out_dir) for arg in runs]
    check_datasets(graded)
    unique_labels(graded)
    comparison = compare(graded, load_settings(config).compare.prices)
    print_comparison(console, comparison)
    path = write_html(comparison, html or default_html_path(out_dir, [r.label for r in graded]))
    console.print(f"html: {path}")
    if charts:
        from agent.swebench.compare_charts import write_chart_files

        for chart in write_chart_files(comparison, charts):
            console.print(f"chart: {chart}")


@swebench_app.command("run")
@guarded
def run_cmd(
    dataset: Path = DatasetOpt,
    repos: Optional[Path] = ReposOpt,
    run_id: Optional[str] = RunIdOpt,
    instances: Optional[List[str]] = InstancesOpt,
    filter: Optional[str] = FilterOpt,
    workers: int = typer.Option(1, "--workers", help="Instances run at once (in-process)."),
    redo: bool = typer.Option(False, "--redo", help="Run again instances already in predictions.jsonl."),
    gold: bool = typer.Option(False, "--gold", help="Oracle: write the dataset's patches as predictions, no model."),
    empty: bool = typer.Option(False, "--empty", help="Oracle: write empty predictions, no model."),
    verify: str = typer.Option("spec", "--verify", help="spec: regression tests in the spec's environment; none: skip."),
    queue: Optional[str] = typer.Option(None, "--queue", help="redis://HOST:PORT/DB: enqueue for `patchwright worker`."),
    specs_file: Optional[Path] = SpecsOpt,
    out: Optional[Path] = OutOpt,
    config: Optional[Path] = ConfigOpt,
    ids: Optional[List[str]] = typer.Argument(None, help="More instance ids."),
):
    """Run the fix graph on SWE-bench instances and write predictions.jsonl (official format)."""
    from agent.config import load_settings
    from agent.swebench.run import RunOptions, run_instances

    instances = _ids(instances, ids)
    settings = load_settings(config)
    run_id = run_id or time.strftime("run-%Y%m%d-%H%M%S")
    opts = RunOptions(dataset=dataset, repos=repos, run_id=run_id, out_dir=_out(out, config), instances=instances,
                      filter=filter, workers=workers, redo=redo, oracle="gold" if gold else "empty" if empty else None,
                      verify=verify, specs=specs_file, config=config)
    if queue and not opts.oracle:
        from agent.swebench.queue import enqueue_run

        summary = enqueue_run(settings, opts, queue, console=console)
    else:
        summary = run_instances(settings, opts, console=console)
    console.print(summary.text())


@swebench_app.command("worker")
@guarded
def worker_cmd(
    queue: str = typer.Option(..., "--queue", help="redis://HOST:PORT/DB (or sqlite:///PATH) to consume."),
    workers: int = typer.Option(1, "--workers", help="Instances run at once in this process."),
    config: Optional[Path] = ConfigOpt,
):
    """Run SWE-bench instances queued by `swebench run --queue` until interrupted.
    (`patchwright worker` is the GitHub App's worker; this one serves the SWE-bench queue.)"""
    from agent.swebench.queue import serve_worker

    serve_worker(queue, workers=workers, config=config)


PEERS = ("mini-swe-agent",)


def _peer_name(name: str) -> str:
    if name not in PEERS:
        from agent.peers.install import PeerError

        raise PeerError(f"unknown peer {name!r}: patchwright runs {', '.join(PEERS)}")
    return name


@swebench_app.command("peer-install")
@guarded
def peer_install_cmd(name: str = typer.Argument(..., help=f"The peer: {', '.join(PEERS)}.")):
    """Install a peer's pinned package (the `peers` extra) into a venv of its own; idempotent."""
    from agent.peers import install

    python = install.install(_peer_name(name), log=console.print)
    console.print(f"{install.requirement(name)}: {python}")


@swebench_app.command("peer")
@guarded
def peer_cmd(
    name: str = typer.Argument(..., help=f"The peer: {', '.join(PEERS)}."),
    dataset: Path = DatasetOpt,
    repos: Optional[Path] = ReposOpt,
    run_id: Optional[str] = RunIdOpt,
    instances: Optional[List[str]] = InstancesOpt,
    filter: Optional[str] = FilterOpt,
    redo: bool = typer.Option(False, "--redo", help="Run again instances already in predictions.jsonl."),
    time_limit: float = typer.Option(600, "--time-limit", help="Wall seconds per instance (the peer's own limit; "
                                     "give patchwright the same as [run] budget_seconds)."),
    config_file: str = typer.Option("auto", "--peer-config", help="The peer's config file; auto: its tool-call "
                                    "config where the server parses tool calls, else its text-based one."),
    step_limit: Optional[int] = typer.Option(None, "--step-limit", help="Steps per instance; default: the config's."),
    specs_file: Optional[Path] = SpecsOpt,
    out: Optional[Path] = OutOpt,
    config: Optional[Path] = ConfigOpt,
):
    """Run a peer scaffold on SWE-bench instances with patchwright's model endpoint, in our offline
    instance images; write predictions.jsonl (official format) for `swebench eval` and `compare`."""
    from agent.config import load_settings
    from agent.peers.mini_swe_agent import PeerOptions, run_peer

    _peer_name(name)
    settings = load_settings(config)
    run_id = run_id or time.strftime(f"{name}-%Y%m%d-%H%M%S")
    opts = PeerOptions(dataset=dataset, run_id=run_id, out_dir=_out(out, config), repos=repos,
                       instances=_ids(instances), filter=filter, redo=redo, specs=specs_file,
                       time_limit=time_limit, config_file=config_file, step_limit=step_limit)
    summary = run_peer(settings, opts, console=console)
    t = summary["totals"]
    console.print(f"run {run_id} ({summary['scaffold']}): {t['instances']} instance(s), {t['patched']} with a patch, "
                  f"{t['errors']} error(s), {t['steps']} steps, {t['format_errors']} format errors")
    console.print(f"predictions: {opts.run_dir / 'predictions.jsonl'}")
