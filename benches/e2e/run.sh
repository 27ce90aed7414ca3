#!/usr/bin/env bash
# End-to-end TCP throughput of egd against its peers, side by side, in one run.
#
#   sudo CARGO_TARGET_DIR=/work/target-bench benches/e2e/run.sh
#   sudo benches/e2e/run.sh --only egd,gotatun --runs 3
#   sudo benches/e2e/run.sh --only egd --runs 1 --profile    # + perf of egd
#
# Method (shared/spec/BENCHMARKS.md): two network namespaces A and B joined by
# one veth pair (underlay MTU 1500). For each implementation a tunnel is set
# up between A and B, `iperf3` sends one TCP stream from A to B's tunnel
# address for 10 s with the first 2 s omitted (`-O 2`), and the tunnel is torn
# down again. Rounds are interleaved (veth egd wg-go boringtun gotatun tinc,
# veth egd …) so slow drifts of this shared machine's load hit every
# implementation alike; the table gives the median, the spread (min–max), the
# ratio to raw veth and egd's ratio to each (of the medians, and the median of
# the per-round ratios). Each run also records the daemons' CPU time and
# their time runnable but waiting for a CPU (/proc/…/schedstat, both sides
# summed, all threads), and how busy the whole machine was: on a shared
# 2-core machine a starved daemon and a slow one look alike otherwise.
# Results: results.tsv, table.md and the raw iperf3 JSON in --out DIR.
#
# Implementations (names for --only):
#   veth          no tunnel: iperf3 over the underlay itself (the ceiling)
#   egd           this repo's release build, tap ↔ tap, static next hops
#   wireguard-go  Debian's wireguard-go, configured with wg (L3)
#   boringtun     boringtun-cli 0.7.1 from crates.io (L3)
#   gotatun       gotatun-cli 0.10.2 from crates.io (L3)
#   tinc          Debian's tinc 1.0 in Mode = switch (L2), default cipher
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
# Everything runs inside the two namespaces this script creates (addresses in
# 10.201–206.0.0/24 exist only there); they, the daemons and the UAPI sockets
# are removed on exit, also on failure or Ctrl-C.

# DST and PIDS belong to one measurement and are set inside its subshell on
# purpose:
# shellcheck disable=SC2030,SC2031
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TOOLS_ROOT=${EGD_BENCH_TOOLS:-/work/bench-tools}

ALL_IMPLS=(veth egd wireguard-go boringtun gotatun tinc)
RUNS=5
DURATION=10
OMIT=2
ONLY=""
EGD_BIN=""
PROFILE=0
PARALLEL=1
INSTALL=1
OUT=""
ARGS="$*"

usage() {
  cat <<EOF
usage: sudo $0 [options]
  --only LIST      comma-separated subset of: ${ALL_IMPLS[*]}
  --runs N         rounds (default $RUNS; the median needs ≥ 5)
  --time S         iperf3 seconds per run, omitted ones included (default $DURATION)
  --omit S         iperf3 -O (default $OMIT)
  --parallel N     iperf3 -P: N parallel TCP streams (default 1)
  --egd PATH       use this egd binary instead of building the release one
  --no-install     skip benches/e2e/install.sh
  --profile        after the table, one more egd run under perf record on
                   both egd processes; reports in the output directory
  --out DIR        keep logs, results.tsv, table.md (and perf data) here
                   (default: a fresh /tmp/egd-e2e.XXXX, kept)
EOF
}

while (($#)); do
  case $1 in
    --only) ONLY=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --time) DURATION=$2; shift 2 ;;
    --omit) OMIT=$2; shift 2 ;;
    --parallel) PARALLEL=$2; shift 2 ;;
    --egd) EGD_BIN=$2; shift 2 ;;
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

IMPLS=()
if [[ -n $ONLY ]]; then
  IFS=, read -ra IMPLS <<<"$ONLY"
  for i in "${IMPLS[@]}"; do
    [[ " ${ALL_IMPLS[*]} " == *" $i "* ]] || { echo "unknown implementation: $i" >&2; exit 2; }
  done
