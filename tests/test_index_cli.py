"""`patchwright index` and `patchwright map` as a user runs them."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = {
    "shop/cart.py": "from shop.prices import price_of\n\n\nclass Cart:\n    def total(self, items):\n"
                    "        return sum(price_of(i) for i in items)\n",
    "shop/prices.py": "PRICES = {}\n\n\ndef price_of(item):\n    return PRICES[item]\n\n\n"
                      "def discount(item, pct):\n    return price_of(item) * (1 - pct)\n",
    "shop/report.py": "from shop.cart import Cart\n\n\ndef report(items):\n    return Cart().total(items)\n",
    "shop/__init__.py": "",
}


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHWRIGHT_INDEX_CACHE", str(tmp_path / "cache.sqlite"))
    root = tmp_path / "shop"
    for rel, text in SRC.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git = ["git", "-C", str(root)]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "one"], check=True)
    first = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (root / "shop" / "prices.py").unlink()
    subprocess.run(git + ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "two"], check=True)
    return root, first


def test_index_prints_statistics_and_reads_old_commits(repo):
    root, first = repo
    now = json.loads(run("index", str(root)).stdout)
    assert now["files_indexed"] == 3 and now["symbols"] == 3
    old = run("index", str(root), "--commit", first[:10])
    stats = json.loads(old.stdout)
    assert stats["files_indexed"] == 4 and stats["symbols"] == 5  # prices.py is back, from git
    assert not (root / "shop" / "prices.py").exists()  # nothing was checked out


def test_index_unknown_commit_is_a_clear_error(repo):
    root, _ = repo
    out = run("index", str(root), "--commit", "0123456789abcdef")
    assert out.returncode == 2 and "not found" in out.stderr


def test_map_ranks_what_others_use_within_the_budget(repo):
    root, first = repo
    out = run("map", str(root), "--commit", first, "--tokens", "60")
    text = out.stdout
    assert out.returncode == 0 and text
    assert len(text) // 3 + 1 <= 60
    assert text.startswith("shop/prices.py:")  # price_of is called from two other files
    assert "def price_of(item):" in text
    big = run("map", str(root), "--commit", first, "--tokens", "2000").stdout
    assert "class Cart:" in big and "def report(items):" in big and len(big) > len(text)
