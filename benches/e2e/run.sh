#!/usr/bin/env bash
# End-to-end throughput and packet rate of egd against its peers, side by
# side, in one run.
#
#   sudo CARGO_TARGET_DIR=/work/target-bench benches/e2e/run.sh
#   sudo benches/e2e/run.sh --only egd,gotatun --runs 3
#   sudo benches/e2e/run.sh --only egd --runs 1 --profile    # + perf of egd
#   sudo benches/e2e/run.sh --matrix --runs 5                # every cell
#
# Method (shared/spec/BENCHMARKS.md). Scenarios:
#   direct  two network namespaces A and B joined by one veth pair
#           (underlay MTU 1500);
#   relay   three, A – R – B: veth pairs A–R and R–B only, A and B have no
#           route to each other's underlay, every tunnel goes through a
#           daemon in R (see "Relays" below).
# For each implementation a tunnel is brought up between A and B, every test
# of the run goes through it, and the tunnel is torn down again. Tests:
#   tcp1, tcp4          iperf3 TCP, 1 or 4 streams (-P 4), A → B
#   tcp1-rev, tcp4-rev  the same B → A (iperf3 -R: B's server sends)
#   udp64               64-byte UDP payloads from udpflood.rs (one thread, as
#                       fast as the kernel takes them) to B's tunnel address;
#                       the rate is the datagrams that reached a UDP socket
#                       on B (a sink that never reads: its drop counter),
#                       packets/s; B's tunnel rx_packets goes to the log.
#                       iperf3's UDP mode tops out near 100 k/s here, below
#                       some tunnels.
# Each test runs --time seconds; the first --omit seconds are not measured
# (iperf3 -O; the same window for udp64 and the CPU columns). Rounds are
# interleaved — round 1: direct veth, direct egd, … direct tinc, relay veth,
# … relay tinc; round 2 … — so slow drifts of this shared machine's load hit
# every implementation alike; table.py gives medians, spreads, egd's ratios
# to each (of the medians, and the median of the per-round ratios) and the
# throughput targets. Each test also records, over the measured window, the
# daemons' CPU time and their time runnable but waiting for a CPU
# (/proc/…/schedstat, all sides summed, all threads), CPU time per byte (per
# packet for udp64), how busy the whole machine was, and cycles per byte
# from `perf stat -e cycles` where the machine has the counter (this VM does
# not: `perf stat -e cycles true` says <not supported>, column "-").
# Results: results.tsv, table.md, meta.txt, the raw iperf3 JSON in --out DIR.
#
# Implementations (names for --only):
#   veth          no tunnel: the underlay itself (the ceiling); in the relay
#                 scenario R forwards IP between its two veths
#   egd           this repo's release build, tap ↔ tap, static next hops
#   wireguard-go  Debian's wireguard-go, configured with wg (L3)
#   boringtun     boringtun-cli 0.7.1 from crates.io (L3)
#   gotatun       gotatun-cli 0.10.2 from crates.io (L3)
#   tinc          Debian's tinc 1.0 in Mode = switch (L2), default cipher
#
# Relays (one daemon in R for every tunnel; each hop encrypted on its own):
#   egd           three nodes, R is node 2 and the static NextHopTable sends
#                 1 → 3 and 3 → 1 through it (egd's own relaying: R reads the
#                 routing header and re-encrypts to the next hop, never
#                 touching its tap)
#   WireGuard L3  hub and spoke, WireGuard's usual relay: A and B each have R
#                 as their only peer with AllowedIPs = the tunnel /24; R has
#                 both (AllowedIPs = their /32) and forwards IP from its tun
#                 back out of the same tun (ip_forward=1 in R)
#   tinc          switch mode, A and B `ConnectTo = r`, and `IndirectData =
#                 yes` on A and B so neither tries a direct UDP path; tinc
#                 then sends UDP to R, which re-encrypts to the far side
#                 (without IndirectData tinc 1.0 falls back to TCP over the
#                 meta connections when UDP probes fail)
#
# MTUs. The L3 WireGuard peers use 1420 (WireGuard's usual: 1420 + 16 B
# header + 16 B tag + 28 B UDP/IPv4 = 1480 ≤ 1500). egd carries Ethernet
# frames: tap MTU M gives a frame of M + 14, plus the 10-byte routing header,
# padded to a multiple of 16, plus 32 B WireGuard and 28 B UDP/IPv4:
#   pad16(M + 24) + 60 ≤ 1500  ⇔  M + 24 ≤ 1440  ⇔  M ≤ 1416,
# so egd's tap gets MTU 1416 (1416 + 24 = 1440 is already a multiple of 16:
# the outer packet is exactly 1500). tinc, the other L2 peer, gets the same
# tap MTU 1416 so both carry the same frames (its own overhead with the
# default aes-256-cbc + 4-byte HMAC-SHA256 — sequence number, CBC padding,
# MAC, UDP/IPv4, at most 66 B over the frame's 1430 — fits too).
#
# Everything runs inside the namespaces this script creates (addresses in
# 10.201–212.0.0/24 exist only there); they, the daemons and the UAPI sockets
# are removed on exit, also on failure or Ctrl-C.

# DST, PIDS and the scenario's variables belong to one measurement and are
# set inside its subshell on purpose:
# shellcheck disable=SC2030,SC2031
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TOOLS_ROOT=${EGD_BENCH_TOOLS:-/work/bench-tools}

