"""GitHub through PyGithub: the one client factory (every caller's) and the App's forge for one
repository (`installation_forge`, a tools/forge/github_forge.py `GitHubForge`).

Every call goes through a retry policy: GitHub's rate-limit answers (403 with X-RateLimit-*
headers, 429 with Retry-After) wait as GitHub asks, 5xx answers back off and retry.
"""
from __future__ import annotations

from github import Auth, Consts, Github, GithubIntegration, GithubRetry
from urllib3.util.retry import Retry

from tools.forge.github_forge import GitHubForge


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


def installation_forge(api_url: str, app_id: int, private_key: str, repo_full_name: str,
                       installation_id: int | None = None, retry: GithubRetry | None = None) -> GitHubForge:
    """`repo_full_name` acting as the App's installation there: app id + private key -> JWT ->
    installation token, kept inside the forge. Without an installation id (a webhook payload that
    lacks one) the App asks GitHub which installation covers the repository."""
    retry = retry or retry_policy()
    app_auth = Auth.AppAuth(app_id, private_key)
    if installation_id is None:
        owner, name = repo_full_name.split("/")
        integration = GithubIntegration(auth=app_auth, base_url=api_url, retry=retry)
        installation_id = integration.get_repo_installation(owner, name).id
    auth = app_auth.get_installation_auth(int(installation_id))
    return GitHubForge(github_client(api_url, auth, retry=retry), auth, repo_full_name)
