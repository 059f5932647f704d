"""Backlog triage against the local GitHub: labels from a scripted model, duplicates, fixability
ranking, idempotent --apply (a second run writes nothing), and factors-only triage with the model down."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agent.app.jobs import JobStore
from agent.cli import app as cli
from agent.triage import run_triage
from tools.triage.backlog import MARKER
from tools.triage.labels import parse_label
from triage_support import backlog, replies_for, seeded_github, triage_settings, writes

DATA = backlog()
REPO = DATA["repo"]
ISSUES = DATA["issues"]
OPEN = [i for i in ISSUES if i["state"] == "open"]
TRUE_PAIRS = {tuple(sorted((i["number"], i["duplicate_of"]))) for i in ISSUES if i["duplicate_of"]}


@pytest.fixture
def gh(tmp_path):
    with seeded_github(tmp_path, ISSUES, REPO) as (fake, token):
        yield fake, token
        assert fake.violations == [], "requests that GitHub's OpenAPI description rejects"


def test_fixture_is_a_realistic_backlog():
    assert len(OPEN) >= 30 and len(TRUE_PAIRS) >= 4
    assert {i["expected_label"] for i in OPEN} == {"bug", "feature", "question", "docs"}
    assert sum("Traceback" in i["body"] for i in OPEN) >= 4


@pytest.mark.parametrize("reply,label", [("bug", "bug"), ("Label: Feature", "feature"), ("`docs`.", "docs"),
                                         ("**question**", "question"), ("bug, feature", None), ("enhancement", None),
                                         ("", None), ("This is a bug", None)])
def test_label_parsing_is_strict(reply, label):
    assert parse_label(reply) == label


def test_dry_run_labels_duplicates_rank_and_writes_nothing(gh, tmp_path, scripted_server):
    fake, token = gh
    model = scripted_server(replies_for(ISSUES))
    result = run_triage(triage_settings(tmp_path / "home", fake, token, model.base_url), REPO)
    assert result.model_note is None and model.remaining == 0
    labels = {r.number: r.label for r in result.rows}
    assert labels == {i["number"]: (None if i["number"] == 31 else i["expected_label"]) for i in OPEN}
    assert {tuple(sorted(p[:2])) for p in result.pairs} == TRUE_PAIRS
    assert writes(fake) == []
    scores = [r.score for r in result.rows]
    assert scores == sorted(scores, reverse=True)
    top = {r.number for r in result.rows[:8]}
    assert {1, 5, 10, 14} <= top  # reproductions with stack traces / code blocks rank first
    assert all(r.score < 0.5 for r in result.rows if r.label == "question")
    assert [r.number for r in result.rows if r.enqueue] == [r.number for r in result.rows[:3]]
    report = result.report_path.read_text()
    assert "#1 ~ #6" in report or "#6 ~ #1" in report
    assert "| 1 | #" in report and "Model part skipped" not in report


def test_apply_then_second_run_makes_zero_writes(gh, tmp_path, scripted_server):
    fake, token = gh
    settings = triage_settings(tmp_path / "home", fake, token, scripted_server(replies_for(ISSUES)).base_url)
    first = run_triage(settings, REPO, apply=True)
    issues = fake.world.repos[REPO].issues
    for i in OPEN:
        names = [x["name"] for x in issues[i["number"]]["labels"]]
        assert names == ([] if i["number"] == 31 else [i["expected_label"]])
    bot = [c for c in fake.world.comments.values() if MARKER in c["body"]]
    assert sorted(c["issue"] for c in bot) == sorted(i["number"] for i in OPEN)  # exactly one per open issue
    assert "possible duplicates: #1" in next(c["body"] for c in bot if c["issue"] == 6)
    assert first.writes == len(writes(fake)) == len(OPEN) * 2 - 1
    jobs = JobStore(settings.home_dir / "app" / "jobs.sqlite").jobs()
    assert sorted(j.number for j in jobs) == sorted(first.queued) and len(jobs) == settings.triage.top_k

    before = len(fake.requests)
    second = run_triage(settings.model_copy(update={"model": settings.model.model_copy(
        update={"base_url": scripted_server(replies_for(ISSUES)).base_url})}), REPO, apply=True)
    assert second.writes == 0 and second.queued == []
    assert writes(fake)[len(OPEN) * 2 - 1:] == [] and len(fake.requests) > before
    assert len(JobStore(settings.home_dir / "app" / "jobs.sqlite").jobs()) == len(jobs)

    issues[10]["body"] += "\n\nAlso fails for strip_accents('   ') in textkit/unicode.py."  # a change: one edit
    n = len(writes(fake))
    run_triage(settings.model_copy(update={"model": settings.model.model_copy(
        update={"base_url": scripted_server(replies_for(ISSUES)).base_url})}), REPO, apply=True)
    assert len(writes(fake)) - n <= 1 and all(w["method"] == "PATCH" for w in writes(fake)[n:])


def test_model_down_gives_factors_only_ranking(gh, tmp_path):
    fake, token = gh
    result = run_triage(triage_settings(tmp_path / "home", fake, token), REPO, apply=True)
    assert result.model_note and "model unavailable" in result.model_note
    assert all(r.label is None for r in result.rows) and len(result.rows) == len(OPEN)
    assert {1, 5, 14} <= {r.number for r in result.rows[:8]}
    assert "Model part skipped" in result.report_path.read_text()
    assert all(i["labels"] == [] for i in fake.world.repos[REPO].issues.values())
    assert "model unavailable" in fake.world.comments[min(fake.world.comments)]["body"]


def test_cli_dry_run_with_model_down_exits_zero(gh, tmp_path, monkeypatch):
    fake, token = gh
    for k, v in {"PATCHWRIGHT_HOME": str(tmp_path / "home"), "PATCHWRIGHT_MODEL__BASE_URL": "http://127.0.0.1:9/v1",
                 "PATCHWRIGHT_MODEL__MAX_RETRIES": "0", "PATCHWRIGHT_GITHUB__API_URL": fake.api_url,
                 "GITHUB_TOKEN": token}.items():
        monkeypatch.setenv(k, v)
    out = CliRunner().invoke(cli, ["triage", REPO, "--limit", "10"])
    assert out.exit_code == 0, out.output
    assert "model part skipped" in out.output and "dry run" in out.output
    assert writes(fake) == []
    assert (tmp_path / "home" / "triage" / f"{REPO.replace('/', '+')}.md").is_file()


def test_report_shows_a_strangers_title_inert():
    from tools.triage.fixability import WEIGHTS
    from tools.triage.report import Result, Row, markdown

    title = "@octocat fixes #12 | see [here](https://evil.example/x) <img src=x>"
    row = Row(7, title, "bug", 0.5, {k: 0.0 for k in WEIGHTS})
    line = next(ln for ln in markdown(Result("o/r", [row], [])).splitlines() if ln.startswith("| 1 |"))
    header = next(ln for ln in markdown(Result("o/r", [row], [])).splitlines() if ln.startswith("| rank |"))
    assert "@octocat" not in line and "#12" not in line and "<img" not in line and "[here](" not in line
    assert line.replace("\\|", "").count("|") == header.count("|")  # the title's | opens no cell
    assert "octocat" in line and "evil.example" in line  # still readable
