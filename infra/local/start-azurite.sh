#!/usr/bin/env bash
# Starts Azurite's blob service for tests on a free 127.0.0.1 port, with its data in a temp dir.
# Installs Azurite and @azure/storage-blob into the repository's own node_modules from the
# committed lock file (`npm ci`) when they are missing, with oidc-provider (the OIDC tests' provider).
#
# Usage: start-azurite.sh [--oauth] STATE_DIR
#   plain:   http, Shared Key; exports SECUREIMAGE_TEST_AZURITE (connection string).
#   --oauth: https with a throw-away self-signed certificate for 127.0.0.1 and `--oauth basic`;
#            exports SECUREIMAGE_TEST_AZURITE_OAUTH_URI and SECUREIMAGE_TEST_AZURITE_OAUTH_CERT.
#   Writes STATE_DIR/azurite[-oauth].{pid,dir,port,env}, prints the exports on stdout.
#   Stop it with stop-servers.sh STATE_DIR (by PID).
#   Restart: after `stop-servers.sh --keep-data STATE_DIR azurite`, running this again starts Azurite
#   on the same port with the same data (and certificate), as after a storage outage.
set -euo pipefail
mode=plain
if [[ "${1:-}" == "--oauth" ]]; then mode=oauth; shift; fi
state=${1:?usage: start-azurite.sh [--oauth] STATE_DIR}
mkdir -p "$state"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
log() { echo "start-azurite: $*" >&2; }

# Azurite's well-known development account (public, documented; not a secret).
account=devstoreaccount1
account_key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

if ! command -v npm >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then log "npm is missing: install Node.js and npm"; exit 1; fi
  log "installing Debian's nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends nodejs npm >&2
fi

# npm ci only when something is missing or the lock file changed since the last install.
installed_lock="$repo/node_modules/.package-lock.json"
if [[ ! -f "$repo/node_modules/azurite/package.json" || ! -f "$repo/node_modules/@azure/storage-blob/package.json" || ! -f "$repo/node_modules/oidc-provider/package.json" \
      || ! -f "$installed_lock" || "$repo/package-lock.json" -nt "$installed_lock" ]]; then
  # Two starts at once (plain and OAuth) must not run npm ci twice into the same folder.
  exec 9>"${TMPDIR:-/tmp}/secureimage-npm-ci.lock"
  flock 9
  if [[ ! -f "$repo/node_modules/azurite/package.json" || ! -f "$repo/node_modules/@azure/storage-blob/package.json" || ! -f "$repo/node_modules/oidc-provider/package.json" \
        || ! -f "$installed_lock" || "$repo/package-lock.json" -nt "$installed_lock" ]]; then
    log "installing azurite, @azure/storage-blob and oidc-provider from package-lock.json (npm ci)"
    (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  flock -u 9
fi

name=azurite; [[ $mode == oauth ]] && name=azurite-oauth
restart=false
if [[ -f "$state/$name.dir" && -f "$state/$name.port" && ! -f "$state/$name.pid" ]]; then
  restart=true
  dir=$(cat "$state/$name.dir")
  port=$(cat "$state/$name.port")
else
  dir=$(mktemp -d -t "secureimage-azurite-$mode.XXXXXX")
  echo "$dir" >"$state/$name.dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "$port" >"$state/$name.port"
fi

args=(--blobHost 127.0.0.1 --blobPort "$port" --location "$dir/data" --skipApiVersionCheck --loose
      --silent --disableTelemetry --debug "$dir/debug.log")
scheme=http
if [[ $mode == oauth ]]; then
  scheme=https
  if [[ $restart == false ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  fi
  args+=(--oauth basic --cert "$dir/cert.pem" --key "$dir/key.pem")
fi

node "$repo/node_modules/azurite/dist/src/blob/main.js" "${args[@]}" >>"$dir/azurite.log" 2>&1 &
pid=$!
echo "$pid" >"$state/$name.pid"

# Wait until it answers (any HTTP status counts: it is up).
curl_args=(--silent --output /dev/null --max-time 2)
[[ $mode == oauth ]] && curl_args+=(--cacert "$dir/cert.pem")
for _ in $(seq 1 150); do
  if ! kill -0 "$pid" 2>/dev/null; then log "Azurite exited:"; cat "$dir/azurite.log" >&2; exit 1; fi
  code=$(curl "${curl_args[@]}" --write-out '%{http_code}' "$scheme://127.0.0.1:$port/$account?comp=list" || true)
  [[ "$code" =~ ^[1-5][0-9][0-9]$ ]] && break
  sleep 0.1
done
[[ "${code:-000}" =~ ^[1-5][0-9][0-9]$ ]] || { log "Azurite did not answer on port $port"; cat "$dir/azurite.log" >&2; exit 1; }

if [[ $mode == oauth ]]; then
  {
    printf 'export SECUREIMAGE_TEST_AZURITE_OAUTH_URI=%q\n' "https://127.0.0.1:$port/$account"
    printf 'export SECUREIMAGE_TEST_AZURITE_OAUTH_CERT=%q\n' "$dir/cert.pem"
  } >"$state/$name.env"
else
  conn="DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$account_key;BlobEndpoint=http://127.0.0.1:$port/$account;"
  printf 'export SECUREIMAGE_TEST_AZURITE=%q\n' "$conn" >"$state/$name.env"
fi
cat "$state/$name.env"
log "Azurite ($mode, pid $pid) listens on $scheme://127.0.0.1:$port, data in $dir"
