"""GitHub through PyGithub: the one client factory (every caller's), the App's installation
clients, the write-permission check, the one status comment per issue and the one draft pull
request per branch.

Every call goes through a retry policy: GitHub's rate-limit answers (403 with X-RateLimit-*
headers, 429 with Retry-After) wait as GitHub asks, 5xx answers back off and retry. Idempotence
comes from looking before writing: the status comment is found again by a hidden marker and the
pull request by its head branch, so a repeated or resumed job edits instead of duplicating.
"""
from __future__ import annotations

from dataclasses import dataclass

from github import Auth, Consts, Github, GithubIntegration, GithubRetry
from urllib3.util.retry import Retry

from tools.forge.comment import MarkerComment, find_marked

MARKER = "<!-- patchwright:status -->"
WRITE_LEVELS = {"admin", "maintain", "write"}


def retry_policy(total: int = 5, max_rate_limit_wait: float = 900.0) -> GithubRetry:
    # POST and PATCH are retried too: a 403/429 rate-limit answer means GitHub did nothing yet.
    return GithubRetry(total=total, backoff_factor=0.5, status_forcelist=[429, *range(500, 600)],
                       allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
                       max_rate_limit_wait=max_rate_limit_wait, secondary_rate_wait=min(60.0, max_rate_limit_wait))


def github_client(api_url: str, auth: Auth.Auth | str | None = None, *, retry: GithubRetry | int | None = None,
                  per_page: int = Consts.DEFAULT_PER_PAGE,
                  seconds_between_requests: float | None = Consts.DEFAULT_SECONDS_BETWEEN_REQUESTS,
                  seconds_between_writes: float | None = Consts.DEFAULT_SECONDS_BETWEEN_WRITES) -> Github:
    """The one place a PyGithub client is made. `auth`: a PyGithub Auth, a token, or None (anonymous);
    `retry`: a policy or a count (None: retry_policy()); the pacing defaults are PyGithub's."""
    if isinstance(auth, str):
        auth = Auth.Token(auth) if auth else None  # an empty token (an unset variable) reads anonymously
    return Github(auth=auth, base_url=api_url, retry=retry_policy() if retry is None else retry,
                  per_page=per_page, seconds_between_requests=seconds_between_requests,
                  seconds_between_writes=seconds_between_writes)


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
    return Forge(github_client(api_url, auth, retry=retry), auth, int(installation_id))


def can_write(repo, login: str) -> bool:
    """Whether `login` may push to `repo` (GitHub's collaborator permission: write, maintain or admin)."""
    return repo.get_collaborator_permission(login) in WRITE_LEVELS


class StatusComment(MarkerComment):
    """The bot's one status comment on an issue, identified by MARKER, so a restarted worker (or a
    later run on the same issue) finds it, by its id or by the marker, instead of posting another."""

    def __init__(self, issue, comment_id: int | None = None):
        super().__init__(issue, MARKER, find_marked(issue, MARKER, comment_id))


def upsert_pull(repo, branch: str, base: str, title: str, body: str, draft: bool = True):
    """The open pull request from `branch`, edited to the new title and body, or a new draft one."""
    for pr in repo.get_pulls(state="open", head=f"{repo.owner.login}:{branch}"):
        pr.edit(title=title, body=body)
        return pr
    return repo.create_pull(base=base, head=branch, title=title, body=body, draft=draft)
