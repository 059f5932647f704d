"""Agent mode (run.solve = "agent"): the patch step as a checkpointed loop of model turns and tool
calls. The demo issue and repository, a scripted model answering with tool calls (or text
actions), a fake tool box over the working copy's files, the scripted sandbox for verify."""
from __future__ import annotations

import difflib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent.agent_mode.actions import read_text
from agent.agent_mode.window import fit, message_tokens
from agent.config import Settings
from agent.demo_run import run_demo
from agent.models import OpenAIModelConfig, ScriptedModel
from agent.models.replies import load_replies, tool_reply
from agent.runner import resume_run
from agent.trajectory import Trajectory
from pipeline_support import AFTER, BEFORE, DEMO_TESTS, run_result
from sandbox.scripted import ScriptedSandbox
from tools.agent_tools.base import Observation, ToolSpec
from tools.tokens import estimate_tokens

PATH = "textkit/numbers.py"
BUG, FIX = "    return max(low, min(value, low))", "    return max(low, min(value, high))"
FAILING = run_result([DEMO_TESTS[1]], "1 failed, 3 passed")


def _object(required: list[str], **properties: str) -> dict:
    return {"type": "object", "properties": {k: {"type": "string", "description": v} for k, v in properties.items()},
            "required": required}


SPECS = [
    ToolSpec("view", "Show a file with line numbers.", _object(["path"], path="file path")),
    ToolSpec("edit", "Replace a unique string in a file.", _object(["path", "old", "new"], path="file path",
                                                                     old="exact text to replace", new="its replacement")),
    ToolSpec("run_tests", "Run the test suite.", _object([])),
    ToolSpec("submit", "End with the working copy's change as the fix.", _object([])),
]


class Interrupted(KeyboardInterrupt):
    """The process dying at a tool call (a BaseException: nothing in the run catches it)."""


class FakeToolBox:
    """tools/agent_tools/base.ToolBox in memory: the files as they are on disk when it opens (the
    loop has put the working copy at the diff so far), diff() against the base commit."""

    def __init__(self, root: Path, log: list, *, tests_output: str, interrupt_at: int | None, kill_at: int | None):
        self.root, self.log, self.tests_output, self.interrupt_at = root, log, tests_output, interrupt_at
        self.kill_at = kill_at
        self.files: dict[str, str | None] = {}
        self.closed = False

    def specs(self) -> list[ToolSpec]:
        return SPECS

    def call(self, name: str, arguments: dict) -> Observation:
        self.log.append((name, arguments))
        if self.interrupt_at == len(self.log):
            raise Interrupted
        if self.kill_at == len(self.log):
            os.kill(os.getpid(), signal.SIGKILL)
        if name == "view":
            text = self._read(arguments["path"])
            if text is None:
                return Observation(f"no file {arguments['path']}", ok=False)
            return Observation("".join(f"{i:>4}| {line}" for i, line in enumerate(text.splitlines(True), 1)))
        if name == "edit":
            text = self._read(arguments["path"]) or ""
            found = text.count(arguments["old"])
            if found != 1:
                return Observation(f"old string found {found} times in {arguments['path']}; it must be unique", ok=False)
            self.files[arguments["path"]] = text.replace(arguments["old"], arguments["new"])
            return Observation(f"edited {arguments['path']}", extra={"files_changed": [arguments["path"]]})
        if name == "run_tests":
            return Observation(self.tests_output, extra={"exit_code": 1})
        return Observation("submitted", submitted=True)

    def diff(self) -> str:
        out = []
        for path, text in sorted(self.files.items()):
            base = subprocess.run(["git", "-C", str(self.root), "show", f"HEAD:{path}"], capture_output=True,
                                  text=True).stdout
            if text is not None and text != base:
                out.append(f"diff --git a/{path} b/{path}\n")
                out += difflib.unified_diff(base.splitlines(True), text.splitlines(True), f"a/{path}", f"b/{path}")
        return "".join(out)

    def close(self) -> None:
        self.closed = True

    def _read(self, path: str) -> str | None:
        if path not in self.files:
            file = self.root / path
            self.files[path] = file.read_text() if file.is_file() else None
        return self.files[path]


