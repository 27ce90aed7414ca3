#!/usr/bin/env bash
# The egd demo: a super-mode mesh whose two directions take different relays.
#
#   sudo ./deploy/demo.sh
#
# Builds egd and linkemu (release) and creates network namespaces: a hub with
# an underlay bridge (10.0.0.254/24), the supernode and one link emulator
# (linkemu) per pair of edges, and four edges A, B, R1, R2 (10.0.0.1–4), each
# with a tap egd0 = 10.77.0.<NodeID>/24. Every pair of edges talks through its
# own emulator, with a one-way delay per direction:
#
#   A→R1→B 10+10 ms, B→R2→A 10+10 ms; the direct A–B link 80 ms each way;
#   the other directions via R1 or R2 40+40 ms, R1–R2 60 ms.
#
# The supernode measures the one-way latencies (clocks need not agree), and
# sends A→B through R1 but B→A through R2. The demo prints the latency matrix
# it measured and every node's next-hop table, pings B from A and shows that
# R1 relayed the echo requests and R2 the replies. Then it swaps R1's and
# R2's delays at run time and shows the two paths swap too. Everything it
# creates is removed on exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
. deploy/lib/packages.sh
ensure_packages demo.sh ip=iproute2 ping=iputils-ping jq=jq curl=curl socat=socat

echo "== building egd and linkemu (release)"
cargo build --release --quiet -p egd -p egd-linkemu
target=${CARGO_TARGET_DIR:-$PWD/target}
EGD=$target/release/egd
LINKEMU=$target/release/linkemu

A=1 B=2 R1=3 R2=4
NODES=(1 2 3 4)
NAME=([1]=A [2]=B [3]=R1 [4]=R2)
HUB=10.0.0.254
API=/eg_net/eg_api
SHOW_STATE=demo-show-state
METRICS=9586

