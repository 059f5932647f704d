"""Backlog triage, the deterministic parts: duplicate detection by lexical similarity
(`similarity`), fixability evidence (`evidence`), strict label parsing (`labels`), the GitHub
reads and idempotent writes (`forge`), and the ranked table / Markdown report (`report`).
The model call lives in agent.triage; nothing here imports agent."""
