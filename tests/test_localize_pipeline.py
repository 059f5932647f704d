"""The fix pipeline's index and localize nodes on the bundled sample repository, without Docker:
the prompt shows the ranked code, best first, and never more than the model's budget."""
import pytest

from agent.config import Settings
from agent.demo_run import DEMO_DIR, prepare_sample_repo
from agent.deps import Deps
from agent.models import ScriptedModel
from agent.nodes.index import index as index_node
from agent.nodes.localize import localize as localize_node
from agent.nodes.patch import patch as patch_node


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHWRIGHT_INDEX_CACHE", str(tmp_path / "index.sqlite"))
    repo = prepare_sample_repo(tmp_path)
    title, _, body = (DEMO_DIR / "issue.md").read_text().partition("\n")
    return {"workspace_dir": str(repo), "issue": {"title": title.lstrip("# "), "body": body}}


def _deps(tmp_path, window: int, replies=()) -> Deps:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    return Deps.create(Settings(home=tmp_path), run_dir,
                       model=ScriptedModel(list(replies), context_window=window), sandbox=object())


@pytest.mark.parametrize("window", [2048, 4096, 32768])
def test_prompt_shows_ranked_snippets_within_budget(tmp_path, state, window):
    deps = _deps(tmp_path, window, replies=["I cannot tell."] * 3)
    state.update(index_node(state, deps))
    assert state["index_stats"]["files_indexed"] >= 4 and state["index_stats"]["symbols"] > 0
    state.update(localize_node(state, deps))

    files = [f for f, _ in state["locations"]["files"]]
    assert files[0] == "textkit/numbers.py"
    assert state["locations"]["symbols"][0][:2] == ["textkit/numbers.py", "clamp"]
    code, budget = state["code_shown"], state["code_budget"]
    assert code.startswith("## textkit/numbers.py")
    assert "def clamp" in code and "| " in code  # numbered source lines
    assert deps.count_tokens(code) <= budget

    # The patch node's real prompt carries that code, and leaves room for the reply.
    state.update(attempt=0, attempts=[])
    patch_node(state, deps)
    prompt = "".join(m["content"] for m in deps.model.requests[0])
    assert code in prompt
    assert deps.count_tokens(prompt) + deps.settings.model.max_tokens <= window


def test_bigger_window_shows_more_code(tmp_path, state):
    small = localize_node(state, _deps(tmp_path, 2048))["code_shown"]
    large = localize_node(state, _deps(tmp_path, 32768))["code_shown"]
    assert len(large) >= len(small) and large.startswith(small.split("\n", 1)[0])
