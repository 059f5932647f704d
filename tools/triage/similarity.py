"""Likely duplicates by TF-IDF cosine over title + body (title counted twice). Stack-trace noise
(paths, line numbers) is kept: identical tracebacks are strong duplicate evidence."""
from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

_TOKEN = re.compile(r"[a-z_][a-z0-9_]{2,}")
_STOP = set(["the", "and", "for", "with", "this", "that", "from", "have", "has", "are", "was", "were", "not", "but", "you", "your", "can", "when", "what", "which", "into", "then", "than", "there", "their", "them", "they", "will", "would", "could", "should", "does", "did", "doing", "been", "being", "also", "just", "like", "only", "some", "such", "use", "using", "used", "get", "got", "its", "it's", "how", "why", "any", "all", "one", "out", "our", "more", "most", "very", "issue", "bug", "please", "thanks", "thank", "hello", "hi"])


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall((text or "").lower()) if t not in _STOP]


def doc_text(issue: dict) -> str:
    return f"{issue['title']}\n{issue['title']}\n{issue.get('body') or ''}"


def similar_pairs(issues: list[dict], threshold: float) -> list[tuple[int, int, float]]:
    """(a, b, score) for issue numbers whose cosine is >= threshold, a being open; best first."""
    docs = [Counter(tokens(doc_text(i))) for i in issues]
    if len(docs) < 2:
        return []
    df = Counter(t for d in docs for t in d)
    vocab = {t: k for k, t in enumerate(df)}
    n = len(docs)
    matrix = np.zeros((n, len(vocab)), dtype=np.float32)
    for row, doc in enumerate(docs):
        for term, count in doc.items():
            matrix[row, vocab[term]] = (1 + math.log(count)) * math.log((1 + n) / (1 + df[term]))
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1
    matrix /= norms[:, None]
    sims = matrix @ matrix.T
    pairs = []
    rows, cols = np.nonzero(np.triu(sims, k=1) >= threshold)
    for a, b in zip(rows.tolist(), cols.tolist()):
        first, second = issues[a], issues[b]
        if first["state"] != "open" and second["state"] != "open":
            continue  # two closed issues: nothing to triage
        if first["state"] != "open":
            first, second = second, first
        pairs.append((first["number"], second["number"], round(float(sims[a, b]), 3)))
    return sorted(pairs, key=lambda p: -p[2])
