"""Edits from the model (SEARCH/REPLACE blocks) and git diffs of the result."""
from tools.edits.diff import apply_diff, check_applies, diff_worktree, reset_worktree
from tools.edits.blocks import EditBlock, parse_blocks
from tools.edits.search_replace import (ApplyResult, BlockFailure, apply_blocks,
                                        feedback)

__all__ = ["ApplyResult", "BlockFailure", "EditBlock", "apply_blocks", "apply_diff",
           "check_applies", "diff_worktree", "feedback", "parse_blocks", "reset_worktree"]
