"""`patchwright swebench compare`: two graded runs side by side, as a researcher reads them in the
terminal and in the HTML report (rendered by headless Chromium), and the refusals that name the run.

The fixture (tests/fixtures/compare/out) is an output root with runs run-a and run-b over 8 instances
of 3 repositories; their reports were written by build_report. run-a resolves 5, run-b 1 (also one
run-a resolves); sympy__sympy-3001 needs the internet in run-a, so the pair has 7 instances:
both 1, only run-a 4, only run-b 0, neither 2, and the exact McNemar p is 2 * 0.5**4 = 0.125."""
from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.config import Price
from agent.swebench.cli import swebench_app
from agent.swebench.compare import mcnemar_exact, outcome, pair, run_row
from agent.swebench.dataset import Predictions, file_digest
from agent.swebench.graded_runs import load_run
from agent.swebench.report import build_report
from chromium_support import dump_dom, screenshot, share

FIXTURE = Path(__file__).parent / "fixtures" / "compare"
MODEL_A = "patchwright__qwen2.5-coder-32b"
ONLY_A = ["pallets__flask-2001", "pallets__flask-2002", "psf__requests-1002", "psf__requests-1003"]
CHARTS = ("chart-resolved", "chart-efficiency", "chart-matrix", "chart-repos")


@pytest.fixture
def out(tmp_path, monkeypatch):
    monkeypatch.delenv("PATCHWRIGHT_CONFIG", raising=False)  # load_settings sets it; keep tests apart
    root = tmp_path / "out"
    shutil.copytree(FIXTURE / "out", root)
    return root


@pytest.fixture
def priced(tmp_path, monkeypatch):
    config = tmp_path / "patchwright.toml"
    config.write_text(f'[compare.prices."{MODEL_A}"]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n')
    monkeypatch.setenv("PATCHWRIGHT_CONFIG", str(config))  # restored after the test
    return config


def compare(out: Path, *args: str):
    return CliRunner().invoke(swebench_app, ["compare", *args, "--out", str(out)], env={"COLUMNS": "250"})


def run_columns(output: str) -> dict[str, list[str]]:
    """The terminal's runs table (runs as columns, one row per figure): the header line's run
    labels, then each figure's row, as {"run": labels, figure: values}; cells are 2+ spaces apart."""
    lines = output.split("outcomes", 1)[0].split("paired", 1)[0].splitlines()
    rule = next(i for i, line in enumerate(lines) if line.strip().startswith("───"))
    table = {"run": re.split(r"\s{2,}", lines[rule - 1].strip())}
    for line in lines[rule + 1:]:
        if line.strip():
            header, *values = re.split(r"\s{2,}", line.strip())
            table[header] = values
    return table


def pair_rows(output: str, first: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in output.split("paired", 1)[1].splitlines()
            if line.lstrip().startswith(f"{first} ") and " vs " not in line]


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def report_of(out: Path, run_id: str) -> Path:
    return out / "logs" / "run_evaluation" / run_id / "report.json"


def html_of(out: Path) -> Path:
    return out / "compare" / "run-a__vs__run-b.html"


def test_compare_prints_the_runs_the_pair_and_its_p_value_and_writes_the_html(out, priced):
    result = compare(out, "run-a", "run-b", "--config", str(priced))
    assert result.exit_code == 0, result.output
    runs = run_columns(result.output)
    figures = ["model", "scaffold", "resolved", "offline-gradable", "instances", "empty patches", "errors", "tokens in",
               "tokens out", "model seconds", "wall seconds", "cost"]
    assert runs["run"] == ["run-a", "run-b"]
    assert [runs[f][0] for f in figures] == [MODEL_A, "patchwright", "5", "6", "8", "1", "0", "80,000", "4,000", "240",
                                             "320", "$0.088"]
    assert [runs[f][1] for f in figures] == ["mini-swe-agent__qwen2.5-coder-32b", "mini-swe-agent 2.4.6", "1", "7", "8",
                                             "1", "1", "160,000", "8,000", "n/a", "200", "—"]
    assert pair_rows(result.output, "run-a") == [["run-a", "run-b", "7", "1", "1", "4", "0", "2", "0.125"]]
    assert f"resolved by run-a alone (4): {', '.join(ONLY_A)}" in result.output
    assert "resolved by run-b alone (0): -" in result.output
    assert "0 graded by one run only (left out of the pairs)" in " ".join(result.output.split())
    assert f"html: {html_of(out)}" in result.output and html_of(out).is_file()