class Boxes:
    """The toolbox_factory given to Deps.create: every box it opened and every call made."""

    def __init__(self, *, tests_output: str = "1 failed, 3 passed", interrupt_at: int | None = None,
                 kill_at: int | None = None):
        self.opened: list[FakeToolBox] = []
        self.log: list = []
        self.tests_output, self.interrupt_at, self.kill_at = tests_output, interrupt_at, kill_at

    def __call__(self, state: dict, deps) -> FakeToolBox:
        box = FakeToolBox(Path(state["workspace_dir"]), self.log, tests_output=self.tests_output,
                          interrupt_at=self.interrupt_at, kill_at=self.kill_at)
        self.opened.append(box)
        return box


def agent_run(tmp_path, model, results, boxes=None, **run):
    boxes = boxes or Boxes()
    sandbox = ScriptedSandbox([r.result() for r in results])
    settings = Settings(home=tmp_path, run={"solve": "agent", "max_attempts": 1, **run})
    result = run_demo(settings, serve_model=False, model=model, sandbox=sandbox, toolbox_factory=boxes)
    return result, boxes, json.loads((result.run_dir / "report.json").read_text())


TRAJECTORY = [tool_reply("view", {"path": PATH}, content="Let me look at clamp."),
              tool_reply("edit", {"path": PATH, "old": "return max(low,min(value,low))", "new": "x"}),
              tool_reply("edit", {"path": PATH, "old": BUG, "new": FIX}),
              tool_reply("run_tests"),
              tool_reply("submit")]


# (a) --------------------------------------------------------------------------------------------

def test_a_scripted_trajectory_ends_with_its_diff_as_the_candidate(tmp_path):
    model = ScriptedModel(TRAJECTORY)
    result, boxes, report = agent_run(tmp_path, model, [BEFORE, AFTER])
    assert result.fixed and model.remaining == 0
    assert "+    return max(low, min(value, high))" in (result.run_dir / "patch.diff").read_text()
    assert [name for name, _ in boxes.log] == ["view", "edit", "edit", "run_tests", "submit"]
    assert all(box.closed for box in boxes.opened)
    # Native calls: the tools go with every request (tool_choice from the configured model's profile, the
    # embedded one's "required"), each call comes back answered by its id.
    assert model.options[0]["tools"][0]["function"]["name"] == "view" and model.options[0]["tool_choice"] == "required"
    second = model.requests[1]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "view"
    assert second[-1] == {"role": "tool", "tool_call_id": second[-2]["tool_calls"][0]["id"],
                          "content": second[-1]["content"]} and "max(low, min(value, low))" in second[-1]["content"]
    assert "found 0 times" in model.requests[2][-1]["content"]  # the edit that did not match, fed back
    # The warm start: issue, ranking, the ranked code and the repository map.
    opening = model.requests[0][1]["content"]
    assert "# Issue" in opening and "# Where to look" in opening and "textkit/numbers.py::clamp" in opening
    assert "# Repository map" in opening and "def parse_int_list" in opening
    agent = report["agent"]
    assert agent["ended"] == "submitted at step 5" and agent["tool_calls"] == "native"
    assert [(s["step"], s["tool"], s["ok"]) for s in agent["steps"]] == [
        (1, "view", True), (2, "edit", False), (3, "edit", True), (4, "run_tests", True), (5, "submit", True)]
    assert agent["steps"][2]["arguments"] == {"path": PATH, "old": BUG, "new": FIX}
    assert report["candidates"][0]["variant"] == "agent" and report["attempts"][0]["solve"] == "agent"
    events = Trajectory.of_run(result.run_dir).events("agent_step")
    assert [e["tool"] for e in events] == ["view", "edit", "edit", "run_tests", "submit"]
    assert all(e["prompt_tokens"] > 0 for e in events)
    md = (result.run_dir / "report.md").read_text()
    assert "## Agent (attempt 1, native tool calls)" in md and "Ended: submitted at step 5." in md
    assert "2. `edit(" in md and "(refused)" in md


def test_samples_run_agents_one_after_the_other_and_verify_chooses(tmp_path):
    wrong = "    return min(value, max(low, value))"
    model = ScriptedModel([tool_reply("edit", {"path": PATH, "old": BUG, "new": wrong}), tool_reply("submit"),
                           tool_reply("edit", {"path": PATH, "old": BUG, "new": FIX}), tool_reply("submit")])
    failing = run_result([DEMO_TESTS[1]], "1 failed")
    result, boxes, report = agent_run(tmp_path, model, [BEFORE, failing, AFTER], samples=2)
    assert result.fixed and report["chosen"]["index"] == 2
    assert [o["temperature"] for o in model.options] == [0.0, 0.0, 0.8, 0.8]
    # The second agent starts from the base files, not from the first one's edit.
    assert boxes.log[2] == ("edit", {"path": PATH, "old": BUG, "new": FIX}) and len(boxes.opened) == 2
    assert report["agent"]["agent"] == 2 and [r["index"] for r in report["agent"]["runs"]] == [1, 2]


