"""The GitHub App: a webhook server that records and enqueues (webhook.py, events.py, jobs.py,
queue.py), workers that run the fix graph and deliver to GitHub (worker.py, publish.py,
status.py), and a web page of runs (web.py)."""
