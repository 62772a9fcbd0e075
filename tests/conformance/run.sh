#!/usr/bin/env bash
# OAuth conformance: two independent strict clients against the release build on loopback,
# one named check per protocol clause (README, "OAuth conformance"):
#   - oauth4webapi (npm), tests/conformance/oauth4webapi.mjs (+ oauth4webapi_keys.mjs)
#   - authlib (PyPI),     tests/conformance/authlib_client.py (+ authlib_keys.py)
# It builds the release binary (or takes M2M_BIN), creates a fresh database, starts the server
# on a free port with PUBLIC_URL set to it, creates a Super Admin with the CLI and the
# credentials through the console (sign-in, CSRF token, create form, reveal page), installs
# the clients' pinned packages under target/conformance/ (never globally), runs both clients
# and prints their PASS/FAIL lines and a total. Secrets reach the clients in environment
# variables only; no line printed names one. Everything it starts is stopped by PID, the
# database is dropped, and each step is bounded in time (CONF_TIMEOUT for the whole run once
# built).
# Run from the repository root: bash tests/conformance/run.sh   (about 15 seconds once built)
set -euo pipefail
cd "$(dirname "$0")/../.."

CONF_TIMEOUT=${CONF_TIMEOUT:-300}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=m2m_conformance_$$
DEPS="$PWD/target/conformance"
WORK=$(mktemp -d /tmp/m2m-conformance.XXXXXX)
chmod 700 "$WORK"
SERVER="" WATCHDOG="" DB_CREATED=""

cleanup() {
  local status=$?
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  if [ -n "$DB_CREATED" ]; then
    psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ -n "$WATCHDOG" ]; then
    pkill -P "$WATCHDOG" 2>/dev/null || true # its sleep
    kill "$WATCHDOG" 2>/dev/null || true
  fi
  if [ "$status" != 0 ] && [ -f "$WORK/server.log" ]; then
    echo "--- last lines of the server's log ---"
    tail -n 20 "$WORK/server.log" || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted or over CONF_TIMEOUT=$CONF_TIMEOUT s"; exit 124' TERM INT

if [ -n "${M2M_BIN:-}" ]; then
  BIN=$M2M_BIN
else
  cargo build --release --quiet
  BIN="$PWD/target/release/m2m-console"
fi
[ -x "$BIN" ] || { echo "no server binary at $BIN"; exit 1; }

( sleep "$CONF_TIMEOUT"; kill -TERM $$ ) >/dev/null 2>&1 </dev/null &
WATCHDOG=$!

