"""Backlog triage, the deterministic parts: duplicate detection by lexical similarity
(`similarity`), fixability evidence (`evidence`), strict label parsing (`labels`), the backlog's
GitHub reads and idempotent writes (`backlog`), and the ranked table / Markdown report (`report`).
The model call lives in agent.triage; nothing here imports agent."""
