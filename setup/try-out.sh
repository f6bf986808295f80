#!/usr/bin/env bash
# The local try-out: `fedsync sync` end to end on emulators, no cloud account needed.
# Installs and starts moto (AWS) and the Graph emulator on loopback, seeds an Organization,
# shows the plan, syncs, changes a role in AWS, syncs again, explains one account's verdicts,
# lists the backups, shows what a restore of the first one would do, then stops what it started.
#
# `--credential aws-federation`: the sync app has no secret. AWS outbound identity federation
# (which moto does not serve) is answered by the fake in examples/outbound-federation in front of
# moto; fedsync runs as the task role, gets a JWT from STS, and the Graph emulator verifies it
# against the issuer's published key and the sync app's federated identity credential.
set -euo pipefail
cd "$(dirname "$0")/.."

credential=secret
case "${1:-}" in
  "") ;;
  --credential)
    credential="${2:-}"
    [ "$credential" = secret ] || [ "$credential" = aws-federation ] || {
      echo "try-out: --credential is secret or aws-federation, not ${credential:-empty}" >&2; exit 2; }
    ;;
  *) echo "usage: setup/try-out.sh [--credential secret|aws-federation]" >&2; exit 2 ;;
esac

bash setup/dev-env.sh
echo "try-out: building fedsync, the Graph emulator and the fake outbound federation..." >&2
cargo build -q --bin fedsync --example graph-emulator --example outbound-federation
target_dir=$(cargo metadata --format-version 1 --no-deps | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
fedsync="$target_dir/debug/fedsync"
emulator="$target_dir/debug/examples/graph-emulator"
outbound="$target_dir/debug/examples/outbound-federation"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The URL a helper started in the background prints as "NAME listening on URL" on
# $work/NAME.out, once it is ready; exits the try-out when it never does.
listening() {
  local name=$1 what=$2 url=
  for _ in $(seq 1 200); do
    url=$(sed -n "s/^$name listening on //p" "$work/$name.out")
    [ -n "$url" ] && { echo "$url"; return; }
    sleep 0.1
  done
  echo "try-out: $what did not start; see $work/$name.log" >&2
  exit 1
}

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
aws="http://127.0.0.1:$port"
for _ in $(seq 1 200); do
  if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('$aws/moto-api/')" 2>/dev/null; then break; fi
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
seeded=$(.venv/bin/python setup/seed_org.py seed --endpoint "$aws")

graph_seed=examples/graph-emulator/seed.example.json
if [ "$credential" = aws-federation ]; then
  "$outbound" --upstream "$aws" >"$work/outbound-federation.out" 2>"$work/outbound-federation.log" &
  pids+=($!)
  fake=$(listening outbound-federation "the fake outbound federation")
  federated=$(.venv/bin/python setup/seed_org.py federation --endpoint "$fake" \
    --graph-seed "$graph_seed" --out "$work/graph-seed.json")
  graph_seed="$work/graph-seed.json"
fi

"$emulator" --seed "$graph_seed" >"$work/graph-emulator.out" 2>"$work/graph-emulator.log" &
pids+=($!)
graph=$(listening graph-emulator "the Graph emulator")

export AWS_ENDPOINT_URL="$aws"
FEDSYNC_SAML_ENTITY_ID=$(sed -n 's/^FEDSYNC_SAML_ENTITY_ID=//p' <<<"$seeded")
FEDSYNC_SAML_CERTIFICATES=$(sed -n 's/^FEDSYNC_SAML_CERTIFICATES=//p' <<<"$seeded")
development=$(sed -n 's/^TRY_OUT_DEVELOPMENT=//p' <<<"$seeded")
export FEDSYNC_SAML_ENTITY_ID FEDSYNC_SAML_CERTIFICATES
# The emulator's example seed (examples/graph-emulator/seed.example.json): a test-only tenant,
# client and secret, and the AWS app's service principal with msiam_access and one AWS role.
export FEDSYNC_AUTHORITY_URL="$graph" FEDSYNC_GRAPH_URL="$graph"
export FEDSYNC_TENANT_ID=72f988bf-0000-4000-8000-00000000a001
export FEDSYNC_CLIENT_ID=5b1e1f7a-0000-4000-8000-00000000c001
export FEDSYNC_CLIENT_SECRET=local-emulator-secret-not-a-real-one
export FEDSYNC_SERVICE_PRINCIPAL_ID=5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11
export FEDSYNC_BACKUP_BUCKET=fedsync-try-out-backups FEDSYNC_ASSIGN_GROUPS=true FEDSYNC_MAX_REMOVALS=100%
export FEDSYNC_LOG_FORMAT=text
if [ "$credential" = aws-federation ]; then
  # No secret anywhere: fedsync runs as the task role (as ECS would give it its keys) and reaches
  # AWS through the fake; the sync app's only credential is the federated one.
  unset FEDSYNC_CLIENT_SECRET
  export FEDSYNC_CREDENTIAL=aws-federation AWS_ENDPOINT_URL="$fake"
  for key in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; do
    export "$key=$(sed -n "s/^$key=//p" <<<"$federated")"
  done
  echo; echo "== 0. Signing in without a secret: the sync app's federated credential"
  echo "issuer  $(sed -n 's/^TRY_OUT_ISSUER=//p' <<<"$federated")"
  echo "subject $(sed -n 's/^TRY_OUT_TASK_ROLE=//p' <<<"$federated") (the task role fedsync runs as)"
  echo "audience api://AzureADTokenExchange"
  "$fedsync" config show | grep -E '^[ !] (credential|client-secret|credentials-secret) ' | tr -s ' ' || true
fi

echo; echo "== 1. What AWS holds (fedsync inventory)"
"$fedsync" inventory
echo; echo "== 2. The first sync: plan, apply, report"
"$fedsync" sync --output text
echo; echo "== 3. A change in AWS"
.venv/bin/python setup/seed_org.py change --endpoint "$aws" --account "$development"
echo; echo "== 4. Syncing again: the new role is added, the deleted one disabled"
"$fedsync" sync --output text
echo; echo "== 5. Why fedsync decides what it decides about the development account (fedsync explain)"
"$fedsync" explain "$development"
echo; echo "== 6. The backups taken before each write"
"$fedsync" backups list
echo; echo "== 7. What restoring the first backup would do (dry run, writes nothing)"
first_backup=$("$fedsync" backups list --output json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[-1]["key"])')
"$fedsync" restore "$first_backup" --dry-run --output text
echo; echo "try-out: done; stopping what it started." >&2
