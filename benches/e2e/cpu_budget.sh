#!/usr/bin/env bash
# CPU budget of one TCP stream: how many CPU-nanoseconds per byte the whole
# path costs — raw veth against egd tap ↔ tap — and who spends them.
#
#   sudo benches/e2e/cpu_budget.sh --egd target/release/egd --runs 3 --time 8 --omit 2
#   sudo EGD_THREADS=1 benches/e2e/cpu_budget.sh --egd …   # egd's thread count
#
# Two namespaces A and B joined by one veth pair (MTU 1500), as run.sh's
# `direct` scenario. Per round: iperf3 A → B over the veth, then over egd
# (tap MTU 1416, static two-node mesh). Over the measured window (after
# --omit seconds) it reads, per process and all threads summed:
#   - CPU time from /proc/PID/task/*/schedstat (ns on a CPU). This kernel
#     has no IRQ_TIME_ACCOUNTING, so softirq work done in a task's context
#     (most of the veth and TCP receive path) counts for that task;
#   - its user/kernel split from /proc/PID/task/*/stat (utime, stime: clock
#     ticks, so a share, not a precise time);
# for the iperf3 client and server, each egd, and ksoftirqd/* (softirq
# work deferred to a thread; on a shared machine it may include other
# tenants' packets). The sum over the bytes received is the path's cost
# per byte. Cycle counters are not available on this VM (perf stat -e
# cycles: <not supported>), hence CPU time. Prints one TSV line per
# measurement and a summary (medians) at the end.
set -euo pipefail

EGD_BIN=""
RUNS=3 DURATION=8 OMIT=2
OUT=/tmp/egd-cpu-budget
while (($#)); do
  case $1 in
    --egd) EGD_BIN=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --time) DURATION=$2; shift 2 ;;
    --omit) OMIT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x $EGD_BIN ]] || { echo "--egd PATH (a release build of egd) is required" >&2; exit 2; }
for t in iperf3 ip python3; do
  command -v "$t" >/dev/null || { echo "$t is missing" >&2; exit 1; }
done
mkdir -p "$OUT"
WORK=$(mktemp -d)
ID=$$
NA=ebud-a-$ID NB=ebud-b-$ID
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  ip netns del "$NA" 2>/dev/null || true
  ip netns del "$NB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NA"
ip netns add "$NB"
ip link add "vb${ID}a" netns "$NA" type veth peer "vb${ID}b" netns "$NB"
ip -n "$NA" addr add 10.221.0.1/24 dev "vb${ID}a"
ip -n "$NB" addr add 10.221.0.2/24 dev "vb${ID}b"
for n in "$NA" "$NB"; do
  ip -n "$n" link set lo up
done
ip -n "$NA" link set "vb${ID}a" up
ip -n "$NB" link set "vb${ID}b" up

