"""Token counts from the model server's own tokenizer, with the estimate as the fallback.

OpenAI's API has no tokenizer endpoint; each server has its own, outside /v1:

* vLLM:                     ``POST /tokenize`` ``{"model", "prompt"}`` -> ``{"count": n, ...}``
* llama-cpp-python server:  ``POST /extras/tokenize`` ``{"input"}`` -> ``{"tokens": [...]}``
* llama.cpp's own server:   ``POST /tokenize`` ``{"content"}`` -> ``{"tokens": [...]}``

The first text tried picks the dialect that answers; after any failure (no dialect answers, the
server is down, an answer makes no sense) every count for that server, for the rest of the process,
is the estimate, which errs high: a budget is never stalled on a broken tokenizer, a prompt still
fits, and a worker does not ask a server without the route again for every run.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from typing import Callable, NamedTuple

from tools.tokens import estimate_tokens

log = logging.getLogger("patchwright.model")

CACHE_SIZE = 4096  # budgeting one prompt counts a few hundred distinct texts; a run reuses some

_failed: dict[str, str] = {}  # server root -> why its tokenizer is not used (for this process)
_failed_lock = threading.Lock()


class Dialect(NamedTuple):
    path: str
    body: Callable[[str, str], dict]   # (model id, text) -> request body
    count: Callable[[dict], int]       # answer -> tokens; raises on an answer of another dialect


def _count_field(answer: dict) -> int:
    return int(answer["count"])


def _tokens_field(answer: dict) -> int:
    tokens = answer["tokens"]
    if not isinstance(tokens, list):
        raise TypeError(f"tokens is {type(tokens).__name__}")
    return len(tokens)


DIALECTS: tuple[Dialect, ...] = (
    Dialect("/tokenize", lambda model, text: {"model": model, "prompt": text}, _count_field),          # vLLM
    Dialect("/extras/tokenize", lambda model, text: {"input": text}, _tokens_field),                   # llama-cpp-python
    Dialect("/tokenize", lambda model, text: {"content": text}, _tokens_field),                        # llama.cpp
)


def server_root(base_url: str) -> str:
    """The server's root, where the tokenizer routes live: the OpenAI base URL without /v1."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


class ServerTokenizer:
    """``count(text)``: the server's count for each distinct text (cached by hash), else the estimate."""

    def __init__(self, base_url: str, model_id: Callable[[], str], *, api_key: str = "", timeout: float = 300.0):
        self.root = server_root(base_url)
        self._model_id = model_id  # called at the first count: building a client sends nothing
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._dialect: Dialect | None = None
        self._http = None  # an httpx.Client, made on the first count
        self._cache: OrderedDict[bytes, int] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def failed(self) -> str | None:
        """Why counts for this server are the estimate; None while its tokenizer answers."""
        return _failed.get(self.root)

    def count(self, text: str) -> int:
        if not text or self.failed:
            return estimate_tokens(text)
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        try:
            n = self._ask(text)
        except Exception as exc:  # any failure: this server's tokenizer is not to be relied on
            self._fail(f"{type(exc).__name__}: {exc}")
            return estimate_tokens(text)
        with self._lock:
            self._cache[key] = n
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return n

    def _ask(self, text: str) -> int:
        import httpx  # the openai SDK's HTTP client; imported lazily like the SDK itself

        with self._lock:
            if self._http is None:
                self._http = httpx.Client(timeout=self._timeout, headers=self._headers)
        model = self._model_id()
        if self._dialect is not None:
            return self._post(self._dialect, model, text)
        tried = []
        for dialect in DIALECTS:
            try:
                n = self._post(dialect, model, text)
            except httpx.TransportError:
                raise  # the server itself is not answering: no point in trying other routes
            except Exception as exc:  # noqa: BLE001 - an answer of another dialect, or none
                tried.append(f"{dialect.path}: {type(exc).__name__}: {exc}")
                continue
            self._dialect = dialect
            return n
        raise LookupError("no tokenizer endpoint answered (" + "; ".join(tried) + ")")

    def _post(self, dialect: Dialect, model: str, text: str) -> int:
        response = self._http.post(self.root + dialect.path, json=dialect.body(model, text))
        response.raise_for_status()
        n = dialect.count(response.json())
        if n <= 0:  # non-empty text has tokens: this answer is another dialect's (or nonsense)
            raise ValueError(f"counted {n} tokens for {len(text)} characters")
        return n

    def _fail(self, why: str) -> None:
        with _failed_lock:
            if self.root in _failed:
                return
            _failed[self.root] = why
        log.warning("model server at %s: no token counts from its tokenizer (%s); estimating %s",
                    self.root, why, "about 3 characters a token from now on")