# --- the clients' packages, pinned, under target/ ------------------------------------------
# npm: oauth4webapi at the exact version of tests/conformance/package-lock.json.
NODE_DIR="$DEPS/node"
if ! cmp -s tests/conformance/package-lock.json "$NODE_DIR/package-lock.json" \
  || [ ! -f "$NODE_DIR/node_modules/oauth4webapi/package.json" ]; then
  echo "installing oauth4webapi (npm) under $NODE_DIR"
  rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
  cp tests/conformance/package.json tests/conformance/package-lock.json "$NODE_DIR/"
  (cd "$NODE_DIR" && timeout 180 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
export OAUTH4WEBAPI="$NODE_DIR/node_modules/oauth4webapi/build/index.js"
# PyPI: authlib, requests and cryptography, every package pinned in requirements.txt.
VENV="$DEPS/venv"
if ! cmp -s tests/conformance/requirements.txt "$VENV/requirements.txt"; then
  echo "installing authlib, requests and cryptography (PyPI) under $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  timeout 300 "$VENV/bin/pip" install -q --disable-pip-version-check -r tests/conformance/requirements.txt
  cp tests/conformance/requirements.txt "$VENV/requirements.txt"
fi

# --- a fresh database and the server on a free loopback port --------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="$PGURL/$DB" BIND_ADDR="127.0.0.1:$PORT" PUBLIC_URL="$BASE" RUST_LOG=warn DRAIN_SECONDS=0 \
  LOG_FORMAT=json
DB_CREATED=1
"$BIN" migrate >/dev/null
# A random password, kept in a file so that it appears on no command line.
python3 -c 'import secrets; print(secrets.token_urlsafe(24), end="")' >"$WORK/password"
"$BIN" create-user --org Conformance --email admin@conformance.test \
  --role super-admin --password-stdin <"$WORK/password" >/dev/null
psql -q "$DATABASE_URL" <<'SQL'
INSERT INTO apis (id, org_id, scope, name) SELECT gen_random_uuid(), id, 'orders:read', 'Orders read' FROM organisations;
INSERT INTO apis (id, org_id, scope, name) SELECT gen_random_uuid(), id, 'orders:write', 'Orders write' FROM organisations;
INSERT INTO roles (id, org_id, name) SELECT gen_random_uuid(), id, 'Orders' FROM organisations;
INSERT INTO role_apis (role_id, api_id) SELECT r.id, a.id FROM roles r JOIN apis a ON a.org_id = r.org_id;
SQL

"$BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fs --max-time 2 -o /dev/null "$BASE/readyz" && break
  kill -0 "$SERVER" 2>/dev/null || { echo "the server exited at start"; exit 1; }
  sleep 0.1
done
curl -fs --max-time 2 -o /dev/null "$BASE/readyz" || { echo "the server did not become ready"; exit 1; }

# --- credentials through the console, as a Super Admin would create them ---------------------
JAR="$WORK/cookies"
CURL=(curl -fs --max-time 10 -c "$JAR" -b "$JAR")
csrf() { grep -o 'name="csrf-token" content="[^"]*"' | head -1 | sed 's/.*content="//; s/"$//'; }
TOKEN=$("${CURL[@]}" "$BASE/login" | csrf)
"${CURL[@]}" -o /dev/null --data-urlencode "email=admin@conformance.test" \
  --data-urlencode "password@$WORK/password" --data-urlencode "csrf_token=$TOKEN" "$BASE/login"
TOKEN=$("${CURL[@]}" "$BASE/settings/integrations/machine-to-machine/new" | csrf)
ROLE=$(psql -tAq "$DATABASE_URL" -c "SELECT id FROM roles WHERE name = 'Orders'")
# create PREFIX NAME [management scope…]: sets PREFIX_ID (client ID), PREFIX_SECRET and
# PREFIX_UUID (the credential's id in the management API), read off the reveal page.
create() {
  local prefix=$1 name=$2 scope id secret
  shift 2
  local extra=()
  for scope in "$@"; do extra+=(--data-urlencode "management_scopes=$scope"); done
  "${CURL[@]}" --data-urlencode "name=$name" --data-urlencode "owner_email=ops@conformance.test" \
    --data-urlencode "role_id=$ROLE" --data-urlencode "access_level=full" \
    --data-urlencode "expiry=never" --data-urlencode "csrf_token=$TOKEN" "${extra[@]}" \
    "$BASE/settings/integrations/machine-to-machine" >"$WORK/reveal.html"
  id=$(grep -o 'data-testid="client-id"[^>]*>[^<]*' "$WORK/reveal.html" | sed 's/.*>//')
  secret=$(grep -o 'data-testid="client-secret"[^>]*>[^<]*' "$WORK/reveal.html" | sed 's/.*>//')
  rm -f "$WORK/reveal.html"
  [ -n "$id" ] && [ -n "$secret" ] || { echo "could not create credential \"$name\" through the console"; exit 1; }
  printf -v "${prefix}_ID" '%s' "$id"
  printf -v "${prefix}_SECRET" '%s' "$secret"
  printf -v "${prefix}_UUID" '%s' "$(psql -tAq "$DATABASE_URL" -c "SELECT id FROM credentials WHERE client_id = '$id'")"
}
create NODE "oauth4webapi client"
create PY "authlib client"
create RS "Resource server"
create KEYS "Key manager" m2m.credentials:read m2m.credentials:rotate
create NODE_JWT "oauth4webapi private_key_jwt"
create PY_JWT "authlib private_key_jwt"

# --- the clients ------------------------------------------------------------------------------
export CONF_ISSUER="$BASE" CONF_WHOAMI="$BASE/api/v1/whoami" \
  CONF_RS_ID="$RS_ID" CONF_RS_SECRET="$RS_SECRET" \
  CONF_KEYS_ID="$KEYS_ID" CONF_KEYS_SECRET="$KEYS_SECRET"
STATUS=0
echo "== oauth4webapi $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$NODE_DIR/node_modules/oauth4webapi/package.json" | head -1) =="
CONF_CLIENT_ID="$NODE_ID" CONF_CLIENT_SECRET="$NODE_SECRET" \
  CONF_JWT_ID="$NODE_JWT_ID" CONF_JWT_UUID="$NODE_JWT_UUID" \
  timeout 120 node tests/conformance/oauth4webapi.mjs | tee "$WORK/node.out" || STATUS=1
echo "== authlib $("$VENV/bin/python" -c 'import authlib; print(authlib.__version__)') =="
CONF_CLIENT_ID="$PY_ID" CONF_CLIENT_SECRET="$PY_SECRET" \
  CONF_JWT_ID="$PY_JWT_ID" CONF_JWT_UUID="$PY_JWT_UUID" AUTHLIB_INSECURE_TRANSPORT=1 \
  timeout 120 "$VENV/bin/python" tests/conformance/authlib_client.py | tee "$WORK/python.out" || STATUS=1

PASSED=$(cat "$WORK/node.out" "$WORK/python.out" | grep -c '^PASS ' || true)
FAILED=$(cat "$WORK/node.out" "$WORK/python.out" | grep -c '^FAIL ' || true)
echo "conformance: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ] || STATUS=1
if [ "$STATUS" != 0 ] && grep -q '"level":"ERROR"' "$WORK/server.log"; then
  echo "--- errors in the server's log ---"
  grep '"level":"ERROR"' "$WORK/server.log" | tail -n 10
fi
exit "$STATUS"
