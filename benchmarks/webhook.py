"""Webhook throughput with signature checking, and job pickup latency. Loopback only, bounded loops.

    python benchmarks/webhook.py                     # SQLite queue (the default configuration)
    python benchmarks/webhook.py --redis             # and the Redis queue (starts redis-server on a free port)
    python benchmarks/webhook.py --requests 1000 --clients 4 --jobs 20

Throughput: `patchwright app serve` runs as its own process; C client threads send N signed deliveries
of each kind over keep-alive connections: ignored events (signature check + parse),
job-creating events (+ job row + queue message) and forged signatures (401, nothing parsed).
Pickup latency: the time from sending a job-creating delivery to a worker thread starting its task,
with huey's real consumer and a handler that only records the time. Jobs arrive one at a time with a
pause, so the consumer is idle between them (its SQLite poll back-off at its longest), as in real use.
Needs the npm webhook examples (scripts/setup.sh fetches them).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import functools
import hmac
import itertools
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # test machinery (the local GitHub's npm assets), imported as pytest does

from agent.app.queue import JobQueue  # noqa: E402
from agent.config import AppConfig, Settings  # noqa: E402
from agent.models.serve import free_port  # noqa: E402
from github_fake.npm_assets import webhook_example  # noqa: E402

SECRET = "benchmark-secret"


def signed(event: str, payload: dict, secret: str = SECRET) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()),
                  "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


@functools.lru_cache(maxsize=1)
def _labeled_example() -> dict:
    return webhook_example("issues", "labeled")


def labeled(number: int) -> dict:
    payload = copy.deepcopy(_labeled_example())
    payload["label"]["name"] = "patchwright"
    payload["issue"]["number"] = number
    return payload


def start_server(home: Path, redis_url: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHWRIGHT_")}
    env.update(PATCHWRIGHT_HOME=str(home), PATCHWRIGHT_APP__WEBHOOK_SECRET=SECRET)
    if redis_url:
        env["PATCHWRIGHT_APP__REDIS_URL"] = redis_url
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "app", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the app server did not start")


def throughput(url: str, make, count: int, clients: int, expect: int) -> tuple[float, list[float]]:
    """(requests per second, per-request seconds) for `count` deliveries from `clients` threads."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(indexes: range) -> None:
        session = requests.Session()
        mine = []
        for i in indexes:
            body, headers = make(i)
            t = time.perf_counter()
            r = session.post(url + "/webhook", data=body, headers=headers, timeout=30)
            mine.append(time.perf_counter() - t)
            if r.status_code != expect:
                errors.append(f"{r.status_code} {r.text[:100]}")
        with lock:
            latencies.extend(mine)

    per = count // clients
    threads = [threading.Thread(target=client, args=(range(k * per, (k + 1) * per),)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"unexpected answers, e.g. {errors[0]}")
    return per * clients / wall, latencies


def pickup_latency(home: Path, url: str, redis_url: str | None, jobs: int, pause: float, first_issue: int) -> list[float]:
    settings = Settings(home=home, app=AppConfig(webhook_secret=SECRET, redis_url=redis_url))
    queue = JobQueue(settings)
    while queue.huey.dequeue() is not None:
        pass  # leftovers from the throughput rounds are not part of this measurement
    started: dict[int, float] = {}
    queue.handler = lambda kind, job_id: started.setdefault(job_id, time.perf_counter()) if job_id else None
    consumer = queue.consumer()
    consumer.start()
    sent: dict[int, float] = {}
    try:
        session = requests.Session()
        time.sleep(pause)
        for n in range(jobs):
            body, headers = signed("issues", labeled(first_issue + n))
            t = time.perf_counter()
            r = session.post(url + "/webhook", data=body, headers=headers, timeout=30)
            assert r.status_code == 202, r.text
            sent[r.json()["job"]] = t
            deadline = time.monotonic() + 30
            while r.json()["job"] not in started and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(pause)
    finally:
        consumer.stop(graceful=True)
    missing = set(sent) - set(started)
    if missing:
        raise SystemExit(f"jobs never picked up: {sorted(missing)}")
    return [started[j] - sent[j] for j in sent]


def ms(values: list[float], q: float) -> str:
    value = statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]
    return f"{value * 1000:7.1f} ms"


def run(label: str, redis_url: str | None, args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        proc, url = start_server(home, redis_url)
        try:
            opened = webhook_example("issues", "opened")
            issues = itertools.count(10_000)  # a new issue per delivery: each makes a job
            kinds = [("ignored event (signature check, parse)", lambda i: signed("issues", opened), 200),
                     ("job-creating event (+ job row, queue message)", lambda i: signed("issues", labeled(next(issues))), 202),
                     ("forged signature (401, nothing parsed)", lambda i: signed("issues", opened, "wrong"), 401)]
            print(f"\n[{label}] webhook throughput: `patchwright app serve`, {args.clients} client threads, "
                  f"{args.requests} requests per kind, loopback")
            for name, make, expect in kinds:
                throughput(url, make, min(100, args.requests), args.clients, expect)  # warm-up, not counted
                rps, lat = throughput(url, make, args.requests, args.clients, expect)
                print(f"  {name:<52} {rps:7.0f} req/s   p50 {ms(lat, 50)}   p95 {ms(lat, 95)}")
            lat = pickup_latency(home, url, redis_url, args.jobs, args.pause, first_issue=100_000)
            print(f"[{label}] job pickup latency (delivery sent -> worker starts the job), {args.jobs} jobs one at a time:")
            print(f"  p50 {ms(lat, 50)}   p95 {ms(lat, 95)}   max {max(lat) * 1000:7.1f} ms")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="deliveries per kind (bounded)")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--jobs", type=int, default=20, help="jobs for the pickup latency")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between pickup-latency jobs")
    parser.add_argument("--redis", action="store_true", help="also measure the Redis queue (needs redis-server)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    run("sqlite queue, poll_interval 0.5 s", None, args)
    if args.redis:
        binary = shutil.which("redis-server") or sys.exit("redis-server is not installed")
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            redis = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(0.5)
                run("redis queue", f"redis://127.0.0.1:{port}/0", args)
            finally:
                redis.terminate()
                redis.wait(timeout=10)


if __name__ == "__main__":
    main()
