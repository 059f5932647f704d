"""Errors raised by tools; the CLI maps them to a non-zero exit code."""


class ToolError(Exception):
    """A tool failed in a way the caller (or the model) can act on."""

    # 2 distinguishes "tool refused / input bad" from crashes (1) in CLI exits.
    exit_code = 2


class PatchApplyError(ToolError):
    """An edit or diff could not be parsed or applied."""


class SecurityError(ToolError):
    """The repository or an edit reached for something outside the working copy (a symlink out of
    it or into .git, git configuration the bot did not write). The run stops; nothing is delivered."""

    exit_code = 5
