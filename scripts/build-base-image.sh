#!/usr/bin/env bash
# Make the sandbox usable on a fresh machine: Docker daemon up, debootstrap
# present, base image built. Idempotent and cheap once done, so CI can call it
# before the docker-marked tests (nothing starts dockerd for us, and there is
# no registry to pull a base image from).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if ! docker info >/dev/null 2>&1; then
    setsid dockerd >/tmp/dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /tmp/dockerd.log" >&2; exit 1; }
fi

# The Python side owns the recipe (and its lock), so the image is the same
# whether built here or on first use.
python3 - <<'PY'
from sandbox.docker import DockerSandboxConfig
sandbox = DockerSandboxConfig().build()
print(sandbox.config.base_image, sandbox.ensure_base_image())
PY
