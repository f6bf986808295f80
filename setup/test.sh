#!/usr/bin/env bash
# The README's test command: installs the test dependencies (setup/dev-env.sh), then runs every
# test of the workspace. Extra arguments go to `cargo test` (e.g. `setup/test.sh plan`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash setup/dev-env.sh
export PATH="$PWD/.venv/bin:$PATH"
cargo test "$@"
