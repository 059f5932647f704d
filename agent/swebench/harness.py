"""Containers for SWE-bench evaluation, built offline: a Debian base per Python, an environment
image per (repository, version), an instance image per instance, and one throw-away test
container per prediction on an internal network."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import ConfigError, PatchwrightError
from agent.swebench import envspec
from agent.swebench.checkout import checkout
from agent.swebench.dataset import Specs
from sandbox import layers
from sandbox.base import ExecResult
from sandbox.docker import DockerSandbox, DockerSandboxConfig
from sandbox.images import file_lock
from tools.git import resolve_source

MISSING = re.compile(r"^>>>>> patchwright: not installed: (.+)$", re.M)


class SetupError(PatchwrightError):
    """An environment or instance image did not build; the instance is recorded as an error.
    `needs_internet` names what the setup tried to fetch from a host other than PyPI."""

    def __init__(self, message: str, needs_internet: str | None = None):
        super().__init__(message)
        self.needs_internet = needs_internet


# Setup steps that reach for hosts this harness cannot (PyPI is reachable; GitHub is not).
OFFLINE_SETUP = re.compile(r"(?:unable to access|Could not resolve host:?)\s*'?(https?://[^\s']+|[\w.-]+\.\w+)")


@dataclass
class EnvImage:
    tag: str
    suite: str
    python_spec: str
    python_used: str
    seconds: float
    cached: bool
    missing: list[str] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip(".-")[:90]


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p.encode()).to_bytes(8, "big") + p.encode())
    return h.hexdigest()[:12]


class Harness:
    def __init__(self, specs: Specs, repos_dir: Path | None, out_dir: Path, *, sandbox: DockerSandboxConfig | None = None,
                 timeout: float = 1800, setup_timeout: float = 3600, mem_limit: str = "4g", cpus: float = 2.0,
                 keep_instance_images: bool = False, run_id: str | None = None):
        self.specs, self.repos_dir, self.out_dir = specs, repos_dir, out_dir
        self.config = sandbox or DockerSandboxConfig()
        if not isinstance(self.config, DockerSandboxConfig):  # e.g. [sandbox] type = "scripted"
            raise ConfigError(f'SWE-bench mode builds Docker images: it needs [sandbox] type = "docker", '
                              f'not "{self.config.type}"')
        self.sb = self.config.build(run_id=run_id)  # run_id: in every container's labels
        self.timeout, self.setup_timeout = timeout, setup_timeout
        self.mem_limit, self.cpus, self.keep = mem_limit, cpus, keep_instance_images

    # -- images -------------------------------------------------------------------------
    def base_image(self, suite: str) -> str:
        tag = f"patchwright-swebench-base:{suite}"
        cfg = self.config.model_copy(update={"base_image": tag, "suite": suite,
                                             "extra_packages": envspec.BASE_EXTRA_PACKAGES})
        DockerSandbox(cfg).ensure_base_image()
        return tag

    def mirror(self, repo: str) -> Path:
        return Path(resolve_source(repo, self.repos_dir))

    def env_image(self, row: dict) -> EnvImage:
        spec = self.specs.spec(row["repo"], row["version"])
        suite, used = envspec.choose_suite(spec.get("python", "3.9"))
        base = self.base_image(suite)
        mirror = self.mirror(row["repo"])
        script = envspec.env_script(row, spec, mirror, self.specs)
        base_id = self.sb.client.images.get(base).id
        tag = f"patchwright-swebench-env:{_slug(row['repo'])}-{_slug(row['version'])}-{_digest(base_id, script)}"
        log_dir = self.out_dir / "build_images" / "env" / tag.split(":")[1]
        meta_path = log_dir / "env.json"
        with file_lock("swebench-" + tag):
            if not layers.image_exists(self.sb, tag):
                self._reuse_same_script(tag, meta_path)
            if layers.image_exists(self.sb, tag):
                meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
                return EnvImage(tag, suite, str(spec.get("python")), used, 0.0, True, meta.get("missing", []))
            log_dir.mkdir(parents=True, exist_ok=True)
            (log_dir / "setup_env.sh").write_text(script)
            layer = layers.build_layer(self.sb, base, tag, script, timeout=self.setup_timeout)
            (log_dir / "build.log").write_text(layer.log)
            if not layer.ok:
                raise SetupError(f"environment {row['repo']} {row['version']} did not build "
                                 f"(see {log_dir / 'build.log'}): {_tail(layer.log)}")
            env = EnvImage(tag, suite, str(spec.get("python")), used, round(layer.seconds, 1), False,
                           sorted(set(MISSING.findall(layer.log))))
            meta_path.write_text(json.dumps(env.__dict__, indent=2))
            return env

    def _reuse_same_script(self, tag: str, meta_path: Path) -> None:
        """Versions of a repository often share one install recipe (astropy 4.3 to 5.2): an image
        built from the same script on the same base is tagged again instead of built again."""
        repository, _, name = tag.partition(":")
        prefix, digest = name.split("-")[0], name.rsplit("-", 1)[1]
        for image in self.sb.client.images.list(name=repository):
            for other in image.tags:
                other_name = other.partition(":")[2]
                if other_name.startswith(prefix) and other_name.endswith("-" + digest):
                    image.tag(repository, name)
                    other_meta = self.out_dir / "build_images" / "env" / other_name / "env.json"
                    if other_meta.is_file() and not meta_path.is_file():
                        meta_path.parent.mkdir(parents=True, exist_ok=True)
                        meta_path.write_text(other_meta.read_text())
                    return

    def instance_image(self, row: dict, env: EnvImage) -> tuple[str, float, bool]:
        spec = self.specs.spec(row["repo"], row["version"])
        script = envspec.instance_script(row, spec)
        tag = f"patchwright-swebench-inst:{_slug(row['instance_id'])}-{_digest(env.tag, row['base_commit'], script)}"
        log_dir = self.out_dir / "build_images" / "instances" / row["instance_id"]
        with file_lock("swebench-" + tag):
            if layers.image_exists(self.sb, tag):
                return tag, 0.0, True
            log_dir.mkdir(parents=True, exist_ok=True)
            (log_dir / "setup_repo.sh").write_text(script)
            work = Path(tempfile.mkdtemp(prefix="pw-swebench-", dir="/var/tmp"))
            try:
                started = time.monotonic()
                left_out = checkout(self.mirror(row["repo"]), row["base_commit"], work / "testbed")
                if left_out:  # kept with the image's build log, where outcome.json points to it
                    (log_dir / "left_out.txt").write_text("\n".join(left_out) + "\n")
                layer = layers.build_layer(self.sb, env.tag, tag, script, timeout=self.setup_timeout,
                                           trees=[(work / "testbed", "testbed")], workdir="/testbed")
            finally:
                shutil.rmtree(work, ignore_errors=True)
            (log_dir / "build.log").write_text(layer.log)
            if not layer.ok:
                m = OFFLINE_SETUP.search(layer.log)
                raise SetupError(f"instance setup (install) failed (see {log_dir / 'build.log'}): {_tail(layer.log)}",
                                 needs_internet=f"setup: {m.group(0)}" if m else None)
            return tag, round(time.monotonic() - started, 1), False

    def drop_instance_image(self, tag: str) -> None:
        if not self.keep:
            layers.remove_image(self.sb, tag)

    # -- one evaluation -----------------------------------------------------------------
    def reinstall_layer(self, row: dict, image: str, patch: str) -> tuple[str | None, str]:
        """The patch applied and the project installed again, with the network (as the official
        eval script's `install` has it): for patches that touch packaging files."""
        spec = self.specs.spec(row["repo"], row["version"])
        tag = f"patchwright-swebench-tmp:{_slug(row['instance_id'])}-{_digest(image, patch)}"
        layer = layers.build_layer(self.sb, image, tag, envspec.reinstall_script(spec, row["repo"]), timeout=self.setup_timeout,
                                   files={"/patchwright/patch.diff": patch.encode()}, workdir="/testbed")
        return (tag if layer.ok else None), layer.log

    def run_eval(self, row: dict, image: str, patch: str | None, eval_sh: str) -> ExecResult:
        """Apply `patch` (None: apply nothing, the empty oracle or already applied) and run the
        eval script offline."""
        network = layers.ensure_network(self.sb)
        files = {"/patchwright/eval.sh": eval_sh.encode()}
        if patch is not None:
            files["/patchwright/patch.diff"] = patch.encode()
        script = envspec.runner_script(row["repo"], apply_patch=patch is not None)
        result, _ = layers.run_script(self.sb, image, script, timeout=self.timeout, files=files, network=network,
                                      mem_limit=self.mem_limit, cpus=self.cpus)
        return result


def _tail(log: str, lines: int = 6) -> str:
    return " | ".join(line for line in log.strip().splitlines()[-lines:])
