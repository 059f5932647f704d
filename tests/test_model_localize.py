"""The optional second localization stage: the model picks files, then functions, from the
retriever's candidates, and the prompt's code follows its picks."""
from __future__ import annotations

from agent.config import RunConfig, Settings
from agent.deps import Deps
from agent.models import ScriptedModel
from agent.nodes.localize import localize
from tools.index import build_index
from tools.localize import localize as rank
from tools.localize.rerank import merge, pick_files, pick_symbols

REPO = {
    "pkg/__init__.py": "",
    "pkg/report.py": '"""Report totals: the report sums invoice totals and prints the totals report."""\n\n\n'
                     "def report_totals(invoices):\n    \"\"\"Totals of the report.\"\"\"\n"
                     "    totals = sum(i.total for i in invoices)\n    return f'report totals {totals}'\n",
    "pkg/money.py": "def round_cents(amount):\n    return int(amount * 100) / 100\n\n\n"
                    "def to_text(amount):\n    return str(amount)\n",
}
ISSUE = "Report totals are a cent off\n\nThe report totals are a cent lower than the invoice totals in the report."


def _repo(tmp_path):
    for rel, text in REPO.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def _run(tmp_path, replies, **run):
    repo = _repo(tmp_path / "repo")
    model = ScriptedModel(replies)
    settings = Settings(home=tmp_path / "home", run=RunConfig(model_localize=True, **run))
    deps = Deps.create(settings, tmp_path / "run", model=model, sandbox=object())
    out = localize({"issue": {"title": "", "body": ISSUE}, "workspace_dir": str(repo)}, deps)
    return out, deps, model


def test_model_picks_reorder_the_files_and_the_prompt_code(tmp_path):
    before = rank(build_index(_repo(tmp_path / "plain"), cache=None), ISSUE)
    assert before.files[0][0] == "pkg/report.py"   # the words point at the report
    out, deps, model = _run(tmp_path, ["pkg/money.py", "round_cents"])
    assert out["model_picks"] == {"files": ["pkg/money.py"], "symbols": [["pkg/money.py", "round_cents"]]}
    assert out["locations"]["files"][0][0] == "pkg/money.py"
    assert out["locations"]["symbols"][0][:2] == ["pkg/money.py", "round_cents"]
    assert out["code_shown"].index("## pkg/money.py") < out["code_shown"].index("## pkg/report.py")
    calls = deps.trajectory.events("model")
    assert [c["node"] for c in calls] == ["localize", "localize"]
    assert "1. pkg/report.py" in calls[0]["request"][0]["content"]      # the candidate list
    assert "def round_cents(amount):" in calls[1]["request"][0]["content"]  # the picked file's outline


def test_a_reply_naming_no_candidate_keeps_the_retriever_ranking(tmp_path):
    out, deps, _ = _run(tmp_path, ["I think the bug is somewhere in the billing module."])
    assert out["locations"]["files"][0][0] == "pkg/report.py"
    assert out["model_picks"]["files"] == [] and "no candidate" in out["model_picks"]["note"]
    assert len(deps.trajectory.events("model")) == 1


def test_pick_files_reads_paths_and_list_numbers_but_not_suffixes():
    cands = ["src/a/util.py", "util.py", "src/b.py"]
    assert pick_files("src/b.py\nsrc/a/util.py", cands) == ["src/b.py", "src/a/util.py"]
    assert pick_files("2.\n3.", cands) == ["util.py", "src/b.py"]
    assert pick_files("edit src/a/util.py", cands) == ["src/a/util.py"]   # not util.py as well


def test_merge_puts_the_model_pick_first_and_keeps_the_rest(tmp_path):
    index = build_index(_repo(tmp_path), cache=None)
    loc = rank(index, ISSUE)
    shown = [s for s in index.symbols() if s.path == "pkg/money.py"]
    picked = pick_symbols("money.round_cents? no: `round_cents`", shown)
    merged = merge(loc, ["pkg/money.py"], picked)
    assert [p for p, _ in merged.files][:2] == ["pkg/money.py", "pkg/report.py"]
    assert merged.symbols[0][0].qualname == "round_cents"
