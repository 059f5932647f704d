"""GitHub as the App sees it, through PyGithub: installation clients, the write-permission check,
the one status comment per issue and the one draft pull request per branch.

Every call goes through a retry policy: GitHub's rate-limit answers (403 with X-RateLimit-*
headers, 429 with Retry-After) wait as GitHub asks, 5xx answers back off and retry. Idempotence
comes from looking before writing: the status comment is found again by a hidden marker and the
pull request by its head branch, so a repeated or resumed job edits instead of duplicating.
"""
from __future__ import annotations

from dataclasses import dataclass

from github import Auth, Github, GithubIntegration, GithubRetry, UnknownObjectException
from urllib3.util.retry import Retry

MARKER = "<!-- patchwright:status -->"
WRITE_LEVELS = {"admin", "maintain", "write"}


def retry_policy(total: int = 5, max_rate_limit_wait: float = 900.0) -> GithubRetry:
    # POST and PATCH are retried too: a 403/429 rate-limit answer means GitHub did nothing yet.
    return GithubRetry(total=total, backoff_factor=0.5, status_forcelist=[429, *range(500, 600)],
                       allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
                       max_rate_limit_wait=max_rate_limit_wait, secondary_rate_wait=min(60.0, max_rate_limit_wait))


@dataclass
class Forge:
    """A client acting as one App installation. `token()` is the live installation token, for git only."""

    github: Github
    auth: Auth.AppInstallationAuth
    installation_id: int

    def token(self) -> str:
        return self.auth.token  # PyGithub refreshes it shortly before it expires (tokens last an hour)


def installation_forge(api_url: str, app_id: int, private_key: str, repo_full_name: str,
                       installation_id: int | None = None, retry: GithubRetry | None = None) -> Forge:
    """App id + private key -> JWT -> installation token. Without an installation id (a webhook
    payload that lacks one) the App asks GitHub which installation covers the repository."""
    retry = retry or retry_policy()
    app_auth = Auth.AppAuth(app_id, private_key)
    if installation_id is None:
        owner, name = repo_full_name.split("/")
        integration = GithubIntegration(auth=app_auth, base_url=api_url, retry=retry)
        installation_id = integration.get_repo_installation(owner, name).id
    auth = app_auth.get_installation_auth(int(installation_id))
    return Forge(Github(auth=auth, base_url=api_url, retry=retry), auth, int(installation_id))


def can_write(repo, login: str) -> bool:
    """Whether `login` may push to `repo` (GitHub's collaborator permission: write, maintain or admin)."""
    return repo.get_collaborator_permission(login) in WRITE_LEVELS


class StatusComment:
    """The bot's one comment on an issue, created once and then edited. Identified by MARKER, so a
    restarted worker (or a later run on the same issue) finds it instead of posting another."""

    def __init__(self, issue, comment_id: int | None = None):
        self.issue = issue
        self.comment = None
        self._shown = None
        if comment_id:
            try:
                self.comment = issue.get_comment(comment_id)
            except UnknownObjectException:
                pass  # someone deleted it: post a new one
        if self.comment is None:
            self.comment = next((c for c in issue.get_comments()
                                 if MARKER in (c.body or "") and c.user.type == "Bot"), None)
        if self.comment is not None:
            self._shown = self.comment.body

    @property
    def id(self) -> int | None:
        return self.comment.id if self.comment is not None else None

    def show(self, text: str) -> None:
        body = f"{MARKER}\n{text}"
        if body == self._shown:
            return  # nothing new to say: spare the API
        if self.comment is None:
            self.comment = self.issue.create_comment(body)
        else:
            self.comment.edit(body)
        self._shown = body


def upsert_pull(repo, branch: str, base: str, title: str, body: str, draft: bool = True):
    """The open pull request from `branch`, edited to the new title and body, or a new draft one."""
    for pr in repo.get_pulls(state="open", head=f"{repo.owner.login}:{branch}"):
        pr.edit(title=title, body=body)
        return pr
    return repo.create_pull(base=base, head=branch, title=title, body=body, draft=draft)