# Scheduler ns and utime/stime ticks of the given pids, all threads summed.
cpu_of() {
  local p f on rest sum_on=0 ut=0 st=0 line
  for p in "$@"; do
    for f in /proc/"$p"/task/*; do
      read -r on rest <"$f/schedstat" 2>/dev/null || continue
      line=$(cat "$f/stat" 2>/dev/null) || continue
      line=${line##*) }
      read -r -a fields <<<"$line"
      # After "pid (comm) ": field 3 is index 0, so utime (14) is 11, stime (15) 12.
      sum_on=$((sum_on + on)) ut=$((ut + fields[11])) st=$((st + fields[12]))
    done
  done
  echo "$sum_on $ut $st"
}
machine_busy() {
  awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat
}
KSOFTIRQD=$(pgrep -x 'ksoftirqd/[0-9]+' | tr '\n' ' ')

# measure NAME DST: one iperf3 A → DST; prints the TSV line.
measure() {
  local name=$1 dst=$2 server client json=$WORK/iperf3.json
  ip netns exec "$NB" iperf3 -s -1 -B "$dst" >/dev/null 2>&1 &
  server=$!
  sleep 0.5
  ip netns exec "$NA" iperf3 -c "$dst" -t "$DURATION" -O "$OMIT" -J >"$json" &
  client=$!
  sleep "$OMIT"
  local c0 s0 e0a e0b k0 m0 t0 c1 s1 e1a e1b k1 m1 t1
  c0=$(cpu_of "$client") s0=$(cpu_of "$server") e0a=$(cpu_of ${EGD_A:-}) e0b=$(cpu_of ${EGD_B:-})
  # shellcheck disable=SC2086
  k0=$(cpu_of $KSOFTIRQD) m0=$(machine_busy) t0=$(date +%s%N)
  # The window ends a little before the client does (its pid must exist).
  sleep "$((DURATION - OMIT - 1))"
  c1=$(cpu_of "$client") s1=$(cpu_of "$server") e1a=$(cpu_of ${EGD_A:-}) e1b=$(cpu_of ${EGD_B:-})
  # shellcheck disable=SC2086
  k1=$(cpu_of $KSOFTIRQD) m1=$(machine_busy) t1=$(date +%s%N)
  wait "$client"
  wait "$server" || true
  python3 - "$name" "$json" "$t0" "$t1" "$c0" "$c1" "$s0" "$s1" "$e0a" "$e1a" "$e0b" "$e1b" "$k0" "$k1" "$m0" "$m1" <<'EOF'
import json, sys
a = sys.argv
name, js, t0, t1 = a[1], a[2], int(a[3]), int(a[4])
bps = json.load(open(js))["end"]["sum_received"]["bits_per_second"]
wall = t1 - t0
nbytes = bps / 8 * wall / 1e9
def delta(i):
    x, y = [list(map(int, v.split())) for v in (a[i], a[i + 1])]
    return [q - p for p, q in zip(x, y)] if x and y else [0, 0, 0]
def split(d):
    # ns on CPU split by the user/kernel tick ratio.
    on, ut, st = d
    u = on * ut / (ut + st) if ut + st else 0
    return on / nbytes, u / nbytes, (on - u) / nbytes
cli, srv, ea, eb, ks = (split(delta(i)) for i in (5, 7, 9, 11, 13))
m = [q - p for p, q in zip(map(int, a[15].split()), map(int, a[16].split()))]
total = cli[0] + srv[0] + ea[0] + eb[0] + ks[0]
egd_user = ea[1] + eb[1]
print("\t".join([name, f"{bps / 1e9:.3f}", f"{total:.3f}", f"{cli[0]:.3f}", f"{srv[0]:.3f}",
                 f"{ea[0]:.3f}", f"{ea[1]:.3f}", f"{eb[0]:.3f}", f"{eb[1]:.3f}", f"{ks[0]:.3f}",
                 f"{egd_user:.3f}", f"{total - egd_user:.3f}", f"{100 * m[0] / max(m[1], 1):.0f}"]))
EOF
}

start_egd() {
  local s
  for s in a b; do
    "$EGD_BIN" genkey >"$WORK/egd-$s.key"
    "$EGD_BIN" pubkey <"$WORK/egd-$s.key" >"$WORK/egd-$s.pub"
  done
  node() { # SIDE ID PORT PEERSIDE PEERID PEERADDR PEERPORT
    cat >"$WORK/egd-$1.yaml" <<EOF
Interface:
  IType: tap
  Name: eu${ID}$1
  MacAddrPrefix: 02:EE:00:00
  IPv4CIDR: 10.222.0.0/24
  MTU: 1416
NodeID: $2
NodeName: budget-$1
PrivKey: $(cat "$WORK/egd-$1.key")
ListenPort: $3
LogLevel:
  LogLevel: error
NextHopTable:
  1: {2: 2}
  2: {1: 1}
Peers:
- NodeID: $5
  PubKey: $(cat "$WORK/egd-$4.pub")
  EndPoint: $6:$7
  Static: true
EOF
  }
  node a 1 3101 b 2 10.221.0.2 3102
  node b 2 3102 a 1 10.221.0.1 3101
  ip netns exec "$NA" "$EGD_BIN" --no-uapi --config "$WORK/egd-a.yaml" >"$WORK/egd-a.log" 2>&1 &
  EGD_A=$!
  ip netns exec "$NB" "$EGD_BIN" --no-uapi --config "$WORK/egd-b.yaml" >"$WORK/egd-b.log" 2>&1 &
  EGD_B=$!
  PIDS+=("$EGD_A" "$EGD_B")
  local i
  for i in $(seq 50); do
    ip netns exec "$NA" ping -c1 -W1 10.222.0.2 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "egd tunnel did not come up" >&2
  return 1
}
stop_egd() {
  kill "$EGD_A" "$EGD_B" 2>/dev/null || true
  wait "$EGD_A" "$EGD_B" 2>/dev/null || true
  PIDS=()
  EGD_A="" EGD_B=""
}

header="path\tGbit/s\ttotal ns/B\tiperf3 client\tiperf3 server\tegd A\tegd A user\tegd B\tegd B user\tksoftirqd\tegd user\ttotal - egd user\tmachine busy %"
echo -e "$header" | tee "$OUT/budget.tsv"
for r in $(seq "$RUNS"); do
  EGD_A="" EGD_B=""
  measure veth 10.221.0.2 | tee -a "$OUT/budget.tsv"
  start_egd
  measure egd 10.222.0.2 | tee -a "$OUT/budget.tsv"
  stop_egd
  echo "# round $r done, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
python3 - "$OUT/budget.tsv" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
head, rows = rows[0], rows[1:]
print("\nmedians:")
print("\t".join(head))
for path in ("veth", "egd"):
    sel = [r for r in rows if r[0] == path]
    if sel:
        print("\t".join([path] + [f"{statistics.median(float(r[i]) for r in sel):.3f}" for i in range(1, len(head))]))
EOF