class ByTemperature:
    """Two agents' scripts told apart by temperature (the first agent is greedy). Each agent's first
    call waits for the other's at a barrier, which only agents running at the same time get past."""

    def __init__(self, scripts: dict[float, list]):
        self.models = {t: ScriptedModel(replies) for t, replies in scripts.items()}
        self.barrier, self.waited = threading.Barrier(len(scripts), timeout=30), set()

    def complete(self, messages, **options):
        temperature = options.get("temperature")
        if temperature not in self.waited:
            self.waited.add(temperature)
            self.barrier.wait()
        return self.models[temperature].complete(messages, **options)

    def __getattr__(self, name):  # context_window, count_tokens, name: the first agent's model
        return getattr(self.models[0.0], name)


def test_agents_run_at_once_each_in_its_own_working_copy(tmp_path):
    wrong = "    return min(value, max(low, value))"
    model = ByTemperature({0.0: [tool_reply("edit", {"path": PATH, "old": BUG, "new": wrong}), tool_reply("submit")],
                           0.8: [tool_reply("view", {"path": PATH}),
                                 tool_reply("edit", {"path": PATH, "old": BUG, "new": FIX}), tool_reply("submit")]})
    failing = run_result([DEMO_TESTS[1]], "1 failed")
    result, boxes, report = agent_run(tmp_path, model, [BEFORE, failing, AFTER], samples=2, agent_parallel=2)
    assert result.fixed and report["chosen"]["index"] == 2
    assert all(m.remaining == 0 for m in model.models.values())
    # Each agent edited a copy of its own (the first agent's wrong edit never reached the second's
    # files), and the copies are gone once the agents ended.
    roots = sorted({box.root.name for box in boxes.opened})
    assert roots == ["workspace.agent1", "workspace.agent2"]
    assert not any((result.run_dir / name).exists() for name in roots)
    assert report["attempts"][0]["agents_at_once"] == 2
    assert [(r["index"], r["ended"]) for r in report["agent"]["runs"]] == [
        (1, "submitted at step 2"), (2, "submitted at step 3")]
    steps = [(e["agent"], e["step"]) for e in Trajectory.of_run(result.run_dir).events("agent_step")]
    assert sorted(steps) == [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3)]


def test_agents_at_once_come_from_the_profile_unless_set():
    def at_once(**run) -> int:
        return Settings(model={"profile": run.pop("profile", "qwen2.5-coder-1.5b-cpu")}, run=run).agents_at_once()

    assert at_once(samples=4) == 1  # the embedded CPU model's llama.cpp answers one request at a time
    assert at_once(samples=4, profile="qwen3-coder-30b-a3b-instruct") == 4
    assert at_once(samples=2, profile="qwen3-coder-30b-a3b-instruct") == 2  # never more than samples
    assert at_once(samples=4, agent_parallel=3) == 3


# (b) --------------------------------------------------------------------------------------------

TEXT_VIEW = f'I will read the function first.\n\n```tool\n{{"name": "view", "arguments": {{"path": "{PATH}"}}}}\n```\n'
# Raw newlines inside the JSON strings and no closing fence: read all the same.
TEXT_EDIT = f'```tool\n{{"name": "edit", "arguments": {{"path": "{PATH}", "old": "{BUG}", "new": "{FIX}\n"}}}}\n'


def test_the_text_fallback_reads_fenced_actions_and_feeds_back_a_malformed_one(tmp_path):
    model = ScriptedModel([TEXT_VIEW, "I think the bug is in clamp.", TEXT_EDIT, "```tool\nsubmit\n```"])
    result, boxes, report = agent_run(tmp_path, model, [BEFORE, AFTER], tool_calls="text")
    assert result.fixed
    assert "tools" not in model.options[0]  # nothing native is sent
    system = model.requests[0][0]["content"]
    assert "```tool" in system and "- edit: Replace a unique string" in system and "old (string, required)" in system
    assert model.requests[1][-1]["role"] == "user" and model.requests[1][-1]["content"].startswith("Output of view:")
    feedback = model.requests[2][-1]["content"]
    assert "no action found" in feedback and "view, edit, run_tests, submit" in feedback
    steps = report["agent"]["steps"]
    assert [s["tool"] for s in steps] == ["view", None, "edit", "submit"] and report["agent"]["tool_calls"] == "text"


