"""What the App needs from a forge, for one repository: its issues, who may write, the bot's status
comment, git to and from it, and the draft pull request. The one implementation today is GitHub
(tools/forge/github_forge.py `GitHubForge`, made by tools/forge/api.py `installation_forge`).

A forge holds its own credentials: git is authenticated inside `sync_mirror` and `push_branch`, and
no method hands a token to its caller."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tools.issue_sources import Issue


class StatusComment(Protocol):
    """The bot's one status comment on an issue, found again by its id or its hidden marker."""

    @property
    def id(self) -> int | None:
        """The comment's id, None while it is not posted yet."""
        ...

    def show(self, text: str) -> bool:
        """Show `text` in the comment, posting it the first time; False when it shows that already."""
        ...


class Forge(Protocol):
    """One repository on a forge, with the rights of the bot's installation there."""

    def issue(self, number: int) -> Issue:
        """Issue `number` as the pipeline loads it (`source` is its web URL); IssueError when it
        cannot be read or is a pull request."""
        ...

    def can_write(self, login: str) -> bool:
        """Whether `login` may push to the repository."""
        ...

    def comment(self, number: int, text: str) -> None:
        """Post a new comment on issue `number` (one that is never edited, such as a refusal)."""
        ...

    def status_comment(self, number: int, comment_id: int | None = None) -> StatusComment:
        """The bot's status comment on issue `number`: `comment_id` if it still exists, else the one
        carrying the marker, else one that `show` will post."""
        ...

    def sync_mirror(self, dest: Path) -> Path:
        """A bare copy of the repository's branches at `dest` (cloned once, fetched later); returns it."""
        ...

    def push_branch(self, repo_dir: Path, sha: str, branch: str) -> None:
        """Force `branch` of the repository to commit `sha` of the git repository at `repo_dir`."""
        ...

    def upsert_pull(self, branch: str, title: str, body: str, draft: bool = True) -> str:
        """The open pull request from `branch` edited to `title` and `body`, else a new one (a draft
        when `draft`) into the default branch; returns its web URL."""
        ...
