# Shared helpers for the local scripts. Source it; it defines functions only.

# ensure_command CMD DEBIAN_PACKAGE: installs the package with apt-get when CMD is missing.
ensure_command() {
  local cmd=$1 package=$2
  if command -v "$cmd" >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: '$cmd' is missing; install the Debian package '$package' (needs root)." >&2
    return 1
  fi
  echo "installing $package (for $cmd)…" >&2
  if ! apt-get install -y -qq "$package" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  fi
  command -v "$cmd" >/dev/null 2>&1
}
