#!/usr/bin/env bash
# Fault scenarios at full size (the test command runs them small), each checking that nothing is lost
# or leaked: kill -9 of the service during 200 concurrent uploads and during a retention sweep of
# 5,000 expired images, each followed by a restart; PostgreSQL, then Azurite, stopped and restarted
# under 200 concurrent uploads. Servers on free loopback ports, stopped by PID (docs/RELIABILITY.md).
# Usage: infra/local/faults.sh [CONCURRENT_UPLOADS] [EXPIRED_IMAGES]   (defaults: 200 5000)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
export SECUREIMAGE_FAULTS_UPLOADS=${1:-200} SECUREIMAGE_FAULTS_EXPIRED=${2:-5000}
dotnet build tests/SecureImage.Api.Tests -c Release -v q -nologo >&2
exec bash "$here/with-servers.sh" dotnet test tests/SecureImage.Api.Tests -c Release --no-build \
  --filter "FullyQualifiedName~SecureImage.Api.Tests.Faults" --logger "console;verbosity=detailed"
