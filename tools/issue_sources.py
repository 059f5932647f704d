"""One Issue model for every source: a local file, a GitHub issue URL, a SWE-bench instance."""
from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from tools.errors import ToolError


class IssueError(ToolError):
    """The issue could not be read: the message names the source and what is wrong."""


class Issue(BaseModel):
    """What the model may see (title, body) plus where the code lives.

    For SWE-bench instances only `problem_statement` becomes the body: patch, test_patch,
    FAIL_TO_PASS and PASS_TO_PASS never enter this model, so they cannot reach a prompt.
    """

    id: str = Field(description="Stable id: instance id, owner/repo#N, or the file stem.")
    title: str = ""
    body: str
    source: str = Field(description="Where the issue came from (path, URL or dataset).")
    repo: str | None = Field(default=None, description="Repository path or clone URL.")
    base_commit: str | None = Field(default=None, description="Commit to fix against; None = HEAD.")

    @property
    def text(self) -> str:
        return text_of({"title": self.title, "body": self.body})


def text_of(issue: dict) -> str:
    """Title and body of an issue dict (the form the run state keeps) as one text."""
    title, body = issue.get("title") or "", issue["body"]
    return f"{title}\n\n{body}".strip() if title else body.strip()


_CUT = re.compile(r"\n\[\.\.\. ([\d,]+) characters cut \.\.\.\]\n")


def _marker(chars: int) -> str:
    return f"\n[... {chars:,} characters cut ...]\n"


def cut_text(text: str, limit: int) -> str:
    """`text` when it has at most `limit` characters, else its head and tail around a marker saying
    how much was cut: the head says what is wrong, the tail often ends the traceback. Cutting a
    text that was cut before counts both cuts, so the marker always tells the original size."""
    if len(text) <= limit:
        return text
    original = len(text)
    earlier = _CUT.search(text)
    if earlier:
        original += int(earlier[1].replace(",", "")) - len(earlier[0])
    keep = max(limit - len(_marker(original)), 0)
    head = keep * 3 // 5
    tail = keep - head
    if earlier and not head <= earlier.start() <= earlier.end() <= len(text) - tail:
        original = len(text)  # the earlier marker stays in view and tells its own count
    return text[:head] + _marker(original - head - tail) + text[len(text) - tail:]


_GITHUB_URL = re.compile(r"^https?://[^/]+/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)/issues/(?P<number>\d+)/?$")
SWEBENCH_PREFIX = "swebench:"


def load_issue(ref: str, *, dataset: Path | None = None, github=None) -> Issue:
    """Resolve an issue reference: FILE.md, FILE.json, a GitHub issue URL or swebench:INSTANCE_ID."""
    if ref.startswith(SWEBENCH_PREFIX):
        if dataset is None:
            raise IssueError(f"{ref}: a SWE-bench instance needs --dataset FILE.jsonl")
        return load_swebench_instance(dataset, ref[len(SWEBENCH_PREFIX):])
    if _GITHUB_URL.match(ref):
        return load_github_issue(ref, github)
    return load_issue_file(Path(ref))


def load_issue_file(path: Path) -> Issue:
    if not path.is_file():
        raise IssueError(f"issue file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise IssueError(f"issue file {path} is not UTF-8 text: {e}") from e
    if path.suffix.lower() == ".json":
        return _issue_from_json(path, text)
    if path.suffix.lower() in {".md", ".markdown", ".txt"}:
        return _issue_from_markdown(path, text)
    raise IssueError(f"issue file {path}: expected .md, .txt or .json, got '{path.suffix or 'no suffix'}'")


def _issue_from_json(path: Path, text: str) -> Issue:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise IssueError(f"issue file {path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise IssueError(f"issue file {path}: expected a JSON object with 'title' and 'body'")
    data.setdefault("id", path.stem)
    data.setdefault("source", str(path))
    try:
        issue = Issue.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise IssueError(f"issue file {path} is malformed: {problems}") from e
    if not issue.body.strip():
        raise IssueError(f"issue file {path}: the body is empty")
    return issue


def _issue_from_markdown(path: Path, text: str) -> Issue:
    lines = text.strip().splitlines()
    if not lines:
        raise IssueError(f"issue file {path} is empty")
    title = ""
    if lines[0].startswith("# "):
        title, lines = lines[0][2:].strip(), lines[1:]
    body = "\n".join(lines).strip()
    if not body:
        raise IssueError(f"issue file {path}: no text below the title")
    return Issue(id=path.stem, title=title, body=body, source=str(path))


def load_swebench_instance(dataset: Path, instance_id: str) -> Issue:
    row = find_swebench_row(dataset, instance_id)
    return Issue(
        id=instance_id,
        title="",
        body=row["problem_statement"],
        source=f"{dataset}#{instance_id}",
        repo=row["repo"],
        base_commit=row["base_commit"],
    )


def find_swebench_row(dataset: Path, instance_id: str) -> dict:
    if not dataset.is_file():
        raise IssueError(f"SWE-bench dataset not found: {dataset}")
    with dataset.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise IssueError(f"{dataset}:{lineno} is not valid JSON: {e}") from e
            if row.get("instance_id") == instance_id:
                missing = {"repo", "base_commit", "problem_statement"} - row.keys()
                if missing:
                    raise IssueError(f"{dataset}:{lineno} lacks fields {sorted(missing)}")
                return row
    raise IssueError(f"unknown SWE-bench instance id '{instance_id}' in {dataset}")


def load_github_issue(url: str, github) -> Issue:
    """`github` is a PyGithub `Github` client built by the caller (token from the environment)."""
    m = _GITHUB_URL.match(url)
    if m is None:
        raise IssueError(f"not a GitHub issue URL: {url}")
    if github is None:
        raise IssueError(f"{url}: no GitHub client configured")
    from github import GithubException

    full_name = f"{m['owner']}/{m['name']}"
    try:
        repo = github.get_repo(full_name)
        gh_issue = repo.get_issue(int(m["number"]))
    except GithubException as e:
        raise IssueError(f"could not read {url}: GitHub answered {e.status}: {e.data}") from e
    if gh_issue.pull_request is not None:
        raise IssueError(f"{url} is a pull request, not an issue")
    return Issue(
        id=f"{full_name}#{gh_issue.number}",
        title=gh_issue.title,
        body=gh_issue.body or "",
        source=url,
        repo=repo.clone_url,
        base_commit=None,
    )
