"""One container for a whole agent-mode run, where the model's commands run.

It is started from the run's environment image with the network off, the sandbox's memory, CPU
and pid limits, no-new-privileges, the owner labels (so the reaper removes it if this process
dies), and an environment of our own (the image's PATH, nothing from the host). The working copy
is copied in with put_archive, never mounted: nothing the model does in here reaches a host file.

The host working copy stays the truth. `sync_in` copies files the host changed into the
container; `diff_out` reads the container's changes back as a git diff against the base commit,
for the host to check and apply (agent/agent_mode/toolbox.py). Files the environment image has
and the working copy does not (an editable install's egg-info, built extensions) are excluded
from that diff, as are bytecode caches.
"""

from __future__ import annotations

import time
from pathlib import Path

import requests
from docker.errors import APIError, DockerException, NotFound

from . import archive, containers, images, readback
from .base import ExecResult, SandboxError
from .docker import DockerSandbox

STATE = "/patchwright-session"   # the session's own files: command output, the exclude list, a scratch index
KILL_AFTER = 5                   # s from timeout's TERM to its KILL
START_WAIT = 10                  # s an exec may take to start before the container is called broken
GRACE = 30                       # s past a command's timeout before the container itself is given up
ENV = {"LANG": "C.UTF-8", "HOME": "/root", "TZ": "Etc/UTC", "PYTHONDONTWRITEBYTECODE": "1"}
EXCLUDES = ("__pycache__/", "*.py[cod]", ".pytest_cache/")
# The flags of tools/edits/diff.py (sandbox/ does not import tools/): the two diffs compare equal.
DIFF_FLAGS = ["--binary", "--no-color", "--no-ext-diff", "--no-renames", "--full-index",
              "--src-prefix=a/", "--dst-prefix=b/"]
LIST_LIMIT = 64 << 20            # bytes of a file listing read back
# Runs argv ($1...) in the repository under `timeout`, output to a file: a detached exec never
# waits on a background process that keeps the output open.
WRAPPER = (f'mkdir -p {STATE} && rm -f {STATE}/data && cd "$1" '
           f'|| {{ echo "patchwright: no repository at $1" > {STATE}/out; exit 125; }}; '
           f'shift; exec timeout -k {KILL_AFTER} "$0" "$@" > {STATE}/out 2>&1 < /dev/null')
DIFF_SCRIPT = f'''set -o pipefail
test -f {STATE}/exclude || {{ echo "patchwright: the session's files in the container are gone" >&2; exit 3; }}
export GIT_INDEX_FILE={STATE}/index
cp -p .git/index "$GIT_INDEX_FILE" 2>/dev/null || git read-tree "$1" || exit 3
git -c core.excludesFile={STATE}/exclude add -A . || exit 3
git -c core.quotepath=off diff --cached {" ".join(DIFF_FLAGS)} "$1" | head -c "$2" > {STATE}/data
'''


