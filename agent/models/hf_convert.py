"""Convert the embedded GGUF into the Hugging Face folder vLLM loads (vLLM on x86 CPU reads no GGUF).

Run by the vLLM CPU engine's own Python (agent/models/vllm_engine.py), which has torch,
transformers and gguf; so this file imports nothing of patchwright and only the standard library
at the top::

    ENGINE_PYTHON -I agent/models/hf_convert.py MODEL.gguf OUT_DIR

(-I, or the guard below: the script's own directory must not be on sys.path, where our gguf.py
would shadow the gguf package transformers imports.)

transformers unpacks every Q4_K_M weight of the qwen2 GGUF into plain bfloat16 as it loads, yet
then refuses to save a model "quantized with GGUF". After checking that no packed tensor is left,
the quantizer and the config's quantization entry are dropped and the folder is saved. The GGUF
names only <|im_end|> as end of sequence while the model often ends with <|endoftext|>: both go
in generation_config.json, or vLLM generates on to max_tokens. The folder is written beside its
final place and renamed into it, so a killed conversion leaves nothing that looks finished.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

END_TOKENS = ("<|im_end|>", "<|endoftext|>")
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    packed = sorted({str(t.dtype) for t in model.state_dict().values() if t.dtype != torch.bfloat16})
    if packed:
        raise SystemExit(f"hf_convert: {gguf.name} still holds tensors of {packed} after loading; not saved")
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    end_ids = [tokenizer.convert_tokens_to_ids(t) for t in END_TOKENS]
    if any(i is None or i == tokenizer.unk_token_id for i in end_ids):
        raise SystemExit(f"hf_convert: the tokenizer lacks one of {END_TOKENS}")
    model.generation_config.eos_token_id = end_ids
    model.config.eos_token_id = end_ids[0]

    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    generation = tmp / "generation_config.json"
    settings = json.loads(generation.read_text())
    settings["eos_token_id"] = end_ids
    generation.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: hf_convert.py MODEL.gguf OUT_DIR")
    convert(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
