#!/usr/bin/env bash
# Sign-in flood benchmark: the service (Release, Production, embedded default: SQLite + files) on a free loopback
# port with one admin whose hash has the production 600,000 PBKDF2 iterations; measures the upload p50 (one client,
# sequential uploads of a ≈200 KiB JPEG) quiet, then while FLOODERS clients post wrong passwords as fast as they are
# answered, then quiet again, and prints the ratio. Two runs: the default throttling (5 attempts a minute per address and
# per user name), and throttling off (SignInAttemptsPerWindow=10000) so only the PBKDF2 bound
# (Admin:MaxConcurrentPasswordChecks, on a nice-19 thread) holds the flood. Stops the service by PID. Not part of the
# test command. The machine may be shared: run it twice and read the ratios, not the milliseconds.
#
# Usage: infra/local/bench-sign-in.sh [FLOODERS] [UPLOADS_PER_PHASE]   (defaults 32 200)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
flooders=${1:-32}
uploads=${2:-200}
cd "$repo"
command -v convert >/dev/null || { echo "missing convert: apt-get install -y imagemagick" >&2; exit 1; }
mkdir -p .artifacts/bench
image=.artifacts/bench/sign-in-bench.jpg
[[ -f "$image" ]] || convert -seed 7 -size 800x600 plasma:fractal -quality 90 "$image"
dotnet build src/SecureImage.Api -c Release -v q -nologo >&2

rand() { head -c 32 /dev/urandom | base64; }
api_key=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
hash=$(printf '%s\n' "bench-$(rand)" | dotnet src/SecureImage.Api/bin/Release/net10.0/SecureImage.Api.dll hash-password)

run() { # LABEL ATTEMPTS_PER_WINDOW
  local work port pid
  work=$(mktemp -d -t secureimage-bench-sign-in.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (
    export ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production Logging__LogLevel__Default=Error
    export SecureImage__DataDirectory="$work/data" TMPDIR="$work"
    export SecureImage__Keys__Kek__ActiveKeyId=kek1 SecureImage__Keys__Kek__Keys__kek1="$(rand)"
    export SecureImage__Keys__Links__ActiveKeyId=link1 SecureImage__Keys__Links__Keys__link1="$(rand)"
    export SecureImage__Keys__SubjectHashKey="$(rand)"
    export SecureImage__Bots__bench__ApiKeySha256="$(printf %s "$api_key" | sha256sum | cut -d' ' -f1)"
    export SecureImage__Admins__officer__PasswordHash="$hash" SecureImage__Admins__officer__Role=operator
    export SecureImage__Admin__SignInAttemptsPerWindow="$2"
    exec dotnet src/SecureImage.Api/bin/Release/net10.0/SecureImage.Api.dll --urls "http://127.0.0.1:$port" >"$work/service.log" 2>&1
  ) &
  pid=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
    sleep 0.5
  done
  echo "== $1"
  python3 "$here/bench-sign-in.py" "http://127.0.0.1:$port" "$api_key" "$image" "$uploads" "$flooders" || { cat "$work/service.log" >&2; kill "$pid"; exit 1; }
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}

echo "$(nproc) cores; $flooders flooders; $uploads uploads per phase"
run "default throttling (5 attempts a minute per address and per user name)" 5
run "throttling off: only the PBKDF2 bound (1 check at a time, 4 queued)" 10000
