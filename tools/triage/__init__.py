"""Backlog triage, the deterministic parts: duplicate detection by lexical similarity
(`similarity`), fixability (`fixability`), strict label parsing (`labels`), the backlog's
GitHub reads and idempotent writes (`backlog`), and the ranked table / Markdown report (`report`).
The model call lives in agent.triage; nothing here imports agent."""
