#!/usr/bin/env bash
# Set up a fresh Debian machine for patchwright: system packages, a running Docker daemon, and the
# package itself with the CPU model server. Safe to run again; each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v redis-server >/dev/null || need+=(redis-server)
command -v git >/dev/null || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "setup: starting dockerd"
  setsid dockerd >/tmp/patchwright-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /tmp/patchwright-dockerd.log" >&2; exit 1; }
fi

# llama-cpp-python compiles from source (about 5 minutes on 2 cores); pip caches the built wheel.
python3 -m pip install -q -e ".[test,cpu-model]"
echo "setup: done"