def test_paired_numbers():
    a, b = load_run("run-a", FIXTURE / "out"), load_run("run-b", FIXTURE / "out")
    p = pair(a, b)
    assert (p.paired, p.both, p.only_a, p.only_b, p.neither) == (7, 1, 4, 0, 2)
    assert p.only_a_ids == ONLY_A and p.only_b_ids == []
    assert p.excluded_ids == ["sympy__sympy-3001"] and p.unshared == 0
    assert p.p_value == pytest.approx(0.125)
    assert pair(b, a).only_b_ids == ONLY_A and pair(b, a).p_value == pytest.approx(0.125)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(3, 1) == pytest.approx(0.625)  # (1+4+4+1)/16
    assert [outcome(b, i) for i in ("psf__requests-1001", "psf__requests-1003", "pallets__flask-2001",
                                    "pallets__flask-2002")] == ["resolved", "empty", "error", "unresolved"]
    assert outcome(a, "sympy__sympy-3001") == "offline" and outcome(a, "nope__nope-1") == "absent"
    row = run_row(a, {MODEL_A: Price(input_per_mtok=1.0, output_per_mtok=2.0)})
    assert (row.tokens_in, row.tokens_out, row.model_seconds, row.wall_seconds) == (80000, 4000, 240, 320)
    assert row.cost == pytest.approx(0.088)
    assert run_row(b, {}).cost is None and run_row(b, {}).model_seconds is None


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.refs = [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.add(value)
            if name in ("href", "src", "xlink:href", "action", "data", "poster"):
                self.refs.append((name, value))


def test_html_is_self_contained_and_escapes_what_the_runs_say(out):
    edit_json(report_of(out, "run-b"), lambda r: r["errors"].update({"pallets__flask-2001": "<b onclick=x>bad</b>"}))
    preds = out / "run-b" / "predictions.jsonl"
    preds.write_text(preds.read_text().replace("mini-swe-agent__qwen2.5-coder-32b", "mini<img src=x>"))
    assert compare(out, "run-a", "run-b").exit_code == 0
    text = html_of(out).read_text()
    assert "http://" not in text and "https://" not in text
    assert re.findall(r"url\((?!#)", text) == []  # CSS and SVG refer only to the page's own elements
    links = Links()
    links.feed(text)
    assert "script" not in links.tags and "img" not in links.tags and "iframe" not in links.tags
    assert all(name in ("href", "xlink:href") for name, _ in links.refs)
    anchors = [v[1:] for _, v in links.refs if v.startswith("#")]
    assert "diff-run-b-pallets__flask-2002" in anchors and set(anchors) <= links.ids  # every in-page link lands
    files = [v for _, v in links.refs if not v.startswith("#")]
    assert sorted(files) == ["../run-a/runs/psf__requests-1002/trajectory.jsonl",
                             "../run-a/trajectories/psf__requests-1001.traj.json",
                             "../run-b/trajectories/psf__requests-1001.traj.json"]
    assert all((html_of(out).parent / f).is_file() for f in files)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text
    assert "mini&lt;img src=x&gt;" in text and "&lt;b onclick=x&gt;bad&lt;/b&gt;" in text


def test_report_renders_every_chart_in_chromium(out, tmp_path):
    assert compare(out, "run-a", "run-b").exit_code == 0
    url = html_of(out).as_uri()
    dom = dump_dom(url, tmp_path)
    for chart in CHARTS:
        # the figure holds an <svg> that drew something, before the figure ends
        assert re.search(rf'<figure class="chart" id="{chart}"><svg\b[^>]*>(?:(?!</figure>).)*?<path', dom, re.S), chart
    shot = screenshot(url, tmp_path, "compare", size=(1280, 4000))
    assert share(shot, "#ffffff") < 0.95                  # not a blank page
    # Colours only the charts use (the instance table's cells are pale tints of the outcome colours):
    assert share(shot, "#0969da") > 0.01                  # run-a's bars and points
    assert share(shot, "#bc4c00") > 0.002                 # run-b's
    assert share(shot, "#1a7f37") > 0.004                 # matrix: resolved
    assert share(shot, "#cf222e") > 0.004                 # matrix: unresolved
    assert share(shot, "#b392f0") > 0.0005                # matrix: not gradable offline


def test_a_run_without_an_eval_report_names_the_command_that_grades_it(out):
    shutil.rmtree(out / "logs" / "run_evaluation" / "run-b")
    result = compare(out, "run-a", "run-b")
    assert result.exit_code == 2
    assert "run 'run-b' has predictions" in result.output and "no eval report" in result.output
    command = (f"patchwright swebench eval --dataset /fixtures/compare/dataset.jsonl --predictions "
               f"{out / 'run-b' / 'predictions.jsonl'} --run-id run-b --out {out}")
    assert command in result.output.replace("\n", "")


def test_runs_graded_on_different_datasets_are_refused(out, tmp_path):
    other = tmp_path / "lite.jsonl"
    other.write_text('{"instance_id": "psf__requests-1001"}\n')
    edit_json(report_of(out, "run-b"), lambda r: r.update(dataset={"path": str(other), "sha256": file_digest(other)}))
    result = compare(out, "run-a", "run-b")
    assert result.exit_code == 2
    assert "runs 'run-a' and 'run-b' were graded against different datasets" in result.output
    assert "/fixtures/compare/dataset.jsonl" in result.output and str(other) in result.output.replace("\n", "")


def test_an_official_report_gets_its_dataset_digest_from_the_summary(out, tmp_path):
    other = tmp_path / "lite.jsonl"
    other.write_text('{"instance_id": "psf__requests-1001"}\n')
    edit_json(report_of(out, "run-b"), lambda r: r.pop("dataset"))  # the official harness writes none
    edit_json(out / "run-b" / "summary.json", lambda s: s["options"].update(dataset=str(other)))
    result = compare(out, "run-a", "run-b")
    assert result.exit_code == 2 and "different datasets" in result.output and "'run-b'" in result.output
    shutil.copy(FIXTURE / "dataset.jsonl", other)  # the same bytes: the same dataset
    assert compare(out, "run-a", "run-b").exit_code == 0


@pytest.mark.parametrize("runs,message", [(["run-a", "nope"], "run 'nope' not found: looked for"),
                                          (["run-a"], "compare needs two or more runs, got 1")])
def test_unknown_run_or_a_single_run_is_refused(out, runs, message):
    result = compare(out, *runs)
    assert result.exit_code == 2 and message in result.output


def test_the_report_of_another_eval_run_id_is_found_by_its_predictions(out):
    graded = out / "logs" / "run_evaluation"
    (graded / "run-b").rename(graded / "eval-20250101")
    edit_json(graded / "eval-20250101" / "report.json",
              lambda r: r.update(predictions=str(out / "run-b" / "predictions.jsonl")))
    shutil.copytree(graded / "eval-20250101", graded / "eval-old")  # graded earlier, since redone: the newest wins
    edit_json(graded / "eval-old" / "report.json", lambda r: r.update(resolved_ids=[], resolved_instances=0))
    os.utime(graded / "eval-old" / "report.json", (1, 1))
    result = compare(out, "run-a", "run-b")
    assert result.exit_code == 0, result.output
    assert run_columns(result.output)["resolved"] == ["5", "1"]


def test_a_folder_with_mini_swe_agent_preds_json(out, tmp_path):
    folder = tmp_path / "mini-run"
    folder.mkdir()
    preds = [json.loads(line) for line in (out / "run-b" / "predictions.jsonl").read_text().splitlines()]
    (folder / "preds.json").write_text(json.dumps({p["instance_id"]: p for p in preds}))
    shutil.copy(report_of(out, "run-b"), folder / "report.json")
    result = compare(out, "run-a", str(folder))
    assert result.exit_code == 0, result.output
    runs = run_columns(result.output)
    assert runs["run"][1] == "mini-run" and runs["model"][1] == "mini-swe-agent__qwen2.5-coder-32b"
    assert runs["scaffold"][1] == "n/a" and runs["resolved"][1] == "1"
    assert (out / "compare" / "run-a__vs__mini-run.html").is_file()


def test_an_oracle_run_is_labelled(out):
    gold = report_of(out, "gold")
    gold.parent.mkdir()
    shutil.copy(report_of(out, "run-a"), gold)
    edit_json(gold, lambda r: r.update(oracle="gold", model_name_or_path=["oracle-gold"], predictions=None))
    html = out / "gold-vs-a.html"
    result = compare(out, "gold", "run-a", "--html", str(html))
    assert result.exit_code == 0, result.output
    runs = run_columns(result.output)
    assert runs["run"][0] == "gold (oracle-gold, not a model)" and runs["model"][0] == "oracle-gold"
    assert "gold (oracle-gold, not a model)" in html.read_text()


def test_eval_report_records_the_predictions_and_dataset_it_graded(tmp_path):
    dataset, predictions = tmp_path / "d.jsonl", tmp_path / "p.jsonl"
    dataset.write_text('{"instance_id": "a"}\n')
    predictions.write_text("")
    report = build_report(tmp_path, [], {"a"}, Predictions({}, []), None, "r", predictions=predictions, dataset=dataset)
    assert report["predictions"] == str(predictions.resolve())
    assert report["dataset"] == {"path": str(dataset.resolve()), "sha256": file_digest(dataset)}
    assert build_report(tmp_path, [], {"a"}, Predictions({}, []), "gold", "r")["predictions"] is None


def test_a_predictions_file_of_any_name_with_the_official_report_beside_it(out, tmp_path):
    # As the official harness leaves them: predictions under the user's own name, and its report
    # named MODEL.RUN_ID.json in the same folder (no report.json, no summary).
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copy(out / "run-b" / "predictions.jsonl", folder / "qwen32b-run.jsonl")
    shutil.copy(report_of(out, "run-b"), folder / "qwen2.5-coder-32b.eval1.json")
    (folder / "notes.json").write_text('{"not": "a report"}')
    result = compare(out, "run-a", str(folder / "qwen32b-run.jsonl"))
    assert result.exit_code == 0, result.output
    runs = run_columns(result.output)
    assert runs["run"][1] == "qwen32b-run" and runs["resolved"][1] == "1"
    # Without a report beside it, the error says how to grade that file.
    (folder / "qwen2.5-coder-32b.eval1.json").unlink()
    result = compare(out, "run-a", str(folder / "qwen32b-run.jsonl"))
    assert result.exit_code == 2 and "no eval report" in result.output and "qwen32b-run.jsonl" in result.output


def test_charts_option_writes_each_chart_as_a_standalone_svg_file(out, tmp_path):
    """For a README figure: the same charts as the report, each an SVG file that an image viewer opens."""
    import xml.etree.ElementTree as ET

    folder = tmp_path / "figures"
    result = compare(out, "run-a", "run-b", "--charts", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{c}.svg" for c in CHARTS)
    resolved = ET.parse(folder / "chart-resolved.svg").getroot()
    assert resolved.tag == "{http://www.w3.org/2000/svg}svg"  # standalone: the namespace is declared
    text = " ".join(t.text or "" for t in resolved.iter("{http://www.w3.org/2000/svg}text"))
    assert "run-a" in text and "run-b" in text and "p = 0.125" in text
    again = tmp_path / "again"
    compare(out, "run-a", "run-b", "--charts", str(again))
    assert (again / "chart-matrix.svg").read_bytes() == (folder / "chart-matrix.svg").read_bytes()  # stable
