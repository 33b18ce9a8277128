#!/usr/bin/env bash
# Stops the servers that start-postgres.sh and start-azurite.sh recorded in STATE_DIR, each by the
# PID they wrote (never by process name), and removes their temp dirs.
# Usage: stop-servers.sh [--keep-data] STATE_DIR [NAME...]
#   NAME: postgres, azurite, azurite-oauth (default: all three).
#   --keep-data: keep their data dirs, ports and addresses, so that start-postgres.sh /
#   start-azurite.sh restart the same servers on the same ports (outage tests).
set -uo pipefail
keep=false
if [[ "${1:-}" == "--keep-data" ]]; then keep=true; shift; fi
state=${1:?usage: stop-servers.sh [--keep-data] STATE_DIR [NAME...]}
shift
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(postgres azurite azurite-oauth)
log() { echo "stop-servers: $*" >&2; }

# Sends SIGNAL to PID, waits up to 10 s for it to exit, then SIGKILLs it. Checks first that the PID
# still runs the server we started (its command line names our temp dir), in case it was reused.
stop_pid() {
  local name=$1 signal=$2 pid dir
  [[ -f "$state/$name.pid" ]] || return 0
  pid=$(cat "$state/$name.pid")
  dir=$(cat "$state/$name.dir" 2>/dev/null || true)
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir"; then
    kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$name (pid $pid) did not stop: killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$state/$name.pid"
  [[ $keep == true ]] || rm -f "$state/$name.env" "$state/$name.port"
}

remove_dir() {
  local name=$1 dir
  [[ -f "$state/$name.dir" ]] || return 0
  dir=$(cat "$state/$name.dir")
  case "$dir" in /tmp/secureimage-*) rm -rf -- "$dir" ;; *) log "not removing unexpected dir $dir" ;; esac
  rm -f "$state/$name.dir"
}

# SIGINT is PostgreSQL's fast shutdown; Azurite (node) exits on SIGTERM.
for name in "${names[@]}"; do
  case "$name" in
    postgres) stop_pid postgres INT & ;;
    azurite|azurite-oauth) stop_pid "$name" TERM & ;;
    *) log "unknown server '$name'" ;;
  esac
done
wait
[[ $keep == true ]] || for name in "${names[@]}"; do remove_dir "$name"; done
exit 0
