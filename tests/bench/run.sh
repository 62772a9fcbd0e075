#!/usr/bin/env bash
# Benchmarks the machine side against the release binary on a real database, with wrk as the
# load generator and floors measured in the same run (see ../shared/bench/README.md):
#   - insert floor:  pgbench, one token-shaped row INSERT+COMMIT per transaction
#   - read floor:    pgbench -S, one SELECT by primary key per transaction
#   - handler floor: the bench's own actix-web + diesel handler doing one primary-key SELECT
#                    with a pool of 4 (tests/bench/floor.rs), so the floor cannot move with
#                    the product
# The database holds what a large installation would: 200,000 credentials with ten live tokens
# each (2,000,000), seeded in SQL. Then: token issuance (also during a rotation overlap),
# introspection and bearer whoami, each for a live token, a token pushed out behind 100,000
# newer ones of its credential and a token that never existed, each with p50/p99 and its ratio
# to the relevant floor; the console's credentials list with 10 credentials (signed in, 4
# connections); the server's RSS; the sign-in timing of unknown email vs wrong password; the
# server's peak RSS during a burst of sign-ins from many addresses; and the table's size.
# Run from the repository root: bash tests/bench/run.sh  (about 5 minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18080}
FLOOR_PORT=${FLOOR_PORT:-18081}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
SEED_CREDENTIALS=${SEED_CREDENTIALS:-200000}
DB=m2m_bench
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
LUA="$PWD/tests/bench/form.lua"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v pgbench >/dev/null || { echo "pgbench is missing (PostgreSQL server package)"; exit 1; }

cargo build --release --quiet
BIN="$PWD/target/release/m2m-console"
FLOOR_BIN=$(cargo build --release --quiet --bench floor --message-format=json \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "floor" and m.get("executable"):
        print(m["executable"])')

psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${DB}_floor WITH (FORCE)"
psql -q "$PGURL/postgres" -c "CREATE DATABASE ${DB}_floor"

# The sign-in burst below claims many addresses through X-Forwarded-For. Usage counting and
# the metrics (served on a listener of their own) are on, as in production. One checker
# credential introspects at line rate: its limit is raised out of the way (it is still read
# and counted on every call, as in production).
export DATABASE_URL="$PGURL/$DB" BIND_ADDR="127.0.0.1:$PORT" RUST_LOG=warn LOG_FORMAT=json \
  TRUSTED_PROXIES=127.0.0.1 METRICS_ADDR=127.0.0.1:$((PORT + 2)) \
  INTROSPECTION_RATE_LIMIT_PER_MINUTE=1000000
"$BIN" migrate >/dev/null
echo "bench passphrase 123" | "$BIN" create-user --org Bench --email admin@bench.test --role admin --password-stdin >/dev/null
psql -q "$DATABASE_URL" <<'SQL'
INSERT INTO apis (id, org_id, scope, name) SELECT gen_random_uuid(), id, 'orders:read', 'Orders read' FROM organisations;
INSERT INTO apis (id, org_id, scope, name) SELECT gen_random_uuid(), id, 'orders:write', 'Orders write' FROM organisations;
INSERT INTO roles (id, org_id, name) SELECT gen_random_uuid(), id, 'Orders' FROM organisations;
INSERT INTO role_apis (role_id, api_id) SELECT r.id, a.id FROM roles r JOIN apis a ON a.org_id = r.org_id;
SQL

echo "seeding $SEED_CREDENTIALS credentials with ten live tokens each…"
SEED_STARTED=$(date +%s)
# Ten credentials per organisation (the product's limit), each with ten live tokens. Triggers
# are off while seeding (they would recompute each organisation's scopes per row); the scopes
# are set directly, as the triggers would.
psql -q "$DATABASE_URL" -v n="$SEED_CREDENTIALS" <<'SQL'
SET session_replication_role = replica;
CREATE TEMP TABLE seed_orgs AS
  SELECT gen_random_uuid() AS id, gen_random_uuid() AS role_id, i FROM generate_series(1, (:n + 9) / 10) i;
INSERT INTO organisations (id, name) SELECT id, 'Seed ' || i FROM seed_orgs;
INSERT INTO roles (id, org_id, name) SELECT role_id, id, 'Seed' FROM seed_orgs;
INSERT INTO credentials (id, org_id, client_id, secret_hash, name, owner_email, role_id,
                         access_level, created_by_email, scopes)
  SELECT gen_random_uuid(), o.id, 'm2m_ci_seed' || (o.i * 10 + k), sha256(('seed' || o.i * 10 + k)::bytea),
         'Seed ' || k, 'ops@seed.test', o.role_id, 'full', 'ops@seed.test', '{orders:read}'
  FROM seed_orgs o, generate_series(0, 9) k;
INSERT INTO access_tokens (token_hash, credential_id, secret_version, scopes, issued_at, expires_at)
  SELECT sha256((c.client_id || ':' || t)::bytea), c.id, 1, '{orders:read}', now(), now() + interval '1 hour'
  FROM credentials c, generate_series(1, 10) t WHERE c.client_id LIKE 'm2m_ci_seed%';
RESET session_replication_role;
-- A running installation's sweep keeps its mark at the newest token (tokens issued through the
-- server are looked at within seconds); these were stored around the server, each credential
-- with its ten, so there is nothing to sweep among them and the mark starts past them.
UPDATE token_sweep_progress SET swept_up_to = (SELECT max(id) FROM access_tokens);
ANALYZE;
SQL
SEED_SECONDS=$(( $(date +%s) - SEED_STARTED ))

