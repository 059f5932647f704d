"""A deterministic local GitHub for the tests and benchmarks: REST over HTTP checked against
GitHub's OpenAPI description, App authentication, and git over smart HTTP backed by bare
repositories, so PyGithub and git run for real. Test machinery: it needs the test extra
(openapi-schema-validator) and the npm assets, and no configuration selects it.

Imported as `github_fake` (pytest puts tests/ on sys.path; benchmarks insert it themselves)."""
from .server import FakeGitHub

__all__ = ["FakeGitHub"]
