"""Client for any OpenAI-compatible chat server (vLLM, llama.cpp, ScriptedServer).

Retries are left to the openai SDK, which backs off exponentially on
connection errors, timeouts, 408/409/429 and 5xx answers.  Everything that
still fails is turned into a :class:`~agent.models.base.ModelError` whose
message names the server and says what went wrong.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agent.models.base import CheckReport, ModelError, Reply, ToolCall, estimate_prompt_tokens, estimate_tokens
from agent.models.profiles import DEFAULT_PROFILE, Profile, get_profile
from agent.models import engine_info
from agent.models.tokenizer import ServerTokenizer, server_root

__all__ = ["OpenAIModelConfig", "OpenAICompatModel"]


class OpenAIModelConfig(BaseModel):
    """An OpenAI-compatible chat server (vLLM, llama.cpp server, ...)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["openai"] = Field("openai", description="Selects the OpenAI-compatible HTTP backend.")
    base_url: str = Field(
        "http://127.0.0.1:8000/v1",
        description="Base URL of the server's OpenAI API, including the /v1 suffix.",
    )
    model: str = Field(
        "",
        description="Model id to request; empty means the first id the server lists on /v1/models.",
    )
    api_key: SecretStr = Field(
        SecretStr("EMPTY"),
        description="API key sent as a bearer token; local servers accept anything. Set it from the environment.",
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0 = greedy, reproducible).")
    max_tokens: int = Field(1024, gt=0, description="Maximum tokens generated per completion.")
    timeout: float | None = Field(
        None, gt=0,
        description="Seconds to wait for one HTTP answer before giving up; None: the profile's request_timeout.",
    )
    max_retries: int = Field(
        3, ge=0, description="Retries (with exponential backoff, by the openai SDK) on connection errors, timeouts, 408/429/5xx."
    )
    context_window: int | None = Field(
        None,
        gt=0,
        description="Tokens per request; None asks the server (/v1/models) and falls back to the profile's window.",
    )
    profile: str = Field(
        DEFAULT_PROFILE,
        description="Serving profile (agent.models.profiles) giving the fallback context window and template quirks.",
    )

    def build(self) -> "OpenAICompatModel":
        """Create the client (no network traffic until the first call)."""
        return OpenAICompatModel(self)