"$BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
"$FLOOR_BIN" "127.0.0.1:$FLOOR_PORT" "$PGURL/${DB}_floor" >"$WORK/floor.log" 2>&1 &
FLOOR=$!
trap 'kill $SERVER $FLOOR 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.2; done

# Four credentials through the console itself, as an admin would.
JAR="$WORK/cookies"
csrf() { grep -o 'name="csrf-token" content="[^"]*"' | head -1 | sed 's/.*content="//; s/"$//'; }
TOKEN=$(curl -fs -c "$JAR" -b "$JAR" "$BASE/login" | csrf)
curl -fs -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "email=admin@bench.test" --data-urlencode "password=bench passphrase 123" --data-urlencode "csrf_token=$TOKEN" "$BASE/login"
TOKEN=$(curl -fs -c "$JAR" -b "$JAR" "$BASE/settings/integrations/machine-to-machine/new" | csrf)
ROLE=$(psql -tAq "$DATABASE_URL" -c "SELECT r.id FROM roles r JOIN organisations o ON o.id = r.org_id WHERE o.name = 'Bench'")
create() {
  curl -fs -c "$JAR" -b "$JAR" --data-urlencode "name=$1" --data-urlencode "owner_email=ops@bench.test" \
    --data-urlencode "role_id=$ROLE" --data-urlencode "access_level=full" --data-urlencode "expiry=never" \
    --data-urlencode "csrf_token=$TOKEN" \
    "$BASE/settings/integrations/machine-to-machine" >"$WORK/reveal.html"
  local id secret
  id=$(grep -o 'data-testid="client-id"[^>]*>[^<]*' "$WORK/reveal.html" | sed 's/.*>//')
  secret=$(grep -o 'data-testid="client-secret"[^>]*>[^<]*' "$WORK/reveal.html" | sed 's/.*>//')
  [ -n "$secret" ] || { echo "could not create credential $1 through the console" >&2; exit 1; }
  printf 'Basic %s' "$(printf '%s:%s' "$id" "$secret" | base64 -w0)"
}
AUTH_TOKEN=$(create "Token bench")
AUTH_CHECKER=$(create "Resource server")
AUTH_GONE=$(create "Token that never existed")
AUTH_SIGNER=$(create "Assertion bench")
# Six more, so the list holds the organisation's ten.
for n in $(seq 1 6); do create "Console list $n" >/dev/null; done
SESSION=$(awk '$6 ~ /m2m_session/ {print $6 "=" $7}' "$JAR")
access_token() { curl -fs -H "Authorization: $1" -d grant_type=client_credentials "$BASE/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/'; }
# The tokens checked by introspection and whoami belong to the second credential, so the
# token benchmark (which keeps pushing out the first credential's oldest tokens) cannot push
# them out. PUSHED is that credential's first token, behind 100,000 newer ones (seeded), and
# LIVE its newest; UNKNOWN is a well-formed token whose row is gone.
PUSHED=$(access_token "$AUTH_CHECKER")
CHECKER_ID=$(psql -tAq "$DATABASE_URL" -c "SELECT id FROM credentials WHERE name = 'Resource server'")
psql -q "$DATABASE_URL" -c "INSERT INTO access_tokens (token_hash, credential_id, secret_version, scopes, issued_at, expires_at)
  SELECT sha256(('pushed:' || t)::bytea), '$CHECKER_ID', 1, '{orders:read,orders:write}', now(), now() + interval '1 hour'
  FROM generate_series(1, 100000) t"
LIVE=$(access_token "$AUTH_CHECKER")
UNKNOWN=$(access_token "$AUTH_GONE")
psql -q "$DATABASE_URL" -c "DELETE FROM access_tokens WHERE credential_id = (SELECT id FROM credentials WHERE name = 'Token that never existed')"

run_wrk() { # name method url body auth [cookie] [connections]
  WRK_METHOD=$2 WRK_BODY=$4 WRK_AUTH=$5 WRK_COOKIE=${6:-} wrk -t2 -c"${7:-$CONNECTIONS}" -d"$DURATION" -s "$LUA" "$3" | grep '^RESULT' | sed 's/^RESULT //' >"$WORK/$1.json"
}

# The seed's writes are flushed now, not by a checkpoint in the middle of a measurement.
psql -q "$DATABASE_URL" -c "CHECKPOINT"
echo "measuring floors…"
psql -q "$PGURL/${DB}_floor" -c "CREATE EXTENSION IF NOT EXISTS pgcrypto" -c "CREATE TABLE bench_tokens(id bigserial primary key, token_sha256 char(64) unique not null, client_id text not null, scope text not null, expires timestamptz not null, created timestamptz not null default now())"
INSERT_TPS=$(pgbench -n -f ../shared/bench/insert-token.sql -c 32 -j 2 -T 10 "$PGURL/${DB}_floor" 2>/dev/null | grep -o 'tps = [0-9.]*' | head -1 | cut -d' ' -f3)
pgbench -q -i -s 10 "$PGURL/${DB}_floor" >/dev/null 2>&1
READ_TPS=$(pgbench -S -c 32 -j 2 -T 10 "$PGURL/${DB}_floor" 2>/dev/null | grep -o 'tps = [0-9.]*' | head -1 | cut -d' ' -f3)
run_wrk floor GET "http://127.0.0.1:$FLOOR_PORT/" "" ""
kill "$FLOOR" 2>/dev/null || true

echo "measuring the server…"
# Reads first: the token runs leave rows behind them, and the work that tidies them would
# weigh on whatever ran next. The pushed-out token first, while it is still there: the sweep
# (every 2 s, 50,000 rows a batch) deletes the 100,000 pushed-out rows within seconds, so
# these two runs also carry that deletion, the worst case.
run_wrk introspect_pushed POST "$BASE/oauth/introspect" "token=$PUSHED" "$AUTH_CHECKER"
run_wrk whoami_pushed GET "$BASE/api/v1/whoami" "" "Bearer $PUSHED"
# Then the rest once the sweep is done and its writes checkpointed, as in steady use.
for _ in $(seq 1 60); do
  [ "$(psql -tAq "$DATABASE_URL" -c "SELECT count(*) FROM access_tokens WHERE credential_id = '$CHECKER_ID'")" -le 20 ] && break
  sleep 1
done
# The sweep leaves 100,000 dead rows: vacuumed now rather than by autovacuum mid-run.
psql -q "$DATABASE_URL" -c "VACUUM access_tokens" -c "CHECKPOINT"
# Requests that arrive together share a statement: the metrics say how many did.
counts() { # requests metric, route
  curl -fs "http://127.0.0.1:$((PORT + 2))/metrics" | awk -v m="^$1" -v r="route=\"$2\"" \
    '$0 ~ m {i += $2} index($0, "m2m_db_statements_total{" r "}") == 1 {s += $2} END {print i + 0, s + 0}'
}
per_statement() { # requests and statements before, then after
  awk -v i0="$1" -v s0="$2" -v i1="$3" -v s1="$4" \
    'BEGIN {if (s1 > s0) printf "%.1f", (i1 - i0) / (s1 - s0); else print "n/a"}'
}
BEFORE=$(counts m2m_introspections_total /oauth/introspect)
run_wrk introspect POST "$BASE/oauth/introspect" "token=$LIVE" "$AUTH_CHECKER"
run_wrk introspect_unknown POST "$BASE/oauth/introspect" "token=$UNKNOWN" "$AUTH_CHECKER"
# shellcheck disable=SC2046  # two numbers each
PER_STATEMENT=$(per_statement $BEFORE $(counts m2m_introspections_total /oauth/introspect))
BEFORE=$(counts m2m_bearer_checks_total /api/v1/whoami)
run_wrk whoami GET "$BASE/api/v1/whoami" "" "Bearer $LIVE"
run_wrk whoami_unknown GET "$BASE/api/v1/whoami" "" "Bearer $UNKNOWN"
# shellcheck disable=SC2046
CHECKS_PER_STATEMENT=$(per_statement $BEFORE $(counts m2m_bearer_checks_total /api/v1/whoami))
run_wrk list GET "$BASE/settings/integrations/machine-to-machine" "" "" "$SESSION" 4
BEFORE=$(counts m2m_token_requests_total /oauth/token)
run_wrk token POST "$BASE/oauth/token" "grant_type=client_credentials" "$AUTH_TOKEN"
# shellcheck disable=SC2046
TOKENS_PER_STATEMENT=$(per_statement $BEFORE $(counts m2m_token_requests_total /oauth/token))
# The same during an overlap: rotate with 24 h, so two secrets are live, and keep asking with
# the old one (its check is the second branch of the statement's secret test).
TOKEN_ID=$(psql -tAq "$DATABASE_URL" -c "SELECT id FROM credentials WHERE name = 'Token bench'")
curl -fs -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "overlap=24h" --data-urlencode "csrf_token=$TOKEN" \
  "$BASE/settings/integrations/machine-to-machine/$TOKEN_ID/rotate"
run_wrk token_overlap POST "$BASE/oauth/token" "grant_type=client_credentials" "$AUTH_TOKEN"
# private_key_jwt: a P-256 key added through the console, then a token per request, each with
# an ES256 assertion of its own jti (signed beforehand: wrk cannot sign).
SIGNER_ID=$(psql -tAq "$DATABASE_URL" -c "SELECT id FROM credentials WHERE name = 'Assertion bench'")
SIGNER_CLIENT=$(psql -tAq "$DATABASE_URL" -c "SELECT client_id FROM credentials WHERE name = 'Assertion bench'")
JWK=$(python3 tests/bench/assertions.py "$SIGNER_CLIENT" "$BASE/oauth/token" 80000 "$WORK/assertions.txt")
curl -fs -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "public_key=$JWK" --data-urlencode "csrf_token=$TOKEN" \
  "$BASE/settings/integrations/machine-to-machine/$SIGNER_ID/keys"
WRK_ASSERTIONS="$WORK/assertions.txt" WRK_THREADS=2 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" \
  -s tests/bench/assertions.lua "$BASE/oauth/token" | grep '^RESULT' | sed 's/^RESULT //' >"$WORK/token_assertion.json"
RSS_KB=$(ps -o rss= -p "$SERVER" | tr -d ' ')
sleep 5
TOKEN_ROWS=$(psql -tAq "$DATABASE_URL" -c "SELECT count(*) FROM access_tokens WHERE credential_id = '$TOKEN_ID'")
TABLE_MB=$(psql -tAq "$DATABASE_URL" -c "SELECT round(pg_total_relation_size('access_tokens') / 1048576.0)")

# Sign-in timing: unknown email vs wrong password (argon2 either way, thanks to the dummy
# hash). Attempts alternate so that machine noise hits both sides alike.
attempt_ms() {
  # Reset the sign-in throttle so every attempt is a full one (no early 429).
  psql -q "$DATABASE_URL" -c "DELETE FROM login_attempts"
  local jar="$WORK/j$RANDOM" tok
  tok=$(curl -fs -c "$jar" -b "$jar" "$BASE/login" | csrf)
  curl -s -o /dev/null -w '%{time_total}\n' -c "$jar" -b "$jar" --data-urlencode "email=$1" \
    --data-urlencode "password=wrong-password" --data-urlencode "csrf_token=$tok" "$BASE/login"
}
: >"$WORK/unknown.txt"; : >"$WORK/wrong.txt"
for _ in $(seq 1 30); do
  attempt_ms "nobody@bench.test" >>"$WORK/unknown.txt"
  attempt_ms "admin@bench.test" >>"$WORK/wrong.txt"
done
median_ms() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]*1000}'; }
UNKNOWN_MS=$(median_ms "$WORK/unknown.txt")
WRONG_MS=$(median_ms "$WORK/wrong.txt")

