#!/usr/bin/env bash
# High-availability harness, on loopback: a PostgreSQL primary with a synchronous standby
# (initdb, pg_basebackup -R, synchronous_standby_names; Debian's binaries, run as `postgres`),
# two instances of the release build whose DATABASE_URL names both hosts with
# target_session_attrs=read-write, and HAProxy in front (health check on /readyz, retries,
# redispatch). It checks, and prints the figures of:
#   1. a limit shared by both instances: wrong secrets sent alternately, 429 at the 21st;
#   2. usage counted just before a stop: 7 tokens, SIGTERM, the credential's page says 7;
#   3. a rolling restart under steady load through HAProxy: SIGTERM each instance in turn,
#      restart it, zero failed requests;
#   4. a crash of the primary under load, the standby promoted: service back within 10 s,
#      every answer meanwhile a 503 (never a 500, never a hang), and nothing acknowledged lost
#      (tokens issued, a revocation and a rotation just before the crash all hold).
# Everything it starts is stopped by PID at the end; the whole run is bounded by HA_TIMEOUT.
# Run from the repository root: bash tests/ha/run.sh   (about 3 minutes after the build)
set -euo pipefail
cd "$(dirname "$0")/../.."

HA_TIMEOUT=${HA_TIMEOUT:-900}
BASE_PORT=${HA_BASE_PORT:-25400}
PG1=$((BASE_PORT + 32)) PG2=$((BASE_PORT + 33))
PORT_A=$((BASE_PORT + 80)) PORT_B=$((BASE_PORT + 81)) LB=$((BASE_PORT + 90))
DB=m2m_ha
DRAIN=3
LOAD_THREADS=${HA_LOAD_THREADS:-4}

WORK=$(mktemp -d /tmp/m2m-ha.XXXXXX)
chmod 755 "$WORK"
# PostgreSQL's own directory, owned by the user it runs as.
PGDIR=$WORK/pg PRIMARY=$WORK/pg/primary STANDBY=$WORK/pg/standby
PIDS_TO_STOP=()
A_PID="" B_PID="" LB_PID="" LOAD_PID="" WATCHDOG=""

