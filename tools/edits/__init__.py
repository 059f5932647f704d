"""Edits from the model (SEARCH/REPLACE blocks or whole-function rewrites) and git diffs of the result."""
from tools.edits.diff import apply_diff, check_applies, diff_worktree, reset_worktree
from tools.edits.blocks import EditBlock, parse_blocks
from tools.edits.function_blocks import FunctionRewrite, parse_rewrites
from tools.edits.function_rewrite import RewriteFailure, RewriteResult, apply_rewrites, rewrite_feedback
from tools.edits.search_replace import (ApplyResult, BlockFailure, apply_blocks,
                                        feedback)

__all__ = ["ApplyResult", "BlockFailure", "EditBlock", "FunctionRewrite", "RewriteFailure", "RewriteResult",
           "apply_blocks", "apply_diff", "apply_rewrites", "check_applies", "diff_worktree", "feedback",
           "parse_blocks", "parse_rewrites", "reset_worktree", "rewrite_feedback"]