# A burst of sign-ins: 600 wrong passwords, 60 at a time, each from its own address (so the
# per-address throttle does not stop them before argon2), sampling the server's RSS.
echo "sign-in burst…"
psql -q "$DATABASE_URL" -c "DELETE FROM login_attempts"
BURST_JAR="$WORK/burst"
BURST_TOKEN=$(curl -fs -c "$BURST_JAR" -b "$BURST_JAR" "$BASE/login" | csrf)
burst_one() {
  curl -s -o /dev/null -w '%{http_code}\n' -b "$BURST_JAR" -H "X-Forwarded-For: 198.18.$(($1 / 250)).$(($1 % 250))" \
    --data-urlencode "email=user$1@bench.test" --data-urlencode "password=wrong-password" \
    --data-urlencode "csrf_token=$BURST_TOKEN" "$BASE/login"
}
export -f burst_one; export BURST_JAR BURST_TOKEN BASE
: >"$WORK/rss.txt"
( while kill -0 "$SERVER" 2>/dev/null; do ps -o rss= -p "$SERVER" >>"$WORK/rss.txt"; sleep 0.05; done ) &
SAMPLER=$!
seq 1 600 | xargs -P 60 -I{} bash -c 'burst_one {}' >"$WORK/burst.txt"
kill "$SAMPLER" 2>/dev/null || true
PEAK_RSS_KB=$(sort -n "$WORK/rss.txt" | tail -1 | tr -d ' ')
BURST_CODES=$(sort "$WORK/burst.txt" | uniq -c | awk '{printf "%s×%s ", $1, $2}')

