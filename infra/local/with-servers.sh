#!/usr/bin/env bash
# Runs CMD with real servers for the tests: PostgreSQL, Azurite (http, Shared Key) and Azurite
# (https, OAuth). Exports their addresses, runs CMD, stops all three by PID even when CMD fails or
# the script is interrupted, and exits with CMD's exit code.
#
#   SECUREIMAGE_TEST_POSTGRES            Npgsql connection string
#   SECUREIMAGE_TEST_AZURITE             Azure Storage connection string (dev account, http)
#   SECUREIMAGE_TEST_AZURITE_OAUTH_URI   https blob service URI of the OAuth Azurite
#   SECUREIMAGE_TEST_AZURITE_OAUTH_CERT  PEM certificate that OAuth Azurite serves (trust it in tests)
#   SECUREIMAGE_TEST_POSTGRES_PID, SECUREIMAGE_TEST_AZURITE_PID  the servers' pids (CPU accounting)
#
# Usage: infra/local/with-servers.sh CMD [ARGS...]
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: with-servers.sh CMD [ARGS...]" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

state=$(mktemp -d -t secureimage-servers.XXXXXX)
cleanup() {
  bash "$here/stop-servers.sh" "$state"
  rm -rf -- "$state"
}
trap cleanup EXIT
child=
# Forward an interrupt to CMD (it runs in the background so that `wait` returns at once on a signal).
on_signal() { [[ -n "$child" ]] && kill "-$1" "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit "$2"; }
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# npm ci (when needed) runs once, before the two Azurite starts race for it.
bash "$here/start-azurite.sh" "$state" >/dev/null &
azurite=$!
bash "$here/start-postgres.sh" "$state" >/dev/null &
postgres=$!
wait "$azurite" || { echo "with-servers: Azurite did not start" >&2; exit 1; }
bash "$here/start-azurite.sh" --oauth "$state" >/dev/null || { echo "with-servers: Azurite (OAuth) did not start" >&2; exit 1; }
wait "$postgres" || { echo "with-servers: PostgreSQL did not start" >&2; exit 1; }

for name in postgres azurite azurite-oauth; do
  # shellcheck source=/dev/null
  source "$state/$name.env"
done
# For load.sh's CPU accounting (PostgreSQL's pid is the postmaster; its backends are its children).
SECUREIMAGE_TEST_POSTGRES_PID=$(cat "$state/postgres.pid") SECUREIMAGE_TEST_AZURITE_PID=$(cat "$state/azurite.pid")
export SECUREIMAGE_TEST_POSTGRES_PID SECUREIMAGE_TEST_AZURITE_PID

"$@" <&0 &
child=$!
status=0
wait "$child" || status=$?
child=
exit "$status"