tag="egd$$"
work=$(mktemp -d)
pids=()
declare -A NS
NS[hub]="$tag-hub"
for i in "${NODES[@]}"; do NS[$i]="$tag-${NAME[$i]}"; done

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { # fail MESSAGE — with every process's log
  echo "demo.sh: $1" >&2
  for log in "$work"/*.log; do
    [[ -s $log ]] && { echo "--- $(basename "$log")"; tail -n 20 "$log"; } >&2
  done
  exit 1
}

# One-way delay in ms from $2 to $3 in phase $1 (first|swapped): in the
# swapped phase R1 and R2 trade places.
delay() {
  local from=$2 to=$3
  if [[ $1 == swapped ]]; then
    swap() { case $1 in 3) echo 4 ;; 4) echo 3 ;; *) echo "$1" ;; esac; }
    from=$(swap "$from"); to=$(swap "$to")
  fi
  case "$from$to" in
    12 | 21) echo 80 ;;
    13 | 32 | 24 | 41) echo 10 ;;
    23 | 31 | 14 | 42) echo 40 ;;
    *) echo 60 ;;
  esac
}
# The emulator of pair x<y: x sends to port a, y sees x at port b.
port_a() { echo $((4000 + 10 * $1 + $2)); }
port_b() { echo $((5000 + 10 * $1 + $2)); }
pinned() { # pinned FROM TO → where FROM sends to reach TO
  if (($1 < $2)); then echo "$HUB:$(port_a "$1" "$2")"; else echo "$HUB:$(port_b "$2" "$1")"; fi
}

echo "== namespaces: ${NS[hub]} (bridge $HUB/24: supernode, link emulators) and A, B, R1, R2 (10.0.0.1–4)"
for ns in "${NS[@]}"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "${NS[hub]}" link add br0 type bridge
ip -n "${NS[hub]}" addr add "$HUB/24" dev br0
ip -n "${NS[hub]}" link set br0 up
for i in "${NODES[@]}"; do
  ip link add eth0 netns "${NS[$i]}" type veth peer "h$i" netns "${NS[hub]}"
  ip -n "${NS[hub]}" link set "h$i" master br0 up
  ip -n "${NS[$i]}" addr add "10.0.0.$i/24" dev eth0
  ip -n "${NS[$i]}" link set eth0 up
done

echo "== link emulators, one per pair (one-way delays in ms)"
for x in "${NODES[@]}"; do
  for y in "${NODES[@]}"; do
    ((x < y)) || continue
    ip netns exec "${NS[hub]}" "$LINKEMU" \
      --a-listen "$HUB:$(port_a "$x" "$y")" --a-peer "10.0.0.$x:$((3000 + x))" \
      --b-listen "$HUB:$(port_b "$x" "$y")" --b-peer "10.0.0.$y:$((3000 + y))" \
      --a-to-b "delay=$(delay first "$x" "$y")ms" --b-to-a "delay=$(delay first "$y" "$x")ms" \
      --control "$work/link$x$y.sock" </dev/null >"$work/link$x$y.out" 2>"$work/link$x$y.log" &
    pids+=($!)
    printf '   %-8s %3s     %-8s %3s\n' "${NAME[$x]}→${NAME[$y]}" "$(delay first "$x" "$y")" \
      "${NAME[$y]}→${NAME[$x]}" "$(delay first "$y" "$x")"
  done
done

echo "== configs (fresh keys) in $work"
key() { "$EGD" genkey >"$work/$1.key"; "$EGD" pubkey <"$work/$1.key" >"$work/$1.pub"; }
for k in 1 2 3 4 super4 super6; do key "$k"; done
for i in "${NODES[@]}"; do head -c 32 /dev/urandom | base64 >"$work/$i.psk"; done
{
  cat <<YAML
NodeName: demo-super
PrivKeyV4: $(cat "$work/super4.key")
PrivKeyV6: $(cat "$work/super6.key")
ListenPort: 3456
ListenPort_EdgeAPI: "3456"
ListenPort_ManageAPI: "3456"
API_Prefix: $API
RePushConfigInterval: 1
HttpPostInterval: 1
PeerAliveTimeout: 10
SendPingInterval: 1
DampingFilterRadius: 1
LogLevel:
  LogLevel: error
Passwords:
  ShowState: $SHOW_STATE
GraphRecalculateSetting:
  JitterTolerance: 5
  JitterToleranceMultiplier: 1
  TimeoutCheckInterval: 1
  RecalculateCoolDown: 1
UsePSKForInterEdge: false
Metrics:
  Listen: 127.0.0.1:$METRICS
Peers:
YAML
  for i in "${NODES[@]}"; do
    printf -- '- NodeID: %s\n  Name: %s\n  PubKey: %s\n  PSKey: %s\n  AdditionalCost: 1\n' \
      "$i" "${NAME[$i]}" "$(cat "$work/$i.pub")" "$(cat "$work/$i.psk")"
  done
} >"$work/super.yaml"
for i in "${NODES[@]}"; do
  {
    cat <<YAML
Interface:
  IType: tap
  Name: egd0
  MacAddrPrefix: 02:EE:00:00
  IPv4CIDR: 10.77.0.0/24
  MTU: 1400
NodeID: $i
NodeName: ${NAME[$i]}
PrivKey: $(cat "$work/$i.key")
ListenPort: $((3000 + i))
LogLevel:
  LogLevel: error
DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: 10
  ConnNextTry: 1
  AdditionalCost: 1
  DampingFilterRadius: 1
  SaveNewPeers: false
  SuperNode:
    UseSuperNode: true
    PSKey: $(cat "$work/$i.psk")
    EndpointV4: $HUB:3456
    PubKeyV4: $(cat "$work/super4.pub")
    EndpointV6: ""
    PubKeyV6: $(cat "$work/super6.pub")
    EndpointEdgeAPIUrl: http://$HUB:3456$API
    SkipLocalIP: true
  NTPConfig:
    UseNTP: false
Metrics:
  Listen: 127.0.0.1:$METRICS
# Each peer is reached through its link emulator: a static endpoint wins
# over the one the supernode reports.
Peers:
YAML
    for p in "${NODES[@]}"; do
      ((p == i)) && continue
      printf -- '- NodeID: %s\n  PubKey: %s\n  EndPoint: %s\n  Static: true\n' \
        "$p" "$(cat "$work/$p.pub")" "$(pinned "$i" "$p")"
    done
  } >"$work/edge$i.yaml"
done
for f in "$work"/super.yaml "$work"/edge?.yaml; do
  "$EGD" --check --config "$f" >/dev/null || fail "egd --check rejects $f"
done

echo "== starting the supernode and four edges (tap egd0 = 10.77.0.<NodeID>/24)"
ip netns exec "${NS[hub]}" "$EGD" --no-uapi --config "$work/super.yaml" >/dev/null 2>"$work/super.log" &
pids+=($!)
super_pid=$!
for i in "${NODES[@]}"; do
  ip netns exec "${NS[$i]}" "$EGD" --no-uapi --config "$work/edge$i.yaml" >/dev/null 2>"$work/edge$i.log" &
  pids+=($!)
done
sleep 0.5
kill -0 "$super_pid" 2>/dev/null || fail "the supernode exited"

scrape() { # scrape NODE — its /metrics, from inside its namespace
  ip netns exec "${NS[$1]}" bash -c \
    "exec 3<>/dev/tcp/127.0.0.1/$METRICS && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null || true
}
metric() { # metric NODE SERIES — one sample's value, or nothing
  scrape "$1" | awk -v s="$2" '$1 == s {print $2; exit}'
}
next_hop() { metric "$1" "egd_next_hop{dst=\"$2\"}" | cut -d. -f1; }
relayed() {
  local v
  v=$(metric "$1" 'egd_forwarded_packets_total{kind="unicast"}')
  echo "${v:-0}" | cut -d. -f1
}
state() {
  ip netns exec "${NS[hub]}" curl -sf --max-time 2 \
    -H "Authorization: Bearer $SHOW_STATE" "http://$HUB:3456$API/manage/super/state" || true
}

await_relays() { # await_relays VIA_AB VIA_BA
  printf '== waiting for the supernode: A→B through %s, B→A through %s ' "${NAME[$1]}" "${NAME[$2]}"
  local start=$SECONDS
  until [[ $(next_hop $A $B) == "$1" && $(next_hop $B $A) == "$2" ]]; do
    ((SECONDS - start < 90)) || { echo; fail "no such routes after 90 s"; }
    kill -0 "$super_pid" 2>/dev/null || { echo; fail "the supernode exited"; }
    printf .
    sleep 1
  done
  echo " ($((SECONDS - start)) s)"
}

show_matrix() { # show_matrix PHASE
  local json
  json=$(state)
  echo
  echo "== one-way latency in ms, src → dst, as the supernode measured it (emulated delay in brackets)"
  printf '   %-8s' 'src\dst'
  for d in "${NODES[@]}"; do printf '%-14s' "${NAME[$d]}"; done
  echo
  for s in "${NODES[@]}"; do
    printf '   %-8s' "${NAME[$s]}"
    for d in "${NODES[@]}"; do
      if ((s == d)); then printf '%-14s' '-'; continue; fi
      local v
      v=$(jq -r --arg s "$s" --arg d "$d" \
        'if .Edges[$s][$d] == null or .Edges[$s][$d] >= .Infinity then "?" else .Edges[$s][$d] * 1000 * 10 | round / 10 | tostring end' \
        <<<"$json" 2>/dev/null || echo '?')
      printf '%-14s' "$v ($(delay "$1" "$s" "$d"))"
    done
    echo
  done
  echo
  echo "== next-hop tables (egd_next_hop on each edge: destination→next hop)"
  for i in "${NODES[@]}"; do
    local row=""
    for d in "${NODES[@]}"; do
      ((d == i)) && continue
      local h
      h=$(next_hop "$i" "$d")
      if [[ -n $h ]]; then row+="${NAME[$d]}→${NAME[$h]}  "; else row+="${NAME[$d]}→?  "; fi
    done
    printf '   %-3s %s\n' "${NAME[$i]}" "$row"
  done
}

ping_flow() { # ping_flow VIA_AB VIA_BA
  local before_ab before_ba
  sleep 1.2 # counters are published once a second
  before_ab=$(relayed "$1"); before_ba=$(relayed "$2")
  echo
  echo "== ping B (10.77.0.2) from A, 20 times"
  ip netns exec "${NS[$A]}" ping -n -q -c 20 -i 0.1 -W 2 10.77.0.2 | tail -n 2 | sed 's/^/   /'
  sleep 1.2
  printf '   %-3s relayed %3d frames (echo requests A→B)\n' "${NAME[$1]}" $(($(relayed "$1") - before_ab))
  printf '   %-3s relayed %3d frames (echo replies B→A)\n' "${NAME[$2]}" $(($(relayed "$2") - before_ba))
}

for i in "${NODES[@]}"; do
  for _ in $(seq 50); do
    ip -n "${NS[$i]}" -4 addr show dev egd0 2>/dev/null | grep -q "10.77.0.$i/24" && break
    sleep 0.1
  done
done

echo
await_relays $R1 $R2
show_matrix first
ping_flow $R1 $R2

echo
echo "== swapping the delays at run time (linkemu control sockets): R1 and R2 trade places"
for x in "${NODES[@]}"; do
  for y in "${NODES[@]}"; do
    ((x < y)) || continue
    printf 'set a_to_b delay=%sms\nset b_to_a delay=%sms\n' \
      "$(delay swapped "$x" "$y")" "$(delay swapped "$y" "$x")" |
      socat - "UNIX-CONNECT:$work/link$x$y.sock" >/dev/null
  done
done
await_relays $R2 $R1
show_matrix swapped
ping_flow $R2 $R1

echo
echo "A→B and B→A took different relays, and followed the delays when they"
echo "swapped. Cleaning up."
