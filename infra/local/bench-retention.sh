#!/usr/bin/env bash
# Erase-rate benchmark of the retention sweep: the service's sweep over N expired images with blobs in
# Azurite next to raw Azurite DELETE of N blobs (same client, same parallelism) in the same run, and
# the catalog-only erase rate over M expired rows. Prints rates and the service/raw ratio.
# Usage: infra/local/bench-retention.sh [N=10000] [M=100000]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
blobs=${1:-10000}
rows=${2:-100000}
cd "$repo"
dotnet build tests/SecureImage.Benchmarks -c Release -v quiet -nologo >/dev/null
bench=tests/SecureImage.Benchmarks/bin/Release/net10.0/SecureImage.Benchmarks.dll
bash "$here/with-servers.sh" bash -c "dotnet $bench retention --blobs $blobs --rows $rows && dotnet $bench retention --postgres --blobs $blobs --rows $rows"
