"""The App's web page as a person sees it: the job list and a run's diff, test evidence and
trajectory, fetched as HTML and rendered by headless Chromium into a screenshot that is inspected."""
from __future__ import annotations

import http.client
import json
import shutil
from urllib.parse import urlsplit

import pytest
import requests

from agent.app.server import BackgroundServer
from agent.app.webhook import create_app, store_for
from agent.report import write_report
from agent.trajectory import Trajectory
from app_support import github, settings_for  # noqa: F401 - fixture
from chromium_support import screenshot, share

BUG_TEST = "tests/test_words.py::test_word_count_ignores_repeated_whitespace"
DIFF = """diff --git a/textkit/words.py b/textkit/words.py
--- a/textkit/words.py
+++ b/textkit/words.py
@@ -3,7 +3,7 @@
 def word_count(text):
-    return len(text.split(" "))
+    return len(text.split())
"""


def _fixed_run(runs_dir, run_id: str) -> None:
    """A finished run directory, laid out as the runner leaves it."""
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"run_id": run_id, "request": {}}))
    trajectory = Trajectory(run_dir / "trajectory.jsonl")
    for node in ("ingest", "workspace", "index", "localize", "patch"):
        trajectory.add("node", node=node, seconds=0.1, exit_status="running")
    trajectory.add("model", node="patch", reply="split on any whitespace", prompt_tokens=900, completion_tokens=40, seconds=1.5)
    trajectory.add("agent_step", node="agent", attempt=1, step=1, agent=1, tool="view", ok=True,
                   arguments={"path": "textkit/words.py"}, observation="1 | def word_count(text):<script>x</script>",
                   prompt_tokens=700, completion_tokens=12)
    trajectory.add("agent_step", node="agent", attempt=1, step=2, agent=1, tool=None,
                   format_error="no ```tool block in the reply", prompt_tokens=720, completion_tokens=30)
    trajectory.add("candidate", node="verify", attempt=1, index=1, chosen=True, diff_lines=2, votes=1,
                   regressions=[], reproduction="passed")
    trajectory.add("tests", node="verify", phase="attempt-1", exit_code=0, timed_out=False, seconds=2.0)
    before = {BUG_TEST: "failed", "tests/test_words.py::test_word_count_simple": "passed"}
    after = {BUG_TEST: "passed", "tests/test_words.py::test_word_count_simple": "passed"}
    evidence = {"fail_to_pass": [BUG_TEST], "pass_to_fail": [], "still_failing": [], "passed_after": sorted(after)}
    (run_dir / "patch.diff").write_text(DIFF)
    (run_dir / "evidence.json").write_text(json.dumps({"tests_before": before, "tests_after": after, **evidence}))
    state = {"run_id": run_id, "exit_status": "fixed", "reason": "1 test(s) failed before the patch and pass after it",
             "issue": {"id": "Codertocat/Hello-World#1", "title": "word_count miscounts"}, "base_commit": "b93095f",
             "diff": DIFF, "evidence": evidence, "test_exit_code": 0, "attempts": [{"attempt": 1, "outcome": "tests_passed"}]}
    write_report(run_dir, state, trajectory)


@pytest.fixture
def site(tmp_path, github):
    settings = settings_for(tmp_path / "home", github)
    store = store_for(settings)
    _fixed_run(settings.runs_dir, "run-fixed")
    for number, state, reason, run_id in [(1, "done", "1 test(s) failed before the patch and pass after it", "run-fixed"),
                                          (2, "failed", "gave up after 3 attempt(s)", None),
                                          (3, "refused", "octo-reader has no write permission", None)]:
        job_id, _ = store.add_trigger(f"d{number}", "issues", "Codertocat/Hello-World", number, 1, "Codertocat", "label")
        store.update(job_id, state=state, status=state, reason=reason, run_id=run_id,
                     pr_url="https://github.com/Codertocat/Hello-World/pull/9" if run_id else None)
    with BackgroundServer(create_app(settings)) as server:
        yield server.url, tmp_path, settings