ALL_IMPLS=(veth egd wireguard-go boringtun gotatun tinc)
ALL_SCENARIOS=(direct relay)
ALL_TESTS=(tcp1 tcp4 tcp1-rev tcp4-rev udp64)
RUNS=5
DURATION=10
OMIT=2
ONLY=""
SCENARIO_LIST=direct
STREAM_LIST=1
DIR_LIST=fwd
UDP64=0
TEST_LIST=""
EGD_BIN=""
EGD_ALT_BIN=""
PROFILE=0
INSTALL=1
OUT=""
ARGS="$*"

usage() {
  cat <<EOF
usage: sudo $0 [options]
  --only LIST      comma-separated subset of: ${ALL_IMPLS[*]}
  --scenario LIST  comma-separated subset of: ${ALL_SCENARIOS[*]} (default $SCENARIO_LIST)
  --streams LIST   TCP streams per test, comma-separated: 1,4 (default $STREAM_LIST)
  --dir LIST       fwd (A → B), rev (B → A, iperf3 -R) or fwd,rev (default $DIR_LIST)
  --reverse        the same as --dir rev
  --udp64          add the 64-byte UDP packet-rate test
  --tests LIST     the tests exactly, instead of --streams/--dir/--udp64;
                   subset of: ${ALL_TESTS[*]}
  --matrix         every cell: --scenario direct,relay --streams 1,4
                   --dir fwd,rev --udp64
  --runs N         rounds (default $RUNS; the median needs ≥ 5)
  --time S         seconds per test, omitted ones included (default $DURATION)
  --omit S         seconds not measured at the start (iperf3 -O; default $OMIT)
  --egd PATH       use this egd binary instead of building the release one
  --egd-alt PATH   add implementation egd-alt: egd run from this other binary
                   (e.g. main's release build), set up exactly like egd, so
                   a change is measured against its base in the same run;
                   the table gets an "egd ÷ egd-alt" column
  --no-install     skip benches/e2e/install.sh
  --profile        after the table, one more egd run (tcp1) per scenario
                   under perf record on every egd process; reports in the
                   output directory
  --out DIR        keep logs, results.tsv, table.md (and perf data) here
                   (default: a fresh /tmp/egd-e2e.XXXX, kept)
With no options: direct, tcp1, all six implementations, 5 rounds.
EOF
}

while (($#)); do
  case $1 in
    --only) ONLY=$2; shift 2 ;;
    --scenario) SCENARIO_LIST=$2; shift 2 ;;
    --streams) STREAM_LIST=$2; shift 2 ;;
    --dir) DIR_LIST=$2; shift 2 ;;
    --reverse) DIR_LIST=rev; shift ;;
    --udp64) UDP64=1; shift ;;
    --tests) TEST_LIST=$2; shift 2 ;;
    --matrix) SCENARIO_LIST=direct,relay STREAM_LIST=1,4 DIR_LIST=fwd,rev UDP64=1; shift ;;
    --runs) RUNS=$2; shift 2 ;;
    --time) DURATION=$2; shift 2 ;;
    --omit) OMIT=$2; shift 2 ;;
    --egd) EGD_BIN=$2; shift 2 ;;
    --egd-alt) EGD_ALT_BIN=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --profile) PROFILE=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: needs root (network namespaces, tun/tap devices)" >&2
  exit 1
fi

