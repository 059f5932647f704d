"""Bounded reads of what a stopped container leaves: its log and single files.

Both stream, so the host's memory stays near the cap whatever the test wrote (a 400 MB junit.xml
read whole grew a worker from 109 MB to 1.3 GB). Each returns the text and, when it cut, a note
saying what and how much, for ExecResult.truncated and from there the report.
"""

from __future__ import annotations

import tarfile

CHUNK = 1 << 20


def read_logs(container, limit: int) -> tuple[str, str | None]:
    """The last `limit` bytes of stdout+stderr: a test run's verdict is at its end."""
    buf, total = bytearray(), 0
    for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=False):
        buf += chunk
        total += len(chunk)
        if len(buf) > limit + CHUNK:  # trim in steps: the log arrives a line at a time
            del buf[: len(buf) - limit]
    if len(buf) > limit:
        del buf[: len(buf) - limit]
    note = f"output: {total} bytes, kept the last {limit}" if total > limit else None
    return buf.decode("utf-8", "replace"), note


def read_file(container, path: str, limit: int) -> tuple[str | None, str | None]:
    """The first `limit` bytes of the regular file at `path`; (None, None) if there is none.

    Uses the low-level API so the HTTP response can be closed after `limit` bytes:
    `Container.get_archive` returns a generator that keeps the response, and so the daemon's tar
    of the whole file, open until it is read to the end. docker.errors.NotFound propagates."""
    api = container.client.api
    res = api._get(api._url("/containers/{0}/archive", container.id), params={"path": path},
                   stream=True, headers={"Accept-Encoding": "identity"})
    try:
        api._raise_for_status(res)
        with tarfile.open(fileobj=res.raw, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                fh = tar.extractfile(member)
                buf = bytearray()
                while fh is not None and len(buf) < limit:
                    # Bounded reads into one buffer: tarfile's read(n) of a stream joins and
                    # slices, briefly holding the data three times.
                    data = fh.read(min(CHUNK, limit - len(buf)))
                    if not data:
                        break
                    buf += data
                note = f"{path}: {member.size} bytes, read the first {limit}" if member.size > limit else None
                return buf.decode("utf-8", "replace"), note
        return None, None
    finally:
        res.close()
