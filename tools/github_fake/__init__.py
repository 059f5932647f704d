"""A deterministic local GitHub for tests and demos: REST over HTTP checked against GitHub's
OpenAPI description, App authentication, and git over smart HTTP backed by bare repositories.
It ships with the package (like the scripted model server) so PyGithub and git run for real."""
from tools.github_fake.server import FakeGitHub

__all__ = ["FakeGitHub"]
