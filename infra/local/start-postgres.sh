#!/usr/bin/env bash
# Starts a throw-away PostgreSQL for tests: initdb into a fresh temp dir owned by the `postgres`
# system user, pg_ctl on a free 127.0.0.1 port (unix socket inside the temp dir), a test database
# and a password user. Installs Debian's `postgresql` first when it is missing (needs root).
#
# Usage: start-postgres.sh STATE_DIR
#   Writes STATE_DIR/postgres.{pid,dir,port,env}, and prints `export SECUREIMAGE_TEST_POSTGRES=...`
#   on stdout (so `eval "$(start-postgres.sh DIR)"` works). Stop it with stop-servers.sh STATE_DIR (by PID).
#   Restart: after `stop-servers.sh --keep-data STATE_DIR postgres`, running this again starts the
#   same cluster (data dir, port, user and password) with pg_ctl, as after a server outage.
set -euo pipefail
state=${1:?usage: start-postgres.sh STATE_DIR}
mkdir -p "$state"
log() { echo "start-postgres: $*" >&2; }

find_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

bindir=$(find_bindir)
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    log "PostgreSQL is not installed and this is not root: install Debian's 'postgresql' package."
    exit 1
  fi
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bindir=$(find_bindir)
fi
id -u postgres >/dev/null 2>&1 || { log "the 'postgres' system user is missing"; exit 1; }

as_pg() { runuser -u postgres -- "$@"; }

# Durability settings are off: the cluster is thrown away after the tests.
start_cluster() { # PGDIR PORT
  as_pg "$bindir/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $2 -k $1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null || { cat "$1/server.log" >&2; exit 1; }
  head -n 1 "$1/data/postmaster.pid" >"$state/postgres.pid"
}

if [[ -f "$state/postgres.dir" && -f "$state/postgres.port" && -f "$state/postgres.env" && ! -f "$state/postgres.pid" ]]; then
  pgdir=$(cat "$state/postgres.dir")
  port=$(cat "$state/postgres.port")
  start_cluster "$pgdir" "$port"
  cat "$state/postgres.env"
  log "PostgreSQL restarted (pid $(cat "$state/postgres.pid")) on 127.0.0.1:$port, data in $pgdir"
  exit 0
fi

# PostgreSQL refuses to run as root: everything below runs as `postgres` in a dir it owns.
pgdir=$(mktemp -d -t secureimage-pg.XXXXXX)
chown postgres:postgres "$pgdir"
chmod 0700 "$pgdir"
echo "$pgdir" >"$state/postgres.dir"

as_pg "$bindir/initdb" -D "$pgdir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  -E UTF8 --no-locale --no-sync >"$pgdir/initdb.log" 2>&1 || { cat "$pgdir/initdb.log" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "$port" >"$state/postgres.port"
start_cluster "$pgdir" "$port"
pid=$(cat "$state/postgres.pid")

user=secureimage_test
database=secureimage_test
password=$(openssl rand -hex 16)
as_pg "$bindir/psql" -h "$pgdir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE ROLE $user LOGIN PASSWORD '$password' CREATEDB" \
  -c "GRANT pg_signal_backend TO $user" \
  -c "CREATE DATABASE $database OWNER $user" >&2
# pg_signal_backend: tests drop their databases WITH (FORCE), which must also stop an autovacuum
# worker that happens to be busy in it (it runs under no login role, so only this grant covers it).

conn="Host=127.0.0.1;Port=$port;Database=$database;Username=$user;Password=$password"
printf 'export SECUREIMAGE_TEST_POSTGRES=%q\n' "$conn" >"$state/postgres.env"
cat "$state/postgres.env"
log "PostgreSQL (pid $pid) listens on 127.0.0.1:$port, data in $pgdir"
