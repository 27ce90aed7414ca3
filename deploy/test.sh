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

# Debian packages the tests use (command=package).
. deploy/lib/packages.sh
ensure_packages test.sh wg=wireguard-tools ip=iproute2 ping=iputils-ping iperf3=iperf3 nft=nftables chronyd=chrony faketime=faketime \
  chromium=chromium chromedriver=chromium-driver dpdk-testpmd=dpdk-dev

# Tests that need an external tool fail (instead of skipping) when it is absent.
export EGD_REQUIRE_TOOLS=1
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== import cycles"
./deploy/check-cycles.py --self-test
./deploy/check-cycles.py

echo "== Grafana dashboard and Prometheus config"
./deploy/grafana/check.sh

echo "== cargo test"
cargo test --workspace --locked
