"""Plan a vLLM launch for a profile on given GPUs: weight format, tensor parallelism, --max-model-len.

Pure arithmetic over the profile's Architecture and weight formats; the only I/O is detect_gpus().

Units: bytes inside, GiB (2**30 bytes) in everything a user reads, as vLLM logs. The memory figure
of a spec ("1xH100-80GB") is read as the vendor's decimal GB (10**9 bytes); nvidia-smi reports at
least that much for these cards (an "80GB" H100 shows about 81,500 MiB), so a plan from a spec errs
on the safe side. detect_gpus() takes nvidia-smi's MiB as they are.

Per GPU, following vLLM's own split of --gpu-memory-utilization:

    usable    = memory x utilization
    weights   = parameters x bytes per parameter / TP
    KV left   = usable - weights - RESERVE
    KV/token  = 2 (K and V) x layers x max(1, kv_heads // TP) x head_dim x 2 bytes (16-bit KV cache)
    tokens    = KV left // KV/token

--max-model-len = min(the profile's served context, tokens), rounded down to a multiple of 1024:
vLLM refuses to start unless one whole sequence of --max-model-len fits in the KV cache.

TP is the number of GPUs given, as vLLM is usually run (one engine over all GPUs of a node); it
must divide the attention heads. To plan for fewer GPUs, give fewer ("1xL40S-48GB").
Formats are tried bf16, then fp8, then awq: the first whose weights fit with at least MIN_CONTEXT
tokens (or the requested --max-model-len) of KV cache wins.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from agent.errors import ConfigError
from agent.models.profiles import Profile, WeightFormat

__all__ = ["MIN_CONTEXT", "RESERVE_BYTES", "GPUs", "Plan", "PlanError", "detect_gpus", "parse_gpus", "plan"]

GiB = 2**30
GB = 10**9
RESERVE_BYTES = 2 * GiB
"""Per GPU, outside weights and KV cache: a prefill chunk's activations, CUDA graphs, NCCL buffers and
the CUDA context, which vLLM measures at start-up. A heuristic, not a measurement."""
MIN_CONTEXT = 16384
"""Fewest tokens worth serving for an agent step (prompt + completion) when none is requested."""
KV_BYTES_PER_VALUE = 2  # bf16/fp16 KV cache, vLLM's default (--kv-cache-dtype auto)
PREFERENCE = ("bf16", "fp8", "awq")  # best quality first
ROUND_TO = 1024
PLANNER_FLAGS = ("--dtype", "--quantization", "--tensor-parallel-size", "--max-model-len", "--gpu-memory-utilization")


class PlanError(ConfigError):
    """A GPU spec is malformed, no GPU is found, or the profile does not fit; the message has the numbers.
    A ConfigError, so the CLI exits with BAD_INPUT (agent.exits)."""


@dataclass(frozen=True)
class GPUs:
    """Identical GPUs that one vLLM engine spans."""

    count: int
    """How many GPUs; also the tensor-parallel size."""
    name: str
    """Model name, as in the spec or nvidia-smi."""
    memory_bytes: int
    """Memory of one GPU in bytes (the smallest one's, if nvidia-smi lists different sizes)."""
    label: str
    """How the user gave them, for messages ("1xH100-80GB", or "detected: ...")."""


_SPEC = re.compile(r"^\s*(\d+)\s*[xX]\s*([A-Za-z0-9][A-Za-z0-9_.-]*?)-(\d+(?:\.\d+)?)\s*GB\s*$")


def parse_gpus(spec: str) -> GPUs:
    """``"2xL40S-48GB"`` -> 2 GPUs named L40S of 48 decimal GB each; PlanError for anything else."""
    m = _SPEC.match(spec or "")
    if not m or int(m.group(1)) < 1:
        raise PlanError(f"bad GPU spec {spec!r}: expected COUNTxNAME-MEMORYGB, e.g. \"1xH100-80GB\" or \"2xL40S-48GB\"")
    return GPUs(int(m.group(1)), m.group(2), int(float(m.group(3)) * GB), spec.strip())


def detect_gpus(timeout: float = 20.0) -> GPUs:
    """The GPUs nvidia-smi lists; PlanError when there is none or nvidia-smi fails."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        raise PlanError('no NVIDIA GPU found: nvidia-smi is not on PATH; give the GPUs with --gpus, e.g. "1xH100-80GB"')
    try:
        proc = subprocess.run([exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        raise PlanError(f"nvidia-smi failed: {e}") from None
    if proc.returncode != 0:
        raise PlanError(f"nvidia-smi failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    rows = [line.rsplit(",", 1) for line in proc.stdout.splitlines() if line.strip()]
    try:
        found = [(name.strip(), int(float(mib)) * 2**20) for name, mib in rows]
    except ValueError:
        raise PlanError(f"cannot read nvidia-smi output: {proc.stdout.strip()!r}") from None
    if not found:
        raise PlanError("nvidia-smi lists no GPU")
    names = sorted({name for name, _ in found})
    memory = min(size for _, size in found)  # TP shards evenly, so the smallest GPU bounds every rank
    label = f"detected: {len(found)} x {' / '.join(names)}, {memory // 2**20} MiB each"
    return GPUs(len(found), " / ".join(names), memory, label)


@dataclass(frozen=True)
class _Fit:
    """One weight format's arithmetic, per GPU."""

    weights: WeightFormat
    usable: int
    weight_bytes: int
    kv_bytes: int
    kv_per_token: int
    tokens: int


@dataclass(frozen=True)
class Plan:
    """How to launch vLLM for one profile on one set of GPUs, with the numbers behind it."""

    profile: Profile
    """The profile planned for."""
    gpus: GPUs
    """The GPUs planned for."""
    weights: WeightFormat
    """The chosen weight format."""
    tensor_parallel_size: int
    """--tensor-parallel-size (the GPU count)."""
    gpu_memory_utilization: float
    """--gpu-memory-utilization, the share of each GPU vLLM may take."""
    usable_bytes: int
    """Memory per GPU vLLM may use: memory x utilization."""
    weight_bytes: int
    """Weights per GPU."""
    kv_bytes: int
    """KV cache memory left per GPU after weights and the reserve."""
    kv_bytes_per_token: int
    """KV cache bytes one token takes on one GPU."""
    max_tokens: int
    """Tokens the KV cache holds."""
    max_model_len: int
    """--max-model-len."""
    skipped: tuple[str, ...] = ()
    """Why preferred weight formats were passed over."""

    @property
    def model(self) -> str:
        """The repository vLLM loads: the pre-quantised one, if the format has it."""
        return self.weights.repo or self.profile.hf_repo

    def vllm_args(self) -> list[str]:
        """Arguments after --model/--served-model-name: the planned ones, then the profile's own."""
        if self.weights.name == "awq":
            fmt = ["--dtype", "float16"]  # AWQ checkpoints are fp16; vLLM reads the method from their config
        elif self.weights.name == "fp8" and self.weights.repo is None:
            fmt = ["--dtype", "bfloat16", "--quantization", "fp8"]  # quantised while loading
        else:
            fmt = ["--dtype", "bfloat16"]  # bf16, or a pre-quantised fp8 checkpoint that declares itself
        return [*fmt,
                "--tensor-parallel-size", str(self.tensor_parallel_size),
                "--max-model-len", str(self.max_model_len),
                "--gpu-memory-utilization", f"{self.gpu_memory_utilization:.2f}",
                "--enable-prefix-caching",  # agent steps resend the same growing prompt
                *_without(self.profile.vllm_args, PLANNER_FLAGS)]

    def command(self) -> list[str]:
        """The whole server command line."""
        return ["python", "-m", "vllm.entrypoints.openai.api_server", "--model", self.model,
                "--served-model-name", self.profile.served_model_name, *self.vllm_args()]

    def explain(self) -> list[str]:
        """The arithmetic, one step a line, for a user to check."""
        arch, tp, fmt = self.profile.architecture, self.tensor_parallel_size, self.weights
        heads = max(1, arch.kv_heads // tp)
        lines = [f"profile {self.profile.name} on {self.gpus.label}",
                 (f"GPU memory: {self.gpus.memory_bytes / GB:g} GB = {_gib(self.gpus.memory_bytes)} each;"
                  f" x {self.gpu_memory_utilization:.2f} usable = {_gib(self.usable_bytes)} per GPU")]
        lines += [f"skipped {reason}" for reason in self.skipped]
        lines += [
            (f"weights: {fmt.name}{f' from {fmt.repo}' if fmt.repo else ''}, {arch.params_b:g}B params x"
             f" {fmt.bytes_per_param:g} bytes / TP {tp} = {_gib(self.weight_bytes)} per GPU"),
            f"reserve for activations and CUDA graphs: {_gib(RESERVE_BYTES)} per GPU",
            (f"KV cache: {_gib(self.usable_bytes)} - {_gib(self.weight_bytes)} - {_gib(RESERVE_BYTES)}"
             f" = {_gib(self.kv_bytes)} per GPU"),
            (f"KV per token: 2 x {arch.layers} layers x {heads} KV heads per GPU x {arch.head_dim} x"
             f" {KV_BYTES_PER_VALUE} bytes = {self.kv_bytes_per_token // 1024} KiB"),
            f"tokens that fit: {_gib(self.kv_bytes)} / {self.kv_bytes_per_token // 1024} KiB = {self.max_tokens}",
            (f"--max-model-len {self.max_model_len} (served context {self.profile.context_window};"
             f" a multiple of {ROUND_TO} that fits)"),
        ]
        return lines


def plan(profile: Profile, gpus: GPUs, *, max_model_len: int | None = None,
         gpu_memory_utilization: float = 0.90) -> Plan:
    """The best-quality plan that fits, or PlanError with the numbers of every format tried."""
    arch, tp = profile.architecture, gpus.count
    if arch is None or not profile.weights:
        raise PlanError(f"profile {profile.name!r} has no architecture or weight formats to plan with")
    if not 0 < gpu_memory_utilization <= 1:
        raise PlanError(f"--gpu-memory-utilization {gpu_memory_utilization} must be in (0, 1]")
    if arch.attention_heads % tp or (arch.kv_heads % tp and tp % arch.kv_heads):
        fits = [n for n in range(1, 9) if not arch.attention_heads % n and not (arch.kv_heads % n and n % arch.kv_heads)]
        raise PlanError(f"{tp} GPUs cannot split {profile.name}'s {arch.attention_heads} attention heads /"
                        f" {arch.kv_heads} KV heads evenly (tensor parallel size = GPU count); use {fits} GPUs")
    if max_model_len is not None and not 0 < max_model_len <= profile.context_window:
        raise PlanError(f"--max-model-len {max_model_len} is outside what profile {profile.name} serves"
                        f" (1..{profile.context_window} tokens)")
    needed = max_model_len or min(MIN_CONTEXT, profile.context_window)
    skipped = []
    for fmt in sorted(profile.weights, key=lambda f: PREFERENCE.index(f.name)):
        fit = _fit(profile, gpus, fmt, gpu_memory_utilization)
        if fit.tokens >= needed:
            length = max_model_len or min(profile.context_window, fit.tokens) // ROUND_TO * ROUND_TO
            return Plan(profile, gpus, fmt, tp, gpu_memory_utilization, fit.usable, fit.weight_bytes, fit.kv_bytes,
                        fit.kv_per_token, fit.tokens, length, tuple(skipped))
        skipped.append(_shortfall(fit, needed))
    raise PlanError(f"profile {profile.name} does not fit {gpus.label} for {needed} tokens"
                    f" ({_gib(fit.usable)} usable per GPU at --gpu-memory-utilization {gpu_memory_utilization:.2f},"
                    f" {_gib(RESERVE_BYTES)} reserve, TP {tp}): " + "; ".join(skipped))


def _fit(profile: Profile, gpus: GPUs, fmt: WeightFormat, utilization: float) -> _Fit:
    arch, tp = profile.architecture, gpus.count
    usable = int(gpus.memory_bytes * utilization)
    weight_bytes = round(arch.params_b * GB * fmt.bytes_per_param) // tp
    kv_per_token = 2 * arch.layers * max(1, arch.kv_heads // tp) * arch.head_dim * KV_BYTES_PER_VALUE
    kv_bytes = usable - weight_bytes - RESERVE_BYTES
    return _Fit(fmt, usable, weight_bytes, kv_bytes, kv_per_token, max(0, kv_bytes // kv_per_token))


def _shortfall(fit: _Fit, needed: int) -> str:
    need = fit.weight_bytes + RESERVE_BYTES + needed * fit.kv_per_token
    if fit.kv_bytes > 0:
        what = f"weights {_gib(fit.weight_bytes)} per GPU leave {_gib(fit.kv_bytes)} of KV cache = {fit.tokens} tokens"
    else:
        what = f"weights {_gib(fit.weight_bytes)} per GPU and the reserve do not fit in {_gib(fit.usable)}"
    return (f"{fit.weights.name}: {what}; {needed} tokens at {fit.kv_per_token // 1024} KiB per token"
            f" need {_gib(need)} per GPU")


def _without(args: list[str], flags: tuple[str, ...]) -> list[str]:
    """``args`` minus each of ``flags`` and its value: the plan decides those."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in flags:
            skip = True
        elif not arg.startswith(tuple(f + "=" for f in flags)):
            out.append(arg)
    return out


def _gib(n: int) -> str:
    return f"{n / GiB:.1f} GiB"