class Session:
    """`with Session(sandbox, image).start(root) as s: s.exec("pytest -x", 120)`."""

    def __init__(self, sandbox: DockerSandbox, image: str, *, workdir: str | None = None,
                 output_chars: int = 8000, max_diff_bytes: int | None = None):
        self.sandbox, self.image = sandbox, image
        self.workdir = workdir          # None: the image's working directory, else /repo
        self.output_chars = output_chars
        self.max_diff_bytes = max_diff_bytes or sandbox.config.max_file_bytes
        self.container = None
        self.root: Path | None = None
        self.base = ""                  # the commit the container's diff is taken against

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, root: Path) -> Session:
        """A fresh container holding a copy of the working copy at `root`."""
        self.close()
        self.root = Path(root).resolve()
        cfg, client = self.sandbox.config, self.sandbox.client
        try:
            self.workdir = self.workdir or _image_workdir(client, self.image)
            self.container = containers.create(
                client, self.image, ["sleep", "infinity"], self.sandbox.labels, init=True,
                network_mode="none", mem_limit=cfg.mem_limit, memswap_limit=cfg.mem_limit,
                nano_cpus=int(cfg.cpus * 1e9), pids_limit=cfg.pids_limit, environment=dict(ENV),
                security_opt=["no-new-privileges"])
            self.container.start()
            [names] = containers.put(self.container, [(self.root, self.workdir.lstrip("/"))], {})
            self._baseline(set(names))
        except (APIError, DockerException, requests.RequestException, OSError) as exc:
            self.close()
            raise SandboxError(f"cannot start the run's container from {self.image}: {exc}") from exc
        except SandboxError:
            self.close()
            raise
        return self

    def restart(self) -> Session:
        """A new container from the host working copy (after the model broke this one)."""
        if self.root is None:
            raise SandboxError("the session was never started")
        return self.start(self.root)

    def close(self) -> None:
        if self.container is not None:
            containers.remove(self.container)  # force: kills it first
            self.container = None

    # -- commands -------------------------------------------------------------------------
    def exec(self, command: str, timeout: float) -> ExecResult:
        """Run `command` with bash in the repository; its output (stdout and stderr) is cut to
        output_chars, keeping the first and last halves and saying what was cut."""
        half = max(self.output_chars // 2, 1)
        result, _ = self._run(["bash", "-c", command], timeout, head=half, tail=half)
        return result

    def read_file(self, path: str, limit: int | None = None) -> str | None:
        """The first `limit` bytes of a file in the container (JUnit XML), None if there is none."""
        try:
            text, _ = readback.read_file(self._live(), path, limit or self.sandbox.config.max_file_bytes)
            return text
        except NotFound:
            return None
        except (APIError, requests.RequestException) as exc:
            raise SandboxError(f"cannot read {path} from the run's container: {exc}") from exc

    # -- keeping the container and the host working copy the same ------------------------
    def sync_in(self, root: Path, paths: list[str]) -> None:
        """Make `paths` (relative to the repository) in the container as they are under `root`:
        copied with their modes, or removed where the host has none."""
        root = Path(root).resolve()
        for rel in paths:
            parts = rel.split("/")
            if rel.startswith("/") or ".." in parts or ".git" in parts:
                raise ValueError(f"not a path inside the repository: {rel}")
        present = [p for p in paths if (root / p).exists() or (root / p).is_symlink()]
        gone = [p for p in paths if p not in present]
        try:
            if present:
                self._live().put_archive("/", archive.tar_files(root, present, self.workdir.lstrip("/")))
        except (APIError, requests.RequestException) as exc:
            raise SandboxError(f"cannot copy files into the run's container: {exc}") from exc
        if gone:
            result, _ = self._run(["rm", "-rf", "--", *gone], 60)
            if result.exit_code != 0:
                raise SandboxError(f"cannot remove {', '.join(gone)} in the run's container: {result.output}")

    def put(self, files: dict[str, bytes]) -> None:
        """Write files (paths relative to the repository) into the container only."""
        try:
            for rel, data in files.items():
                self._live().put_archive("/", images.tar_single_file(f"{self.workdir.lstrip('/')}/{rel}", data))
        except (APIError, requests.RequestException) as exc:
            raise SandboxError(f"cannot copy files into the run's container: {exc}") from exc

    def diff_out(self) -> str:
        """The container repository's changes against the base commit, new files included, as
        `git diff --binary`. SandboxError when git cannot make it (the model broke the repository
        or the container) or it is over max_diff_bytes."""
        limit = self.max_diff_bytes
        result, data = self._run(["bash", "-c", DIFF_SCRIPT, "diff", self.base, str(limit + 1)], 300,
                                 head=4000, tail=4000, data_limit=limit + 1)
        if data is not None and len(data) > limit:
            raise SandboxError(f"the changes in the container are over {limit} bytes as a diff")
        if result.exit_code != 0 or data is None:
            raise SandboxError(f"git could not diff the container's repository (exit {result.exit_code}): "
                               f"{result.output.strip()[-500:]}")
        return data.decode("utf-8", "surrogateescape")

    # -- inside ---------------------------------------------------------------------------
    def _baseline(self, put: set[str]) -> None:
        """Record the base commit; exclude from diffs the files only the image has (build
        products), and remove tracked files the working copy deleted."""
        head, data = self._run(["bash", "-c", f"git rev-parse --verify HEAD > {STATE}/data"], 120, data_limit=200)
        if head.exit_code != 0 or not data:
            raise SandboxError(f"no git repository at {self.workdir} in {self.image} (git is needed there): "
                               f"{head.output.strip()[-300:]}")
        self.base = data.decode().strip()
        tracked = self._listing("--cached")
        untracked = self._listing("--others", "--exclude-standard")
        only_here = sorted(p for p in untracked - put if "\n" not in p)
        exclude = "".join(f"{p}\n" for p in EXCLUDES) + "".join(f"/{_escaped(p)}\n" for p in only_here)
        self._put_state("exclude", exclude.encode())
        deleted = sorted(tracked - put)
        if deleted:
            self._put_state("deleted", b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in deleted))
            self._run(["bash", "-c", f"xargs -0 -r rm -f -- < {STATE}/deleted"], 120)
        self._run(["git", "update-index", "-q", "--refresh"], 300)  # the copied index has the host's stat data

    def _put_state(self, name: str, data: bytes) -> None:
        self._live().put_archive("/", images.tar_single_file(f"{STATE.lstrip('/')}/{name}", data))

    def _listing(self, *flags: str) -> set[str]:
        result, data = self._run(["bash", "-c", f'git ls-files -z "$@" > {STATE}/data', "ls", *flags], 300,
                                 data_limit=LIST_LIMIT)
        if result.exit_code != 0 or data is None:
            raise SandboxError(f"git ls-files failed in the run's container: {result.output.strip()[-300:]}")
        return {p for p in data.decode("utf-8", "surrogateescape").split("\0") if p}

    def _run(self, argv: list[str], timeout: float, *, head: int = 4000, tail: int = 4000,
             data_limit: int = 0) -> tuple[ExecResult, bytes | None]:
        """Run argv under `timeout` in the repository; read back its output (the first `head` and
        last `tail` bytes) and, with data_limit, the first bytes of STATE/data."""
        api = self._live().client.api
        started = time.monotonic()
        try:
            exec_id = api.exec_create(self.container.id, ["/bin/sh", "-c", WRAPPER, f"{timeout:g}", self.workdir,
                                                          *argv], stdout=False, stderr=False)["Id"]
            api.exec_start(exec_id, detach=True)
            info = _wait(api, exec_id, started + timeout + KILL_AFTER + GRACE)
            if info is None:
                self.close()
                raise SandboxError(f"a command in the run's container did not stop {GRACE} s after its "
                                   f"{timeout:g} s timeout; the container was removed")
            output = archive.read_head_tail(self.container, f"{STATE}/out", head, tail)
            data = archive.read_head_tail(self.container, f"{STATE}/data", data_limit, 0)[0] if data_limit else None
        except (APIError, requests.RequestException) as exc:
            raise SandboxError(f"docker failed while running a command in the run's container: {exc}") from exc
        duration = time.monotonic() - started
        code = info.get("ExitCode")
        timed_out = code in (124, 137) and duration >= timeout
        text, truncated = _shown(*output)
        return ExecResult(None if timed_out else code, text, timed_out=timed_out, duration=duration,
                          truncated=truncated), data

    def _live(self):
        if self.container is None:
            raise SandboxError("the run's container is not running (start() it first)")
        return self.container