# PROFILE=1: the token and introspection runs again, under a system-wide perf record (the
# figures above come from the runs without it), and where the time went.
if [ "${PROFILE:-0}" = 1 ]; then
  command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
  for run in token introspect; do
    perf record -a -g -F 499 -o "$WORK/$run.perf" -- sleep 8 >/dev/null 2>&1 &
    PERF=$!
    sleep 1
    case $run in
      token) run_wrk profile_token POST "$BASE/oauth/token" "grant_type=client_credentials" "$AUTH_TOKEN" ;;
      introspect) run_wrk profile_introspect POST "$BASE/oauth/introspect" "token=$LIVE" "$AUTH_CHECKER" ;;
    esac
    wait "$PERF" || true
    python3 tests/bench/profile.py "$WORK/$run.perf" "POST /oauth/$run" >>"$WORK/profile.md"
  done
fi

python3 - "$WORK" "$INSERT_TPS" "$READ_TPS" "$RSS_KB" "$UNKNOWN_MS" "$WRONG_MS" "$PEAK_RSS_KB" "$BURST_CODES" \
  "$SEED_CREDENTIALS" "$SEED_SECONDS" "$TOKEN_ROWS" "$TABLE_MB" "$PER_STATEMENT" "$CHECKS_PER_STATEMENT" "$TOKENS_PER_STATEMENT" <<'PY'
