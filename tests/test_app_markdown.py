"""Text the model or the issue wrote, as GitHub readers see it: rendered by a CommonMark renderer
(markdown-it, tables on, raw HTML allowed as GitHub allows it), it shows the words and nothing
live. Then the same through a real pull request opened on the local GitHub."""
from __future__ import annotations

import html
import json
import re
import subprocess
from types import SimpleNamespace

import pytest
from markdown_it import MarkdownIt

from agent.app.publish import publish
from agent.trajectory import Trajectory
from app_support import APP_ID, REPO, app_key, github  # noqa: F401 - github is a fixture
from tools.forge import markdown as md
from tools.forge.api import installation_forge

INERT = {"p", "code", "blockquote", "em", "strong", "br"}  # tags that can carry no link, image or script


def render(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown)


def tags(rendered: str) -> set[str]:
    return {t.lower() for t in re.findall(r"</?([A-Za-z][\w-]*)", rendered)}


def visible(rendered: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u200b", "").split())


ATTACKS = [
    "![x](http://evil/p.png)",
    "<img src=x onerror=alert(1)>",
    "[click me](javascript:alert(1))",
    "<https://evil.example/login>",
    "<script>alert(1)</script>",
    "<details><summary>tests pass</summary>hidden</details>",
    "[ref]\n\n[ref]: http://evil/track.png",
    "![tracker][t]\n\n[t]: http://evil/p.png",
    "```\n</code></pre><img src=x>\n```",
    "~~~\n<img src=x>\n~~~",
    "a | b\n---|---\n<img src=x> | c",
    "# All tests pass\nSetext\n===",
    "- [x] reviewed by a maintainer",
    "&lt;img src=x&gt; and &#60;b&#62;",
    "\\<img src=x>",
    "> quoted\n>> deeper",
    "$\\href{http://evil}{x}$",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_untrusted_text_renders_as_its_words_and_nothing_live(attack):
    out = render(md.text(attack))
    assert tags(out) <= INERT, out
    assert "<img" not in out and "<a " not in out
    assert visible(out) == " ".join(attack.split()), out  # the reader sees exactly what was written


def test_a_code_span_cannot_be_split_into_table_cells():
    out = render(md.text("`x | <img src=y>` | z\n|---|---|"))  # GitHub splits table cells even inside code
    assert "<table" not in out and "<img" not in out and "<code>x | &lt;img src=y&gt;</code>" in out


def test_urls_and_references_are_shown_not_followed():
    out = render(md.text("see http://evil.example/x.png, www.evil.example and https://github.com/o/r/issues/9. "
                         "Fixes #12, GH-3, thanks @octocat (mail me@evil.example)"))
    assert "<code>http://evil.example/x.png</code>" in out and "<code>www.evil.example</code>" in out
    assert "<code>https://github.com/o/r/issues/9</code>" in out  # "fixes URL" would close that issue
    for ref in ("#\u200b12", "GH-\u200b3", "@\u200boctocat", "me@\u200bevil"):
        assert ref in out


def test_the_writers_code_spans_stay_code():
    out = render(md.text("use `split()` not `split(\" \")`; ``a`b`` too"))
    assert "<code>split()</code>" in out and "<code>split(&quot; &quot;)</code>" in out and "<code>a`b</code>" in out


@pytest.mark.parametrize("value", ["plain", "a`b", "``x``", "`", " lead", "pipe | inside", "<img src=x>"])
def test_code_span_holds_any_text(value):
    out = render(md.code(value))
    assert out == f"<p><code>{html.escape(value, quote=True).replace('&#x27;', chr(39))}</code></p>\n", out


def test_code_span_in_a_table_cell_keeps_the_row_whole():
    out = render("| test | result |\n|---|---|\n| " + md.code("test_x[a|b]", table=True) + " | passed |")
    assert out.count("<td>") == 2 and "<code>test_x[a|b]</code>" in out


def test_fence_cannot_be_closed_from_inside():
    diff = "+ a\n```\n+ <img src=x>\n````` \n+ b"
    out = render(md.fence(diff, "diff") + "\n\n## after")
    assert out.count("<pre>") == 1 and "<img" not in out and "<h2>after</h2>" in out
    assert html.unescape(re.search(r"<code[^>]*>(.*?)</code>", out, re.DOTALL).group(1)) == diff + "\n"


EVIL = "![x](http://evil/p.png) The bound was wrong <img src=x onerror=alert(1)> [docs](http://evil/d)"


def test_pull_request_body_shows_the_models_images_and_html_as_text(tmp_path, github):
    """A fixed run whose model reply carries an image, raw HTML and a link, published to the local
    GitHub by the App's own publish(): the PR body, rendered, shows them as text."""
    seed = tmp_path / "seed"  # the fixture's source of the repository: the workspace of the run
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=seed, capture_output=True, text=True, check=True).stdout.strip()
    source = (seed / "textkit" / "numbers.py").read_text()
    (seed / "textkit" / "numbers.py").write_text(source.replace("min(value, low)", "min(value, high)"))
    patch = subprocess.run(["git", "diff"], cwd=seed, capture_output=True, text=True, check=True).stdout
    subprocess.run(["git", "checkout", "--", "."], cwd=seed, check=True)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "patch.diff").write_text(patch)
    (run_dir / "report.json").write_text(json.dumps({
        "reason": "1 test(s) failed before the patch and pass after it <b>", "files_changed": ["textkit/numbers.py"],
        "tests": {"fail_to_pass": ["tests/test_numbers.py::test_clamp"]}, "usage": {"calls": 1}}))
    (run_dir / "evidence.json").write_text(json.dumps({"tests_before": {"tests/test_numbers.py::test_clamp": "failed"},
                                                       "tests_after": {"tests/test_numbers.py::test_clamp": "passed"}}))
    reply = f"{EVIL}\n\ntextkit/numbers.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n"
    Trajectory(run_dir / "trajectory.jsonl").add("model", node="patch", reply=reply)
    forge = installation_forge(github.api_url, APP_ID, app_key()[0], REPO)
    result = SimpleNamespace(run_dir=run_dir, run_id="run-1", state={"workspace_dir": str(seed), "base_commit": base})
    url = publish(forge, 1, forge.issue(1), result, draft=True, test_command="pytest -q")

    [pr] = github.world.repos[REPO].pulls.values()
    assert url.endswith(f"/pull/{pr['number']}")
    body = pr["body"]
    out = render(body)
    assert "The bound was wrong" in out  # the model's explanation is there...
    assert "<img" not in out and 'href="http://evil' not in out and "<b>" not in out  # ...as text only
    assert "&lt;img src=x onerror=alert(1)&gt;" in out and "<code>http://evil/p.png</code>" in out
    assert "<h2>Summary</h2>" in out and "<td><code>tests/test_numbers.py::test_clamp</code></td>" in out  # our markup stays


def test_an_agent_runs_pull_request_quotes_the_chosen_agents_submit_summary(tmp_path):
    """Agent mode has no prose before an edit block: the explanation is what the chosen agent told submit."""
    from agent.app.publish import explanation

    trajectory = Trajectory(tmp_path / "trajectory.jsonl")
    trajectory.add("agent_step", node="agent", agent=1, tool="submit", extra={"summary": "agent one's words"})
    trajectory.add("agent_step", node="agent", agent=2, tool="submit", extra={"summary": "the bound was wrong"})
    trajectory.add("agent_step", node="agent", agent=2, tool="view", extra={"summary": "not a submit"})
    assert explanation(tmp_path, agent=2) == "the bound was wrong"
    assert explanation(tmp_path, agent=1) == "agent one's words"
    trajectory.add("agent_step", node="agent", agent=3, tool="submit", extra={})
    assert explanation(tmp_path, agent=3) == ""  # submitted without a summary, and no patch reply