# check_list NAME VALUE ALLOWED…: VALUE is a comma-separated subset of ALLOWED.
check_list() {
  local name=$1 item items
  IFS=, read -ra items <<<"$2"
  shift 2
  ((${#items[@]})) || { echo "empty $name list" >&2; exit 2; }
  for item in "${items[@]}"; do
    [[ " $* " == *" $item "* ]] || { echo "unknown $name: $item (one of: $*)" >&2; exit 2; }
  done
}

if [[ -n $EGD_ALT_BIN ]]; then
  [[ -x $EGD_ALT_BIN ]] || { echo "--egd-alt: $EGD_ALT_BIN is not an executable" >&2; exit 2; }
  EGD_ALT_BIN=$(realpath "$EGD_ALT_BIN")
  ALL_IMPLS=(veth egd egd-alt wireguard-go boringtun gotatun tinc)
fi
IMPLS=("${ALL_IMPLS[@]}")
if [[ -n $ONLY ]]; then
  check_list implementation "$ONLY" "${ALL_IMPLS[@]}"
  IFS=, read -ra IMPLS <<<"$ONLY"
fi
check_list scenario "$SCENARIO_LIST" "${ALL_SCENARIOS[@]}"
IFS=, read -ra SCENARIOS <<<"$SCENARIO_LIST"
TESTS=()
if [[ -n $TEST_LIST ]]; then
  check_list test "$TEST_LIST" "${ALL_TESTS[@]}"
  IFS=, read -ra TESTS <<<"$TEST_LIST"
else
  check_list streams "$STREAM_LIST" 1 4
  check_list direction "$DIR_LIST" fwd rev
  IFS=, read -ra streams <<<"$STREAM_LIST"
  IFS=, read -ra dirs <<<"$DIR_LIST"
  for d in "${dirs[@]}"; do
    for n in "${streams[@]}"; do
      if [[ $d == rev ]]; then TESTS+=("tcp$n-rev"); else TESTS+=("tcp$n"); fi
    done
  done
  ((UDP64)) && TESTS+=(udp64)
fi
if ((DURATION - OMIT < 2)); then
  echo "--time must exceed --omit by at least 2 s (the measured window)" >&2
  exit 2
fi
wants() { [[ " ${IMPLS[*]} " == *" $1 "* ]] || { [[ $1 == egd && $PROFILE == 1 ]]; }; }
wants_test() { [[ " ${TESTS[*]} " == *" $1 "* ]]; }

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------- tools ----

if ((INSTALL)); then
  "$HERE/install.sh"
fi
export PATH=$TOOLS_ROOT/bin:$PATH

if wants egd && [[ -z $EGD_BIN ]]; then
  # The code under test: always the release profile of this checkout.
  log "building egd (release)"
  (cd "$REPO" && cargo build --release --quiet --bin egd)
  EGD_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/egd
fi

# Cycle counters: `perf stat` prints "<not supported>" in VMs without a PMU.
CYCLES=0
if command -v perf >/dev/null && perf stat -x, -e cycles true 2>&1 | grep -q '^[0-9]'; then
  CYCLES=1
fi

# ------------------------------------------------------- namespaces ----

# Short unique names: interface names must stay within 15 bytes.
ID=$(($$ % 100000))
NS_A=egdb-$ID-a      # direct
NS_B=egdb-$ID-b
NS_RA=egdb-$ID-ra    # relay
NS_RR=egdb-$ID-rr
NS_RB=egdb-$ID-rb
NAMESPACES=()
OUT=${OUT:-$(mktemp -d /tmp/egd-e2e.XXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/egd-e2e-work.XXXX)
# Tunnel interface names (also the names of the userspace daemons' UAPI
# sockets in /var/run/wireguard/, which all namespaces share: hence every
# side needs its own name).
ifname() { echo "$1$ID$2"; } # prefix, side a|b|r

cleanup() {
  local rc=$?
  set +e
  for ns in "${NAMESPACES[@]}"; do
    # shellcheck disable=SC2046
    kill $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
  done
  sleep 0.5
  for ns in "${NAMESPACES[@]}"; do
    # shellcheck disable=SC2046
    kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  for p in wg bt gt; do
    for s in a b r; do
      rm -f "/var/run/wireguard/$(ifname $p $s).sock"
    done
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

new_ns() {
  ip netns add "$1"
  NAMESPACES+=("$1")
  ip -n "$1" link set lo up
}
# veth_pair NS1 IF1 ADDR1 NS2 IF2 ADDR2 (addresses /24, MTU 1500)
veth_pair() {
  ip link add "$2" netns "$1" type veth peer "$5" netns "$4"
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$4" addr add "$6/24" dev "$5"
  ip -n "$1" link set "$2" mtu 1500 up
  ip -n "$4" link set "$5" mtu 1500 up
}
# B's sink for udp64: a UDP socket on port 9 that never reads, with the
# smallest receive buffer, so (after the first couple) every datagram that
# reaches it is dropped and counted in its drop counter (the last column of
# /proc/net/udp; sink_count reads it): the count is of datagrams delivered
# to a socket, however they crossed the tunnel interface. B's interface
# rx_packets would count one per write instead, and egd writes up to 64
# small datagrams as one USO frame (the kernel cuts it before the socket).
# The socket also keeps B from sending ICMP port unreachable back. The
# process lives in the namespace: cleanup ends it.
udp_sink() {
  ip netns exec "$1" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
s.bind(("0.0.0.0", 9))
while True:
    time.sleep(3600)
' &
  local i
  for i in $(seq 50); do
    ip netns exec "$1" grep -q ':0009 ' /proc/net/udp && return 0
    sleep 0.1
  done
  echo "udp sink in $1 did not come up" >&2
  return 1
}
# sink_count: the datagrams B's port-9 sink has received (all dropped).
sink_count() {
  in_b awk '$2 ~ /:0009$/ { n += $NF } END { print n + 0 }' /proc/net/udp
}

if [[ " ${SCENARIOS[*]} " == *" direct "* ]]; then
  new_ns "$NS_A"
  new_ns "$NS_B"
  veth_pair "$NS_A" "eb${ID}a" 10.201.0.1 "$NS_B" "eb${ID}b" 10.201.0.2
  udp_sink "$NS_B"
fi
if [[ " ${SCENARIOS[*]} " == *" relay "* ]]; then
  new_ns "$NS_RA"
  new_ns "$NS_RR"
  new_ns "$NS_RB"
  veth_pair "$NS_RA" "er${ID}a" 10.211.0.1 "$NS_RR" "er${ID}ra" 10.211.0.2
  veth_pair "$NS_RB" "er${ID}b" 10.212.0.1 "$NS_RR" "er${ID}rb" 10.212.0.2
  # R forwards IP (the L3 WireGuard hub, raw veth through R). A and B get no
  # route to each other's underlay, except during the veth measurement.
  ip netns exec "$NS_RR" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
    net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  udp_sink "$NS_RB"
fi

# use_scenario direct|relay: the namespaces and underlay addresses of the
# sides: NA/NB/NR namespaces, UA/UB the addresses of A and B, RA/RB R's
# addresses on A's and B's link, VETH_B B's underlay interface.
use_scenario() {
  SCEN=$1
  if [[ $SCEN == direct ]]; then
    NA=$NS_A NB=$NS_B NR="" UA=10.201.0.1 UB=10.201.0.2 RA="" RB="" VETH_B=eb${ID}b
  else
    NA=$NS_RA NB=$NS_RB NR=$NS_RR UA=10.211.0.1 UB=10.212.0.1 RA=10.211.0.2 RB=10.212.0.2 VETH_B=er${ID}b
  fi
}
in_a() { ip netns exec "$NA" "$@"; }
in_b() { ip netns exec "$NB" "$@"; }
in_r() { ip netns exec "$NR" "$@"; }
relay() { [[ $SCEN == relay ]]; }
# ns_of SIDE: the namespace of side a, b or r.
ns_of() { case $1 in a) echo "$NA" ;; b) echo "$NB" ;; r) echo "$NR" ;; esac; }
# The sides with a daemon: A and B, and R when relaying.
sides() { if relay; then echo a r b; else echo a b; fi; }

# ------------------------------------------------------------ helpers ----

# wait_until SECONDS CMD…: polls CMD every 0.1 s.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Daemons started by the current measurement (killed by stop_daemons), the
# names of their logs, and commands that undo the measurement's changes.
PIDS=()
NAMES=()
UNDO=()
# spawn NS NAME CMD…: runs CMD in namespace NS in the background, output to
# $WORK/NAME.log. `ip netns exec` execs, so $! is the daemon itself.
spawn() {
  local ns=$1 name=$2
  shift 2
  ip netns exec "$ns" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  NAMES+=("$name")
}
stop_daemons() {
  local p u
  if ((${#PIDS[@]})); then
    kill "${PIDS[@]}" 2>/dev/null || true
    for p in "${PIDS[@]}"; do
      # Give each 3 s to exit cleanly (removes its UAPI socket), then -9.
      for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    done
  fi
  for u in "${UNDO[@]}"; do
    # Each entry is a simple command line (a function and its words).
    # shellcheck disable=SC2086
    $u || true
  done
  PIDS=() NAMES=() UNDO=()
}

# Scheduler time of the given processes, all their threads summed, from
# /proc/PID/task/*/schedstat: "ns on a CPU" and "ns runnable but waiting for
# a CPU". The second one tells a daemon starved by the (shared, 2-core)
# machine from one that is idle waiting for packets.
sched_ns() {
  local p f on wait rest sum_on=0 sum_wait=0
  for p in "$@"; do
    for f in /proc/"$p"/task/*/schedstat; do
      read -r on wait rest <"$f" 2>/dev/null || continue
      sum_on=$((sum_on + on)) sum_wait=$((sum_wait + wait))
    done
  done
  echo "$sum_on $sum_wait"
}

# Busy and total jiffies of the whole machine (all CPUs) from /proc/stat:
# how much of the machine anything (also other people's builds) used.
machine_jiffies() {
  awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat
}

# WireGuard keys for the L3 peers, one pair per side, made once.
wg_keys() {
  local s
  for s in a b r; do
    [[ -f $WORK/wg-$s.key ]] && continue
    (umask 077 && wg genkey >"$WORK/wg-$s.key")
    wg pubkey <"$WORK/wg-$s.key" >"$WORK/wg-$s.pub"
  done
}

# ------------------------------------------------- implementations ----
# Each start_<impl> brings a tunnel up between A and B (through R when
# relaying) and sets DST (B's tunnel address) and DEV_B (B's tunnel
# interface, where udp64 counts packets); the caller checks it with ping,
# measures, and stops the daemons. Ports differ per implementation so a slow
# exit never collides.

start_veth() {
  DST=$UB DEV_B=$VETH_B
  if relay; then
    # Plain IP forwarding in R; the routes exist only for this measurement,
    # so no tunnel can find an A–B path that skips its own relay.
    in_a ip route add 10.212.0.0/24 via "$RA"
    UNDO+=("in_a ip route del 10.212.0.0/24")
    in_b ip route add 10.211.0.0/24 via "$RB"
    UNDO+=("in_b ip route del 10.211.0.0/24")
  fi
}

# egd_node SIDE NODEID PORT NEXTHOPTABLE PEER…: writes $WORK/egd-SIDE.yaml;
# each PEER is "SIDE:NODEID:ENDPOINT". egd gives its tap
# 10.202.0.<NodeID>/24 from IPv4CIDR.
egd_node() {
  local s=$1 id=$2 port=$3 table=$4 peer ps pid ep
  shift 4
  {
    cat <<EOF
Interface:
  IType: tap
  Name: $(ifname eg "$s")
  MacAddrPrefix: 02:EE:00:00
  IPv4CIDR: 10.202.0.0/24
  MTU: 1416
NodeID: $id
NodeName: bench-$s
PrivKey: $(cat "$WORK/egd-$s.key")
ListenPort: $port
LogLevel:
  LogLevel: error
NextHopTable:
$table
Peers:
EOF
    for peer in "$@"; do
      IFS=: read -r ps pid ep <<<"$peer"
      printf -- '- NodeID: %s\n  PubKey: %s\n  EndPoint: %s\n  Static: true\n' \
        "$pid" "$(cat "$WORK/egd-$ps.pub")" "$ep"
    done
  } >"$WORK/egd-$s.yaml"
}

start_egd() {
  local s b
  for s in a b r; do
    [[ -f $WORK/egd-$s.key ]] && continue
    "$EGD_BIN" genkey >"$WORK/egd-$s.key"
    "$EGD_BIN" pubkey <"$WORK/egd-$s.key" >"$WORK/egd-$s.pub"
  done
  if relay; then
    # A = 1, R = 2, B = 3; NextHopTable[node][destination] = next hop.
    local table="  1: {2: 2, 3: 2}
  2: {1: 1, 3: 3}
  3: {1: 2, 2: 2}"
    egd_node a 1 3001 "$table" "r:2:$RA:3002"
    egd_node r 2 3002 "$table" "a:1:$UA:3001" "b:3:$UB:3003"
    egd_node b 3 3003 "$table" "r:2:$RB:3002"
    b=3
  else
    # A static two-node mesh: each is the other's next hop.
    local table="  1: {2: 2}
  2: {1: 1}"
    egd_node a 1 3001 "$table" "b:2:$UB:3002"
    egd_node b 2 3002 "$table" "a:1:$UA:3001"
    b=2
  fi
  for s in $(sides); do
    spawn "$(ns_of "$s")" "egd-$s" "$EGD_BIN" --no-uapi --config "$WORK/egd-$s.yaml"
  done
  DEV_B=$(ifname eg b)
  wait_until 10 in_b sh -c "ip -4 addr show dev $DEV_B | grep -q 10.202.0.$b/" || return 1
  DST=10.202.0.$b
}

# egd-alt: egd's setup with the other binary (--egd-alt).
start_egd-alt() {
  EGD_BIN=$EGD_ALT_BIN start_egd
}

# The three userspace WireGuard implementations share everything but the
# daemon: start it in each namespace, wait for its UAPI socket, configure it
# with `wg`, then address and raise the tun device. Tunnel addresses: A .1,
# B .2 (direct) or R .2 and B .3 (relay).
#   start_wg_l3 PREFIX NET PORT CMD…   (CMD gets the interface name appended)
# Ports: A PORT, B PORT+1, R PORT+2.
start_wg_l3() {
  local pfx=$1 net=$2 port=$3 s
  shift 3
  wg_keys
  for s in $(sides); do
    # A socket left by an earlier run's daemon that had to be killed -9
    # would pass the readiness check below and then refuse connections.
    rm -f "/var/run/wireguard/$(ifname "$pfx" "$s").sock"
    spawn "$(ns_of "$s")" "$pfx-$s" "$@" "$(ifname "$pfx" "$s")"
  done
  for s in $(sides); do
    # Ready when `wg` gets an answer over the daemon's UAPI socket.
    wait_until 10 wg show "$(ifname "$pfx" "$s")" || return 1
  done
  local ia ib ir b
  ia=$(ifname "$pfx" a) ib=$(ifname "$pfx" b) ir=$(ifname "$pfx" r)
  if relay; then
    in_a wg set "$ia" private-key "$WORK/wg-a.key" listen-port "$port" \
      peer "$(cat "$WORK/wg-r.pub")" endpoint "$RA:$((port + 2))" allowed-ips "$net.0/24"
    in_b wg set "$ib" private-key "$WORK/wg-b.key" listen-port "$((port + 1))" \
      peer "$(cat "$WORK/wg-r.pub")" endpoint "$RB:$((port + 2))" allowed-ips "$net.0/24"
    in_r wg set "$ir" private-key "$WORK/wg-r.key" listen-port "$((port + 2))" \
      peer "$(cat "$WORK/wg-a.pub")" endpoint "$UA:$port" allowed-ips "$net.1/32" \
      peer "$(cat "$WORK/wg-b.pub")" endpoint "$UB:$((port + 1))" allowed-ips "$net.3/32"
    in_r ip addr add "$net.2/24" dev "$ir"
    in_r ip link set "$ir" mtu 1420 up
    b=3
  else
    in_a wg set "$ia" private-key "$WORK/wg-a.key" listen-port "$port" \
      peer "$(cat "$WORK/wg-b.pub")" endpoint "$UB:$((port + 1))" allowed-ips "$net.2/32"
    in_b wg set "$ib" private-key "$WORK/wg-b.key" listen-port "$((port + 1))" \
      peer "$(cat "$WORK/wg-a.pub")" endpoint "$UA:$port" allowed-ips "$net.1/32"
    b=2
  fi
  in_a ip addr add "$net.1/24" dev "$ia"
  in_b ip addr add "$net.$b/24" dev "$ib"
  in_a ip link set "$ia" mtu 1420 up
  in_b ip link set "$ib" mtu 1420 up
  DST=$net.$b DEV_B=$ib
}

start_wireguard-go() {
  # Foreground mode keeps the daemon our child, so stop_daemons can end it.
  start_wg_l3 wg 10.203.0 51820 env WG_PROCESS_FOREGROUND=1 wireguard-go
}

start_boringtun() {
  # Defaults otherwise (4 threads, connected UDP sockets, multi-queue tun).
  start_wg_l3 bt 10.204.0 51830 boringtun-cli -f --disable-drop-privileges --log "$WORK/bt.out"
}

start_gotatun() {
  start_wg_l3 gt 10.205.0 51840 gotatun -f --disable-drop-privileges -v error --log "$WORK/gt.out"
}

# tinc_keys DIR…: one configuration directory per node (named after the
# last letter of DIR: a, b or r), keys made once. Every node gets every
# node's host file; R's carries the address its neighbour reaches it at.
tinc_dirs() {
  local d s n
  [[ -f $1/rsa_key.priv ]] && return
  for d in "$@"; do
    s=${d: -1}
    mkdir -p "$d/hosts"
    # Mode = switch: tinc bridges Ethernet frames like egd (the L2 peer).
    # Cipher and digest stay at this tinc 1.0's defaults (aes-256-cbc,
    # HMAC-SHA256 truncated to 4 bytes; see tinc.conf(5)).
    cat >"$d/tinc.conf" <<EOF
Name = $s
Mode = switch
DeviceType = tap
Interface = $(ifname tc "$s")
AddressFamily = ipv4
EOF
    # Writes rsa_key.priv and appends the public key to hosts/$s; with
    # stdin not a terminal it takes the default file names.
    tincd -c "$d" -K 2048 </dev/null >/dev/null 2>&1
  done
  for d in "$@"; do
    for n in "$@"; do
      s=${n: -1}
      [[ $d == "$n" ]] || cp "$n/hosts/$s" "$d/hosts/$s"
    done
  done
}

# tinc_up DIR ADDRESS|"": the tinc-up script (MTU 1416; R's tap has no address).
tinc_up() {
  {
    echo '#!/bin/sh'
    echo "ip link set \"\$INTERFACE\" mtu 1416 up"
    [[ -n $2 ]] && echo "ip addr add $2/24 dev \"\$INTERFACE\""
  } >"$1/tinc-up"
  chmod +x "$1/tinc-up"
}

start_tinc() {
  local net=10.206.0 d b
  if relay; then
    d=$WORK/tincr
    if [[ ! -f $d-a/rsa_key.priv ]]; then
      tinc_dirs "$d-a" "$d-r" "$d-b"
      for s in a b; do
        # Neither end node is reachable directly: send through R.
        printf 'ConnectTo = r\nIndirectData = yes\n' >>"$d-$s/tinc.conf"
      done
      # The hub's address as each end node reaches it.
      sed -i "1i Address = $RA\nPort = 655" "$d-a/hosts/r"
      sed -i "1i Address = $RB\nPort = 655" "$d-b/hosts/r"
      tinc_up "$d-a" "$net.1"
      tinc_up "$d-r" ""
      tinc_up "$d-b" "$net.3"
    fi
    b=3
  else
    d=$WORK/tinc
    if [[ ! -f $d-a/rsa_key.priv ]]; then
      tinc_dirs "$d-a" "$d-b"
      echo "ConnectTo = b" >>"$d-a/tinc.conf"
      sed -i "1i Address = $UB\nPort = 655" "$d-a/hosts/b"
      tinc_up "$d-a" "$net.1"
      tinc_up "$d-b" "$net.2"
    fi
    b=2
  fi
  # Own pid files: the default /var/run/tinc.pid would be shared by all.
  # The nodes others connect to first.
  if relay; then
    spawn "$NR" tinc-r tincd -c "$d-r" -D --pidfile="$WORK/tinc-r.pid"
  fi
  spawn "$NB" tinc-b tincd -c "$d-b" -D --pidfile="$WORK/tinc-b.pid"
  spawn "$NA" tinc-a tincd -c "$d-a" -D --pidfile="$WORK/tinc-a.pid"
  DEV_B=$(ifname tc b)
  wait_until 10 in_b sh -c "ip -4 addr show dev $DEV_B | grep -q $net.$b/" || return 1
  DST=$net.$b
}

# -------------------------------------------------------- measurement ----

# The measured window of one test: window_start and window_end record the
# daemons' scheduler times, the machine's jiffies, the wall clock and (where
# the PMU allows) the daemons' cycles; window_numbers prints them for the
# result line.
window_start() {
  read -r -a S0 <<<"$(sched_ns "${DAEMONS[@]}")"
  read -r -a M0 <<<"$(machine_jiffies)"
  W0=$(date +%s%N)
  PERF_STAT=""
  if ((CYCLES && ${#DAEMONS[@]})); then
    local pids
    pids=$(IFS=,; echo "${DAEMONS[*]}")
    perf stat -x, -e cycles -p "$pids" -o "$WORK/cycles.csv" -- sleep "$((DURATION - OMIT - 1))" &
    PERF_STAT=$!
  fi
}
window_end() {
  W1=$(date +%s%N)
  read -r -a S1 <<<"$(sched_ns "${DAEMONS[@]}")"
  read -r -a M1 <<<"$(machine_jiffies)"
  CYC=-
  if [[ -n $PERF_STAT ]]; then
    wait "$PERF_STAT" || true
    CYC=$(awk -F, '$3 ~ /^cycles/ && $1 ~ /^[0-9]+$/ {print $1}' "$WORK/cycles.csv")
    CYC=${CYC:--}
  fi
}
window_numbers() {
  echo "${#DAEMONS[@]} $((W1 - W0)) $((S1[0] - S0[0])) $((S1[1] - S0[1])) $((M1[0] - M0[0])) $((M1[1] - M0[1])) $CYC $((DURATION - OMIT - 1))"
}

# test_tcp STREAMS REV JSON: one iperf3 run (-R if REV is 1), the window
# from the end of the omitted seconds to the client's exit.
test_tcp() {
  local n=$1 rev=$2 json=$3 client server
  local dir=()
  ((rev)) && dir=(-R)
  in_b iperf3 -s -1 -B "$DST" >"$WORK/iperf3-s.log" 2>&1 &
  server=$!
  wait_until 5 in_b sh -c "ss -Hltn 'sport = :5201' | grep -q ."
  in_a iperf3 -c "$DST" -t "$DURATION" -O "$OMIT" -P "$n" "${dir[@]}" -J >"$json" &
  client=$!
  sleep "$OMIT"
  window_start
  wait "$client"
  window_end
  wait "$server" || true
  # shellcheck disable=SC2046
  python3 - "$json" $(window_numbers) <<'EOF'
import json, sys
bps = json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]
daemons, wall, on, waiting, busy, total = map(int, sys.argv[2:8])
cycles, cycle_secs = sys.argv[8], float(sys.argv[9])
pct = lambda ns: f"{100 * ns / wall:.0f}" if daemons else "-"
# CPU per byte: the daemons' CPU time over the bytes carried in the window.
per_byte = f"{on / (bps / 8 * wall / 1e9):.3f}" if daemons and bps else "-"
cyc = f"{int(cycles) / (bps / 8 * cycle_secs):.2f}" if cycles != "-" and bps else "-"
print(f"{bps / 1e9:.3f}\t{pct(on)}\t{pct(waiting)}\t{100 * busy / max(total, 1):.0f}\t{per_byte}\t{cyc}")
EOF
}

# test_udp64 LOG: udpflood sends 64-byte datagrams to DST:9 for DURATION s;
# the window runs from OMIT to one second before the generator stops, and
# the rate is the packets B's tunnel interface received in it.
test_udp64() {
  local log=$1 gen rx0 rx1 tap0 tap1
  in_a "$WORK/udpflood" "$DST:9" "$DURATION" 64 >"$log" 2>&1 &
  gen=$!
  sleep "$OMIT"
  rx0=$(sink_count)
  tap0=$(in_b cat "/sys/class/net/$DEV_B/statistics/rx_packets")
  window_start
  sleep "$((DURATION - OMIT - 1))"
  rx1=$(sink_count)
  tap1=$(in_b cat "/sys/class/net/$DEV_B/statistics/rx_packets")
  window_end
  wait "$gen"
  echo "window: sink $((rx1 - rx0)) datagrams, $DEV_B rx_packets $((tap1 - tap0))" >>"$log"
  # shellcheck disable=SC2046
  python3 - "$((rx1 - rx0))" $(window_numbers) <<'EOF'
import sys
packets = int(sys.argv[1])
daemons, wall, on, waiting, busy, total = map(int, sys.argv[2:8])
cycles, cycle_secs = sys.argv[8], float(sys.argv[9])
pps = packets / (wall / 1e9)
pct = lambda ns: f"{100 * ns / wall:.0f}" if daemons else "-"
# CPU per packet received, in ns.
per_pkt = f"{on / packets:.0f}" if daemons and packets else "-"
cyc = f"{int(cycles) / (pps * cycle_secs):.0f}" if cycles != "-" and pps else "-"
print(f"{pps:.0f}\t{pct(on)}\t{pct(waiting)}\t{100 * busy / max(total, 1):.0f}\t{per_pkt}\t{cyc}")
EOF
}

# run_test ROUND TEST: one test through the tunnel that is up; appends a
# line to $OUT/results.tsv: round, scenario, implementation, test, value
# (Gbit/s, or packets/s for udp64; "fail"), the daemons' CPU time and
# run-queue wait in % of one core (all sides summed), the machine's busy %,
# the daemons' CPU ns per byte (per packet for udp64), cycles per byte (per
# packet; "-" without a PMU) and the 1-minute load average. Its own
# background subshell with `set -e`, so a failing test is recorded and the
# next one runs.
run_test() {
  local round=$1 test=$2 rc=0 load tag=$SCEN-$IMPL-$2-$1
  (
    set -e
    case $test in
      udp64) test_udp64 "$OUT/udp64-$tag.txt" ;;
      tcp*) test_tcp "$(tr -dc 0-9 <<<"$test")" "$([[ $test == *-rev ]] && echo 1 || echo 0)" \
        "$OUT/iperf3-$tag.json" ;;
    esac >"$WORK/result"
  ) &
  wait $! || rc=$?
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ((rc == 0)); then
    local r
    IFS=$'\t' read -r -a r <"$WORK/result"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$SCEN" "$IMPL" "$test" "$(cat "$WORK/result")" "$load" >>"$OUT/results.tsv"
    log "round $round $SCEN $IMPL $test: ${r[0]} $([[ $test == udp64 ]] && echo packets/s || echo Gbit/s)" \
      "(daemons: CPU ${r[1]} %, run-queue wait ${r[2]} %, ${r[4]} ns/$([[ $test == udp64 ]] && echo packet || echo B);" \
      "machine busy ${r[3]} %, load $load)"
  else
    fail_line "$round" "$test"
    log "round $round $SCEN $IMPL $test: FAILED (exit $rc)"
  fi
}
fail_line() {
  printf '%s\t%s\t%s\t%s\tfail\t-\t-\t-\t-\t-\t%s\n' "$1" "$SCEN" "$IMPL" "$2" "$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/results.tsv"
}

# session SCENARIO IMPL ROUND: one tunnel up, every test of the run through
# it, tunnel down. If the tunnel does not come up, every test of the session
# is recorded as failed. The work runs in a background subshell with its own
# `set -e` and EXIT trap (in an `if` or `||` context bash would ignore
# `set -e`); `wait` keeps Ctrl-C and SIGTERM prompt.
session() {
  local rc=0 test f
  use_scenario "$1"
  IMPL=$2
  (
    set -e
    PIDS=() NAMES=() UNDO=()
    trap stop_daemons EXIT
    DST="" DEV_B=""
    "start_$IMPL"
    DAEMONS=("${PIDS[@]}")
    # The first packets also complete the handshakes; don't time that.
    wait_until 20 in_a ping -c 1 -W 1 "$DST"
    touch "$WORK/up"
    for test in "${TESTS[@]}"; do
      run_test "$3" "$test"
    done
  ) &
  wait $! || rc=$?
  if [[ ! -e $WORK/up ]]; then
    log "round $3 $SCEN $IMPL: tunnel did not come up (exit $rc); its logs:"
    tail -n 5 "$WORK"/*.log >&2 || true
    for test in "${TESTS[@]}"; do
      fail_line "$3" "$test"
    done
  fi
  rm -f "$WORK/up"
  # Keep this session's non-empty daemon logs for a post-mortem, then start clean.
  for f in "$WORK"/*.log; do
    [[ -s $f ]] && mv "$f" "$OUT/$(basename "$f" .log)-$SCEN-$IMPL-$3.log"
    rm -f "$f"
  done
  return 0
}

# profile_egd SCENARIO TEST (tcp1 or udp64): one extra egd run of TEST with
# `perf record` on each egd process for the measured part of the transfer,
# and a machine-wide sample of the same seconds (which processes had the two
# CPUs: iperf3, egd, softirqs, other people's builds). Counters (cycles)
# don't work in this VM, so it samples cpu-clock; DWARF call graphs because
# the release build has no frame pointers (it has debug line info). Not part
# of the table: perf slows egd.
profile_egd() {
  use_scenario "$1"
  local test=$2 tag=$1-$2 rc=0
  log "profiling egd, $SCEN $test (perf record, one extra run, not in the table)"
  (
    set -e
    PIDS=() NAMES=() UNDO=()
    trap stop_daemons EXIT
    start_egd
    wait_until 20 in_a ping -c 1 -W 1 "$DST"
    local client rx0 rx1
    if [[ $test == udp64 ]]; then
      in_a "$WORK/udpflood" "$DST:9" "$DURATION" 64 >"$OUT/udp64-egd-profile-$tag.txt" 2>&1 &
      client=$!
    else
      in_b iperf3 -s -1 -B "$DST" >"$WORK/iperf3-s.log" 2>&1 &
      wait_until 5 in_b sh -c "ss -Hltn 'sport = :5201' | grep -q ."
      in_a iperf3 -c "$DST" -t "$DURATION" -O "$OMIT" -J >"$OUT/iperf3-egd-profile-$tag.json" &
      client=$!
    fi
    local perfs=() i secs=$((DURATION - OMIT - 1)) name
    sleep "$OMIT"
    rx0=$(sink_count)
    for i in "${!PIDS[@]}"; do
      name=${NAMES[$i]}
      perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -p "${PIDS[$i]}" \
        -o "$OUT/perf-$tag-$name.data" -- sleep "$secs" >/dev/null 2>&1 &
      perfs+=($!)
    done
    perf record -q -a -e cpu-clock -F 499 -o "$OUT/perf-$tag-all.data" -- sleep "$secs" >/dev/null 2>&1 &
    perfs+=($!)
    # Only these: a bare `wait` would also wait for the daemons.
    wait "${perfs[@]}"
    rx1=$(sink_count)
    wait "$client"
    if [[ $test == udp64 ]]; then
      log "profile run, $SCEN $test: $(((rx1 - rx0) / secs)) packets/s received (with perf attached)"
    fi
    for name in "${NAMES[@]}"; do
      perf report -i "$OUT/perf-$tag-$name.data" --no-children --sort dso,symbol --stdio -g none \
        2>/dev/null | grep -v "^$" | head -80 >"$OUT/perf-$tag-$name.flat.txt" || true
      perf report -i "$OUT/perf-$tag-$name.data" --children --sort symbol --stdio -g none \
        2>/dev/null | grep -v '^$' | head -150 >"$OUT/perf-$tag-$name.children.txt" || true
    done
    perf report -i "$OUT/perf-$tag-all.data" --sort comm --stdio 2>/dev/null |
      grep -v '^$' | head -40 >"$OUT/perf-$tag-all.comm.txt" || true
  ) &
  wait $! || rc=$?
  ((rc == 0)) || log "profile run failed (exit $rc)"
  if [[ $test != udp64 ]]; then
    python3 - "$OUT/iperf3-egd-profile-$tag.json" "$SCEN $test" <<'EOF' 2>/dev/null || true
import json, sys
bps = json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]
print(f"profile run, {sys.argv[2]}: {bps / 1e9:.3f} Gbit/s (with perf attached)")
EOF
  fi
  log "perf reports in $OUT: perf-$tag-egd-{a,b$(relay && echo ,r)}.{flat,children}.txt (a = sending side, b = receiving side$(relay && echo ", r = relay")), perf-$tag-all.comm.txt (whole machine by command)"
}

# --------------------------------------------------------------- main ----

if wants_test udp64; then
  # std only, no crate: plain rustc is enough and takes a second.
  rustc --edition 2024 -C opt-level=3 -o "$WORK/udpflood" "$HERE/udpflood.rs"
fi

: >"$OUT/results.tsv"
sessions=$((RUNS * ${#SCENARIOS[@]} * ${#IMPLS[@]}))
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command: $0 $ARGS"
  echo "kernel: $(uname -r); cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
  dirty=$(cd "$REPO" && git status --porcelain -- src uring ifaces routing Cargo.toml Cargo.lock 2>/dev/null | wc -l)
  echo "egd: ${EGD_BIN:-} (commit $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null)$( ((dirty)) && echo ", $dirty uncommitted source files"))"
  [[ -z $EGD_ALT_BIN ]] || echo "egd-alt: $EGD_ALT_BIN"
  echo "rounds: $RUNS; scenarios: ${SCENARIOS[*]}; implementations: ${IMPLS[*]}"
  echo "tests per tunnel: ${TESTS[*]}, ${DURATION}s each, first ${OMIT}s not measured"
  echo "cycle counters: $( ((CYCLES)) && echo "perf stat -e cycles" || echo "not supported (CPU time from schedstat only)")"
  # Measured here: about 1.5 s per test besides its own seconds, and up to
  # 8 s to bring a tunnel up and down.
  echo "expected duration: about $((sessions * (${#TESTS[@]} * (2 * DURATION + 3) + 12) / 120)) min ($sessions tunnels)"
} | tee "$OUT/meta.txt" >&2

for round in $(seq 1 "$RUNS"); do
  for scen in "${SCENARIOS[@]}"; do
    for impl in "${IMPLS[@]}"; do
      session "$scen" "$impl" "$round"
    done
  done
done

python3 "$HERE/table.py" "$OUT/results.tsv" | tee "$OUT/table.md"

if ((PROFILE)); then
  for scen in "${SCENARIOS[@]}"; do
    profile_egd "$scen" tcp1
  done
  if wants_test udp64 && [[ " ${SCENARIOS[*]} " == *" direct "* ]]; then
    profile_egd direct udp64
  fi
fi
log "results in $OUT"
