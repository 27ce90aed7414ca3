# shellcheck shell=bash
# Sourced by the project's scripts: installs the Debian packages that provide
# missing commands, and nothing when all are there (so scripts can call it
# every time). `apt-get update` runs once, and only when something is missing.
#
#   . deploy/lib/packages.sh
#   ensure_packages SCRIPT_NAME cmd=package [cmd=package …]

ensure_packages() {
  local who=$1 pair missing=()
  shift
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "$who: missing packages: ${missing[*]} — run as root to install them" >&2
    return 1
  fi
  echo "== installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
