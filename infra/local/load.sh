#!/usr/bin/env bash
# Load run: starts PostgreSQL and Azurite on free loopback ports (with-servers.sh), the service
# (Release build, environment Production, keys and bot from environment variables) on a free port,
# runs tests/SecureImage.LoadTest against it and against raw Azurite at the same concurrency, prints
# the figures and stops everything by PID. Not part of the test command.
#
# Usage: infra/local/load.sh [CONCURRENCY] [SECONDS_PER_PHASE] [MAX_REQUESTS_PER_PHASE]
#   defaults: 16 20 20000. Inputs (≈1 MiB and ≈200 KiB JPEGs with metadata) go to .artifacts/load/.
#   LOAD_IMAGES="a.jpg b.jpg" replaces the inputs; LOAD_IMAGES=huge16 generates and uses a 16 MiB JPEG
#   (the RSS check: `LOAD_IMAGES=huge16 infra/local/load.sh 64 60 64`).
#   LOAD_SWEEP=N instead compares upload p99 with and without the retention sweep: the sweep runs
#   every second and N expired images are planted before each with-sweep phase (baseline, with
#   sweep, baseline; LOAD_SWEEP_ROUNDS=R repeats the last two; LOAD_SWEEP_RATE=D paces the sweep's
#   blob deletes, Retention:SweepMaxBlobDeletesPerSecond). LOAD_WARMUP=S: unmeasured warm-up (3 s).
#   LOAD_SERVICE_LOG=FILE keeps the service log (Logging__LogLevel__Default, default Warning).
#   Every phase prints CPU ms per request of the service, PostgreSQL, Azurite and the load tool (/proc).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
concurrency=${1:-16}
seconds=${2:-20}
max_requests=${3:-20000}

if [[ -z "${SECUREIMAGE_TEST_POSTGRES:-}" ]]; then
  exec bash "$here/with-servers.sh" bash "${BASH_SOURCE[0]}" "$@"
fi

for tool in convert exiftool; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y imagemagick libimage-exiftool-perl" >&2; exit 1; }
done
inputs="$repo/.artifacts/load"
mkdir -p "$inputs"
make_jpeg() { # NAME SIZE QUALITY
  local file="$inputs/$1.jpg"
  [[ -f "$file" ]] && return 0
  convert -seed 7 -size "$2" plasma:fractal -quality "$3" "$file"
  convert "$file" -thumbnail 160x120 "$inputs/thumb.jpg"
  exiftool -q -overwrite_original -Make=LoadCam -Model=L1 -GPSLatitude=37.5665 -GPSLatitudeRef=N \
    -GPSLongitude=126.978 -GPSLongitudeRef=E -Artist="Load Test" -XMP-dc:Creator="Load Test" \
    '-ThumbnailImage<='"$inputs/thumb.jpg" "$file"
}
make_jpeg large 1600x1200 95   # ≈1 MiB
make_jpeg small 800x600 90     # ≈200 KiB
images=("$inputs/large.jpg" "$inputs/small.jpg")
if [[ "${LOAD_IMAGES:-}" == huge16 ]]; then
  # 5000x5000 noise at quality 88: ≈16 MiB, under the 20 MiB and 40 MP limits.
  [[ -f "$inputs/huge16.jpg" ]] || convert -seed 3 -size 5000x5000 xc:gray +noise Random -quality 88 "$inputs/huge16.jpg"
  images=("$inputs/huge16.jpg")
elif [[ -n "${LOAD_IMAGES:-}" ]]; then
  read -r -a images <<<"$LOAD_IMAGES"
fi
ls -l "${images[@]}" >&2

cd "$repo"
dotnet build src/SecureImage.Api -c Release -v q -nologo >&2
dotnet build tests/SecureImage.LoadTest -c Release -v q -nologo >&2

