"""Edits from the model (SEARCH/REPLACE blocks) and git diffs of the result."""
from tools.edits.diff import apply_diff, check_applies, diff_worktree, reset_worktree
from tools.edits.search_replace import (ApplyResult, BlockFailure, EditBlock, apply_blocks,
                                        feedback, parse_blocks)

__all__ = ["ApplyResult", "BlockFailure", "EditBlock", "apply_blocks", "apply_diff",
           "check_applies", "diff_worktree", "feedback", "parse_blocks", "reset_worktree"]