def _truncate(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _root_cause(exc: BaseException) -> str:
    """The innermost useful description of a connection error (e.g. "[Errno 111] Connection refused")."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen) or type(seen).__name__
    return text


def _fold_system_messages(messages: list[dict]) -> list[dict]:
    """Merge system messages into the first user message, for templates without a system role."""
    system = [m.get("content") or "" for m in messages if m.get("role") == "system"]
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    prefix = "\n\n".join(system)
    for message in rest:
        if message.get("role") == "user":
            message["content"] = f"{prefix}\n\n{message.get('content') or ''}"
            return rest
    return [{"role": "user", "content": prefix}, *rest]


class OpenAICompatModel:
    """A :class:`~agent.models.base.Model` backed by an OpenAI-compatible server."""

    def __init__(self, config: OpenAIModelConfig):
        from openai import OpenAI  # imported lazily: keeps `import agent.models` light

        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.profile: Profile = get_profile(config.profile)
        self.name = config.model or self.profile.served_model_name
        self._model_id: str | None = config.model or None
        self._context_window: int | None = None
        self._context_source: str | None = None
        self._served: list[dict] | None = None
        self._lock = threading.Lock()
        self.timeout = config.timeout or self.profile.request_timeout
        self.client = OpenAI(
            base_url=self.base_url,
            api_key=config.api_key.get_secret_value() or "EMPTY",
            timeout=self.timeout,
            max_retries=config.max_retries,
        )
        self._tokenizer = ServerTokenizer(self.base_url, self.model_id, timeout=self.timeout,
                                          api_key=config.api_key.get_secret_value() or "EMPTY")

    # -- error handling ---------------------------------------------------------------------

    def _error(self, exc: BaseException, what: str) -> ModelError:
        import openai

        where = f"model server at {self.base_url}"
        retries = self.config.max_retries
        after = f" (after {retries} {'retry' if retries == 1 else 'retries'})" if retries else ""
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(f"{where} did not answer {what} within {self.timeout:g} s{after}")
        if isinstance(exc, openai.APIConnectionError):
            return ModelError(f"{where} is not reachable{after}: {_root_cause(exc)}")
        if isinstance(exc, openai.APIStatusError):
            body = exc.response.text if exc.response is not None else str(exc)
            status = exc.status_code
            hint = ""
            if status == 404:
                hint = f" (is model {self._model_id or self.name!r} served there? see /v1/models)"
            elif status in (401, 403):
                hint = " (check the API key)"
            elif status == 400 and "context" in body.lower():
                hint = f" (prompt too long for the context window of {self._context_window or 'the server'} tokens?)"
            retried = after if (status >= 500 or status in (408, 409, 429)) else ""
            return ModelError(f"{where} answered HTTP {status}{retried} to {what}{hint}: {_truncate(body)}")
        if isinstance(exc, openai.APIResponseValidationError):
            return ModelError(f"{where} returned an invalid response to {what}: {_truncate(exc.body or exc.message)}")
        if isinstance(exc, (ValueError, json.JSONDecodeError)):
            return ModelError(f"{where} returned an invalid response to {what}: not JSON ({exc})")
        if isinstance(exc, openai.OpenAIError):
            return ModelError(f"{where} failed on {what}: {exc}")
        return ModelError(f"{where} returned an invalid response to {what}: {type(exc).__name__}: {exc}")

    def _call(self, what: str, fn, *args, **kwargs):
        import openai

        try:
            return fn(*args, **kwargs)
        except (openai.OpenAIError, ValueError) as exc:
            raise self._error(exc, what) from exc

    # -- /v1/models -------------------------------------------------------------------------

    def served_models(self) -> list[dict]:
        """The entries of GET /v1/models, as dicts including server-specific extra fields."""
        if self._served is None:
            page = self._call("GET /models", self.client.models.list)
            data = getattr(page, "data", None)
            if not isinstance(data, list):
                raise ModelError(
                    f"model server at {self.base_url} returned an invalid response to GET /models: "
                    f"{_truncate(repr(page))}"
                )
            entries = []
            for item in data:
                entries.append(item.model_dump() if hasattr(item, "model_dump") else dict(item))
            self._served = entries
        return self._served

    def model_id(self) -> str:
        """The model id sent with each request: the configured one, else the first served id."""
        if self._model_id is None:
            with self._lock:
                if self._model_id is None:
                    served = self.served_models()
                    if not served or not served[0].get("id"):
                        raise ModelError(f"model server at {self.base_url} serves no models (GET /models is empty)")
                    self._model_id = str(served[0]["id"])
                    self.name = self._model_id
        return self._model_id

    @staticmethod
    def _window_from_entry(entry: dict) -> tuple[int | None, str | None]:
        def as_int(value: Any) -> int | None:
            try:
                number = int(value)
            except (TypeError, ValueError):
                return None
            return number if number > 0 else None

        meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
        for value, source in (
            (entry.get("max_model_len"), "server (max_model_len)"),
            (meta.get("n_ctx"), "server (meta.n_ctx)"),
            (entry.get("n_ctx"), "server (n_ctx)"),
        ):
            if as_int(value):
                return as_int(value), source
        if as_int(meta.get("n_ctx_train")):
            # n_ctx_train is what the model was trained for; the server may run a smaller -c.
            return as_int(meta.get("n_ctx_train")), "server (meta.n_ctx_train)"
        return None, None

    def _resolve_context_window(self) -> tuple[int, str]:
        if self.config.context_window:
            return self.config.context_window, "config"
        served = self.served_models()
        wanted = self._model_id
        entry = next((e for e in served if e.get("id") == wanted), served[0] if served else {})
        window, source = self._window_from_entry(entry)
        if window and source == "server (meta.n_ctx_train)" and window > self.profile.context_window:
            return self.profile.context_window, f"profile {self.profile.name} (server reports n_ctx_train={window} only)"
        if window:
            return window, source  # type: ignore[return-value]
        return self.profile.context_window, f"profile {self.profile.name}"

    def context_window(self) -> int:
        """Tokens per request: config value, else what the server reports, else the profile (cached)."""
        if self._context_window is None:
            window, source = self._resolve_context_window()
            self._context_window, self._context_source = window, source
        return self._context_window

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes, counted by the server's tokenizer (see agent.models.tokenizer)."""
        return self._tokenizer.count(text)

    # -- completions ------------------------------------------------------------------------

    def complete(self, messages: list[dict], *, n: int = 1, temperature: float | None = None,
                 tools: list[dict] | None = None, tool_choice: str | dict | None = None) -> Reply:
        """One chat completion request (``n`` samples; ``tools`` as in OpenAI's API)."""
        model = self.model_id()
        if not self.profile.supports_system_role:
            messages = _fold_system_messages(messages)
        options: dict[str, Any] = {}
        if tools:
            options["tools"] = tools
            if tool_choice is not None:
                options["tool_choice"] = tool_choice
        started = time.monotonic()
        texts: list[str] = []
        cut: list[bool] = []
        calls: list[ToolCall] = []
        prompt_tokens = completion_tokens = 0
        served = model
        while len(texts) < n:
            # A server that ignores n (llama.cpp's answers one choice) is asked again for the rest.
            want = n - len(texts)
            response = self._call(
                "POST /chat/completions",
                self.client.chat.completions.create,
                model=model, messages=messages, max_tokens=self.config.max_tokens,
                temperature=self.config.temperature if temperature is None else temperature,
                **({"n": want} if want > 1 else {}), **options,
            )
            got = self._choices(response)
            if not texts:
                calls = self._tool_calls(response)
            texts += got[:want]
            cut += [getattr(c, "finish_reason", None) == "length" for c in response.choices[:want]]
            usage = getattr(response, "usage", None)
            prompt = getattr(usage, "prompt_tokens", None)
            completion = getattr(usage, "completion_tokens", None)
            prompt_tokens += prompt if isinstance(prompt, int) else estimate_prompt_tokens(messages)
            completion_tokens += completion if isinstance(completion, int) else sum(map(estimate_tokens, got))
            served = str(getattr(response, "model", None) or model)
        return Reply(content=texts[0], prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                     model=served, seconds=time.monotonic() - started, choices=texts, tool_calls=calls,
                     cut=cut)

    def _choices(self, response: Any) -> list[str]:
        first = self._content(response)  # checks the response's shape and names what is wrong
        rest = [getattr(getattr(c, "message", None), "content", None) for c in response.choices[1:]]
        return [first, *(r if isinstance(r, str) else "" for r in rest)]

    @staticmethod
    def _tool_calls(response: Any) -> list[ToolCall]:
        message = getattr(response.choices[0], "message", None)
        calls = []
        for call in getattr(message, "tool_calls", None) or []:
            function = getattr(call, "function", None)
            if function is None or not getattr(function, "name", None):
                continue
            calls.append(ToolCall(id=str(getattr(call, "id", "") or ""), name=str(function.name),
                                  arguments=str(getattr(function, "arguments", "") or "")))
        return calls

    def _content(self, response: Any) -> str:
        bad = f"model server at {self.base_url} returned an invalid response to POST /chat/completions"
        if isinstance(response, (str, bytes)):
            raise ModelError(f"{bad}: not JSON: {_truncate(response if isinstance(response, str) else response.decode('utf-8', 'replace'))}")
        choices = getattr(response, "choices", None)
        if not choices:
            raise ModelError(f"{bad}: no choices in {_truncate(self._dump(response))}")
        message = getattr(choices[0], "message", None)
        if message is None:
            raise ModelError(f"{bad}: first choice has no message: {_truncate(self._dump(response))}")
        content = getattr(message, "content", None)
        if content is None:
            return ""
        if not isinstance(content, str):
            raise ModelError(f"{bad}: message content is {type(content).__name__}, not text")
        return content

    @staticmethod
    def _dump(response: Any) -> str:
        try:
            return json.dumps(response.model_dump(), default=str)
        except Exception:
            return repr(response)

    # -- diagnostics ------------------------------------------------------------------------

    def check(self, probe: bool = False) -> CheckReport:
        """Report for ``patchwright model check``; never raises for server problems.

        Keys: base_url, reachable, models (served ids), model (id used), context_window,
        context_window_source, profile, error (None when fine) and, with ``probe=True``,
        a tiny completion's ``probe_seconds``/``probe_reply``.
        """
        report: CheckReport = {
            "base_url": self.base_url,
            "reachable": False,
            "models": [],
            "model": self._model_id,
            "context_window": None,
            "context_window_source": None,
            "profile": self.profile.name,
            "error": None,
        }
        try:
            served = self.served_models()
            report["reachable"] = True
            report["models"] = [str(e.get("id")) for e in served]
            report["model"] = self.model_id()
            report["context_window"] = self.context_window()
            report["context_window_source"] = self._context_source
            if self.config.model and self.config.model not in report["models"]:
                report["error"] = (
                    f"model server at {self.base_url} does not list model {self.config.model!r}; "
                    f"it serves {report['models']}"
                )
            report.update(self._engine_facts(report["models"]))
            if probe:
                reply = self.complete([{"role": "user", "content": "Reply with the single word: ok"}])
                report["probe_seconds"] = round(reply.seconds, 3)
                report["probe_reply"] = reply.content[:80]
        except ModelError as exc:
            report["error"] = str(exc)
        return report

    def _engine_facts(self, models: list[str]) -> dict:
        import httpx

        headers = {"Authorization": f"Bearer {self.config.api_key.get_secret_value() or 'EMPTY'}"}
        entry = next((e for e in self._served or [] if e.get("id") == self._model_id), {})
        with httpx.Client(timeout=self.timeout, headers=headers) as http:
            facts = engine_info.probe(server_root(self.base_url), http, self._served or [], self.model_id(),
                                      self.base_url)
        facts["max_model_len"] = entry.get("max_model_len")
        return facts