else
  IMPLS=("${ALL_IMPLS[@]}")
fi
wants() { [[ " ${IMPLS[*]} " == *" $1 "* ]] || { [[ $1 == egd && $PROFILE == 1 ]]; }; }

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

# ------------------------------------------------------- namespaces ----

# Short unique names: interface names must stay within 15 bytes.
ID=$(($$ % 100000))
NS_A=egdb-$ID-a
NS_B=egdb-$ID-b
UNDER_A=10.201.0.1
UNDER_B=10.201.0.2
OUT=${OUT:-$(mktemp -d /tmp/egd-e2e.XXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/egd-e2e-work.XXXX)
# Tunnel interface names (also the names of the userspace daemons' UAPI
# sockets in /var/run/wireguard/, which all namespaces share: hence A and B
# need different names).
ifname() { echo "$1$ID$2"; } # prefix, side a|b

cleanup() {
  local rc=$?
  set +e
  for ns in "$NS_A" "$NS_B"; do
    # shellcheck disable=SC2046
    kill $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
  done
  sleep 0.5
  for ns in "$NS_A" "$NS_B"; do
    # shellcheck disable=SC2046
    kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  for p in wg bt gt; do
    rm -f "/var/run/wireguard/$(ifname $p a).sock" "/var/run/wireguard/$(ifname $p b).sock"
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add "eb${ID}a" netns "$NS_A" type veth peer "eb${ID}b" netns "$NS_B"
in_a ip addr add $UNDER_A/24 dev "eb${ID}a"
in_b ip addr add $UNDER_B/24 dev "eb${ID}b"
for ns in "$NS_A" "$NS_B"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "eb${ID}${ns: -1}" mtu 1500 up
done

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

# Daemons started by the current measurement (killed by stop_daemons).
PIDS=()
# spawn NS NAME CMD…: runs CMD in namespace NS in the background, output to
# $WORK/NAME.log. `ip netns exec` execs, so $! is the daemon itself.
spawn() {
  local ns=$1 name=$2
  shift 2
  ip netns exec "$ns" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
stop_daemons() {
  ((${#PIDS[@]})) || return 0
  kill "${PIDS[@]}" 2>/dev/null || true
  local p
  for p in "${PIDS[@]}"; do
    # Give each 3 s to exit cleanly (removes its UAPI socket), then -9.
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
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
  [[ -f $WORK/wg-a.key ]] && return
  local s
  for s in a b; do
    (umask 077 && wg genkey >"$WORK/wg-$s.key")
    wg pubkey <"$WORK/wg-$s.key" >"$WORK/wg-$s.pub"
  done
}

# ------------------------------------------------- implementations ----
# Each start_<impl> brings a tunnel up between A and B and sets DST (B's
# tunnel address); the caller checks it with ping, measures, and stops the
# daemons. Ports differ per implementation so a slow exit never collides.

start_veth() {
  DST=$UNDER_B
}

start_egd() {
  local net=10.202.0 s id peer endpoint
  for s in a b; do
    [[ -f $WORK/egd-$s.key ]] && continue
    "$EGD_BIN" genkey >"$WORK/egd-$s.key"
    "$EGD_BIN" pubkey <"$WORK/egd-$s.key" >"$WORK/egd-$s.pub"
  done
  for s in a b; do
    if [[ $s == a ]]; then id=1 peer=b endpoint=$UNDER_B:3002; else id=2 peer=a endpoint=$UNDER_A:3001; fi
    # A static two-node mesh: each is the other's next hop. egd gives its
    # tap 10.202.0.<NodeID>/24 from IPv4CIDR.
    cat >"$WORK/egd-$s.yaml" <<EOF
Interface:
  IType: tap
  Name: $(ifname eg $s)
  MacAddrPrefix: 02:EE:00:00
  IPv4CIDR: $net.0/24
  MTU: 1416
NodeID: $id
NodeName: bench-$s
PrivKey: $(cat "$WORK/egd-$s.key")
ListenPort: $((id == 1 ? 3001 : 3002))
LogLevel:
  LogLevel: error
NextHopTable:
  1: {2: 2}
  2: {1: 1}
Peers:
- NodeID: $((3 - id))
  PubKey: $(cat "$WORK/egd-$peer.pub")
  EndPoint: $endpoint
  Static: true
EOF
  done
  spawn "$NS_A" egd-a "$EGD_BIN" --no-uapi --config "$WORK/egd-a.yaml"
  spawn "$NS_B" egd-b "$EGD_BIN" --no-uapi --config "$WORK/egd-b.yaml"
  wait_until 10 in_b sh -c "ip -4 addr show dev $(ifname eg b) | grep -q $net.2/" || return 1
  DST=$net.2
}

# The three userspace WireGuard implementations share everything but the
# daemon: start it in each namespace, wait for its UAPI socket, configure it
# with `wg`, then address and raise the tun device.
#   start_wg_l3 PREFIX NET PORT_BASE CMD…   (CMD gets the interface name appended)
start_wg_l3() {
  local pfx=$1 net=$2 port=$3 s
  shift 3
  wg_keys
  for s in a b; do
    # A socket left by an earlier run's daemon that had to be killed -9
    # would pass the readiness check below and then refuse connections.
    rm -f "/var/run/wireguard/$(ifname "$pfx" $s).sock"
    spawn "$([[ $s == a ]] && echo "$NS_A" || echo "$NS_B")" "$pfx-$s" "$@" "$(ifname "$pfx" $s)"
  done
  for s in a b; do
    # Ready when `wg` gets an answer over the daemon's UAPI socket.
    wait_until 10 wg show "$(ifname "$pfx" $s)" || return 1
  done
  in_a wg set "$(ifname "$pfx" a)" private-key "$WORK/wg-a.key" listen-port "$port" \
    peer "$(cat "$WORK/wg-b.pub")" endpoint "$UNDER_B:$((port + 1))" allowed-ips "$net.2/32"
  in_b wg set "$(ifname "$pfx" b)" private-key "$WORK/wg-b.key" listen-port "$((port + 1))" \
    peer "$(cat "$WORK/wg-a.pub")" endpoint "$UNDER_A:$port" allowed-ips "$net.1/32"
  in_a ip addr add "$net.1/24" dev "$(ifname "$pfx" a)"
  in_b ip addr add "$net.2/24" dev "$(ifname "$pfx" b)"
  in_a ip link set "$(ifname "$pfx" a)" mtu 1420 up
  in_b ip link set "$(ifname "$pfx" b)" mtu 1420 up
  DST=$net.2
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

start_tinc() {
  local net=10.206.0 s
  if [[ ! -f $WORK/tinc-a/rsa_key.priv ]]; then
    for s in a b; do
      local d=$WORK/tinc-$s
      mkdir -p "$d/hosts"
      # Mode = switch: tinc bridges Ethernet frames like egd (the L2 peer).
      # Cipher and digest stay at this tinc 1.0's defaults (aes-256-cbc,
      # HMAC-SHA256 truncated to 4 bytes; see tinc.conf(5)).
      cat >"$d/tinc.conf" <<EOF
Name = $s
Mode = switch
DeviceType = tap
Interface = $(ifname tc $s)
AddressFamily = ipv4
EOF
      [[ $s == a ]] && echo "ConnectTo = b" >>"$d/tinc.conf"
      printf 'Address = %s\nPort = 655\n' "$([[ $s == a ]] && echo $UNDER_A || echo $UNDER_B)" >"$d/hosts/$s"
      cat >"$d/tinc-up" <<EOF
#!/bin/sh
ip link set "\$INTERFACE" mtu 1416 up
ip addr add $net.$([[ $s == a ]] && echo 1 || echo 2)/24 dev "\$INTERFACE"
EOF
      chmod +x "$d/tinc-up"
      # Writes rsa_key.priv and appends the public key to hosts/$s; with
      # stdin not a terminal it takes the default file names.
      tincd -c "$d" -K 2048 </dev/null >/dev/null 2>&1
    done
    cp "$WORK/tinc-a/hosts/a" "$WORK/tinc-b/hosts/a"
    cp "$WORK/tinc-b/hosts/b" "$WORK/tinc-a/hosts/b"
  fi
  # Own pid files: the default /var/run/tinc.pid would be shared by both.
  spawn "$NS_B" tinc-b tincd -c "$WORK/tinc-b" -D --pidfile="$WORK/tinc-b.pid"
  spawn "$NS_A" tinc-a tincd -c "$WORK/tinc-a" -D --pidfile="$WORK/tinc-a.pid"
  wait_until 10 in_b sh -c "ip -4 addr show dev $(ifname tc b) | grep -q $net.2/" || return 1
  DST=$net.2
}

# -------------------------------------------------------- measurement ----

# measure IMPL ROUND: one tunnel up, one iperf3 run, tunnel down. Appends a
# line to $OUT/results.tsv: round, impl, Gbit/s (or "fail"), the daemons'
# CPU time and run-queue wait during the transfer in % of one core (both
# sides summed), the machine's busy % and the load average.
# The work runs in a background subshell with its own `set -e` and EXIT trap
# (in an `if` or `||` context bash would ignore `set -e`), so a failing
# implementation is recorded and the benchmark goes on with the next one;
# `wait` keeps Ctrl-C and SIGTERM prompt.
measure() {
  local impl=$1 round=$2 rc=0 load
  (
    set -e
    PIDS=()
    trap stop_daemons EXIT
    DST=""
    "start_$impl"
    local daemons=("${PIDS[@]}")
    # The first packets also complete the handshake; don't time that.
    wait_until 15 in_a ping -c 1 -W 1 "$DST"
    in_b iperf3 -s -1 -B "$DST" >"$WORK/iperf3-s.log" 2>&1 &
    PIDS+=($!)
    wait_until 5 in_b sh -c "ss -Hltn 'sport = :5201' | grep -q ."
    local s0 s1 m0 m1 w0 w1
    read -r -a s0 <<<"$(sched_ns "${daemons[@]}")"
    read -r -a m0 <<<"$(machine_jiffies)"
    w0=$(date +%s%N)
    in_a iperf3 -c "$DST" -t "$DURATION" -O "$OMIT" -P "$PARALLEL" -J >"$OUT/iperf3-$impl-$round.json"
    w1=$(date +%s%N)
    read -r -a s1 <<<"$(sched_ns "${daemons[@]}")"
    read -r -a m1 <<<"$(machine_jiffies)"
    python3 - "$OUT/iperf3-$impl-$round.json" "${#daemons[@]}" "$((w1 - w0))" \
      "$((s1[0] - s0[0]))" "$((s1[1] - s0[1]))" "$((m1[0] - m0[0]))" "$((m1[1] - m0[1]))" \
      <<'EOF' >"$WORK/result"
import json, sys
report = json.load(open(sys.argv[1]))
bps = report["end"]["sum_received"]["bits_per_second"]
daemons, wall, on, waiting, busy, total = map(int, sys.argv[2:])
pct = lambda ns: f"{100 * ns / wall:.0f}" if daemons else "-"
print(f"{bps / 1e9:.3f}\t{pct(on)}\t{pct(waiting)}\t{100 * busy / max(total, 1):.0f}")
EOF
  ) &
  wait $! || rc=$?
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ((rc == 0)); then
    printf '%s\t%s\t%s\t%s\n' "$round" "$impl" "$(cat "$WORK/result")" "$load" >>"$OUT/results.tsv"
    local r
    IFS=$'\t' read -r -a r <"$WORK/result"
    log "round $round $impl: ${r[0]} Gbit/s (daemons: CPU ${r[1]} %, run-queue wait ${r[2]} %; machine busy ${r[3]} %, load $load)"
  else
    printf '%s\t%s\tfail\t-\t-\t-\t%s\n' "$round" "$impl" "$load" >>"$OUT/results.tsv"
    log "round $round $impl: FAILED (exit $rc); its logs:"
    tail -n 5 "$WORK"/*.log >&2 || true
  fi
  # Keep this run's non-empty daemon logs for a post-mortem, then start clean.
  local f
  for f in "$WORK"/*.log; do
    [[ -s $f ]] && mv "$f" "$OUT/$(basename "$f" .log)-$impl-$round.log"
    rm -f "$f"
  done
  return 0
}

# profile_egd: one extra egd run with `perf record` on each egd process for
# the timed part of the transfer, and a machine-wide sample of the same
# seconds (which processes had the two CPUs: iperf3, egd, softirqs, other
# people's builds). Counters (cycles) don't work in this VM, so it samples
# cpu-clock; DWARF call graphs because the release build has no frame
# pointers (it has debug line info). Not part of the table: perf slows egd.
profile_egd() {
  log "profiling egd (perf record, one extra run, not in the table)"
  local rc=0
  (
    set -e
    PIDS=()
    trap stop_daemons EXIT
    start_egd
    wait_until 15 in_a ping -c 1 -W 1 "$DST"
    in_b iperf3 -s -1 -B "$DST" >"$WORK/iperf3-s.log" 2>&1 &
    wait_until 5 in_b sh -c "ss -Hltn 'sport = :5201' | grep -q ."
    in_a iperf3 -c "$DST" -t "$DURATION" -O "$OMIT" -J >"$OUT/iperf3-egd-profile.json" &
    local client=$! perfs=() pid s secs=$((DURATION - OMIT - 1))
    sleep "$OMIT"
    for s in a b; do
      pid=${PIDS[$([[ $s == a ]] && echo 0 || echo 1)]}
      perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$pid" \
        -o "$OUT/perf-egd-$s.data" -- sleep "$secs" >/dev/null 2>&1 &
      perfs+=($!)
    done
    perf record -q -a -e cpu-clock -F 499 -o "$OUT/perf-all.data" -- sleep "$secs" >/dev/null 2>&1 &
    perfs+=($!)
    # Only these: a bare `wait` would also wait for the daemons.
    wait "$client" "${perfs[@]}"
    for s in a b; do
      perf report -i "$OUT/perf-egd-$s.data" --no-children --sort dso,symbol --stdio -g none \
        2>/dev/null | grep -v "^$" | head -80 >"$OUT/perf-egd-$s.flat.txt" || true
      perf report -i "$OUT/perf-egd-$s.data" --children --sort symbol --stdio -g none \
        2>/dev/null | grep -v '^$' | head -150 >"$OUT/perf-egd-$s.children.txt" || true
    done
    perf report -i "$OUT/perf-all.data" --sort comm --stdio 2>/dev/null |
      grep -v '^$' | head -40 >"$OUT/perf-all.comm.txt" || true
  ) &
  wait $! || rc=$?
  ((rc == 0)) || log "profile run failed (exit $rc)"
  python3 - "$OUT/iperf3-egd-profile.json" <<'EOF' 2>/dev/null || true
import json, sys
bps = json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]
print(f"profile run: {bps / 1e9:.3f} Gbit/s (with perf attached)")
EOF
  log "perf reports in $OUT: perf-egd-{a,b}.{flat,children}.txt (a = TCP sender's side, b = receiver's), perf-all.comm.txt (whole machine by command)"
}

# --------------------------------------------------------------- main ----

: >"$OUT/results.tsv"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command: $0 $ARGS"
  echo "kernel: $(uname -r); cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
  dirty=$(cd "$REPO" && git status --porcelain -- src uring ifaces routing Cargo.toml Cargo.lock 2>/dev/null | wc -l)
  echo "egd: ${EGD_BIN:-} (commit $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null)$( ((dirty)) && echo ", $dirty uncommitted source files"))"
  echo "runs: $RUNS × ${DURATION}s (-O $OMIT), order: ${IMPLS[*]}"
} | tee "$OUT/meta.txt" >&2

for round in $(seq 1 "$RUNS"); do
  for impl in "${IMPLS[@]}"; do
    measure "$impl" "$round"
  done
done

python3 "$HERE/table.py" "$OUT/results.tsv" | tee "$OUT/table.md"

if ((PROFILE)); then
  profile_egd
fi
log "results in $OUT"
