"""The bot's forge: GitHub through PyGithub (App auth, permission, status comment, pull request)
and git pushes that authenticate with a credential helper. Nothing here knows about runs."""
