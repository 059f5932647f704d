"""Image plumbing shared by the Docker sandbox: base image, cache keys, tars.

No registry is reachable, so the base image is made locally with debootstrap
and `docker import`; everything else derives from it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from typing import IO
from pathlib import Path

from .base import SandboxError

BASE_PACKAGES = "python3,python3-venv,python3-pip,git,ca-certificates"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
VENV_PATH = "/venv/bin:" + SYSTEM_PATH
ENV_REPOSITORY = "patchwright-env"
# Files that decide what gets installed; anything else may change freely
# (patches, new tests) without invalidating the cached environment.
DEPENDENCY_FILES = ("setup.py", "setup.cfg", "pyproject.toml", "tox.ini")
DEPENDENCY_GLOBS = ("requirements*.txt", "requirements/*.txt")
LOCK_DIR = Path(tempfile.gettempdir()) / "patchwright-locks"
DEBOOTSTRAP_TIMEOUT = 1200


@contextlib.contextmanager
def file_lock(name: str) -> Iterator[None]:
    """Serialise image builds across processes (workers, CLI runs, CI)."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    path = LOCK_DIR / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".lock")
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def dependency_files(repo_dir: Path) -> list[Path]:
    found = {repo_dir / n for n in DEPENDENCY_FILES if (repo_dir / n).is_file()}
    for pattern in DEPENDENCY_GLOBS:
        found.update(p for p in repo_dir.glob(pattern) if p.is_file())
    return sorted(found)


def env_cache_key(base_image_id: str, install: list[str], repo_dir: Path) -> str:
    h = hashlib.sha256()
    # Length-prefixed fields so that moving text between fields changes the key.
    def feed(data: bytes) -> None:
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)

    feed(base_image_id.encode())
    feed(str(len(install)).encode())
    for cmd in install:
        feed(cmd.encode())
    for path in dependency_files(repo_dir):
        feed(path.relative_to(repo_dir).as_posix().encode())
        feed(path.read_bytes())
    return h.hexdigest()


def env_tag(repo_dir: Path, key: str) -> str:
    """Docker tags allow [A-Za-z0-9_.-], up to 128 chars, no leading . or -."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", repo_dir.resolve().name).strip(".-")
    return f"{name[:80] or 'repo'}-{key[:12]}"


def repo_tar(repo_dir: Path, arcname: str) -> tuple[IO[bytes], list[str]]:
    """Tar `repo_dir` as `arcname/...`, owned by root; also list its files.

    Root ownership matters: git refuses to work in a repository owned by
    another user ("dubious ownership"), and containers run as root. The tar
    goes to a temporary file because a .git directory can be hundreds of MB.
    """
    files: list[str] = []

    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        if not info.isdir():
            rel = info.name[len(arcname) + 1 :]
            if rel and "\n" not in rel:
                files.append(rel)
        return info

    out = tempfile.TemporaryFile()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.add(str(repo_dir), arcname=arcname, filter=as_root)
    out.seek(0)
    return out, files


def tar_single_file(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        parent = name.rpartition("/")[0]
        if parent:  # give the daemon an explicit directory to extract into
            folder = tarfile.TarInfo(parent)
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(folder)
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _unmount_below(root: Path) -> None:
    # A debootstrap that died half-way can leave /proc or /sys mounted inside
    # the rootfs; rmtree would then wander into the host's /proc.
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return
    points = [m.split()[1] for m in mounts if len(m.split()) > 1]
    for point in sorted(points, reverse=True):
        if point == str(root) or point.startswith(str(root) + "/"):
            subprocess.run(["umount", "-l", point], check=False)


def build_base_image(
    client, tag: str, suite: str, mirror: str | None, work_dir: str | None = None,
    extra_packages: tuple[str, ...] | list[str] = (),
) -> None:
    """debootstrap a minimal Debian with Python and git (plus `extra_packages`), then `docker import` it."""
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise SandboxError(
            f"cannot build the base image {tag}: debootstrap is not installed "
            "(install it with `apt-get install -y debootstrap`)"
        )
    if os.geteuid() != 0:
        raise SandboxError(
            f"cannot build the base image {tag}: debootstrap needs root; "
            f"build it once as root (scripts/build-base-image.sh)"
        )
    work = Path(tempfile.mkdtemp(prefix="patchwright-rootfs-", dir=work_dir or "/var/tmp"))
    rootfs = work / "rootfs"
    include = ",".join([BASE_PACKAGES, *extra_packages])
    cmd = [debootstrap, "--variant=minbase", f"--include={include}", suite, str(rootfs)]
    if mirror:
        cmd.append(mirror)
    try:
        try:
            proc = subprocess.run(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=DEBOOTSTRAP_TIMEOUT, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SandboxError(f"debootstrap timed out after {exc.timeout}s: {' '.join(cmd)}") from exc
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.decode("utf-8", "replace").splitlines()[-30:])
            raise SandboxError(
                f"debootstrap failed (exit {proc.returncode}) building base image {tag}: "
                f"{' '.join(cmd)}\n{tail}"
            )
        # Stream the rootfs into the daemon; `docker import` images carry no
        # environment, so set the basics here.
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
            stdout=subprocess.PIPE,
        )
        repository, _, version = tag.rpartition(":") if ":" in tag.split("/")[-1] else (tag, "", "latest")
        try:
            client.api.import_image(
                src=tar.stdout, repository=repository, tag=version, stream_src=True,
                changes=[f"ENV PATH={SYSTEM_PATH}", "ENV LANG=C.UTF-8", 'CMD ["/bin/sh"]'],
            )
        finally:
            assert tar.stdout is not None
            tar.stdout.close()
            tar_rc = tar.wait()
        if tar_rc != 0:
            raise SandboxError(f"tar of the debootstrap rootfs failed (exit {tar_rc})")
    finally:
        _unmount_below(work)
        shutil.rmtree(work, ignore_errors=True)