def test_job_list_shows_every_job_with_its_status(site):
    url, tmp_path, _ = site
    html = requests.get(url + "/", timeout=5).text
    for text in ("Codertocat/Hello-World#1", "Codertocat/Hello-World#2", "Codertocat/Hello-World#3",
                 "gave up after 3 attempt(s)", "octo-reader has no write permission", 'href="/runs/run-fixed"',
                 "https://github.com/Codertocat/Hello-World/pull/9"):
        assert text in html
    shot = screenshot(url + "/", tmp_path, "index")
    assert share(shot, "#24292f") > 0.03       # the header bar
    assert share(shot, "#1a7f37") > 0.0005     # the green "done" badge
    assert share(shot, "#cf222e") > 0.0005     # the red "failed" badge
    assert share(shot, "#bc4c00") > 0.0005     # the orange "refused" badge


def test_run_page_shows_diff_evidence_and_trajectory(site):
    url, tmp_path, _ = site
    html = requests.get(url + "/runs/run-fixed", timeout=5).text
    assert '<span class="del">-    return len(text.split(&#34; &#34;))</span>' in html
    assert '<span class="add">+    return len(text.split())</span>' in html
    assert f"<b>{BUG_TEST}</b> (fails before, passes after)" in html
    assert "900 + 40 tokens" in html and "attempt-1: exit 0" in html
    # Agent mode's steps and the candidates, the model's words escaped.
    assert "step 1: <code>view</code>, 700 + 12 tokens" in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "malformed reply: no ```tool block in the reply" in html
    assert "candidate 1 (chosen): 2 changed lines, 1 vote(s), 0 regression(s), reproduction passed" in html
    shot = screenshot(url + "/runs/run-fixed", tmp_path, "run")
    assert shot.size == (1280, 900)
    assert share(shot, "#ccffd8") > 0.005      # the added line, green
    assert share(shot, "#ffd7d5") > 0.005      # the removed line, red
    assert share(shot, "#1a7f37") > 0.001      # "fixed" badge and passing results
    assert share(shot, "#f6f8fa") < 0.9        # not a blank page


def test_unknown_or_crafted_run_ids_are_404(site):
    url, _, _ = site
    assert requests.get(url + "/runs/no-such-run", timeout=5).status_code == 404
    assert requests.get(url + "/runs/..%2F..%2Fetc", timeout=5).status_code == 404


def _raw_get(url: str, path: str) -> tuple[int, str]:
    """GET `path` exactly as written: requests would resolve the dot segments before sending."""
    address = urlsplit(url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    status, body = response.status, response.read().decode()
    conn.close()
    return status, body


def test_dot_run_ids_do_not_reach_the_directory_above_the_runs(site):
    url, tmp_path, settings = site
    # The home directory above runs/ laid out like a run (as the page would then show it), and runs/ itself.
    _fixed_run(tmp_path / "elsewhere", "run")
    shutil.copytree(tmp_path / "elsewhere" / "run", settings.runs_dir.parent, dirs_exist_ok=True)
    (settings.runs_dir / "run.json").write_text("{}")
    for path in ("/runs/..", "/runs/%2e%2e", "/runs/%2E%2E", "/runs/.", "/runs/%2e", "/runs/...",
                 "/runs/..%2f..", "/runs/%2e%2e%5c"):
        status, body = _raw_get(url, path)
        assert status in (400, 404), (path, status)
        assert "return len" not in body and "tokens" not in body, path


def test_every_response_carries_security_headers(site):
    url, _, _ = site
    for method, path in [("GET", "/"), ("GET", "/runs/run-fixed"), ("GET", "/runs/no-such-run"),
                         ("GET", "/api/jobs"), ("GET", "/healthz"), ("POST", "/webhook")]:
        r = requests.request(method, url + path, timeout=5)
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        policy = dict(p.strip().split(" ", 1) for p in r.headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'", path
        assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"] and "script-src" not in policy