import json, sys
work, insert_tps, read_tps, rss_kb, unknown_ms, wrong_ms, peak_kb, codes, seeded, seed_s, token_rows, table_mb, per_statement, checks_per_statement, tokens_per_statement = sys.argv[1:]
names = ["floor", "token", "token_overlap", "token_assertion", "introspect", "introspect_pushed", "introspect_unknown",
         "whoami", "whoami_pushed", "whoami_unknown", "list"]
r = {n: json.load(open(f"{work}/{n}.json")) for n in names}
insert_tps, read_tps = float(insert_tps), float(read_tps)
handler = r["floor"]["rps"]
print()
print(f"database: {int(seeded):,} seeded credentials with {int(seeded) * 10:,} live tokens (seeded in {seed_s} s)")
print()
print("| measurement | req/s | p50 ms | p99 ms | errors | floor (same run) | ratio |")
print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
print(f"| floor: pgbench INSERT+COMMIT | {insert_tps:,.0f} tx/s | | | | | |")
print(f"| floor: pgbench -S | {read_tps:,.0f} tx/s | | | | | |")
print(f"| floor: actix-web + diesel one primary-key SELECT, pool of 4 | {handler:,.0f} | {r['floor']['p50_ms']:.2f} | {r['floor']['p99_ms']:.2f} | {r['floor']['http_ge400']} | | |")
def row(name, key, floor_name, floor, expect_errors=False):
    x = r[key]
    errs = x["err_connect"] + x["err_read"] + x["err_write"] + x["err_timeout"]
    # A refused bearer check is answered 401 on purpose; count only other failures then.
    if not expect_errors:
        errs += x["http_ge400"]
    print(f"| {name} | {x['rps']:,.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | {errs} | {floor_name} | {x['rps']/floor:.0%} |")