def test_three_malformed_replies_in_a_row_end_the_loop(tmp_path):
    two = TEXT_VIEW + TEXT_VIEW
    model = ScriptedModel([two, '```tool\n{"name": "rm", "arguments": {}}\n```', '```tool\n{"name": "view"}\n```'])
    result, _, report = agent_run(tmp_path, model, [BEFORE])
    assert not result.fixed and report["status"] == "unfixed"
    ended = report["agent"]["ended"]
    assert ended.startswith("3 malformed replies in a row (run.agent_max_format_errors = 3)")
    assert "view needs the argument(s) path" in ended
    assert [s["format_error"].split(";")[0] for s in report["agent"]["steps"]] == [
        "2 actions in one reply", "unknown tool 'rm'", "view needs the argument(s) path"]
    assert "the agent changed nothing" in report["reason"]


def test_a_native_call_with_arguments_that_are_not_json_is_answered_with_feedback(tmp_path):
    model = ScriptedModel([tool_reply("view", "{path: textkit"), *TRAJECTORY[2:]])
    result, _, report = agent_run(tmp_path, model, [BEFORE, AFTER])
    assert result.fixed
    call, answer = model.requests[1][-2:]
    assert answer["role"] == "tool" and answer["tool_call_id"] == call["tool_calls"][0]["id"]
    assert answer["content"].startswith("Your reply could not be used: the arguments of view are not a JSON object")
    assert report["agent"]["steps"][0]["tool"] is None


def test_text_actions_are_read_leniently():
    specs = [{"name": s.name, "description": s.description, "parameters": s.parameters} for s in SPECS]
    assert read_text("```tool\nrun_tests\n```", specs)[0]["name"] == "run_tests"
    assert read_text('```json\n{"name": "view", "parameters": {"path": "a.py",}}\n```', specs)[0]["arguments"] == {
        "path": "a.py"}
    assert read_text("<tool_call>\n{'name': 'view', 'arguments': {'path': 'b.py'}}\n</tool_call>", specs)[0][
        "arguments"] == {"path": "b.py"}
    assert read_text('{"name": "view", "arguments": "{\\"path\\": \\"c.py\\"}"}', specs)[0]["arguments"] == {
        "path": "c.py"}
    assert read_text('```tool\n{"name": "view", "arguments": ["a.py"]}\n```', specs)[1].startswith(
        "the arguments of view must be a JSON object")
    assert read_text("```python\nprint(1)\n```", specs)[1].startswith("no action found")


# (c) --------------------------------------------------------------------------------------------

def test_the_step_limit_ends_the_loop_with_the_diff_so_far(tmp_path):
    model = ScriptedModel([tool_reply("edit", {"path": PATH, "old": BUG, "new": FIX}), tool_reply("run_tests"),
                           tool_reply("run_tests"), tool_reply("submit")])
    result, _, report = agent_run(tmp_path, model, [BEFORE, FAILING], agent_max_steps=3)
    assert model.remaining == 1  # the fourth reply was never asked for
    assert report["agent"]["ended"] == "step limit: 3 steps (run.agent_max_steps) without a submit"
    assert result.state["exit_status"] == "unfixed" and report["status"] == "unfixed"
    assert report["candidates"][0]["diff_lines"] == 2 and "min(value, high)" in (result.run_dir / "patch.diff").read_text()


class HundredTokens(ScriptedModel):
    """Every request costs 100 tokens, whatever it holds."""

    def complete(self, messages, **options):
        reply = super().complete(messages, **options)
        reply.prompt_tokens, reply.completion_tokens = 90, 10
        return reply


