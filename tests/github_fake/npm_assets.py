"""GitHub's own published descriptions, taken from npm rather than written by hand: the REST
OpenAPI description (@octokit/openapi) that the fake server checks request bodies against, and
the example webhook payloads (@octokit/webhooks-examples) the tests post.

`scripts/setup.sh` runs `python tests/github_fake/npm_assets.py fetch`, which uses `npm pack` into
a cache outside the repository and keeps only the files read here (the full OpenAPI package
unpacks to ~400 MB of GHES variants; one description is 13 MB). Versions are pinned here, once.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# package -> (version, files kept from the tarball, relative to its package/ folder)
PACKAGES = {
    "@octokit/openapi": ("23.0.2", ["generated/api.github.com.json"]),
    "@octokit/webhooks-examples": ("7.6.1", ["api.github.com/index.json"]),
}


class MissingAsset(RuntimeError):
    """The npm files are not in the cache: `bash scripts/setup.sh` fetches them."""


def npm_dir() -> Path:
    return Path(os.environ.get("PATCHWRIGHT_NPM_DIR") or "~/.cache/patchwright/npm").expanduser()


def package_dir(package: str) -> Path:
    version = PACKAGES[package][0]
    return npm_dir() / f"{package.lstrip('@').replace('/', '-')}-{version}"


def asset(package: str, name: str) -> Path:
    path = package_dir(package) / name
    if not path.is_file():
        raise MissingAsset(f"{path} is missing: run `python tests/github_fake/npm_assets.py fetch` "
                           f"(scripts/setup.sh does) to get {package}@{PACKAGES[package][0]} from npm")
    return path


def openapi_path() -> Path:
    return asset("@octokit/openapi", "generated/api.github.com.json")


@functools.lru_cache(maxsize=1)
def _webhook_examples() -> str:
    return asset("@octokit/webhooks-examples", "api.github.com/index.json").read_text(encoding="utf-8")


def webhook_example(event: str, action: str | None = None, index: int = 0) -> dict:
    """The index-th example payload GitHub documents for `event` (and `action`): a fresh copy each call."""
    for entry in json.loads(_webhook_examples()):
        if entry["name"] == event:
            found = [e for e in entry["examples"] if action is None or e.get("action") == action]
            if len(found) > index:
                return found[index]
    raise KeyError(f"no example #{index} for {event}.{action} in @octokit/webhooks-examples")


def fetch() -> list[Path]:
    """Download (npm pack) each pinned package whose files are not cached yet; return the kept files."""
    kept = []
    for package, (version, files) in PACKAGES.items():
        dest = package_dir(package)
        if all((dest / f).is_file() for f in files):
            kept += [dest / f for f in files]
            continue
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", "--silent", f"{package}@{version}", "--pack-destination", tmp],
                           check=True, stdout=subprocess.DEVNULL)
            tarball = next(Path(tmp).glob("*.tgz"))
            with tarfile.open(tarball) as tar:
                for name in files:
                    member = tar.getmember(f"package/{name}")
                    target = dest / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = tar.extractfile(member)
                    assert source is not None
                    partial = target.with_suffix(".part")
                    partial.write_bytes(source.read())
                    partial.replace(target)  # never leave a half-written file that looks complete
                    kept.append(target)
    return kept


if __name__ == "__main__":
    if sys.argv[1:] != ["fetch"]:
        sys.exit("usage: python tests/github_fake/npm_assets.py fetch")
    for path in fetch():
        print(f"npm asset: {path}")
