#!/usr/bin/env bash
# Runs every test. Installs and starts what the tests need when it is missing, stops it afterwards
# (even when tests fail), and prints one closing line: "tests: N passed, N failed, N skipped".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

results=$(mktemp -d)
cleanup() { rm -rf "$results"; }
trap cleanup EXIT

status=0
dotnet test SecureImage.sln --configuration Release \
  --logger "trx" --results-directory "$results" || status=$?

python3 "$here/trx-summary.py" "$results" || status=$?
exit $status
