"""The tool box agent mode's loop uses: view, search and the edit tools on the host working copy,
bash and run_tests in one container for the run, kept holding the host's files (agent_mode/synced.py:
the host is the truth, and what a command changes comes back only as a diff that passes the edits'
checks), submit.

run_tests runs in the container when the run's sandbox is the Docker one; a sandbox with its own
way of running tests (SWE-bench's SpecSandbox, the scripted one) is asked through Sandbox.run on
the host working copy. Without Docker at all (the scripted sandbox) there is no bash.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from agent.deps import Deps
from agent.nodes.sandbox_runs import environment, results
from agent.agent_mode.synced import SyncedSession, files_in
from sandbox.base import ExecResult, SandboxError
from sandbox.docker import DockerSandbox
from sandbox.session import Session
from tools.agent_tools import (CREATE, DEFINITION, EDIT, INSERT, REFERENCES, SEARCH, VIEW, Observation, ToolSpec,
                               checked, create, definition, edit, insert, references, search, view)
from tools.edits.diff import diff_worktree
from tools.edits.paths import safe_target
from tools.index import build_index
from tools.reproduction import command_for

JUNIT = "/tmp/junit.xml"
MAX_COMMAND_CHARS = 100_000  # one exec argument; the kernel refuses more than 128 KB

BASH = ToolSpec(
    name="bash",
    description=("Run a bash command in the repository's container (the repository root is the working directory, "
                 "there is no network). Each call starts afresh: cd and variables do not carry over. Use it to run "
                 "code or tests, or to change files (sed, mv, rm); changes to the repository become part of your "
                 "patch. Long output is cut in the middle."),
    parameters={"type": "object",
                "properties": {"command": {"type": "string",
                                           "description": 'e.g. "python -m pytest tests/test_x.py -x"'}},
                "required": ["command"], "additionalProperties": False},
)
SUBMIT = ToolSpec(
    name="submit",
    description="Finish: your changes so far are the fix. Call it when the change is made and tested.",
    parameters={"type": "object",
                "properties": {"summary": {"type": "string",
                                           "description": "for the pull request: what was wrong and what you "
                                                          "changed, in a sentence or two"}},
                "additionalProperties": False},
)
SUMMARY_CHARS = 1500  # the pull request quotes it; a model cannot fill the body with it


def make_toolbox(state: dict, deps: Deps) -> "AgentToolBox":
    return AgentToolBox(state, deps)


class AgentToolBox:
    """tools/agent_tools/base.py ToolBox on the working copy at state["workspace_dir"]."""

    def __init__(self, state: dict, deps: Deps):
        self.state, self.deps = state, deps
        self.root = Path(state["workspace_dir"]).resolve()
        self.cfg = deps.settings.run
        self.docker = _docker_of(deps.sandbox)
        self.container = SyncedSession(self.root, self._start)
        self.index = None  # None: deps' index of the base files until an edit, then rebuilt on use
        self.changed = False
        repro = state.get("reproduction") or {}
        self.reproduction = repro if repro.get("status") == "reproduced" and repro.get("path") else None
        self.tools = {s.name: s for s in self._specs()}

    # -- ToolBox --------------------------------------------------------------------------
    def specs(self) -> list[ToolSpec]:
        return list(self.tools.values())

    def call(self, name: str, arguments: dict) -> Observation:
        spec = self.tools.get(name)
        if spec is None:
            return Observation(f"there is no tool {name!r}; the tools are: {', '.join(self.tools)}", ok=False)
        args, problem = checked(spec, arguments)
        if problem:
            return Observation(problem, ok=False)
        return getattr(self, "_" + name)(**args)

    def diff(self) -> str:
        return diff_worktree(self.root)

    def close(self) -> None:
        self.container.close()

    @property
    def session(self) -> Session | None:
        """The run's container session, once a command has started it."""
        return self.container.session

    # -- the tools ------------------------------------------------------------------------
    def _view(self, path: str, start: int | None = None, end: int | None = None) -> Observation:
        return view(self.root, path, start, end, max_lines=self.cfg.agent_view_lines)

    def _search(self, pattern: str, path: str | None = None, regex: bool = False) -> Observation:
        return search(self.root, pattern, path, regex, max_chars=self.cfg.agent_output_chars)

    def _definition(self, name: str) -> Observation:
        return definition(self._index(), name)

    def _references(self, name: str) -> Observation:
        return references(self._index(), name, max_chars=self.cfg.agent_output_chars)

    def _edit(self, path: str, old: str, new: str) -> Observation:
        return self._synced(edit(self.root, path, old, new))

    def _insert(self, path: str, line: int, text: str) -> Observation:
        return self._synced(insert(self.root, path, line, text))

    def _create(self, path: str, text: str) -> Observation:
        return self._synced(create(self.root, path, text))

    def _bash(self, command: str) -> Observation:
        if not command.strip() or "\0" in command:
            return Observation("the command is empty (or holds a NUL character)", ok=False)
        if len(command) > MAX_COMMAND_CHARS:
            return Observation(f"the command is over {MAX_COMMAND_CHARS} characters; write long files with create",
                               ok=False)
        result = self.container.exec(command, self.cfg.agent_command_timeout)
        return self._ran(result, self._bring_back(), self.cfg.agent_command_timeout)

    def _run_tests(self, tests: list[str] | None = None) -> Observation:
        if any(not t.strip() or "\n" in t or "\0" in t for t in tests or []):
            return Observation("each test is one path or id, e.g. tests/test_x.py::test_y", ok=False)
        command = self._test_command(tests)
        timeout = getattr(self.deps.settings.sandbox, "test_timeout", None)
        if isinstance(self.deps.sandbox, DockerSandbox):
            result = self._tests_in_session(command, timeout)
            back = self._bring_back()
        else:
            result, back = self._tests_in_sandbox(command, timeout), ""
        parsed = results(result)
        counts = {s: sum(1 for v in parsed.values() if v == s) for s in sorted(set(parsed.values()))}
        failing = sorted(t for t, s in parsed.items() if s in ("failed", "error"))
        head = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no test results could be read"
        text = f"$ {command}\ntests: {head}" + (f"\nfailing: {', '.join(failing[:20])}" if failing else "")
        observation = self._ran(result, back, timeout)
        observation.text = text + "\n" + observation.text
        observation.extra.update(tests=counts)
        return observation

    def _submit(self, summary: str = "") -> Observation:
        diff = self.diff()
        files = files_in(diff)
        text = (f"submitted: your changes to {', '.join(files)}" if files
                else "submitted, but nothing in the repository has changed")
        extra = {"files_changed": files} | ({"summary": summary.strip()[:SUMMARY_CHARS]} if summary.strip() else {})
        return Observation(text, submitted=True, extra=extra)

    # -- host and container (agent_mode/synced.py) ----------------------------------------
    def _synced(self, observation: Observation) -> Observation:
        """An edit tool's result; the file it wrote copied into the container too."""
        files = observation.extra.get("files_changed") or []
        if observation.ok and files:
            self.changed = True
            observation.text += self.container.sync(files)
        return observation

    def _start(self, root: Path) -> Session:
        image = environment(self.state, self.deps, root)
        return Session(self.docker, image, output_chars=self.cfg.agent_output_chars).start(root)

    def _bring_back(self) -> str:
        note, changed = self.container.bring_back()
        self.changed = self.changed or changed
        return note

    def _ran(self, result: ExecResult, back: str, timeout: float | None) -> Observation:
        if result.timed_out:
            status = f"timed out after {timeout:g} s and was killed" if timeout else "timed out and was killed"
        elif result.exit_code == 137:
            status = "exit code 137 (killed: out of memory?)"
        else:
            status = f"exit code {result.exit_code}"
        text = f"{status}\n{result.output or '(no output)'}".rstrip("\n")
        if back:
            text += f"\n[{back}]"
        return Observation(text, truncated=bool(result.truncated),
                           extra={"exit_code": result.exit_code, "seconds": round(result.duration, 3),
                                  "timed_out": result.timed_out})

    # -- tests ----------------------------------------------------------------------------
    def _test_command(self, tests: list[str] | None) -> str:
        if tests:
            return " ".join([self.cfg.test_command, *map(shlex.quote, tests)])
        if self.reproduction:
            return command_for(self.cfg.reproduce_command, self.reproduction["path"])
        return self.cfg.test_command

    def _tests_in_session(self, command: str, timeout: float | None) -> ExecResult:
        """In the container, with the reproduction test put in for the run only (it is not the
        model's change: verify adds it itself)."""
        session = self.container.live()
        extra = self._reproduction_file()
        if extra:
            session.put(extra)
        result = self.container.exec(f"rm -f {JUNIT}\n{command}", timeout or self.cfg.agent_command_timeout)
        try:
            result.junit_xml = session.read_file(JUNIT)  # a restart keeps the session, in a new container
            if extra:
                session.sync_in(self.root, list(extra))  # not on the host: removed
        except SandboxError as exc:
            self.container.restart()
            result.output += f"\n[patchwright: the container was started again from the working copy: {exc}]"
        return result

    def _tests_in_sandbox(self, command: str, timeout: float | None) -> ExecResult:
        """Through Sandbox.run on the host working copy, the reproduction test written for the run."""
        extra = self._reproduction_file()
        written = [safe_target(self.root, rel) for rel in extra]
        try:
            for target, data in zip(written, extra.values()):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            image = environment(self.state, self.deps, self.root)
            result = self.deps.sandbox.run(image, self.root, command, timeout=timeout)
        finally:
            for target in written:
                target.unlink(missing_ok=True)
        keep = self.cfg.agent_output_chars
        if len(result.output) > keep:
            result.truncated.append(f"output: {len(result.output)} characters, kept the last {keep}")
            result.output = f"[... output cut: kept the last {keep} characters ...]\n" + result.output[-keep:]
        return result

    def _reproduction_file(self) -> dict[str, bytes]:
        """The reproduction test to add for a run ({} without one, or when the model wrote that file)."""
        if not self.reproduction:
            return {}
        path = self.reproduction["path"]
        if (self.root / path).exists():
            return {}
        return {path: self.reproduction["code"].encode("utf-8")}

    # -- specs and index ------------------------------------------------------------------
    def _specs(self) -> list[ToolSpec]:
        default = (f"the reproduction test {self.reproduction['path']}" if self.reproduction
                   else f"the repository's test command ({self.cfg.test_command})")
        run_tests = ToolSpec(
            name="run_tests",
            description=(f"Run tests in the repository's container and get each test's result. Without tests it "
                         f"runs {default}. Long output is cut in the middle."),
            parameters={"type": "object",
                        "properties": {"tests": {"type": "array", "items": {"type": "string"},
                                                 "description": 'test files or ids, e.g. ["tests/test_x.py::test_y"]'}},
                        "additionalProperties": False},
        )
        bash = [BASH] if self.docker is not None else []
        return [VIEW, SEARCH, DEFINITION, REFERENCES, EDIT, INSERT, CREATE, *bash, run_tests, SUBMIT]

    def _index(self):
        """The index of the files as they are now: deps' (of the base files) until something
        changed, then rebuilt (parses are cached by content, so only changed files are parsed)."""
        if self.changed or self.index is None:
            fresh = self.changed or bool(self.diff())  # a box opened on the base plus an earlier diff
            self.index = build_index(self.root) if fresh else self.deps.index_for(self.state["workspace_dir"])
            self.changed = False
        return self.index


def _docker_of(sandbox) -> DockerSandbox | None:
    """The Docker sandbox a run's sandbox runs containers with (SWE-bench's SpecSandbox holds one
    in its harness); None: no containers (the scripted sandbox)."""
    if isinstance(sandbox, DockerSandbox):
        return sandbox
    inner = getattr(getattr(sandbox, "harness", None), "sb", None)
    return inner if isinstance(inner, DockerSandbox) else None
