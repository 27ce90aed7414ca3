#!/usr/bin/env bash
# Installs what the end-to-end benchmark (benches/e2e/run.sh) needs, and
# nothing when it is all there already, so run.sh can call it every time.
#
#   sudo benches/e2e/install.sh
#
# - Debian: iperf3, wireguard-go, wireguard-tools (wg), tinc. `apt-get update`
#   runs once, and only when a package is missing.
# - crates.io: boringtun-cli 0.7.1 and gotatun-cli 0.10.2, built with
#   `cargo install` into $EGD_BENCH_TOOLS (default /work/bench-tools), only if
#   the binary is absent. Nothing lands in the repository.
#
# The egd binary itself is built by run.sh (it is the code under test).
set -euo pipefail

TOOLS_ROOT=${EGD_BENCH_TOOLS:-/work/bench-tools}

# Debian packages (command=package).
# shellcheck source=deploy/lib/packages.sh
. "$(dirname "$0")/../../deploy/lib/packages.sh"
ensure_packages install.sh iperf3=iperf3 wireguard-go=wireguard-go wg=wireguard-tools tincd=tinc ip=iproute2

# Userspace WireGuard peers from crates.io (crate, version, binary). The
# versions are pinned so figures stay comparable between runs.
cargo_peer() {
  local crate=$1 version=$2 bin=$3
  if [[ -x $TOOLS_ROOT/bin/$bin ]]; then
    return
  fi
  echo "== cargo install $crate $version → $TOOLS_ROOT (a few minutes)"
  # --locked takes the crate's own lock file, as its authors tested it; if a
  # published crate has none or it no longer resolves, build without it.
  # nice: the machine is shared with other builds.
  nice cargo install --quiet --root "$TOOLS_ROOT" --version "$version" --locked "$crate" ||
    nice cargo install --quiet --root "$TOOLS_ROOT" --version "$version" "$crate"
}
cargo_peer boringtun-cli 0.7.1 boringtun-cli
cargo_peer gotatun-cli 0.10.2 gotatun

echo "== benchmark tools ready (peers from crates.io in $TOOLS_ROOT/bin)"
