"""Files into and out of a running container by the archive API, which needs nothing inside it
(a container whose shell the model deleted still answers): files with their modes kept, and a
file read back as its first and last bytes, streamed so the host holds no more than those."""

from __future__ import annotations

import io
import posixpath
import tarfile
from pathlib import Path

from docker.errors import NotFound

from .readback import CHUNK


def read_head_tail(container, path: str, head: int, tail: int) -> tuple[bytes | None, bytes, int]:
    """(the first `head` bytes, the last `tail` of the rest, the size) of a file in the container,
    streamed so the host holds no more than that whatever its size; None first: no such file."""
    try:
        chunks, _ = container.get_archive(path, chunk_size=CHUNK)
    except NotFound:
        return None, b"", 0
    with tarfile.open(fileobj=io.BufferedReader(_Chunks(chunks)), mode="r|") as tar:
        for member in tar:
            fh = tar.extractfile(member) if member.isfile() else None
            if fh is None:
                continue
            first, last = bytearray(), bytearray()
            while chunk := fh.read(CHUNK):
                take = max(0, min(len(chunk), head - len(first)))
                first += chunk[:take]
                if tail:
                    last += chunk[take:]
                    del last[:max(0, len(last) - tail)]
            for _ in chunks:  # drain, so the daemon's response is complete and released
                pass
            return bytes(first), bytes(last), member.size
    return None, b"", 0


class _Chunks(io.RawIOBase):
    """A file over the chunks docker-py yields, for tarfile's streaming mode."""

    def __init__(self, chunks):
        self.chunks, self.pending = iter(chunks), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            self.pending = next(self.chunks, b"")
            if not self.pending:
                return 0
        n = min(len(buffer), len(self.pending))
        buffer[:n], self.pending = self.pending[:n], self.pending[n:]
        return n


def tar_files(root: Path, paths: list[str], arcroot: str) -> bytes:
    """`paths` under `root` with their parent folders, as arcroot/path, owned by root (git in the
    container refuses a repository owned by another user), modes kept (an executable stays one)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        done: set[str] = set()
        for rel in paths:
            parts = rel.split("/")
            for k in range(1, len(parts) + 1):
                sub = "/".join(parts[:k])
                if sub not in done:
                    done.add(sub)
                    info = tar.gettarinfo(str(root / sub), arcname=posixpath.join(arcroot, sub))
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                    if info.isfile():
                        with open(root / sub, "rb") as fh:
                            tar.addfile(info, fh)
                    else:
                        tar.addfile(info)
    return buf.getvalue()
