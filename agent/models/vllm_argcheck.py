"""Parse a vLLM server command line with the installed vLLM's own parser, without starting it.

Run by the interpreter that has vLLM (agent/models/vllm_flags.py), with -I so nothing of
patchwright is importable, and only the standard library imported at the top::

    PYTHON -I agent/models/vllm_argcheck.py ARG...

Prints one JSON object: {"version", "ok", "error", "unknown", "tool_call_parser",
"enable_auto_tool_choice", "enable_prefix_caching"}. A wrong or removed flag is found here in
seconds, instead of 40 s into the engine's start-up.
"""
from __future__ import annotations

import json
import sys


class _Refused(Exception):
    pass


def _parser():
    try:  # vLLM >= 0.2x: the launchers package
        from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
    except ImportError:  # older releases
        from vllm.entrypoints.openai.cli_args import make_arg_parser, validate_parsed_serve_args
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:
        from vllm.utils import FlexibleArgumentParser
    return make_arg_parser(FlexibleArgumentParser()), validate_parsed_serve_args


def check(argv: list[str]) -> dict:
    import vllm

    parser, validate = _parser()

    def refuse(message: str) -> None:
        raise _Refused(message)

    parser.error = refuse  # argparse would print usage and exit 2
    out = {"version": getattr(vllm, "__version__", "unknown"), "ok": False, "error": None, "unknown": []}
    try:
        _, unknown = parser.parse_known_args(argv)
        out["unknown"] = [a for a in unknown if a.startswith("-")]
        if unknown:
            out["error"] = "unrecognized arguments: " + " ".join(unknown)
            return out
        args = parser.parse_args(argv)
        validate(args)
    except (_Refused, ValueError, TypeError, SystemExit) as exc:
        out["error"] = str(exc)
        return out
    out.update(ok=True, tool_call_parser=getattr(args, "tool_call_parser", None),
               enable_auto_tool_choice=bool(getattr(args, "enable_auto_tool_choice", False)),
               enable_prefix_caching=getattr(args, "enable_prefix_caching", None))
    return out


if __name__ == "__main__":
    print(json.dumps(check(sys.argv[1:])))
