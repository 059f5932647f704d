"""SWE-bench inputs: the dataset, the install/test specs, predictions, oracle predictions.

Specs default to the `swebench` package's own tables (the same data as specs.json); `--specs FILE`
lays a JSON file of the same shape over them, which is how tests add a fixture repository.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import PatchwrightError

KEY_ID, KEY_MODEL, KEY_PATCH = "instance_id", "model_name_or_path", "model_patch"
ORACLES = {"gold": "oracle-gold", "empty": "oracle-empty"}


class DatasetError(PatchwrightError, ValueError):
    """The dataset, specs or predictions are missing or malformed; the message names the file."""


def load_dataset(path: Path) -> dict[str, dict]:
    """instance_id -> row, in file order; FAIL_TO_PASS/PASS_TO_PASS decoded from their JSON strings."""
    if not Path(path).is_file():
        raise DatasetError(f"SWE-bench dataset not found: {path}")
    rows: dict[str, dict] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetError(f"{path}:{lineno} is not valid JSON: {e}") from e
            for key in ("FAIL_TO_PASS", "PASS_TO_PASS"):
                if isinstance(row.get(key), str):
                    row[key] = json.loads(row[key])
            rows[row["instance_id"]] = row
    return rows


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes: two runs graded against the same dataset file have the same digest."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def select(rows: dict[str, dict], instances: list[str] | None, pattern: str | None) -> list[str]:
    ids = list(rows)
    if instances:
        unknown = [i for i in instances if i not in rows]
        if unknown:
            raise DatasetError(f"unknown instance id(s): {', '.join(unknown)}")
        ids = [i for i in ids if i in set(instances)]
    if pattern:
        rx = re.compile(pattern)
        ids = [i for i in ids if rx.search(i)]
    return ids


@dataclass
class Specs:
    versions: dict[str, dict[str, dict]]   # repo -> version -> spec
    parsers: dict[str, str]                # repo -> log parser name
    reqs_paths: dict[str, list[str]] = field(default_factory=dict)
    env_yml_paths: dict[str, list[str]] = field(default_factory=dict)

    def spec(self, repo: str, version: str) -> dict:
        try:
            return self.versions[repo][version]
        except KeyError:
            raise DatasetError(f"no install/test spec for {repo} version {version}") from None

    def parser(self, repo: str):
        from swebench.harness.log_parsers import python as py_parsers

        name = self.parsers.get(repo)
        fn = getattr(py_parsers, name, None) if name else None
        if fn is None:
            raise DatasetError(f"no log parser for {repo} (parser {name!r})")
        return fn


def load_specs(path: Path | None = None) -> Specs:
    from swebench.harness import constants as c
    from swebench.harness.log_parsers import MAP_REPO_TO_PARSER

    versions = {repo: dict(v) for repo, v in c.MAP_REPO_VERSION_TO_SPECS.items()}
    parsers = {repo: fn.__name__ for repo, fn in MAP_REPO_TO_PARSER.items()}
    reqs = dict(c.MAP_REPO_TO_REQS_PATHS)
    ymls = dict(c.MAP_REPO_TO_ENV_YML_PATHS)
    if path is not None:
        try:
            extra = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise DatasetError(f"cannot read specs file {path}: {e}") from e
        for repo, by_version in extra.get("MAP_REPO_VERSION_TO_SPECS", {}).items():
            versions.setdefault(repo, {}).update(by_version)
        parsers.update(extra.get("MAP_REPO_TO_PARSER", {}))
        reqs.update(extra.get("MAP_REPO_TO_REQS_PATHS", {}))
        ymls.update(extra.get("MAP_REPO_TO_ENV_YML_PATHS", {}))
    return Specs(versions, parsers, reqs, ymls)


@dataclass
class Predictions:
    by_id: dict[str, dict]
    problems: list[dict]          # lines that are not predictions: {"line", "instance_id"?, "reason"}


def load_predictions(path: Path) -> Predictions:
    """Official predictions (.jsonl, or .json list/dict); bad lines are recorded, not fatal."""
    text = Path(path).read_text(encoding="utf-8")
    problems: list[dict] = []
    if str(path).endswith(".json"):
        data = json.loads(text)
        items = list(data.values()) if isinstance(data, dict) else data
        lines = [(n, json.dumps(item)) for n, item in enumerate(items, 1)]
    else:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    by_id: dict[str, dict] = {}
    for lineno, line in lines:
        try:
            pred = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append({"line": lineno, "reason": f"not valid JSON: {e}"})
            continue
        if not isinstance(pred, dict) or not isinstance(pred.get(KEY_ID), str):
            problems.append({"line": lineno, "reason": f"not a prediction object with a string '{KEY_ID}'"})
            continue
        iid = pred[KEY_ID]
        if not isinstance(pred.get(KEY_PATCH), (str, type(None))) or not isinstance(pred.get(KEY_MODEL), str):
            problems.append({"line": lineno, KEY_ID: iid,
                             "reason": f"'{KEY_PATCH}' must be a string or null and '{KEY_MODEL}' a string"})
            continue
        if iid in by_id:
            problems.append({"line": lineno, KEY_ID: iid, "reason": "duplicate prediction; the first one is graded"})
            continue
        by_id[iid] = pred
    return Predictions(by_id, problems)


def oracle_predictions(rows: dict[str, dict], ids: list[str], oracle: str) -> Predictions:
    """--gold: the dataset's own patch; --empty: no change. Labelled as oracles in every output."""
    model = ORACLES[oracle]
    patch = (lambda r: r["patch"]) if oracle == "gold" else (lambda r: "")
    return Predictions({i: {KEY_ID: i, KEY_MODEL: model, KEY_PATCH: patch(rows[i])} for i in ids}, [])


def test_directives(row: dict) -> list[str]:
    """The test files the official harness runs: those the test_patch touches (its own function)."""
    from swebench.harness.test_spec.python import get_test_directives

    return get_test_directives(row)


def test_patch_files(row: dict) -> list[str]:
    from swebench.harness.utils import get_modified_files

    return get_modified_files(row["test_patch"])
