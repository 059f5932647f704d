"""The Forge (tools/forge/base.py) on GitHub, through PyGithub, as one App installation on one
repository. Made by tools/forge/api.py `installation_forge`, whose client retries rate limits and 5xx.

Idempotence comes from looking before writing: the status comment is found again by a hidden marker
and the pull request by its head branch, so a repeated or resumed job edits instead of duplicating.
The installation token stays in here: only the git processes of `sync_mirror` and `push_branch`
get it (through tools/forge/push.py's credential helper)."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from github import Auth, Github

from tools.forge import push
from tools.forge.comment import MarkerComment, find_marked
from tools.issue_sources import Issue, load_github_issue

MARKER = "<!-- patchwright:status -->"
WRITE_LEVELS = {"admin", "maintain", "write"}


class GitHubForge:
    """`full_name` ("owner/name") read and written with `github`; `auth` (None: anonymous git) gives
    git its token, which PyGithub refreshes shortly before it expires (tokens last an hour)."""

    def __init__(self, github: Github, auth: Auth.AppInstallationAuth | None, full_name: str):
        self._github, self._auth, self.full_name = github, auth, full_name

    @cached_property
    def _repo(self):
        return self._github.get_repo(self.full_name)

    def _token(self) -> str | None:
        return self._auth.token if self._auth is not None else None

    def issue(self, number: int) -> Issue:
        return load_github_issue(f"{self._repo.html_url}/issues/{number}", self._github)

    def can_write(self, login: str) -> bool:
        return self._repo.get_collaborator_permission(login) in WRITE_LEVELS  # GitHub's collaborator permission

    def comment(self, number: int, text: str) -> None:
        self._repo.get_issue(number).create_comment(text)

    def status_comment(self, number: int, comment_id: int | None = None) -> MarkerComment:
        issue = self._repo.get_issue(number)
        return MarkerComment(issue, MARKER, find_marked(issue, MARKER, comment_id))

    def sync_mirror(self, dest: Path) -> Path:
        return push.sync_mirror(self._repo.clone_url, dest, self._token())

    def push_branch(self, repo_dir: Path, sha: str, branch: str) -> None:
        push.push_branch(repo_dir, self._repo.clone_url, sha, branch, self._token())

    def upsert_pull(self, branch: str, title: str, body: str, draft: bool = True) -> str:
        for pr in self._repo.get_pulls(state="open", head=f"{self._repo.owner.login}:{branch}"):
            pr.edit(title=title, body=body)
            return pr.html_url
        return self._repo.create_pull(base=self._repo.default_branch, head=branch, title=title, body=body,
                                      draft=draft).html_url
