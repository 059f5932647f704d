#!/usr/bin/env bash
# The test command: set up what the tests need (Docker, the model server package), then run every
# test, the Docker and real-model ones included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m pytest -q -p no:cacheprovider "$@"
