"""A measurement spread over sessions continues on a new machine from the ledger in the checkout."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.swebench.run import done_ids

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not an installed package
from benchmarks import ledger  # noqa: E402


def _run_dir(out, run_id, iid, report):
    run = out / run_id
    inst = run / "runs" / iid
    inst.mkdir(parents=True)
    (inst / "report.json").write_text(json.dumps(report))
    (run / "predictions.jsonl").write_text(json.dumps(
        {"instance_id": iid, "model_name_or_path": "m", "model_patch": "diff"}) + "\n")
    (run / "summary.json").write_text(json.dumps({"run_id": run_id, "instances": {
        iid: {"status": "fixed", "seconds": 12.0, "run_dir": str(inst)}}}))
    grade = out / "logs" / "run_evaluation" / run_id / "m" / iid
    grade.mkdir(parents=True)
    (grade / "outcome.json").write_text(json.dumps({"status": "graded", "resolved": True}))
    (grade / "test_output.txt").write_text("repository output, not kept")


def test_a_new_machine_resumes_from_the_ledger(tmp_path):
    old, new, book = tmp_path / "old", tmp_path / "new", tmp_path / "ledger"
    report = {"status": "fixed", "attempts": [{"edit_format": "search_replace", "outcome": "applied"},
                                              {"edit_format": "search_replace", "outcome": "patch_failed",
                                               "problem": "did you mean:\n 72 | their_code()"}],
              "agent": {"ended": "submit", "steps": [{"observation": "code of theirs"}], "tool_calls": 1}}
    _run_dir(old, "r", "a__b-1", report)
    ledger.save(book, old, "r")
    ledger.save_grades(book, old, "r")

    assert ledger.restore(book, new, "r") == 1
    ledger.restore_grades(book, new, "r")
    assert done_ids(new / "r" / "predictions.jsonl") == {"a__b-1"}  # not run again
    assert json.loads((new / "r" / "summary.json").read_text())["instances"]["a__b-1"]["seconds"] == 12.0
    graded = new / "logs" / "run_evaluation" / "r" / "m" / "a__b-1"
    assert json.loads((graded / "outcome.json").read_text())["resolved"] is True  # not graded again
    assert not (graded / "test_output.txt").exists()
    kept = ledger.report(book, "r", "a__b-1")
    assert [a["outcome"] for a in kept["attempts"]] == ["applied", "patch_failed"]
    assert kept["attempts"][1]["problem"] is True  # that there was one, not the file's lines it quoted
    assert kept["agent"]["steps"] == 1
    assert "code of theirs" not in json.dumps(kept) and "their_code" not in json.dumps(kept)


def test_restore_keeps_what_this_machine_already_has(tmp_path):
    old, book = tmp_path / "old", tmp_path / "ledger"
    _run_dir(old, "r", "a__b-1", {"status": "fixed"})
    ledger.save(book, old, "r")
    new = tmp_path / "new"
    _run_dir(new, "r", "c__d-2", {"status": "unfixed"})
    assert ledger.restore(book, new, "r") == 2
    assert done_ids(new / "r" / "predictions.jsonl") == {"a__b-1", "c__d-2"}


def test_the_ledger_refuses_another_commit(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    ledger.pin(tmp_path / "book", repo, {"limit": 600})
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "two"], check=True)
    with pytest.raises(SystemExit, match="measures commit"):
        ledger.pin(tmp_path / "book", repo, {"limit": 600})
    with pytest.raises(SystemExit, match="measured with"):
        ledger.pin(tmp_path / "book", repo, {"limit": 300}, allow_other_commit=True)


def test_a_partial_measurement_grades_only_what_every_run_finished(tmp_path):
    # Panel of three: run a finished two, run b one of them; the third is not run yet, and grading
    # it would count it as an error of both runs.
    _run_dir(tmp_path, "a", "x__y-1", {"status": "fixed"})
    _run_dir(tmp_path, "b", "x__y-1", {"status": "fixed"})
    summary = tmp_path / "a" / "summary.json"
    data = json.loads(summary.read_text())
    data["instances"]["x__y-2"] = {"status": "unfixed", "seconds": 3.0}
    summary.write_text(json.dumps(data))

    assert ledger.finished(tmp_path, ["x__y-2", "x__y-1", "x__y-3"], "a", "b") == ["x__y-1"]
    assert ledger.finished(tmp_path, ["x__y-2", "x__y-1"], "a") == ["x__y-2", "x__y-1"]
    assert ledger.finished(tmp_path, ["x__y-1"], "a", "never-run") == []


THEIRS = ["import os\n", "\n", "def area(w, h):\n", "    return w + h\n", "\n", "def name():\n", "    return 'x'"]


def _mirror(tmp_path):
    """A bare mirror with one commit (a CRLF file among them), and the dataset row naming it."""
    work, bare = tmp_path / "work", tmp_path / "mirrors" / "acme+geo"
    work.mkdir()
    (work / "geo.py").write_text("".join(THEIRS))
    (work / "dos.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    (work / "old.py").write_text("gone = True\n")
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    base = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    dataset = tmp_path / "dataset.jsonl"
    dataset.write_text(json.dumps({"instance_id": "acme__geo-1", "repo": "acme/geo", "base_commit": base}) + "\n")
    return work, dataset, tmp_path / "mirrors"


def _model_patch(work):
    (work / "geo.py").write_text("".join(THEIRS).replace("w + h", "w * h") + "\n")  # also a final newline
    (work / "dos.txt").write_bytes(b"one\r\n2\r\nthree\r\n")
    (work / "old.py").unlink()
    (work / "new.py").write_text("made = 'by the model'\n")
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    return subprocess.run(["git", "-C", str(work), "diff", "--cached"], capture_output=True).stdout.decode()


def test_a_patch_is_kept_without_the_repositorys_lines_and_rebuilt_from_the_mirror(tmp_path):
    work, dataset, mirrors = _mirror(tmp_path)
    patch = _model_patch(work)
    old, new, book = tmp_path / "old", tmp_path / "new", tmp_path / "ledger"
    _run_dir(old, "r", "acme__geo-1", {"status": "fixed"})
    (old / "r" / "predictions.jsonl").write_text(json.dumps(
        {"instance_id": "acme__geo-1", "model_name_or_path": "m", "model_patch": patch}) + "\n")
    ledger.save(book, old, "r")

    kept = (book / "r" / "predictions.jsonl").read_text()
    assert "def area" not in kept and "import os" not in kept and "gone = True" not in kept  # theirs: cut
    assert "w * h" in kept and "by the model" in kept  # the model's own lines stay readable
    with pytest.raises(SystemExit, match="needs the dataset and mirrors"):
        ledger.restore(book, new, "r")
    assert ledger.restore(book, new, "r", ledger.mirror_files(dataset, mirrors)) == 1
    [line] = (new / "r" / "predictions.jsonl").read_text().splitlines()
    assert json.loads(line)["model_patch"] == patch  # byte for byte, CRLF lines included

    # A mirror whose file is not the one measured: refused, not rebuilt into another patch.
    (book / "r" / "predictions.jsonl").write_text(kept.replace('"patch_sha256": "', '"patch_sha256": "0'))
    with pytest.raises(SystemExit, match="differs from the one measured"):
        ledger.restore(book, tmp_path / "third", "r", ledger.mirror_files(dataset, mirrors))


def test_skeletons_of_zero_context_hunks_and_a_missing_final_newline():
    from benchmarks import skeleton

    old = "a\nb\nc"
    patch = ("diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,0 +2 @@\n+inserted after a\n"
             "@@ -3 +4 @@\n-c\n\\ No newline at end of file\n+c\n")
    cut = skeleton.strip(patch)
    assert "\n-\n" in cut and "-c" not in cut and "+inserted after a" in cut
    assert skeleton.rebuild(cut, lambda path: old) == patch


@pytest.mark.parametrize("attributes", ["", "*.py diff=python\n"])
def test_hunk_headers_lose_the_function_text_git_put_there_and_get_it_back(tmp_path, attributes):
    from benchmarks import skeleton

    # Hunks under a top-level class, under an indented method (found by the python driver only),
    # one with no definition between it and the previous hunk (git repeats the previous text), and
    # a definition line longer than git's 80 bytes.
    long_name = "def " + "a_rather_long_function_name_" * 4 + "(x):"
    body = [f"    v{i} = {i}" for i in range(12)]
    old = "\n".join(["import os", "", "class Shape:", "    def area(self):", *body, "", "    def edge(self):",
                     *body, *body, "", long_name, *body, ""])
    work = tmp_path / "w"
    work.mkdir()
    (work / "geo.py").write_text(old)
    if attributes:
        (work / ".gitattributes").write_text(attributes)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    new = old.replace("    v6 = 6", "    v6 = 'six'").replace("    v11 = 11\n\n" + long_name, "    v11 = 11\n\n" + long_name + "\n    w = 0")
    (work / "geo.py").write_text(new)
    patch = subprocess.run([*git, "diff"], capture_output=True, check=True).stdout.decode()
    headers = [line for line in patch.splitlines() if line.startswith("@@")]
    assert len(headers) >= 4 and all(not h.endswith("@@") for h in headers)  # git named a function each time
    assert any(h.endswith("@@ def edge(self):") for h in headers) == bool(attributes)  # the driver's rule
    cut = skeleton.strip(patch, lambda path: old)
    assert "class Shape" not in cut and "def " not in cut and "a_rather_long" not in cut
    assert cut.count("<git funcname: ") == len(headers)
    assert skeleton.rebuild(cut, lambda path: old) == patch
    assert skeleton.strip(patch).count("<git funcname") == 0  # without the old file the text stays
