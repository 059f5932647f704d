"""Settings: one TOML file plus environment variables for secrets.

Every setting has a default that works on one machine. Lookup order (highest first): environment
(`PATCHWRIGHT_` prefix, `__` between levels, e.g. PATCHWRIGHT_MODEL__BASE_URL), then the TOML file
(`--config`, $PATCHWRIGHT_CONFIG, or ./patchwright.toml), then these defaults.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, SecretStr, Tag, field_validator
from pydantic_settings import (BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict,
                               TomlConfigSettingsSource)

from agent import secrets
from agent.errors import ConfigError  # defined there; importable from here as before
from agent.models import ModelConfig, OpenAIModelConfig, get_profile
from sandbox.docker import DockerSandboxConfig
from sandbox.scripted import ScriptedSandboxConfig


def _sandbox_type(value) -> str:
    # As for the model: a partial [sandbox] table (or PATCHWRIGHT_SANDBOX__CPUS alone) means Docker.
    return value.get("type", "docker") if isinstance(value, dict) else getattr(value, "type", "docker")


SandboxSettings = Annotated[
    Union[Annotated[DockerSandboxConfig, Tag("docker")], Annotated[ScriptedSandboxConfig, Tag("scripted")]],
    Discriminator(_sandbox_type),
]


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    max_attempts: int = 3
    """Patch-and-test attempts per run; failing test output is fed back between attempts."""
    max_edit_retries: int = 2
    """Extra model turns per attempt to repair edits (SEARCH/REPLACE or FUNCTION blocks) that did not apply, left a file unparseable, or were cut at max_tokens."""
    edit_format: Literal["auto", "search_replace", "whole_function"] = "auto"
    """How the model writes its edits: "search_replace" (SEARCH/REPLACE blocks), "whole_function" (the complete new definition of a named Python function or method, replacing the old one) or "auto": the model profile's edit_format."""
    test_command: str = "python -m pytest -rA -p no:cacheprovider --junitxml=/tmp/junit.xml"
    """Command run inside the sandbox, from the repository root, to test a patch."""
    install: list[str] | None = None
    """Commands that install the repository in its environment image; None = detect (pip install -e . and requirements files, plus pytest)."""
    top_files: int = 8
    """Files taken from localization into the prompt (within the token budget)."""
    top_symbols: int = 20
    """Functions and classes taken from localization into the prompt (within the token budget)."""
    line_numbers: bool = True
    """Number the lines of the code the patch prompt shows (`  404 | ...`). False: plain lines under a `lines A-B:` note, fewer tokens and no numbers for a small model to copy into its SEARCH blocks (the 1.5B model spent whole replies doing so)."""
    feedback_chars: int = 6000
    """Most characters of failing test output fed back to the model."""
    model_localize: bool = False
    """Second localization stage: the model picks files, then functions, from the retriever's candidates (two more model calls per run)."""
    budget_seconds: float | None = None
    """Wall seconds per run, counted from its first trajectory record (a resumed run keeps its clock); checked before each model call and each new attempt: past it, the run delivers its best so far and says so. None: no limit."""
    budget_tokens: int | None = Field(None, ge=0)
    """Prompt plus completion tokens per run, as the trajectory counts them (the one record of usage); checked with budget_seconds, where that is (Deps.over_budget): before each reproduction turn, each new attempt, each edit retry and each candidate request after an attempt's first: past it, the run stops asking, tests the candidates it has and delivers the best, and says so. None: no limit."""
    samples: int = Field(1, ge=1)
    """Patch candidates per attempt: the first greedy (temperature 0), the others sampled at sample_temperature and alternating between the ranked code and a variant of it (agent.prompting.CODE_VARIANTS); verify tests each distinct one and keeps the best (agent/nodes/selection.py). 1: one reply at the model's own temperature, as before."""
    sample_temperature: float = Field(0.8, ge=0.0, le=2.0)
    """Temperature of the sampled candidates (all but the first) when samples > 1, and the least one an edit retry or a reproduction retry asks at (greedy decoding repeats a refused answer)."""
    reproduce: bool | None = None
    """Before patching, have the model write a new test that reproduces the issue and run it on the base commit (the reproduce node); a run without a reproduction still goes on. None: the model profile's default (Profile.reproduce; off for a backend without a profile). Read it through Settings.reproduce_enabled()."""
    reproduce_retries: int = 2
    """Extra model turns after a reproduction test that does not reproduce the issue (it passes, cannot run, or fails some other way); each gets that test's output."""
    reproduce_command: str = "python -m pytest -rA -p no:cacheprovider --junitxml=/tmp/junit.xml {test}"
    """Command run inside the sandbox, from the repository root, to run one test file; {test} is replaced by the file's path (shell-quoted)."""
    reproduction_in_pr: bool = True
    """Deliver the reproduction test with the fix (in patch.diff, so in the pull request) when it passes with the patch; false: the fix alone."""
    agent_output_chars: int = Field(8000, ge=200)
    """Agent mode: most characters of a command's output (bash, run_tests) and of search results shown to the model; a command's output keeps its first and last halves, and every cut is said."""
    agent_view_lines: int = Field(400, ge=10)
    """Agent mode: most lines the view tool shows at once (and at most 20,000 characters); the reply says how to see the rest."""
    agent_command_timeout: float = Field(120, gt=0)
    """Agent mode: seconds a bash command may run in the run's container before it is killed (run_tests has sandbox.test_timeout)."""
    solve: Literal["auto", "pipeline", "agent"] = "auto"
    """How the patch step works: "pipeline" (the model answers with edits in one reply, retried on edits that do not apply), "agent" (a loop of model turns and tool calls in the working copy, agent/agent_mode/, ending in a diff that verify tests as it tests the pipeline's) or "auto": the model profile's solve. Read it through agent.agent_mode.mode.resolve_solve."""
    tool_calls: Literal["auto", "native", "text"] = "auto"
    """How agent mode's model calls tools: "native" (the OpenAI tools API; the server parses the calls), "text" (one fenced ```tool block of JSON per reply, for servers without a tool parser, such as llama.cpp) or "auto": native when the model check says the server accepts tools, else text (decided once per run)."""
    agent_max_steps: int = Field(30, ge=1)
    """Model turns per agent in agent mode; past them the loop ends and its diff so far is the candidate."""
    agent_max_format_errors: int = Field(3, ge=1)
    """Malformed replies in a row (no action, two actions, an unknown tool, arguments that do not fit the tool) that end an agent's loop."""
    agent_parallel: int | None = Field(None, ge=1)
    """Agent mode with samples > 1: agents that run at once, each in its own copy of the working copy with its own tool box (and container), their model turns sent together (vLLM batches them). None: the model profile's parallel_agents (1 for the embedded CPU model, whose llama.cpp server answers one request at a time; 1 for a backend without a profile). Read it through Settings.agents_at_once()."""

    @field_validator("reproduce_command")
    @classmethod
    def _names_the_test(cls, command: str) -> str:
        if "{test}" not in command:
            raise ValueError("run.reproduce_command must contain {test}, where the test file's path goes")
        return command


class GitHubConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    api_url: str = "https://api.github.com"
    """REST API base URL (GitHub Enterprise: https://HOST/api/v3)."""
    token: str | None = None
    """Token for reading issues; from $GITHUB_TOKEN or PATCHWRIGHT_GITHUB__TOKEN, never from the TOML file."""

    def resolved_token(self) -> str | None:
        return self.token or secrets.get("GITHUB_TOKEN")

    def client(self, **options):
        """A PyGithub client for `api_url` with the resolved token; `options` go to
        tools.forge.api.github_client (retry, per_page, pacing)."""
        from tools.forge.api import github_client

        options.setdefault("retry", 3)  # reading one issue: plain retries; triage passes its rate-limit policy
        return github_client(self.api_url, self.resolved_token(), **options)


class AppConfig(BaseModel):
    """The GitHub App (`patchwright app serve` and `patchwright worker`). Secrets come from the
    environment (PATCHWRIGHT_APP__WEBHOOK_SECRET, PATCHWRIGHT_APP__PRIVATE_KEY), not the TOML file."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    app_id: int | None = None
    """The App's id, from its settings page on GitHub."""
    private_key: SecretStr | None = None
    """The App's private key (PEM text); from PATCHWRIGHT_APP__PRIVATE_KEY."""
    private_key_file: Path | None = None
    """A file holding the App's private key, instead of private_key."""
    webhook_secret: SecretStr | None = None
    """The webhook secret set on the App; deliveries without a valid signature get 401."""
    max_body_bytes: int = 25 * 1024 * 1024
    """Largest webhook body accepted (GitHub caps payloads at 25 MB); a larger one gets 413 before its signature is checked."""
    label: str = "patchwright"
    """Adding this label to an issue starts a fix run."""
    command: str = "/patchwright fix"
    """A comment with this command at the start of a line (alone or followed by a space and more text) starts a fix run."""
    host: str = "127.0.0.1"
    """Address `patchwright app serve` listens on."""
    port: int = 8080
    """Port `patchwright app serve` listens on."""
    public_url: str = ""
    """Where people reach the app's web page, for links in comments and pull requests; empty: no links."""
    redis_url: str | None = None
    """Queue jobs in Redis (redis://HOST:PORT/DB); unset: a SQLite queue under home/app/."""
    workers: int = 2
    """Jobs a worker runs at once (one more can take in new issues while a run goes on)."""
    poll_interval: float = 0.5
    """Longest wait between polls of the SQLite queue (s): bounds how long a new job waits for pickup."""
    lease_seconds: float = 60.0
    """A job whose worker on another host sent no heartbeat for this long is taken over."""
    max_job_attempts: int = 3
    """Times a job is started before it is given up (a job that keeps killing its worker)."""
    draft: bool = True
    """Open pull requests as drafts."""
    github_retries: int = 5
    """Retries of GitHub calls that hit a rate limit or a 5xx answer, with backoff."""
    max_rate_limit_wait: float = 900.0
    """Longest wait for a GitHub rate limit to reset before the call fails (s)."""

    def key(self) -> str:
        if self.private_key is not None:
            return self.private_key.get_secret_value()
        if self.private_key_file is not None:
            return self.private_key_file.expanduser().read_text()
        raise ConfigError("no GitHub App private key: set PATCHWRIGHT_APP__PRIVATE_KEY or app.private_key_file")


