#!/usr/bin/env bash
# Runs the service (Development) against a throw-away PostgreSQL catalog and Azurite blob store,
# started on free loopback ports by with-servers.sh and stopped by PID when the service exits
# (Ctrl-C). Extra arguments go to `dotnet run`.
# Usage: bash infra/local/run-with-servers.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/../.."
# shellcheck disable=SC2016 # expanded by the inner shell, once with-servers.sh has exported the addresses
exec bash "$here/with-servers.sh" bash -c '
  export SecureImage__Catalog__Provider=Postgres
  export SecureImage__Catalog__ConnectionString="$SECUREIMAGE_TEST_POSTGRES"
  export SecureImage__Blobs__Provider=AzureBlob
  export SecureImage__Blobs__ConnectionString="$SECUREIMAGE_TEST_AZURITE"
  echo "run-with-servers: catalog on PostgreSQL, blobs on Azurite; Ctrl-C stops the service and both servers" >&2
  exec dotnet run --project src/SecureImage.Api "$@"' run-with-servers "$@"
