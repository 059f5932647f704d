"""The tools layer's errors: ToolError is their root (the whole tree is drawn in agent/errors.py).
Exit statuses are the CLI's business (agent/exits.py), not the tools'."""


class ToolError(Exception):
    """A tool failed in a way the caller (or the model) can act on."""


class PatchApplyError(ToolError):
    """An edit or diff could not be parsed or applied."""


class SecurityError(ToolError):
    """The repository or an edit reached for something outside the working copy (a symlink out of
    it or into .git, git configuration the bot did not write). The run stops; nothing is delivered.

    Not a PermissionError: that is an OSError, and the tools' `except OSError` would swallow it."""
