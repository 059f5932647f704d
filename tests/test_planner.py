"""agent.models.planner: the vLLM launch plan, checked against hand arithmetic, and `patchwright model plan`."""
from __future__ import annotations

import re
import subprocess

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.exits import ExitStatus, classify
from agent.models import planner
from agent.models.planner import PlanError, detect_gpus, parse_gpus, plan
from agent.models.profiles import PROFILES, get_profile

GiB = 2**30
RESERVE = 2 * GiB  # the planner's per-GPU reserve for activations and CUDA graphs
IQUEST, CODELLAMA, QWEN32 = "iquest-coder-v1-40b-instruct", "codellama-34b-instruct", "qwen2.5-coder-32b-instruct"

# Each row is one hand calculation, per GPU: usable = GB x 0.90, weights = params x bytes per param / TP,
# KV per token = 2 (K, V) x layers x KV heads per GPU x head_dim x 2 bytes; served context; expected result.
# IQuest 40B: 39.8B params, 80 layers, 8 KV heads. Code Llama 34B: 33.7B, 48 layers, 8 KV heads (32768 served
# with RoPE scaling). Qwen2.5-Coder-32B: 32.8B, 64 layers, 8 KV heads. All head_dim 128.
CASES = [
    # 1xH100-80GB: bf16 IQuest (79.6e9) does not fit 72e9; bf16 Code Llama / Qwen leave < 16384 tokens.
    ("1xH100-80GB", IQUEST, "fp8", 80 * 10**9 * 90 // 100, 398 * 10**8 * 1, 2 * 80 * 8 * 128 * 2, 131072, 91136),
    ("1xH100-80GB", CODELLAMA, "fp8", 80 * 10**9 * 90 // 100, 337 * 10**8 * 1, 2 * 48 * 8 * 128 * 2, 32768, 32768),
    ("1xH100-80GB", QWEN32, "fp8", 80 * 10**9 * 90 // 100, 328 * 10**8 * 1, 2 * 64 * 8 * 128 * 2, 32768, 32768),
    # 1xA100-40GB: fp8 leaves < 16384 tokens, AWQ at 0.6 bytes/param fits (IQuest has no AWQ: refused below).
    ("1xA100-40GB", CODELLAMA, "awq", 40 * 10**9 * 90 // 100, 337 * 10**8 * 6 // 10, 2 * 48 * 8 * 128 * 2, 32768, 32768),
    ("1xA100-40GB", QWEN32, "awq", 40 * 10**9 * 90 // 100, 328 * 10**8 * 6 // 10, 2 * 64 * 8 * 128 * 2, 32768, 32768),
    # 2xL40S-48GB, TP 2: weights and KV heads split in two.
    ("2xL40S-48GB", IQUEST, "fp8", 48 * 10**9 * 90 // 100, 398 * 10**8 * 1 // 2, 2 * 80 * (8 // 2) * 128 * 2, 131072, 129024),
    ("2xL40S-48GB", CODELLAMA, "bf16", 48 * 10**9 * 90 // 100, 337 * 10**8 * 2 // 2, 2 * 48 * (8 // 2) * 128 * 2, 32768, 32768),
    ("2xL40S-48GB", QWEN32, "bf16", 48 * 10**9 * 90 // 100, 328 * 10**8 * 2 // 2, 2 * 64 * (8 // 2) * 128 * 2, 32768, 32768),
    # 1xH200-141GB: bf16 fits everything.
    ("1xH200-141GB", IQUEST, "bf16", 141 * 10**9 * 90 // 100, 398 * 10**8 * 2, 2 * 80 * 8 * 128 * 2, 131072, 131072),
    ("1xH200-141GB", CODELLAMA, "bf16", 141 * 10**9 * 90 // 100, 337 * 10**8 * 2, 2 * 48 * 8 * 128 * 2, 32768, 32768),
    ("1xH200-141GB", QWEN32, "bf16", 141 * 10**9 * 90 // 100, 328 * 10**8 * 2, 2 * 64 * 8 * 128 * 2, 32768, 32768),
]


@pytest.mark.parametrize("spec,profile,fmt,usable,weights,kv_per_token,context,expect_len", CASES)
def test_plan_matches_hand_arithmetic(spec, profile, fmt, usable, weights, kv_per_token, context, expect_len):
    kv_left = usable - weights - RESERVE
    tokens = kv_left // kv_per_token
    max_model_len = min(context, tokens) // 1024 * 1024
    assert max_model_len == expect_len  # the hand calculation agrees with the figure written down

    p = plan(get_profile(profile), parse_gpus(spec))
    assert (p.weights.name, p.usable_bytes, p.weight_bytes, p.kv_bytes_per_token) == (fmt, usable, weights, kv_per_token)
    assert (p.kv_bytes, p.max_tokens, p.max_model_len) == (kv_left, tokens, max_model_len)
    assert p.tensor_parallel_size == int(spec.split("x")[0])
    args = p.vllm_args()
    assert args[args.index("--max-model-len") + 1] == str(expect_len)
    assert args[args.index("--tensor-parallel-size") + 1] == str(p.tensor_parallel_size)


def test_bf16_is_skipped_when_it_leaves_too_little_context():
    usable, kv_per_token = 80 * 10**9 * 90 // 100, 2 * 48 * 8 * 128 * 2
    bf16_tokens = (usable - 337 * 10**8 * 2 - RESERVE) // kv_per_token
    assert bf16_tokens < 16384  # 12474: weights fit, a useful context does not
    p = plan(get_profile(CODELLAMA), parse_gpus("1xH100-80GB"))
    assert p.weights.name == "fp8" and len(p.skipped) == 1
    assert p.skipped[0].startswith("bf16:") and f"{bf16_tokens} tokens" in p.skipped[0]


def test_iquest_40b_on_a100_40gb_is_refused_with_the_numbers():
    usable, kv_per_token = 40 * 10**9 * 90 // 100, 2 * 80 * 8 * 128 * 2
    fp8_weights = 398 * 10**8
    assert fp8_weights > usable  # even fp8 weights alone exceed the usable 36e9 bytes
    needed = fp8_weights + RESERVE + 16384 * kv_per_token
    with pytest.raises(PlanError) as e:
        plan(get_profile(IQUEST), parse_gpus("1xA100-40GB"))
    msg = str(e.value)
    for number in (f"{usable / GiB:.1f} GiB", f"{fp8_weights / GiB:.1f} GiB", f"{398 * 10**8 * 2 / GiB:.1f} GiB",
                   "320 KiB", "16384 tokens", f"{needed / GiB:.1f} GiB"):
        assert number in msg, number
    assert isinstance(e.value, ValueError) and classify(e.value).status == ExitStatus.BAD_INPUT


def test_requested_context_that_does_not_fit_is_refused():
    kv_per_token = 2 * 80 * 8 * 128 * 2
    tokens = (80 * 10**9 * 90 // 100 - 398 * 10**8 - RESERVE) // kv_per_token
    assert tokens < 131072
    with pytest.raises(PlanError) as e:
        plan(get_profile(IQUEST), parse_gpus("1xH100-80GB"), max_model_len=131072)
    need = 398 * 10**8 + RESERVE + 131072 * kv_per_token
    assert "131072 tokens" in str(e.value) and f"{tokens} tokens" in str(e.value)
    assert f"{need / GiB:.1f} GiB" in str(e.value)


def test_requested_context_that_fits_is_served_exactly():
    p = plan(get_profile(IQUEST), parse_gpus("1xH100-80GB"), max_model_len=65000)
    assert p.max_model_len == 65000 and p.weights.name == "fp8"


def test_requested_context_beyond_the_profile_is_refused():
    with pytest.raises(PlanError, match="--max-model-len 40000 is outside"):
        plan(get_profile(QWEN32), parse_gpus("1xH200-141GB"), max_model_len=40000)


def test_gpu_count_must_split_the_heads():
    with pytest.raises(PlanError, match="40 attention heads") as e:
        plan(get_profile(IQUEST), parse_gpus("3xL40S-48GB"))
    assert "[1, 2, 4, 8]" in str(e.value)


def test_kv_heads_are_replicated_when_fewer_than_gpus():
    p = plan(get_profile("qwen3-coder-30b-a3b-instruct"), parse_gpus("8xH100-80GB"))  # 4 KV heads, TP 8
    assert p.kv_bytes_per_token == 2 * 48 * max(1, 4 // 8) * 128 * 2


def test_weight_formats_become_arguments():
    online = plan(get_profile(IQUEST), parse_gpus("1xH100-80GB"))
    assert online.model == "IQuestLab/IQuest-Coder-V1-40B-Instruct"
    assert online.vllm_args()[:4] == ["--dtype", "bfloat16", "--quantization", "fp8"]
    awq = plan(get_profile(QWEN32), parse_gpus("1xA100-40GB"))
    assert awq.model == "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ" and "--quantization" not in awq.vllm_args()
    prequantised = plan(get_profile("qwen3-coder-30b-a3b-instruct"), parse_gpus("1xA100-40GB"))
    assert prequantised.weights.name == "fp8" and prequantised.model == "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8"
    assert "--quantization" not in prequantised.vllm_args()


def test_arguments_carry_the_profile_flags_once():
    for name, profile in PROFILES.items():
        args = plan(profile, parse_gpus("1xH200-141GB")).vllm_args()
        for flag in ("--max-model-len", "--tensor-parallel-size", "--gpu-memory-utilization", "--dtype",
                     "--enable-prefix-caching"):
            assert args.count(flag) == 1, (name, flag)
        if profile.tool_call_parser:
            assert args.count("--enable-auto-tool-choice") == 1
            assert args[args.index("--tool-call-parser") + 1] == profile.tool_call_parser
        else:
            assert "--tool-call-parser" not in args
    cmd = plan(get_profile("devstral-small"), parse_gpus("1xH100-80GB")).command()
    assert cmd[:5] == ["python", "-m", "vllm.entrypoints.openai.api_server", "--model", "mistralai/Devstral-Small-2507"]
    assert all(f in cmd for f in ("--tokenizer-mode", "--config-format", "--load-format"))


def test_profiles_carry_what_the_planner_needs():
    planned = ("--quantization", "--tensor-parallel-size", "--gpu-memory-utilization")
    for name, profile in PROFILES.items():
        assert profile.architecture and profile.weights and re.fullmatch(r"0\.\d+\.\d+", profile.min_vllm), name
        assert not set(planned) & set(profile.vllm_args), name
        assert ("--tool-call-parser" in profile.vllm_args) == (profile.tool_call_parser is not None), name
        if profile.tool_call_parser:
            assert profile.vllm_args[profile.vllm_args.index("--tool-call-parser") + 1] == profile.tool_call_parser
        assert profile.architecture.attention_heads % profile.architecture.kv_heads == 0, name
        assert all(f.name in ("bf16", "fp8", "awq") and (f.name != "awq" or f.repo) for f in profile.weights), name
    assert "70.4" in get_profile(IQUEST).notes
    loop = get_profile("iquest-coder-v1-40b-loop-instruct").notes
    assert "76.2" in loop and "81.4" in loop and "git log" in loop
    assert get_profile(QWEN32).context_window == 32768 and "--hf-overrides" not in get_profile(QWEN32).vllm_args
    cpu = get_profile("qwen2.5-coder-1.5b-cpu")
    assert (cpu.context_window, cpu.tool_call_parser, cpu.architecture.layers) == (8192, "hermes", 28)


@pytest.mark.parametrize("spec,count,name,memory", [
    ("1xH100-80GB", 1, "H100", 80 * 10**9), ("2xL40S-48GB", 2, "L40S", 48 * 10**9),
    ("1xA100-40GB", 1, "A100", 40 * 10**9), ("1xH200-141GB", 1, "H200", 141 * 10**9),
    ("4xA100-SXM4-80GB", 4, "A100-SXM4", 80 * 10**9),
])
def test_parse_gpus(spec, count, name, memory):
    g = parse_gpus(spec)
    assert (g.count, g.name, g.memory_bytes, g.label) == (count, name, memory, spec)


@pytest.mark.parametrize("spec", ["H100-80GB", "1xH100", "0xH100-80GB", "1xH100-80TB", "2 L40S-48GB", ""])
def test_bad_gpu_spec_names_the_spec_and_the_form(spec):
    with pytest.raises(ValueError, match=re.escape(f"bad GPU spec {spec!r}") + ".*COUNTxNAME-MEMORYGB"):
        parse_gpus(spec)


def test_detect_gpus_reads_nvidia_smi(monkeypatch):
    monkeypatch.setattr(planner.shutil, "which", lambda exe: "/usr/bin/nvidia-smi")
    out = "NVIDIA H100 80GB HBM3, 81559\nNVIDIA H100 80GB HBM3, 81559\n"
    monkeypatch.setattr(planner.subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 0, stdout=out, stderr=""))
    g = detect_gpus()
    assert (g.count, g.name, g.memory_bytes) == (2, "NVIDIA H100 80GB HBM3", 81559 * 2**20)


def test_detect_gpus_without_a_gpu(monkeypatch):
    monkeypatch.setattr(planner.shutil, "which", lambda exe: None)
    with pytest.raises(PlanError, match="no NVIDIA GPU found"):
        detect_gpus()


def test_explanation_shows_the_arithmetic():
    text = "\n".join(plan(get_profile(IQUEST), parse_gpus("1xH100-80GB")).explain())
    assert "skipped bf16" in text and "2 x 80 layers x 8 KV heads per GPU x 128 x 2 bytes = 320 KiB" in text
    assert "--max-model-len 91136" in text


def test_cli_prints_a_plan():
    r = CliRunner().invoke(app, ["model", "plan", "--profile", IQUEST, "--gpus", "1xH100-80GB"])
    assert r.exit_code == 0, r.output
    assert "--max-model-len 91136" in r.output
    assert "python -m vllm.entrypoints.openai.api_server --model IQuestLab/IQuest-Coder-V1-40B-Instruct" in r.output


def test_cli_refuses_with_the_numbers():
    r = CliRunner().invoke(app, ["model", "plan", "--profile", IQUEST, "--gpus", "1xA100-40GB"])
    assert r.exit_code == ExitStatus.BAD_INPUT
    assert "does not fit" in r.output and "33.5 GiB" in r.output and "37.1 GiB" in r.output


def test_cli_bad_gpu_spec():
    r = CliRunner().invoke(app, ["model", "plan", "--profile", IQUEST, "--gpus", "H100"])
    assert r.exit_code == ExitStatus.BAD_INPUT and "bad GPU spec 'H100'" in r.output
