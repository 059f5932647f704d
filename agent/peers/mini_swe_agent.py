"""`patchwright swebench peer mini-swe-agent`: mini-swe-agent on SWE-bench instances, as its users run
it, with patchwright's model endpoint and offline instance images, graded later by our harness.

Per instance: our harness builds (or reuses) the instance image (the repository at its base commit,
the environment installed); the peer venv's python runs agent/peers/mini_worker.py, which calls
mini-swe-agent's own `process_instance` with its own config file (swebench.yaml where the server
parses tool calls, swebench_backticks.yaml with its text-based model class where it does not)
and only these overrides: the endpoint, the image, the container's network off and limits, and
the wall-time limit. Its submission becomes the official prediction, as `mini-extra swebench`
writes it; its trajectory, exit status, steps and format errors go to summary.json.

Layout: OUT/RUN_ID/predictions.jsonl, OUT/RUN_ID/summary.json, OUT/RUN_ID/peer/ (mini-swe-agent's
own output folder: preds.json, INSTANCE/INSTANCE.traj.json, minisweagent.log). Resumable like
`swebench run`: instances already in predictions.jsonl are skipped unless --redo.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.peers import install
from agent.peers.install import PeerError
from agent.swebench.dataset import KEY_ID, KEY_MODEL, KEY_PATCH, load_dataset, load_specs, select
from agent.swebench.run import PredictionWriter, done_ids

PACKAGE = "mini-swe-agent"
WORKER = Path(__file__).with_name("mini_worker.py")
# The instance fields mini-swe-agent's process_instance reads; the hidden ones (patch, test_patch,
# FAIL_TO_PASS) never reach it.
INSTANCE_FIELDS = ("instance_id", "repo", "base_commit", "problem_statement", "version")


@dataclass
class PeerOptions:
    dataset: Path
    run_id: str
    out_dir: Path
    repos: Path | None = None
    instances: list[str] | None = None
    filter: str | None = None
    redo: bool = False
    specs: Path | None = None
    time_limit: float = 600.0            # mini-swe-agent's agent.wall_time_limit_seconds, per instance
    hard_grace: float = 600.0            # then the worker is killed: a reply that never ends
    config_file: str = "auto"            # a mini-swe-agent config name or path; auto: by tool calling
    step_limit: int | None = None        # None: the config file's own (250 in swebench*.yaml)

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.run_id


def choose_config(tool_calling: bool | None, config_file: str = "auto") -> tuple[str, str]:
    """(config file, model class): mini-swe-agent's tool-call config where the server parses tool
    calls, else its text-based one (one ```mswea_bash_command block per reply)."""
    if config_file != "auto":
        return config_file, "litellm" if Path(config_file).stem == "swebench" else "litellm_textbased"
    return ("swebench.yaml", "litellm") if tool_calling else ("swebench_backticks.yaml", "litellm_textbased")


def run_peer(settings, opts: PeerOptions, *, console=None) -> dict:
    """Run every selected instance not done yet; returns summary.json's content."""
    from agent.swebench.harness import Harness

    python = install.peer_python(PACKAGE)
    endpoint = _endpoint(settings)
    config_file, model_class = choose_config(endpoint["tool_calling"], opts.config_file)
    rows = load_dataset(opts.dataset)
    ids = select(rows, opts.instances, opts.filter)
    finished = set() if opts.redo else done_ids(opts.run_dir / "predictions.jsonl")
    todo = [i for i in ids if i not in finished]
    harness = Harness(load_specs(opts.specs), opts.repos, opts.out_dir, sandbox=settings.sandbox, run_id=opts.run_id)
    writer = PredictionWriter(opts.run_dir / "predictions.jsonl")
    limits = {"wall_time_limit_seconds": opts.time_limit, "killed_after_seconds": opts.time_limit + opts.hard_grace,
              "step_limit": opts.step_limit, "config_file": config_file,
              "model_class": model_class, "context_window": endpoint["context_window"]}
    for n, iid in enumerate(todo, 1):
        if console is not None:
            console.print(f"[{n}/{len(todo)}] {PACKAGE} on {iid}")
        info, patch = _one(python, harness, settings, opts, rows[iid], endpoint, config_file, model_class)
        if patch is not None:  # an image that did not build or a worker that crashed runs again on resume
            writer.add({KEY_ID: iid, KEY_MODEL: f"{PACKAGE}__{endpoint['model']}".replace("/", "__"),
                        KEY_PATCH: patch}, redo=opts.redo)
        summary = _record(opts, iid, info, limits)
        if console is not None:
            console.print(f"  {info['status']}: {info['steps']} steps, {info['format_errors']} format errors, "
                          f"{info['seconds']:.0f} s, patch {info['patch_chars']} chars")
    return _record(opts, None, None, limits) if not todo else summary


def _endpoint(settings) -> dict:
    """The model endpoint the peer talks to: patchwright's own, checked first (a dead server is a
    ModelError here, before any container starts)."""
    from agent.models.base import ModelError

    if getattr(settings.model, "type", "") != "openai":
        raise PeerError(f"a peer needs an OpenAI-compatible endpoint ([model] type = \"openai\"), "
                        f"not {settings.model.type!r}")
    report = settings.model.build().check()
    if report.get("error") or not report.get("reachable"):
        raise ModelError(report.get("error") or f"model server at {report['base_url']} is not reachable")
    return {"base_url": report["base_url"], "model": report["model"], "tool_calling": report.get("tool_calling"),
            "context_window": report.get("context_window"),
            "api_key": settings.model.api_key.get_secret_value() or "EMPTY"}


def _one(python: Path, harness, settings, opts: PeerOptions, row: dict, endpoint: dict, config_file: str,
         model_class: str) -> tuple[dict, str | None]:
    from agent.swebench.harness import SetupError

    iid = row["instance_id"]
    out = opts.run_dir / "peer"
    started = time.monotonic()
    info = {"status": "error", "steps": 0, "format_errors": 0, "seconds": 0.0, "patch_chars": 0,
            "usage": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "model_seconds": 0.0}}
    try:
        image, _, _ = harness.instance_image(row, harness.env_image(row))
    except SetupError as e:
        return {**info, "reason": f"instance image: {e}"}, None
    try:
        job = _job(opts, row, image, harness, settings, endpoint, config_file, model_class)
        traj = out / iid / f"{iid}.traj.json"
        try:
            done = subprocess.run([str(python), "-I", str(WORKER), str(job)], env=_worker_env(opts, endpoint),
                                  capture_output=True, text=True, timeout=opts.time_limit + opts.hard_grace)
            crashed = done.returncode != 0 and not traj.is_file()
            reason = done.stderr.strip()[-1500:] if crashed else ""
        except subprocess.TimeoutExpired:
            crashed, reason = False, f"killed after {opts.time_limit + opts.hard_grace:.0f} s (a reply did not end)"
        (out / iid).mkdir(parents=True, exist_ok=True)
        info["seconds"] = round(time.monotonic() - started, 1)
        if crashed:
            return {**info, "reason": f"mini-swe-agent worker failed: {reason}"}, None
        if not traj.is_file():  # killed before it saved its first step: its run ended with nothing to submit
            return {**info, "status": "Killed", "reason": reason or "no trajectory written"}, ""
        info.update(read_trajectory(traj), trajectory=str(traj.relative_to(opts.run_dir)))
        if reason:
            info.update(status="Killed", reason=reason)
        patch = info.pop("submission", "") or ""
        info["patch_chars"] = len(patch)
        return info, patch
    finally:
        harness.drop_instance_image(image)


def _job(opts: PeerOptions, row: dict, image: str, harness, settings, endpoint: dict, config_file: str,
         model_class: str) -> Path:
    iid = row["instance_id"]
    sb = settings.sandbox
    run_args = ["--rm", "--network", "none", "--memory", sb.mem_limit, "--memory-swap", sb.mem_limit,
                "--cpus", str(sb.cpus), "--pids-limit", str(sb.pids_limit), "--security-opt", "no-new-privileges"]
    for key, value in harness.sb.labels.items():  # our cleanup finds a container a kill left behind
        run_args += ["--label", f"{key}={value}"]
    overrides = {
        "model": {"model_name": f"openai/{endpoint['model']}", "model_class": model_class,
                  "model_kwargs": {"api_base": endpoint["base_url"]}},
        "environment": {"run_args": run_args},
        "agent": {"wall_time_limit_seconds": int(opts.time_limit),
                  "output_path": str(opts.run_dir / "peer" / iid / f"{iid}.traj.json")},  # saved every step
    }
    if opts.step_limit:
        overrides["agent"]["step_limit"] = opts.step_limit
    folder = opts.run_dir / "peer" / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: mini-swe-agent reads this file as one more -c config, merged over its own.
    (folder / f"{iid}.overrides.yaml").write_text(json.dumps(overrides, indent=2))
    instance = {k: row[k] for k in INSTANCE_FIELDS if k in row} | {"image_name": image}
    job = {"config_specs": [config_file, str(folder / f"{iid}.overrides.yaml")],
           "output_dir": str(opts.run_dir / "peer"), "instance": instance}
    (folder / f"{iid}.json").write_text(json.dumps(job, indent=2))
    return folder / f"{iid}.json"


def _worker_env(opts: PeerOptions, endpoint: dict) -> dict:
    """What the peer's host process gets: no patchwright or GitHub secrets, the endpoint's key, a
    home of its own (mini-swe-agent reads a global .env from there), litellm kept offline."""
    home = opts.run_dir / "peer" / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "OPENAI_API_KEY": endpoint["api_key"],
           "MSWEA_COST_TRACKING": "ignore_errors",      # a local model has no price: cost 0, as its docs advise
           "LITELLM_LOCAL_MODEL_COST_MAP": "True",       # else litellm fetches its price list from GitHub
           "MSWEA_GLOBAL_CONFIG_DIR": str(home / "mini-swe-agent")}
    for key in ("DOCKER_HOST", "DOCKER_CONFIG", "NO_PROXY", "no_proxy"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def read_trajectory(path: Path) -> dict:
    """Steps, format errors, tokens, exit status and submission from a mini-swe-agent trajectory.
    Model seconds: from each reply's timestamp back to the previous observation's (or the start)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    info = data.get("info", {})
    prompt = completion = format_errors = 0
    model_seconds, last = 0.0, None
    for message in data.get("messages", []):
        extra = message.get("extra") or {}
        usage = (extra.get("response") or {}).get("usage") if isinstance(extra.get("response"), dict) else None
        if usage:
            prompt += usage.get("prompt_tokens") or 0
            completion += usage.get("completion_tokens") or 0
        if extra.get("interrupt_type") == "FormatError":
            format_errors += 1
        stamp = extra.get("timestamp")
        if stamp and message.get("role") == "assistant" and last is not None:
            model_seconds += stamp - last
        if stamp:
            last = stamp
    steps = info.get("model_stats", {}).get("api_calls", 0)
    agent = (info.get("config") or {}).get("agent") or {}  # the merged config the run had
    limits = {k: agent[k] for k in ("step_limit", "wall_time_limit_seconds") if isinstance(agent.get(k), (int, float))}
    return {"status": info.get("exit_status") or "unknown", "reason": info.get("exception_str", ""),
            "steps": steps, "format_errors": format_errors, "submission": info.get("submission") or "", **limits,
            "usage": {"calls": steps, "prompt_tokens": prompt, "completion_tokens": completion,
                      "model_seconds": round(model_seconds, 1)}}


def _record(opts: PeerOptions, iid: str | None, info: dict | None, limits: dict) -> dict:
    path = opts.run_dir / "summary.json"
    old = json.loads(path.read_text()) if path.is_file() else {"instances": {}}
    if iid is not None:
        old["instances"][iid] = info
    done = old["instances"].values()
    if not opts.step_limit:  # the config file's own, as the instances' trajectories recorded it
        seen = sorted({i["step_limit"] for i in done if isinstance(i.get("step_limit"), int)})
        limits = {**limits, "step_limit": seen[0] if len(seen) == 1 else seen or "the config file's"}
    summary = {"run_id": opts.run_id, "scaffold": f"{PACKAGE} {install.version(PACKAGE)}", "limits": limits,
               "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
               "totals": {"instances": len(old["instances"]), "patched": sum(1 for i in done if i.get("patch_chars")),
                          "errors": sum(1 for i in done if i["status"] == "error"),
                          "steps": sum(i.get("steps", 0) for i in done),
                          "format_errors": sum(i.get("format_errors", 0) for i in done)},
               "instances": old["instances"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2))
    return summary