class TriageConfig(BaseModel):
    """Backlog triage (`patchwright triage OWNER/REPO`)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    duplicate_threshold: float = 0.4
    """TF-IDF cosine (title + body) at or above which two issues are shown as likely duplicates."""
    closed_lookback: int = 100
    """Most recently updated closed issues also compared against open ones for duplicates."""
    top_k: int = 3
    """The budget: most issues one `--apply` run enqueues for a fix."""
    min_score: float = 0.6
    """Lowest fixability score (0..1) an issue needs to be enqueued."""
    enqueue: bool = True
    """With --apply, put the top K on the App's job store and queue (under home/app/); false: only mark them in the report."""
    report: Path | None = None
    """Markdown report path; None: home/triage/OWNER+REPO.md."""
    sender: str | None = None
    """Login recorded as asking for the enqueued fixes (needs write permission); None: the repository owner."""
    seconds_between_requests: float = 0.25
    """Least pause between any two GitHub calls (PyGithub's default pacing)."""
    seconds_between_writes: float = 1.0
    """Pause between write calls, GitHub's advice against secondary rate limits (PyGithub's default)."""
    schedule: str | None = None
    """Cron expression ("minute hour day month weekday", e.g. "0 6 * * 1") on which `patchwright worker` triages `repos` with --apply; None: no scheduled triage."""
    repos: list[str] = []
    """OWNER/REPO names the scheduled triage covers."""