row("POST /oauth/token", "token", "INSERT+COMMIT", insert_tps)
row("POST /oauth/token, old secret during an overlap", "token_overlap", "INSERT+COMMIT", insert_tps)
row("POST /oauth/token, private_key_jwt (ES256, a jti per request)", "token_assertion", "INSERT+COMMIT", insert_tps)
row("POST /oauth/introspect, live token", "introspect", "one-SELECT handler", handler)
row("POST /oauth/introspect, token pushed out behind 100,000 (while the sweep deletes them)", "introspect_pushed", "one-SELECT handler", handler)
row("POST /oauth/introspect, unknown token", "introspect_unknown", "one-SELECT handler", handler)
row("GET /api/v1/whoami, live token", "whoami", "one-SELECT handler", handler)
row("GET /api/v1/whoami, token pushed out behind 100,000 (401, while the sweep deletes them)", "whoami_pushed", "one-SELECT handler", handler, True)
row("GET /api/v1/whoami, unknown token (401)", "whoami_unknown", "one-SELECT handler", handler, True)
row("GET the credentials list (10, signed in, 4 connections)", "list", "one-SELECT handler", handler)
print()
print(f"requests per statement: introspection {per_statement}, whoami {checks_per_statement} (live and unknown runs), token {tokens_per_statement}")
print(f"server RSS after the runs: {int(rss_kb)/1024:.1f} MB")
print(f"access tokens of the token-bench credential 5 s after its runs: {int(token_rows):,} rows; access_tokens table with indexes: {table_mb} MB")
print(f"sign-in, unknown email: {unknown_ms} ms; wrong password: {wrong_ms} ms (medians of 30 alternating attempts, difference {float(wrong_ms)-float(unknown_ms):+.1f} ms)")
print(f"sign-in burst (600 wrong passwords, 60 at a time, 600 addresses): peak RSS {int(peak_kb)/1024:.1f} MB; answers {codes.strip()}")
PY
if [ -f "$WORK/profile.md" ]; then cat "$WORK/profile.md"; fi