def test_the_budget_is_checked_before_each_model_call_and_the_diff_so_far_is_tested(tmp_path):
    model = HundredTokens([tool_reply("edit", {"path": PATH, "old": BUG, "new": FIX}), tool_reply("run_tests"),
                           tool_reply("run_tests"), tool_reply("submit")])
    result, _, report = agent_run(tmp_path, model, [BEFORE, AFTER], budget_tokens=250)
    assert len(model.requests) == 3 and result.fixed  # the fourth was never asked for; the edit so far passes
    assert report["agent"]["ended"] == "token budget reached at step 4 of agent 1: 300 tokens of run.budget_tokens = 250"
    assert report["reason"].startswith("token budget reached at step 4 of agent 1")


# (d) --------------------------------------------------------------------------------------------

def test_a_run_killed_at_step_3_resumes_at_step_3(tmp_path):
    first = ScriptedModel(TRAJECTORY)
    with pytest.raises(Interrupted):
        agent_run(tmp_path, first, [BEFORE, AFTER], Boxes(interrupt_at=3))
    assert len(first.requests) == 3  # step 3's model call was answered, its tool call never finished
    run_id = next((tmp_path / "runs").iterdir()).name
    again, boxes = ScriptedModel(TRAJECTORY[3:]), Boxes()
    settings = Settings(home=tmp_path, run={"solve": "agent", "max_attempts": 1})
    result = resume_run(settings, run_id, model=again, sandbox=ScriptedSandbox([BEFORE.result(), AFTER.result()]),
                        toolbox_factory=boxes)
    assert result.fixed and again.remaining == 0
    assert len(again.requests) == 2  # steps 4 and 5 only
    # Step 3's call runs again, on the working copy as step 2 left it; steps 1 and 2 do not.
    assert [name for name, _ in boxes.log] == ["edit", "run_tests", "submit"]
    resumed = again.requests[0]
    assert [m.get("tool_calls", [{}])[0].get("function", {}).get("name") for m in resumed if m["role"] == "assistant"] == [
        "view", "edit", "edit"]
    calls = [e for e in Trajectory.of_run(result.run_dir).events("model") if e["node"] == "agent"]
    assert len(calls) == 5  # every step's model call once, across both processes
    steps = json.loads((result.run_dir / "report.json").read_text())["agent"]["steps"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5]


KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from test_agent_loop import BEFORE, AFTER, TRAJECTORY, Boxes, ScriptedModel, agent_run
agent_run(Path({home!r}), ScriptedModel(TRAJECTORY), [BEFORE, AFTER], Boxes(kill_at=3))
"""


def test_a_run_sigkilled_at_step_3_resumes_at_step_3(tmp_path):
    # The loop's checkpoints are written as each node ends, not in the background: SIGKILL keeps them.
    code = KILLED_RUN.format(tests=str(Path(__file__).parent), home=str(tmp_path))
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_id = next((tmp_path / "runs").iterdir()).name
    again, boxes = ScriptedModel(TRAJECTORY[3:]), Boxes()
    settings = Settings(home=tmp_path, run={"solve": "agent", "max_attempts": 1})
    result = resume_run(settings, run_id, model=again, sandbox=ScriptedSandbox([BEFORE.result(), AFTER.result()]),
                        toolbox_factory=boxes)
    assert result.fixed and again.remaining == 0 and [name for name, _ in boxes.log] == ["edit", "run_tests", "submit"]


# (e) --------------------------------------------------------------------------------------------

def test_old_observations_are_elided_to_fit_a_small_window(tmp_path):
    views = [tool_reply("view", {"path": PATH}) for _ in range(6)]
    # nothing was changed: the first submit is sent back, the second ends the agent
    model = ScriptedModel([*views, tool_reply("submit"), tool_reply("submit")], context_window=3072)
    settings_window = 3072 - OpenAIModelConfig().max_tokens
    result, _, report = agent_run(tmp_path, model, [BEFORE, FAILING], Boxes(), agent_max_steps=8)
    # the map and the code took their share; each view is ~100 tokens, so the small window fills
    sizes = [sum(message_tokens(m, estimate_tokens) for m in request) for request in model.requests]
    assert max(sizes) <= settings_window
    last = model.requests[-1]
    assert any(m["role"] == "tool" and m["content"].startswith("[output of step 1 elided: ") for m in last)
    assert last[-1]["role"] == "tool" and "Not submitted: nothing in the repository has changed" in last[-1]["content"]
    assert any(m["role"] == "tool" and "def clamp" in m["content"] for m in last[-4:])  # the latest view whole
    assert report["agent"]["ended"] == "submitted at step 8"


def test_elision_order_keeps_the_opening_and_the_last_turns():
    count = len  # one token a character, for the arithmetic

    def turn(step):
        return {"step": step, "messages": [{"role": "assistant", "content": "r" * 10},
                                           {"role": "user", "content": "o" * 100}]}

    turns = [turn(s) for s in (1, 2, 3, 4)]
    for t in turns:
        t["tokens"] = [message_tokens(m, count) for m in t["messages"]]
    head = [{"role": "system", "content": "s" * 50}]
    messages, tokens = fit(head, message_tokens(head[0], count), turns, 410, count)
    assert messages[0] == head[0] and tokens <= 410
    contents = [m["content"] for m in messages[1:]]
    assert contents[1] == "[output of step 1 elided: 100 characters]" and contents[3].startswith("[output of step 2")
    assert contents[5] == contents[7] == "o" * 100  # the last two turns stay whole


# The scripted backends' tool calls, the tool-call format's decision, a long loop ------------------

def test_the_scripted_server_answers_a_scripted_tool_call_as_the_openai_api_does(scripted_server, tmp_path):
    server = scripted_server([tool_reply("view", {"path": PATH}, content="Looking."), "plain text"])
    model = OpenAIModelConfig(base_url=server.base_url, max_retries=0, timeout=5.0).build()
    messages = [{"role": "user", "content": "fix it"}]
    reply = model.complete(messages, tools=[SPECS[0].openai()], tool_choice="required")
    assert reply.content == "Looking." and reply.tool_calls[0].name == "view"
    assert reply.tool_calls[0].parsed() == {"path": PATH} and reply.tool_calls[0].id
    assert server.requests[0]["tools"][0]["function"]["name"] == "view" and server.requests[0]["tool_choice"] == "required"
    assert model.complete(messages).tool_calls == []
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([tool_reply("submit"), "text"]))
    assert load_replies(replies)[0] == [tool_reply("submit"), "text"]


class NoToolParser(ScriptedModel):
    """A server whose check says it does not parse tool calls (llama.cpp's), counting the checks."""

    checks = 0

    def check(self, probe=False):
        NoToolParser.checks += 1
        return {**super().check(probe), "tool_calling": False}


def test_auto_uses_text_actions_when_the_server_has_no_tool_parser_deciding_once(tmp_path):
    edit = f'```tool\n{{"name": "edit", "arguments": {{"path": "{PATH}", "old": "{BUG}", "new": "{FIX}"}}}}\n```'
    NoToolParser.checks = 0
    # the second attempt submits with nothing changed twice: the first is sent back
    model = NoToolParser([edit, "```tool\nsubmit\n```", "```tool\nsubmit\n```", "```tool\nsubmit\n```"])
    result, _, report = agent_run(tmp_path, model, [BEFORE, FAILING, FAILING], max_attempts=2)
    assert NoToolParser.checks == 1 and model.remaining == 0
    assert not any("tools" in o for o in model.options)
    assert [a["tool_calls"] for a in report["attempts"]] == ["text", "text"]
    assert "# Your previous attempt" in model.requests[2][1]["content"]  # the second attempt sees the first's diff


def test_a_loop_longer_than_the_runs_recursion_limit(tmp_path):
    steps = 60  # 120 supersteps in the loop; the run's graph allows 100 of its own
    # nothing changed: the first submit is sent back, the second ends the agent
    model = ScriptedModel([tool_reply("run_tests")] * (steps - 2) + [tool_reply("submit")] * 2, context_window=32768)
    result, _, report = agent_run(tmp_path, model, [BEFORE], agent_max_steps=steps)
    assert report["agent"]["ended"] == f"submitted at step {steps}" and report["status"] == "unfixed"


def test_the_real_tool_box_is_the_default_and_runs_the_loop_without_docker(tmp_path):
    # The acceptance trajectory on the real tools: view, an edit that does not match (the real
    # "did you mean" feedback), the corrected edit, run_tests, submit.
    model = ScriptedModel(TRAJECTORY)
    sandbox = ScriptedSandbox([AFTER.result(), BEFORE.result(), AFTER.result()])  # run_tests, then verify: base, patch
    settings = Settings(home=tmp_path, run={"solve": "agent", "max_attempts": 1})
    result = run_demo(settings, serve_model=False, model=model, sandbox=sandbox)
    report = json.loads((result.run_dir / "report.json").read_text())
    assert result.fixed and report["agent"]["ended"] == "submitted at step 5"
    assert [(s["tool"], s["ok"]) for s in report["agent"]["steps"]] == [
        ("view", True), ("edit", False), ("edit", True), ("run_tests", True), ("submit", True)]
    missed = model.requests[2][-1]["content"]
    assert f"old was not found in {PATH}. Did you mean these lines of {PATH}?" in missed and BUG.strip() in missed
    assert "tests: 4 passed" in model.requests[4][-1]["content"]  # run_tests' parsed results, fed back
    assert "bash" not in [t["function"]["name"] for t in model.options[0]["tools"]]  # no Docker, no bash


def test_a_failing_call_made_again_is_told_so_and_a_first_submit_without_a_change_is_sent_back(tmp_path):
    # Seen with the CPU model on pytest-5809: the same unmatched edit five times, then a submit
    # with nothing changed, 8 of 30 steps into the run.
    wrong = tool_reply("edit", {"path": PATH, "old": "not in the file", "new": "x"})
    model = ScriptedModel([wrong, wrong, tool_reply("submit"), tool_reply("edit", {"path": PATH, "old": BUG, "new": FIX}),
                           tool_reply("submit")])
    result, boxes, report = agent_run(tmp_path, model, [BEFORE, AFTER])
    assert result.fixed and [name for name, _ in boxes.log] == ["edit", "edit", "edit", "submit"]  # the refusal ran no tool
    answers = [r[-1]["content"] for r in model.requests[1:]]
    assert "same call" not in answers[0] and "You made this same call at step 1" in answers[1]
    assert answers[2].startswith("Not submitted: nothing in the repository has changed yet")
    assert [(s["tool"], s["ok"]) for s in report["agent"]["steps"]] == [
        ("edit", False), ("edit", False), ("submit", False), ("edit", True), ("submit", True)]


def test_the_opening_renders_the_ranked_code_again_when_the_patch_prompts_code_does_not_fit(tmp_path):
    # Seen on pytest-5809: pastebin.py (114 lines) was shown whole to the patch prompt, and agent
    # mode's smaller opening cut it in the middle, taking out create_new_paste, the top-ranked
    # function. The opening now renders the ranked windows for its own room.
    from dataclasses import asdict
    from types import SimpleNamespace

    from agent import prompting
    from agent.nodes.localize import code_within
    from tools.agent_tools import EDIT, VIEW
    from tools.index import build_index
    from tools.localize import Localization, render_code

    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    filler = "".join(f"def helper_{n}(value):\n    '''Helper number {n}, padding.'''\n    return value + {n}\n\n\n"
                     for n in range(11))
    target = "def create_new_paste(contents):\n    params = {'lexer': 'python3', 'code': contents}\n    return params\n"
    (root / "pkg" / "paste.py").write_text(filler + target + "\n\n" + filler.replace("helper_", "other_"))
    start = filler.count("\n") + 1
    index = build_index(root, cache=None)
    locations = {"files": [["pkg/paste.py", 6.5]], "symbols": [["pkg/paste.py", "create_new_paste", start, start + 2, 6.5]],
                 "windows": [["pkg/paste.py", start, start + 2, 6.5]]}
    whole = render_code(index, Localization([("pkg/paste.py", 6.5)], [], [("pkg/paste.py", start, start + 2, 6.5)]),
                        10_000)
    assert "other_10" in whole  # the file is small enough to be shown whole where there is room
    settings = Settings(home=tmp_path)
    deps = SimpleNamespace(model=ScriptedModel([], context_window=settings.model.max_tokens + 2 * 1300),
                           count_tokens=estimate_tokens, settings=settings, index_for=lambda _: index)
    state = {"workspace_dir": str(root), "locations": locations}
    specs = [asdict(EDIT), asdict(VIEW)]
    opening = prompting.agent_messages(deps, "Lexer python3 causes HTTP errors", whole, locations, specs=specs,
                                       text_actions=True, repo_map=lambda _: "",
                                       code_within=lambda tokens: code_within(state, deps, tokens))[1]["content"]
    assert f"{start:>5} | def create_new_paste(contents):" in opening and "characters cut" not in opening
    before = prompting.agent_messages(deps, "Lexer python3 causes HTTP errors", whole, locations, specs=specs,
                                      text_actions=True, repo_map=lambda _: "")[1]["content"]
    assert "def create_new_paste" not in before  # without it: the middle of the file cut out
