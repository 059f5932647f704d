"""The bot's forge: the `Forge` Protocol (base.py), GitHub's implementation through PyGithub
(github.py; its client and App auth in api.py) and git pushes that authenticate with a credential
helper. Nothing here knows about runs."""
