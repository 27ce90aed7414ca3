#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the test prerequisites
# (idempotently, with apt), then checks formatting, runs clippy with warnings
# as errors, and runs every test of the workspace.
#
#   sudo ./deploy/test.sh
#
# Needs root only to install missing packages; with everything installed it
# runs as any user (the network-namespace tests of later stages need root).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (command → package).
declare -A NEEDED=(
  [wg]=wireguard-tools
  [ip]=iproute2
  [ping]=iputils-ping
  [iperf3]=iperf3
)

missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "test.sh: missing packages: ${missing[*]} — run as root to install them" >&2
    exit 1
  fi
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Tests that need an external tool fail (instead of skipping) when it is absent.
export EGD_REQUIRE_TOOLS=1
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