work=$(mktemp -d -t secureimage-load.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api_key=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
container="load$(date +%s)"
rand() { head -c 32 /dev/urandom | base64; }
service=
cleanup() {
  if [[ -n "$service" ]] && kill -0 "$service" 2>/dev/null; then
    kill -TERM "$service" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$service" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$service" 2>/dev/null && kill -KILL "$service" 2>/dev/null || true
  fi
  [[ -n "${LOAD_SERVICE_LOG:-}" && -f "$work/service.log" ]] && cp "$work/service.log" "$LOAD_SERVICE_LOG"
  rm -rf -- "$work"
}
trap cleanup EXIT

export ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production
export Logging__LogLevel__Default=${Logging__LogLevel__Default:-Warning}
export SecureImage__DataDirectory="$work/data" TMPDIR="$work"
# LOAD_POSTGRES_OPTIONS: appended to the catalog connection string, e.g. "Max Auto Prepare=0" to compare.
export SecureImage__Catalog__Provider=Postgres SecureImage__Catalog__ConnectionString="$SECUREIMAGE_TEST_POSTGRES${LOAD_POSTGRES_OPTIONS:+;$LOAD_POSTGRES_OPTIONS}"
export SecureImage__Blobs__Provider=AzureBlob SecureImage__Blobs__ConnectionString="$SECUREIMAGE_TEST_AZURITE" SecureImage__Blobs__Container="$container"
export SecureImage__Keys__Kek__ActiveKeyId=kek1 SecureImage__Keys__Kek__Keys__kek1="$(rand)"
export SecureImage__Keys__Links__ActiveKeyId=link1 SecureImage__Keys__Links__Keys__link1="$(rand)"
export SecureImage__Keys__SubjectHashKey="$(rand)"
export SecureImage__Bots__load__ApiKeySha256="$(printf %s "$api_key" | sha256sum | cut -d' ' -f1)"
extra=(--warmup "${LOAD_WARMUP:-3}" --clock-ticks "$(getconf CLK_TCK)")
# CPU per request per process and phase, from /proc (the load tool adds itself).
[[ -n "${SECUREIMAGE_TEST_POSTGRES_PID:-}" ]] && extra+=(--cpu "postgres=$SECUREIMAGE_TEST_POSTGRES_PID")
[[ -n "${SECUREIMAGE_TEST_AZURITE_PID:-}" ]] && extra+=(--cpu "blob server=$SECUREIMAGE_TEST_AZURITE_PID")
if [[ -n "${LOAD_SWEEP:-}" ]]; then
  export SecureImage__Retention__SweepInterval=00:00:01 SecureImage__Retention__SweepMaxBlobDeletesPerSecond="${LOAD_SWEEP_RATE:-0}"
  extra+=(--sweep "$LOAD_SWEEP" --sweep-rounds "${LOAD_SWEEP_ROUNDS:-1}" --sweep-rate "${LOAD_SWEEP_RATE:-0}" --postgres "$SECUREIMAGE_TEST_POSTGRES")
fi
mkdir -p "$work/data"
dotnet src/SecureImage.Api/bin/Release/net10.0/SecureImage.Api.dll --urls "http://127.0.0.1:$port" >"$work/service.log" 2>&1 &
service=$!
for _ in $(seq 1 300); do
  kill -0 "$service" 2>/dev/null || { echo "load: the service exited" >&2; cat "$work/service.log" >&2; exit 1; }
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health/ready" || true) == 200 ]] && break
  sleep 0.2
done
echo "load: service pid $service on 127.0.0.1:$port (Production, PostgreSQL + Azurite)" >&2

dotnet tests/SecureImage.LoadTest/bin/Release/net10.0/SecureImage.LoadTest.dll \
  --base-url "http://127.0.0.1:$port" --api-key "$api_key" --azurite "$SECUREIMAGE_TEST_AZURITE" --container "$container" \
  --pid "$service" --cpu "service=$service" --concurrency "$concurrency" --duration "$seconds" --max-requests "$max_requests" \
  "${extra[@]}" --images "${images[@]}"
