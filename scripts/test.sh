#!/usr/bin/env bash
# Runs every test of ImageGateway on a fresh machine. It installs what the tests need (apt:
# postgresql, redis-server, chromium, wrk; npm: the official openai client, the Vercel AI SDK and
# s3rver), starts PostgreSQL, Redis and an S3 server on loopback ports for the run and stops them
# afterwards, builds once, then runs the in-process suite and the integration suite.
# As root (CI) every service is required: a missing one fails the run. Otherwise the suites that
# need a missing service are skipped, and this script says which and why.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\n==> %s\n' "$*"; }
skipped=()

if ! command -v dotnet >/dev/null 2>&1; then
  echo "dotnet (the .NET 10 SDK) is required: https://dotnet.microsoft.com/download" >&2
  exit 1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

REQUIRED=0
[ "$(id -u)" = 0 ] && REQUIRED=1
export IGW_TEST_REQUIRE_SERVICES=$REQUIRED

WORK=$(mktemp -d /tmp/igw-test.XXXXXX)
PG_CTL=""
cleanup() {
  set +e
  [ -n "$PG_CTL" ] && run_as_pg "$PG_CTL -D $WORK/pg -m immediate stop" >/dev/null 2>&1
  [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null
  [ -f "$WORK/s3rver.pid" ] && kill "$(cat "$WORK/s3rver.pid")" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

fail_or_skip() { # $1 = what, $2 = why
  if [ "$REQUIRED" = 1 ]; then echo "FATAL: $1 is required when running as root: $2" >&2; exit 1; fi
  skipped+=("$1: $2")
}

free_port() { python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# --- packages --------------------------------------------------------------------------------
if [ "$REQUIRED" = 1 ]; then
  missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  if [ ${#missing[@]} -gt 0 ]; then
    say "Installing ${missing[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if command -v npm >/dev/null 2>&1; then
  say "Installing the Node test clients (npm: openai 6.x, ai 6.x, @ai-sdk/openai 3.x, s3rver)"
  if (cd tests/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
    export IGW_TEST_NODE_MODULES=$ROOT/tests/node/node_modules
  else
    fail_or_skip "npm packages" "npm ci in tests/node failed"
  fi
else
  fail_or_skip "Node.js" "node/npm not found"
fi

# --- PostgreSQL ------------------------------------------------------------------------------
run_as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
INITDB=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$INITDB" ]; then
  PGBIN=$(dirname "$INITDB")
  PGPORT=$(free_port)
  mkdir -p "$WORK/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$WORK" "$WORK/pg"
  if run_as_pg "$PGBIN/initdb -D $WORK/pg -A trust -U postgres >$WORK/pg-init.log 2>&1" \
     && run_as_pg "$PGBIN/pg_ctl -D $WORK/pg -l $WORK/pg.log -w -o '-p $PGPORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' start >/dev/null"; then
    PG_CTL=$PGBIN/pg_ctl
    export IGW_TEST_POSTGRES="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=100"
    say "PostgreSQL on 127.0.0.1:$PGPORT"
  else
    fail_or_skip "PostgreSQL" "initdb/pg_ctl failed (see logs in a kept run)"
  fi
else
  fail_or_skip "PostgreSQL" "apt package postgresql not installed"
fi

# --- Redis -----------------------------------------------------------------------------------
if command -v redis-server >/dev/null 2>&1; then
  RPORT=$(free_port)
  redis-server --bind 127.0.0.1 --port "$RPORT" --daemonize yes --save "" --appendonly no \
    --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" --dir "$WORK"
  for _ in $(seq 1 50); do [ -f "$WORK/redis.pid" ] && break; sleep 0.1; done
  export IGW_TEST_REDIS=127.0.0.1:$RPORT
  say "Redis on $IGW_TEST_REDIS"
else
  fail_or_skip "Redis" "apt package redis-server not installed"
fi

# --- S3 (s3rver) -----------------------------------------------------------------------------
if [ -n "${IGW_TEST_NODE_MODULES:-}" ] && [ -x "$IGW_TEST_NODE_MODULES/.bin/s3rver" ]; then
  SPORT=$(free_port)
  mkdir -p "$WORK/s3"
  "$IGW_TEST_NODE_MODULES/.bin/s3rver" --address 127.0.0.1 --port "$SPORT" --directory "$WORK/s3" --silent >"$WORK/s3rver.log" 2>&1 &
  echo $! >"$WORK/s3rver.pid"
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$SPORT") 2>/dev/null && break; sleep 0.1; done
  export IGW_TEST_S3=http://127.0.0.1:$SPORT
  say "s3rver on $IGW_TEST_S3"
else
  fail_or_skip "S3 server" "npm package s3rver not installed"
fi

# --- Chromium --------------------------------------------------------------------------------
if [ -x /usr/bin/chromium ]; then
  export IGW_TEST_CHROMIUM=/usr/bin/chromium
else
  fail_or_skip "Chromium" "apt package chromium not installed (browser tests)"
fi

# --- build and test --------------------------------------------------------------------------
say "Restoring and building"
dotnet build ImageGateway.slnx -c Release --nologo -v quiet

status=0
for project in tests/ImageGateway.Tests tests/ImageGateway.IntegrationTests; do
  say "Testing $project"
  dotnet test "$project" -c Release --no-build --nologo || status=1
done

# The console tests' screenshots (every page, desktop and phone) are the run's artifacts.
SHOTS=tests/ImageGateway.IntegrationTests/bin/Release/net10.0/screenshots
if [ -d "$SHOTS" ]; then
  rm -rf artifacts/screenshots && mkdir -p artifacts && cp -r "$SHOTS" artifacts/screenshots
  say "$(find artifacts/screenshots -name '*.png' | wc -l) console screenshots in artifacts/screenshots"
fi

# A tiny run of the benchmark (bench/ImageGateway.Bench, see BENCHMARKS.md) so it cannot rot:
# every scenario once, about a second each; any failed request fails the run. Figures from a
# smoke run mean nothing. Portkey is left out (it needs an npm download of its own).
if command -v wrk >/dev/null 2>&1; then
  say "Benchmark smoke run"
  dotnet bench/ImageGateway.Bench/bin/Release/net10.0/ImageGateway.Bench.dll run --smoke --out "$WORK/bench-smoke.md" \
    >"$WORK/bench-smoke.log" 2>&1 || { status=1; echo "benchmark smoke run FAILED:"; tail -n 40 "$WORK/bench-smoke.log"; }
  [ -f "$WORK/bench-smoke.md" ] && sed -n '/^| round | scenario/,/^$/p' "$WORK/bench-smoke.md"
  # The realistic scenario (2 MB images, slow upstream) in miniature: 1 and 16 connections, 0.2 s upstream.
  dotnet bench/ImageGateway.Bench/bin/Release/net10.0/ImageGateway.Bench.dll realistic --smoke --out "$WORK/realistic-smoke.md" \
    >"$WORK/realistic-smoke.log" 2>&1 || { status=1; echo "realistic benchmark smoke run FAILED:"; tail -n 40 "$WORK/realistic-smoke.log"; }
else
  fail_or_skip "benchmark smoke run" "wrk not installed (apt package wrk)"
fi

if [ ${#skipped[@]} -gt 0 ]; then
  say "Suites skipped because a service was unavailable (not root, so not required):"
  for s in "${skipped[@]}"; do echo "  - $s"; done
fi
if [ "$status" -ne 0 ]; then say "Some tests FAILED"; else say "All tests passed"; fi
exit "$status"