def _image_workdir(client, image: str) -> str:
    workdir = (client.images.get(image).attrs.get("Config") or {}).get("WorkingDir") or ""
    return workdir if workdir not in ("", "/") else "/repo"


def _wait(api, exec_id: str, deadline: float) -> dict | None:
    """The exec's final inspection, None if it still runs at `deadline`."""
    pause, started = 0.02, time.monotonic()
    while True:
        info = api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return info
        if not info.get("Running") and time.monotonic() - started > START_WAIT:
            raise SandboxError(f"a command in the run's container did not start within {START_WAIT} s")
        if time.monotonic() > deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _shown(first: bytes | None, last: bytes, total: int) -> tuple[str, list[str]]:
    """The output as the model sees it, the cut said in it; and the cut for ExecResult.truncated."""
    if first is None:
        return "[patchwright: the command's output file was removed while it ran]\n", []
    cut = total - len(first) - len(last)
    if cut <= 0:
        return (first + last).decode("utf-8", "replace"), []
    note = f"output: {total} bytes, kept the first {len(first)} and the last {len(last)}"
    text = (first.decode("utf-8", "replace") + f"\n[... {cut} bytes of output cut here: {note} ...]\n"
            + last.decode("utf-8", "replace"))
    return text, [note]


def _escaped(path: str) -> str:
    """A path as a gitignore pattern matching only itself."""
    return "".join("\\" + c if c in "\\*?[]!# " else c for c in path)
