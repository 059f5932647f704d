"""The agent layer's errors. Each layer has one root, so a caller catches a layer with one class;
a member also inherits the builtin it resembles where code may catch that instead. tools/ and
sandbox/ never import agent/, so their roots live with them. agent.exits maps these to exit statuses.

    Exception
    ├── tools.errors.ToolError            a tool refused, or its input is bad
    │   ├── tools.errors.PatchApplyError      an edit or diff does not parse or apply
    │   ├── tools.errors.SecurityError        the repository reached outside the working copy
    │   ├── tools.reproduction.files.ReproductionReplyError   the model's reproduction test is unusable (fed back)
    │   ├── tools.git.WorkspaceError          no repository or base commit
    │   ├── tools.issue_sources.IssueError    the issue cannot be read
    │   └── tools.forge.push.PushError        a git network operation failed
    ├── sandbox.base.SandboxError         the sandbox itself failed, not a test
    └── agent.errors.PatchwrightError     the agent
        ├── ConfigError (ValueError)          bad settings or config file
        ├── RunError                          a run stopped; its state is kept
        ├── agent.models.base.ModelError      the model endpoint failed
        │   ├── agent.models.gguf.GGUFError       the embedded model cannot be had
        │   └── agent.models.profiles.UnknownProfileError (ValueError)
        ├── agent.swebench.dataset.DatasetError (ValueError)   bad SWE-bench input
        │   └── agent.swebench.graded_runs.CompareError   runs that `swebench compare` cannot compare
        ├── agent.swebench.harness.SetupError     an instance image did not build
        └── agent.peers.install.PeerError         a peer scaffold is not installed or cannot run
"""
from __future__ import annotations


class PatchwrightError(Exception):
    """Root of the agent layer's errors."""


class ConfigError(PatchwrightError, ValueError):
    """The settings or the config file are bad; the message names the file and field."""


class RunError(PatchwrightError):
    """A run stopped on an error; its state is kept in the checkpoint and `resume` continues it.

    `cause` is the error that stopped the graph: the run exits as that error does (agent.exits).
    Without one, the run itself cannot go on as it is (busy, no usable checkpoint)."""

    def __init__(self, run_id: str, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.run_id, self.cause = run_id, cause