say() { printf '[%6.1f s] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$STARTED" 'BEGIN { print a - b }')" "$*"; }
fail() { say "FAILED: $*"; exit 1; }
STARTED=$(date +%s.%N)

if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries are missing (postgresql package)"; exit 1; }
if ! command -v haproxy >/dev/null; then
  echo "haproxy is missing; installing it"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q haproxy >/dev/null
fi

pg_stop() { # data directory
  [ -f "$1/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$1" -m immediate -w stop >/dev/null 2>&1 || true
}
cleanup() {
  local status=$?
  for pid in $LOAD_PID $A_PID $B_PID $LB_PID "${PIDS_TO_STOP[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  pg_stop "$PRIMARY"
  pg_stop "$STANDBY"
  if [ -n "$WATCHDOG" ]; then
    pkill -P "$WATCHDOG" 2>/dev/null || true # its sleep
    kill "$WATCHDOG" 2>/dev/null || true
  fi
  if [ "$status" != 0 ]; then
    echo "logs kept in $WORK"
    tail -n 20 "$WORK"/*.log "$PGDIR"/*.log 2>/dev/null || true
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'echo "interrupted or over HA_TIMEOUT=$HA_TIMEOUT s"; exit 124' TERM INT
( sleep "$HA_TIMEOUT"; kill -TERM $$ ) >/dev/null 2>&1 </dev/null &
WATCHDOG=$!

cargo build --release --quiet
BIN="$PWD/target/release/m2m-console"

# --- PostgreSQL: a primary and a synchronous standby --------------------------------------
say "creating the primary (port $PG1) and its synchronous standby (port $PG2)"
mkdir -p "$PRIMARY" "$STANDBY" "$PGDIR/sockets"
chmod 700 "$PRIMARY" "$STANDBY"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PRIMARY" -U postgres --auth=trust >"$WORK/initdb.log" 2>&1
cat >>"$PRIMARY/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG1
unix_socket_directories = '$PGDIR/sockets'
wal_level = replica
max_wal_senders = 4
hot_standby = on
shared_buffers = 64MB
max_connections = 120
CONF
as_pg "$PGBIN/pg_ctl" -D "$PRIMARY" -l "$PGDIR/primary.log" -w start >/dev/null
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG1" -U postgres -D "$STANDBY" -R -X stream \
  --checkpoint=fast >/dev/null
# The standby names itself, so that the primary can wait for it.
cat >>"$STANDBY/postgresql.auto.conf" <<CONF
port = $PG2
primary_conninfo = 'host=127.0.0.1 port=$PG1 user=postgres application_name=standby1'
CONF
as_pg "$PGBIN/pg_ctl" -D "$STANDBY" -l "$PGDIR/standby.log" -w start >/dev/null
# Only the primary waits for a standby: once promoted, the standby has none to wait for.
PSQL1="psql -X -q -h 127.0.0.1 -p $PG1 -U postgres"
$PSQL1 -d postgres -c "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)'" \
  -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 50); do
  state=$($PSQL1 -d postgres -tAc "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")
  [ "$state" = sync ] && break
  sleep 0.2
done
[ "$state" = sync ] || fail "the standby never became synchronous"
say "standby1 is a synchronous standby; synchronous_commit = $($PSQL1 -d postgres -tAc 'SHOW synchronous_commit')"

# --- The application: two instances and HAProxy --------------------------------------------
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG1,127.0.0.1:$PG2/$DB?target_session_attrs=read-write"
export RUST_LOG=warn LOG_FORMAT=json DRAIN_SECONDS=$DRAIN USAGE_FLUSH_SECONDS=3600
PSQL="psql -X -q postgresql://postgres@127.0.0.1:$PG1,127.0.0.1:$PG2/$DB?target_session_attrs=read-write"
"$BIN" migrate >/dev/null
echo "ha passphrase 12345" | "$BIN" create-user --org HA --email admin@ha.test --role admin --password-stdin >/dev/null
$PSQL <<'SQL'
INSERT INTO apis (id, org_id, scope, name) SELECT gen_random_uuid(), id, 'orders:read', 'Orders read' FROM organisations;
INSERT INTO roles (id, org_id, name) SELECT gen_random_uuid(), id, 'Orders' FROM organisations;
INSERT INTO role_apis (role_id, api_id) SELECT r.id, a.id FROM roles r JOIN apis a ON a.org_id = r.org_id;
SQL

start_instance() { # name port -> prints the PID
  BIND_ADDR="127.0.0.1:$2" PUBLIC_URL="http://127.0.0.1:$LB" "$BIN" >>"$WORK/$1.log" 2>&1 &
  echo $!
}
wait_ready() { # port
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ] && return 0
    sleep 0.1
  done
  fail "the instance on port $1 never became ready"
}
wait_exit() { # pid seconds
  for _ in $(seq 1 $(($2 * 10))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  fail "process $1 did not exit within $2 s"
}
A_PID=$(start_instance a "$PORT_A")
B_PID=$(start_instance b "$PORT_B")
wait_ready "$PORT_A"
wait_ready "$PORT_B"

cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 2000
  stats socket $WORK/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout
  option httpchk
  http-check send meth GET uri /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
frontend m2m
  bind 127.0.0.1:$LB
  acl none_ready nbsrv(instances) eq 0
  http-request return status 503 content-type application/json hdr Cache-Control no-store hdr Retry-After 2 string '{"error":"temporarily_unavailable","error_description":"No instance is ready. Retry shortly."}' if none_ready { path_beg /oauth/ }
  http-request return status 503 content-type application/problem+json hdr Cache-Control no-store hdr Retry-After 2 string '{"type":"/api/v1/docs#problem-unavailable","title":"The service is temporarily unavailable","status":503,"detail":"No instance is ready; retry shortly."}' if none_ready { path_beg /api/ }
  default_backend instances
backend instances
  balance roundrobin
  server a 127.0.0.1:$PORT_A check
  server b 127.0.0.1:$PORT_B check
CFG
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
LB_PID=$!
for _ in $(seq 1 50); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LB/readyz")" = 200 ] && break
  sleep 0.1
done
say "instances on $PORT_A and $PORT_B, HAProxy on $LB"

# Credentials through the console, as an admin would.
JAR="$WORK/cookies"
BASE="http://127.0.0.1:$PORT_A"
csrf() { grep -o 'name="csrf-token" content="[^"]*"' | head -1 | sed 's/.*content="//; s/"$//'; }
CSRF=$(curl -fs -c "$JAR" -b "$JAR" "$BASE/login" | csrf)
curl -fs -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "email=admin@ha.test" \
  --data-urlencode "password=ha passphrase 12345" --data-urlencode "csrf_token=$CSRF" "$BASE/login"
CSRF=$(curl -fs -c "$JAR" -b "$JAR" "$BASE/settings/integrations/machine-to-machine/new" | csrf)
ROLE=$($PSQL -tAc "SELECT id FROM roles WHERE name = 'Orders'")
reveal() { # file -> "client_id secret"
  local id secret
  id=$(grep -o 'data-testid="client-id"[^>]*>[^<]*' "$1" | sed 's/.*>//')
  secret=$(grep -o 'data-testid="client-secret"[^>]*>[^<]*' "$1" | sed 's/.*>//')
  [ -n "$secret" ] || fail "no secret revealed in $1"
  echo "$id $secret"
}
create() { # name -> "client_id secret"
  curl -fs -c "$JAR" -b "$JAR" --data-urlencode "name=$1" --data-urlencode "owner_email=ops@ha.test" \
    --data-urlencode "role_id=$ROLE" --data-urlencode "access_level=full" --data-urlencode "expiry=never" \
    --data-urlencode "csrf_token=$CSRF" "$BASE/settings/integrations/machine-to-machine" >"$WORK/reveal-$1.html"
  reveal "$WORK/reveal-$1.html"
}
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
created=$(create load); read -r LOAD_ID LOAD_SECRET <<<"$created"
created=$(create checks); read -r CHECK_ID CHECK_SECRET <<<"$created"
created=$(create rotated); read -r ROT_ID ROT_SECRET <<<"$created"
created=$(create counted); read -r COUNT_ID COUNT_SECRET <<<"$created"
created=$(create throttled); read -r THROTTLED_ID _ <<<"$created"
LOAD_AUTH=$(basic "$LOAD_ID" "$LOAD_SECRET")
CHECK_AUTH=$(basic "$CHECK_ID" "$CHECK_SECRET")

token_on() { # base auth -> status
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $2" -d grant_type=client_credentials "$1/oauth/token"
}
token_value() { # base auth
  curl -fs -H "Authorization: $2" -d grant_type=client_credentials "$1/oauth/token" | jq -r .access_token
}
active() { # base token -> true/false
  curl -fs -H "Authorization: $CHECK_AUTH" --data-urlencode "token=$2" "$1/oauth/introspect" | jq -r .active
}

# --- 1. A limit shared by both instances ---------------------------------------------------
# A well-formed secret that is not this credential's (another credential's), sent alternately.
WRONG=$(basic "$THROTTLED_ID" "$LOAD_SECRET")
FIRST_429=""
for n in $(seq 1 25); do
  port=$([ $((n % 2)) = 1 ] && echo "$PORT_A" || echo "$PORT_B")
  status=$(token_on "http://127.0.0.1:$port" "$WRONG")
  if [ "$status" = 429 ]; then FIRST_429=$n; break; fi
  [ "$status" = 401 ] || fail "wrong secret $n answered $status"
done
[ "$FIRST_429" = 21 ] || fail "the first 429 came at attempt ${FIRST_429:-none}, not the 21st"
say "1. throttle: wrong secrets alternated between the instances: 401 × 20, then 429 at the 21st"

# --- 2. Usage counted just before a stop ---------------------------------------------------
COUNT_AUTH=$(basic "$COUNT_ID" "$COUNT_SECRET")
for _ in $(seq 1 7); do [ "$(token_on "$BASE" "$COUNT_AUTH")" = 200 ] || fail "token for the count"; done
kill -TERM "$A_PID"
wait_exit "$A_PID" 30
COUNT_UUID=$($PSQL -tAc "SELECT id FROM credentials WHERE client_id = '$COUNT_ID'")
USES=$(curl -fs -b "$JAR" "http://127.0.0.1:$PORT_B/settings/integrations/machine-to-machine/$COUNT_UUID" \
  | grep -o 'data-testid="secret-current-uses">[0-9]*' | sed 's/.*>//')
[ "$USES" = 7 ] || fail "the credential's page says ${USES:-nothing} token requests, not 7"
say "2. usage: 7 tokens then SIGTERM: the credential's page (other instance) says $USES"
A_PID=$(start_instance a "$PORT_A")
wait_ready "$PORT_A"
sleep 1.5 # HAProxy's rise: two health checks 500 ms apart

# --- The load: token requests through HAProxy, each answer recorded ------------------------
cat >"$WORK/load.py" <<'PY'
import http.client, os, sys, threading, time
host, port, auth, out, stop_file, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
body = "grant_type=client_credentials"
headers = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
rows, lock = [], threading.Lock()
def worker():
    conn = None
    while not os.path.exists(stop_file):
        start = time.time()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=15)
            conn.request("POST", "/oauth/token", body, headers)
            res = conn.getresponse()
            data = res.read()
            status = res.status
            # Who answered (the instances always send nosniff), in what, and whether a 503
            # says when to try again.
            kind = "%s from %s" % ("JSON" if data.startswith(b"{") else "HTML",
                                   "an instance" if res.getheader("x-content-type-options") else "HAProxy")
            if status == 503 and not res.getheader("retry-after"):
                kind += " without Retry-After"
            if res.getheader("connection", "").lower() == "close":
                conn.close(); conn = None
        except Exception as e:
            status, kind = 0, type(e).__name__
            if conn is not None:
                conn.close()
            conn = None
        with lock:
            rows.append((start, time.time(), status, kind))
        time.sleep(0.005)
ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
with open(out, "w") as f:
    for r in sorted(rows):
        f.write("%.6f %.6f %d %s\n" % (r[0], r[1], r[2], r[3].replace(" ", "_")))
PY
start_load() { # name
  rm -f "$WORK/stop-load"
  python3 "$WORK/load.py" 127.0.0.1 "$LB" "$LOAD_AUTH" "$WORK/$1.tsv" "$WORK/stop-load" "$LOAD_THREADS" &
  LOAD_PID=$!
}
stop_load() {
  touch "$WORK/stop-load"
  wait_exit "$LOAD_PID" 20
  LOAD_PID=""
}
now() { date +%s.%N; }

# --- 3. Rolling restart under steady load --------------------------------------------------
start_load rolling
sleep 2
WINDOWS=""
for name in a b; do
  if [ $name = a ]; then pid=$A_PID port=$PORT_A; else pid=$B_PID port=$PORT_B; fi
  t0=$(now)
  kill -TERM "$pid"
  wait_exit "$pid" 30
  t1=$(now)
  pid=$(start_instance $name "$port")
  if [ $name = a ]; then A_PID=$pid; else B_PID=$pid; fi
  wait_ready "$port"
  sleep 1.5 # back in HAProxy's rotation
  t2=$(now)
  WINDOWS="$WINDOWS $name:$t0:$t1:$t2"
  sleep 1
done
stop_load
python3 - "$WORK/rolling.tsv" "$WINDOWS" "$DRAIN" >"$WORK/rolling.txt" <<'PY' || { cat "$WORK/rolling.txt"; fail "requests failed during the rolling restart"; }
import sys
rows = [l.split() for l in open(sys.argv[1])]
failed = [r for r in rows if r[2] != "200"]
print("   %d requests through HAProxy, %d failed" % (len(rows), len(failed)))
for w in sys.argv[2].split():
    name, t0, t1, t2 = w.split(":")
    t0, t1, t2 = float(t0), float(t1), float(t2)
    during = [r for r in rows if t0 <= float(r[0]) <= t2]
    ok = sum(1 for r in during if r[2] == "200")
    print("   instance %s: SIGTERM to exit %.1f s (drain %s s), back in rotation after %.1f s; "
          "%d requests meanwhile, %d answered 200" % (name, t1 - t0, sys.argv[3], t2 - t0, len(during), ok))
for r in failed[:10]:
    print("   failed:", " ".join(r))
sys.exit(1 if failed else 0)
PY
say "3. rolling restart under load, zero failed requests:"
cat "$WORK/rolling.txt"

# --- 4. Crash of the primary under load, standby promoted ----------------------------------
start_load failover
sleep 2
# Acknowledged just before the crash: five tokens, one of them revoked, and a rotation.
KEPT=()
for _ in 1 2 3 4 5; do KEPT+=("$(token_value "$BASE" "$CHECK_AUTH")"); done
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $CHECK_AUTH" \
  --data-urlencode "token=${KEPT[0]}" "$BASE/oauth/revoke")" = 200 ] || fail "revocation"
ROT_UUID=$($PSQL -tAc "SELECT id FROM credentials WHERE client_id = '$ROT_ID'")
curl -fs -c "$JAR" -b "$JAR" --data-urlencode "overlap=now" --data-urlencode "csrf_token=$CSRF" \
  "$BASE/settings/integrations/machine-to-machine/$ROT_UUID/rotate" >"$WORK/rotated.html"
created=$(reveal "$WORK/rotated.html"); read -r _ ROT_NEW <<<"$created"
[ "$(active "$BASE" "${KEPT[0]}")" = false ] && [ "$(active "$BASE" "${KEPT[4]}")" = true ] \
  || fail "the checks before the crash"

PM=$(head -n 1 "$PRIMARY/postmaster.pid")
CRASH=$(now)
# Every process of the primary at once, as when its machine dies.
kill -KILL "$PM" $(ps -o pid= --ppid "$PM") 2>/dev/null || true
say "4. primary killed (SIGKILL to the postmaster and its children); promoting the standby in 1 s"
sleep 1
as_pg "$PGBIN/pg_ctl" -D "$STANDBY" -w promote >/dev/null
PROMOTED=$(now)
for _ in $(seq 1 150); do
  [ "$(token_on "http://127.0.0.1:$LB" "$LOAD_AUTH")" = 200 ] && break
  sleep 0.1
done
sleep 3
stop_load
python3 - "$WORK/failover.tsv" "$CRASH" "$PROMOTED" >"$WORK/failover.txt" <<'PY' || { cat "$WORK/failover.txt"; fail "failover"; }
import sys, collections
rows = [l.split() for l in open(sys.argv[1])]
crash, promoted = float(sys.argv[2]), float(sys.argv[3])
# Requests started just after the kill command may still have been answered by the dying
# primary: the outage starts with the first request that was not a 200.
after = [r for r in rows if float(r[0]) >= crash]
first_failed = next((r for r in after if r[2] != "200"), None)
if first_failed is None:
    print("   no request failed after the crash: was the primary killed?"); sys.exit(1)
back = next((r for r in after if float(r[0]) > float(first_failed[0]) and r[2] == "200"), None)
if back is None:
    print("   service never came back"); sys.exit(1)
recovered = float(back[1])
outage = [r for r in after if float(r[0]) < float(back[0])]
answers = collections.Counter("%s (%s)" % (r[2], r[3].replace("_", " ")) for r in outage)
slowest = max((float(r[1]) - float(r[0]) for r in outage), default=0)
# A client must be able to read every answer: JSON, and a 503 says when to retry.
bad = [r for r in outage if r[2] not in ("200", "503") or not r[3].startswith("JSON_")
       or r[3].endswith("without_Retry-After")]
print("   service back %.1f s after the crash (standby promoted at +%.1f s)" % (recovered - crash, promoted - crash))
print("   %d requests during the outage: %s; slowest answer %.2f s" % (
    len(outage), ", ".join("%d × %s" % (n, k) for k, n in sorted(answers.items())), slowest))
print("   %d requests in the whole run, %d before the crash" % (len(rows), sum(1 for r in rows if float(r[1]) < crash)))
ok = recovered - crash <= 10 and not bad and slowest < 5
sys.exit(0 if ok else 1)
PY
cat "$WORK/failover.txt"
LB_URL="http://127.0.0.1:$LB"
[ "$(active "$LB_URL" "${KEPT[0]}")" = false ] || fail "the revocation was lost in the failover"
for t in "${KEPT[@]:1}"; do
  [ "$(active "$LB_URL" "$t")" = true ] || fail "a token acknowledged before the crash was lost"
done
[ "$(token_on "$LB_URL" "$(basic "$ROT_ID" "$ROT_SECRET")")" = 401 ] || fail "the rotated-out secret works again"
[ "$(token_on "$LB_URL" "$(basic "$ROT_ID" "$ROT_NEW")")" = 200 ] || fail "the rotated secret was lost"
say "   after the failover: 4 tokens issued before the crash active, the revoked one inactive, the rotated-out secret refused, the new one accepted"
if grep -rqsi "synchronous_commit *\(=\|to\) *'\?off" "$PRIMARY"/postgresql*.conf "$STANDBY"/postgresql*.conf src migrations; then
  fail "synchronous_commit = off found"
fi
# --- 5. No instance ready: HAProxy answers the machine endpoints as they would ---------------
lb_admin() { # command for HAProxy's admin socket
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\n").encode()); s.recv(4096)' \
    "$WORK/haproxy.sock" "$1"
}
lb_admin "disable server instances/a"
lb_admin "disable server instances/b"
answer() { # method path -> "status content-type retry-after"
  curl -s -o "$WORK/answer.json" -D "$WORK/answer.headers" -X "$1" "$LB_URL$2" >/dev/null
  python3 - "$WORK/answer.headers" "$WORK/answer.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if ":" in l)}
kind = headers.get("content-type", "")
if "json" in kind:
    json.load(open(sys.argv[2]))  # a client can parse it
print(lines[0].split()[1], kind, headers.get("retry-after", "-"))
PY
}
[ "$(answer POST /oauth/token)" = "503 application/json 2" ] || fail "no instance ready: /oauth/token got $(answer POST /oauth/token)"
[ "$(answer POST /oauth/introspect)" = "503 application/json 2" ] || fail "no instance ready: /oauth/introspect"
[ "$(answer GET /api/v1/whoami)" = "503 application/problem+json 2" ] || fail "no instance ready: /api/v1/whoami got $(answer GET /api/v1/whoami)"
console=$(answer GET /settings)
[ "${console%% *}" = 503 ] || fail "no instance ready: the console got $console"
lb_admin "enable server instances/a"
lb_admin "enable server instances/b"
say "5. no instance ready: HAProxy answers /oauth/* in JSON and /api/* as a problem document, 503 with Retry-After: 2"
say "all checks passed"