class Price(BaseModel):
    """What a model's tokens cost, for the cost column of `swebench compare`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    input_per_mtok: float
    """USD per million prompt (input) tokens."""
    output_per_mtok: float
    """USD per million completion (output) tokens."""


class CompareConfig(BaseModel):
    """`patchwright swebench compare`: comparing graded SWE-bench runs."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    prices: dict[str, Price] = {}
    """Token prices keyed by the predictions' model_name_or_path (a TOML table per model, e.g. [compare.prices."patchwright__qwen2.5-coder-32b"]); a run whose model has none shows no cost."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PATCHWRIGHT_", env_nested_delimiter="__", extra="forbid", use_attribute_docstrings=True
    )

    home: Path = Path("~/.patchwright")
    """Where runs and repository mirrors live (runs/, mirrors/)."""
    model_cache: Path = Path("~/.cache/patchwright/models")
    """Where downloaded model files (the embedded GGUF) are kept; shared by every home."""
    model: ModelConfig = Field(default_factory=OpenAIModelConfig)
    """The model backend: `type = "openai"` for any OpenAI-compatible server (vLLM, llama.cpp)."""
    sandbox: SandboxSettings = Field(default_factory=DockerSandboxConfig)
    """Where tests run: `type = "docker"`, or `type = "scripted"` to replay given results (tests, no Docker)."""
    run: RunConfig = Field(default_factory=RunConfig)
    """How one fix run behaves."""
    github: GitHubConfig = Field(default_factory=GitHubConfig)
    """GitHub access for reading issues."""
    app: AppConfig = Field(default_factory=AppConfig)
    """The GitHub App: webhook server, job queue and workers."""
    triage: TriageConfig = Field(default_factory=TriageConfig)
    """Backlog triage: duplicate threshold, enqueue budget, GitHub pacing, report path."""
    compare: CompareConfig = Field(default_factory=CompareConfig)
    """`swebench compare`: token prices per model for the cost column."""

    _toml_file: Path | None = None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # Secrets handed over by agent.secrets (out of the initial environment) rank as environment.
        handed = InitSettingsSource(settings_cls, init_kwargs=secrets.handed_settings())
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, handed]
        toml = _config_path()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    def reproduce_enabled(self) -> bool:
        """Whether a run writes a reproduction test first: run.reproduce when set, else the model
        profile's default. The one place that decides it."""
        if self.run.reproduce is not None:
            return self.run.reproduce
        profile = self._profile()
        return profile.reproduce if profile else False

    def agents_at_once(self) -> int:
        """How many of an attempt's agents run at the same time: run.agent_parallel when set, else the
        model profile's parallel_agents; never more than run.samples. The one place that decides it."""
        wanted = self.run.agent_parallel
        if wanted is None:
            profile = self._profile()
            wanted = profile.parallel_agents if profile else 1
        return max(1, min(wanted, self.run.samples))

    def _profile(self):
        """The model's serving profile (agent.models.profiles), None for a backend without one (scripted)."""
        name = getattr(self.model, "profile", None)
        return get_profile(name) if name else None

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser()

    @property
    def runs_dir(self) -> Path:
        return self.home_dir / "runs"

    @property
    def mirrors_dir(self) -> Path:
        return self.home_dir / "mirrors"

    @property
    def models_dir(self) -> Path:
        return self.model_cache.expanduser()


def _config_path() -> Path | None:
    explicit = os.environ.get("PATCHWRIGHT_CONFIG")
    if explicit:
        return Path(explicit)
    default = Path("patchwright.toml")
    return default if default.is_file() else None


def load_settings(config: Path | None = None, **overrides) -> Settings:
    """Load settings, optionally from an explicit TOML file; errors name the file and field."""
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"config file not found: {config}")
        os.environ["PATCHWRIGHT_CONFIG"] = str(config)
    try:
        return Settings(**overrides)
    except Exception as e:  # pydantic ValidationError or TOML decode error
        raise ConfigError(f"invalid configuration ({_config_path() or 'defaults'}): {e}") from e


def describe(settings: BaseModel, prefix: str = "") -> list[str]:
    """Every setting as a TOML line with its current value and description (secrets hidden)."""
    lines: list[str] = []
    tables: list[tuple[str, BaseModel]] = []
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            tables.append((name, value))
            continue
        shown = "(secret)" if isinstance(value, SecretStr) or name in ("token", "api_key") else value
        text = json.dumps(str(shown) if isinstance(shown, Path) else shown, default=str)
        lines.append(f"{name} = {text}    # {(field.description or '').strip()}")
    for name, table in tables:
        lines += ["", f"[{prefix}{name}]"] + describe(table, prefix=f"{prefix}{name}.")
    return lines
