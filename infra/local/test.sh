#!/usr/bin/env bash
# Runs every test. Installs what the tests need when it is missing, starts the servers they use
# and stops them afterwards (even when tests fail), and prints one closing line:
#   tests: N passed, N failed, N skipped
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
source "$here/lib.sh"

# exiftool: the independent check that sanitized images carry no metadata.
ensure_command exiftool libimage-exiftool-perl
# Debian's Chromium for the dashboard's browser tests (Playwright drives it; no browser is downloaded).
ensure_command chromium chromium

# Kept (git-ignored) so a failure can be read after the run.
results="$repo/TestResults/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"

status=0
# PostgreSQL and Azurite (plain and OAuth/HTTPS) on free loopback ports, stopped by PID afterwards.
bash "$here/with-servers.sh" dotnet test SecureImage.sln --configuration Release \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

python3 "$here/trx-summary.py" "$results" || status=$?
exit $status
